//! What the loop shares with the futures it spawns: the launcher, the inbox, the live
//! processes by what they run (so that an order to stop one finds its process group), and the
//! attempts being stopped, kept until the kill after their grace. Everything here runs on the
//! loop's thread.

use super::inbox::Inbox;
use super::kill::Attempt;
use super::launcher::{Child, Launch, Launcher, Stop};
use crate::scheduler::Proc;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// A live process: the leader of its group, its attempt's serial, and whether it was told to
/// stop.
struct Live {
  pid: i32,
  serial: u64,
  stopping: bool,
}

impl Live {
  /// This process's attempt, as a stop starts to know it.
  fn attempt(&self) -> Attempt {
    Attempt { leader: Some(self.pid), serial: self.serial, seen: Vec::new() }
  }
}

/// The pids that lead a running attempt.
fn leaders(live: &HashMap<Proc, Live>) -> HashSet<i32> {
  live.values().map(|l| l.pid).collect()
}

pub(super) struct Shared {
  pub launcher: RefCell<Launcher>,
  pub inbox: Inbox,
  live: RefCell<HashMap<Proc, Live>>,
  /// The attempts told to stop, by process and start number, until their kill.
  stopped: RefCell<HashMap<(Proc, u64), Attempt>>,
}

impl Shared {
  pub(super) fn new(inbox: Inbox) -> Self {
    Self {
      launcher: RefCell::new(Launcher::new()),
      inbox,
      live: RefCell::default(),
      stopped: RefCell::default(),
    }
  }

  /// Starts a program for `proc` as the leader of its own process group and records it live.
  pub(super) fn spawn(&self, proc: Proc, launch: &Launch) -> std::io::Result<Child> {
    let child = self.launcher.borrow_mut().spawn(launch)?;
    let live = Live { pid: child.pid, serial: child.serial, stopping: false };
    self.live.borrow_mut().insert(proc, live);
    Ok(child)
  }

  /// `proc`'s process was reaped: it can no longer be signalled.
  pub(super) fn ended(&self, proc: Proc) {
    self.live.borrow_mut().remove(&proc);
  }

  /// SIGTERM to the running attempts `procs` names (each with its start number), all at once;
  /// from now on their output is not waited for once they have exited. Each is kept for
  /// [`Shared::kill`], which the grace's end brings.
  pub(super) fn terminate(&self, procs: &[(Proc, u64)]) {
    if procs.is_empty() {
      return;
    }
    let mut live = self.live.borrow_mut();
    let mut attempts: Vec<((Proc, u64), Attempt)> = Vec::new();
    for &(proc, seq) in procs {
      if let Some(process) = live.get_mut(&proc) {
        process.stopping = true;
        let attempt = process.attempt();
        attempts.push(((proc, seq), attempt));
      }
    }
    let leaders = leaders(&live);
    let mut stopping: Vec<&mut Attempt> = attempts.iter_mut().map(|(_, a)| a).collect();
    self.launcher.borrow().stop(&mut stopping, Stop::Graceful, &leaders);
    self.stopped.borrow_mut().extend(attempts);
  }

  /// SIGKILL to what is left of the attempts `procs` names, told to stop before: the leader if
  /// it still runs, and every process of theirs seen or tagged, wherever it went.
  pub(super) fn kill(&self, procs: &[(Proc, u64)]) {
    if procs.is_empty() {
      return;
    }
    let live = self.live.borrow();
    let mut attempts: Vec<Attempt> = Vec::new();
    for key in procs {
      let Some(mut attempt) = self.stopped.borrow_mut().remove(key) else { continue };
      let running = live.get(&key.0).is_some_and(|l| l.serial == attempt.serial);
      attempt.leader = attempt.leader.filter(|_| running);
      attempts.push(attempt);
    }
    let mut attempts: Vec<&mut Attempt> = attempts.iter_mut().collect();
    let leaders = leaders(&live);
    self.launcher.borrow().stop(&mut attempts, Stop::Forced, &leaders);
  }

  /// SIGKILL to `proc`'s running attempt now, outside any stop: for a producer whose line no
  /// queue item can hold, whose output cannot be kept. Its attempt fails by its exit.
  pub(super) fn kill_now(&self, proc: Proc) {
    let live = self.live.borrow();
    let Some(process) = live.get(&proc) else { return };
    let mut attempt = process.attempt();
    let leaders = leaders(&live);
    self.launcher.borrow().stop(&mut [&mut attempt], Stop::Forced, &leaders);
  }

  pub(super) fn is_stopping(&self, proc: Proc) -> bool {
    self.live.borrow().get(&proc).is_some_and(|p| p.stopping)
  }

  /// The end of the run: what tasks left running (descendants that left their groups) is
  /// asked to end, then killed when `grace` is over; then the watchdog goes.
  pub(super) async fn end(&self, grace: std::time::Duration) {
    let leaders: Vec<i32> = self.live.borrow().values().map(|p| p.pid).collect();
    if self.launcher.borrow().left(&leaders) > 0 {
      self.signal_everything(Stop::Graceful);
      let deadline = std::time::Instant::now() + grace;
      // Orphans cannot be waited for through a pidfd; they are looked for until gone.
      while self.launcher.borrow().left(&leaders) > 0 && std::time::Instant::now() < deadline {
        async_std::task::sleep(std::time::Duration::from_millis(10)).await;
      }
      self.signal_everything(Stop::Forced);
      self.launcher.borrow().left(&leaders);
    }
    self.launcher.borrow_mut().dismiss_watchdog();
  }

  /// Sends `how` to every process of the run, now: the live groups and every other descendant
  /// of the runner. Returns how many processes there were.
  pub(super) fn signal_everything(&self, how: Stop) -> usize {
    let leaders: Vec<i32> = self.live.borrow().values().map(|p| p.pid).collect();
    self.launcher.borrow().signal_everything(&leaders, how)
  }
}
