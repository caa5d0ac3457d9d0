//! The `-j` slots that the runs of one `runner serve` share: first come, first served across
//! runs. A run that finds no slot free, or finds another run waiting before it, waits in line;
//! a freed slot goes to the run first in line, which takes one and, if it wants more, goes to
//! the back. So a run with a thousand ready tasks cannot starve one with a single task.
//! Synchronous, like the scheduler that calls it; a run hears of its turn through `wake`.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// The slots and the line of runs waiting for one.
pub(crate) struct Pool {
  free: usize,
  line: VecDeque<u64>,
  /// How each run in the pool is told that it is first in line and a slot is free.
  wake: HashMap<u64, Box<dyn Fn()>>,
  /// The slots each run holds, given back when it leaves.
  held: HashMap<u64, usize>,
}

impl Pool {
  pub(crate) fn new(slots: usize) -> Rc<RefCell<Pool>> {
    let pool = Pool {
      free: slots.max(1),
      line: VecDeque::new(),
      wake: HashMap::new(),
      held: HashMap::new(),
    };
    Rc::new(RefCell::new(pool))
  }

  /// Slots free now.
  pub(crate) fn free(&self) -> usize {
    self.free
  }

  /// Runs waiting for a slot now.
  pub(crate) fn waiting(&self) -> usize {
    self.line.len()
  }

  /// The run first in line, if a slot is free for it.
  fn next(&self) -> Option<&dyn Fn()> {
    if self.free == 0 {
      return None;
    }
    self.line.front().and_then(|run| self.wake.get(run)).map(|wake| &**wake)
  }

  fn leave_line(&mut self, run: u64) {
    if let Some(at) = self.line.iter().position(|&r| r == run) {
      self.line.remove(at);
    }
  }
}

/// One run's share of a [`Pool`].
pub(crate) struct Slots {
  pool: Rc<RefCell<Pool>>,
  run: u64,
}

impl Slots {
  /// Run `run` joins `pool`; `wake` tells it that a slot is free and it is first in line
  /// (it then hands the scheduler [`Input::Slots`](super::Input::Slots)).
  pub(crate) fn join(pool: &Rc<RefCell<Pool>>, run: u64, wake: impl Fn() + 'static) -> Self {
    let mut p = pool.borrow_mut();
    p.wake.insert(run, Box::new(wake));
    p.held.insert(run, 0);
    drop(p);
    Slots { pool: pool.clone(), run }
  }

  /// Takes a slot if one is free and no run waits before this one; else waits in line.
  pub(crate) fn take(&self) -> bool {
    let mut p = self.pool.borrow_mut();
    let first = p.line.front().is_none_or(|&r| r == self.run);
    if p.free == 0 || !first {
      if !p.line.contains(&self.run) {
        p.line.push_back(self.run);
      }
      return false;
    }
    if p.line.front() == Some(&self.run) {
      p.line.pop_front();
    }
    p.free -= 1;
    *p.held.entry(self.run).or_default() += 1;
    // Slots left over: the next run in line may take one.
    if p.line.front() != Some(&self.run)
      && let Some(wake) = p.next()
    {
      wake();
    }
    true
  }

  /// Gives a slot back; the run first in line hears of it.
  pub(crate) fn give(&self) {
    let mut p = self.pool.borrow_mut();
    let held = p.held.entry(self.run).or_default();
    if *held == 0 {
      return;
    }
    *held -= 1;
    p.free += 1;
    if let Some(wake) = p.next() {
      wake();
    }
  }

  /// The run wants no slot now (nothing of it is ready): it leaves the line, and the next run
  /// in it gets its turn.
  pub(crate) fn not_waiting(&self) {
    let mut p = self.pool.borrow_mut();
    let was_first = p.line.front() == Some(&self.run);
    p.leave_line(self.run);
    if was_first && let Some(wake) = p.next() {
      wake();
    }
  }
}

impl Drop for Slots {
  /// The run is over: its slots go back, and it leaves the line.
  fn drop(&mut self) {
    let mut p = self.pool.borrow_mut();
    let held = p.held.remove(&self.run).unwrap_or(0);
    p.free += held;
    p.leave_line(self.run);
    p.wake.remove(&self.run);
    if let Some(wake) = p.next() {
      wake();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::cell::Cell;

  fn member(pool: &Rc<RefCell<Pool>>, run: u64) -> (Slots, Rc<Cell<u32>>) {
    let woken = Rc::new(Cell::new(0));
    let count = woken.clone();
    (Slots::join(pool, run, move || count.set(count.get() + 1)), woken)
  }

  #[test]
  fn slots_are_taken_until_none_is_free_and_given_back() {
    let pool = Pool::new(2);
    let (a, _) = member(&pool, 1);
    assert!(a.take() && a.take());
    assert!(!a.take(), "both slots held");
    a.give();
    assert!(a.take());
    assert_eq!(pool.borrow().free(), 0);
  }

  #[test]
  fn a_freed_slot_goes_to_the_run_first_in_line_not_to_the_one_that_freed_it() {
    let pool = Pool::new(1);
    let (a, _) = member(&pool, 1);
    let (b, b_woken) = member(&pool, 2);
    assert!(a.take());
    assert!(!b.take(), "b waits in line");
    a.give();
    assert_eq!(b_woken.get(), 1, "b hears of its turn");
    assert!(!a.take(), "a may not take the slot b waits for");
    assert!(b.take());
    // a waited in line meanwhile: b's slot goes to a next.
    b.give();
    assert!(a.take());
  }

  #[test]
  fn runs_in_line_take_turns_one_slot_each() {
    let pool = Pool::new(1);
    let runs: Vec<_> = (1..=3).map(|run| member(&pool, run)).collect();
    let holder = Slots::join(&pool, 9, || {});
    assert!(holder.take());
    for (slots, _) in &runs {
      assert!(!slots.take());
    }
    let mut order = Vec::new();
    holder.give();
    for _ in 0..6 {
      let next = runs.iter().position(|(s, _)| s.take()).expect("the first in line takes it");
      order.push(next + 1);
      // It wants more: it waits in line again, at the back, then gives its slot back.
      assert!(!runs[next].0.take());
      runs[next].0.give();
    }
    assert_eq!(order, [1, 2, 3, 1, 2, 3]);
  }

  #[test]
  fn a_run_that_wants_nothing_passes_its_turn_on() {
    let pool = Pool::new(1);
    let (a, _) = member(&pool, 1);
    let (b, _) = member(&pool, 2);
    let (c, c_woken) = member(&pool, 3);
    assert!(a.take());
    assert!(!b.take() && !c.take());
    a.give();
    b.not_waiting();
    assert_eq!(c_woken.get(), 1);
    assert!(c.take());
  }

  #[test]
  fn a_run_that_ends_gives_back_every_slot_it_held_and_leaves_the_line() {
    let pool = Pool::new(3);
    let (a, _) = member(&pool, 1);
    let (b, b_woken) = member(&pool, 2);
    assert!(a.take() && a.take() && a.take());
    assert!(!b.take());
    drop(a);
    assert_eq!(pool.borrow().free(), 3);
    assert!(b_woken.get() >= 1);
    assert!(b.take());
    drop(b);
    assert_eq!((pool.borrow().free(), pool.borrow().waiting()), (3, 0));
  }

  #[test]
  fn a_slot_left_over_wakes_the_next_run_in_line() {
    let pool = Pool::new(2);
    let (holder, _) = member(&pool, 9);
    assert!(holder.take() && holder.take());
    let (a, _) = member(&pool, 1);
    let (b, b_woken) = member(&pool, 2);
    assert!(!a.take() && !b.take());
    holder.give();
    holder.give();
    assert!(a.take(), "a is first");
    assert_eq!(b_woken.get(), 1, "a second slot is free: b's turn");
    assert!(b.take());
  }
}
