//! Queues at run time: one bounded channel per queue between its producers' stdout and its
//! consumers' workers, with its counters. Which item runs when is the scheduler's to say; a
//! worker's take is the one wait here.
//!
//! A full channel makes the producer's reader wait, so the producer blocks on its pipe: memory
//! stays bounded by `maxsize` items. An unbounded queue never makes a producer wait: past
//! [`SPILL_ITEMS`] items or [`SPILL_BYTES`] in memory, what is put goes to a temp file (see
//! `spill`) and comes back in order as the queue drains. A queue closes when its static items
//! are in and every producer has finished; consumers end once it is closed and drained.

mod spill;

use super::inbox::{Inbox, Msg};
use crate::env::Env;
use crate::event::QUEUE_STATE_EVERY;
use crate::graph::{Graph, NodeId};
use crate::status::Status;
use async_channel::{Receiver, Sender};
use futures_lite::FutureExt;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Items never taken are listed up to this many; beyond it they are only counted.
const LEFT_LISTED: usize = 1000;
/// How many items an unbounded queue holds in memory before it spills to disk.
const SPILL_ITEMS: usize = 100_000;
/// How many bytes of items an unbounded queue holds in memory before it spills to disk.
const SPILL_BYTES: usize = 64 << 20;

/// One queue's channel and counters.
pub(super) struct Queue {
  tx: RefCell<Option<Sender<String>>>,
  rx: Receiver<String>,
  /// Whether the queue has no `maxsize`: it spills rather than grow without bound.
  unbounded: bool,
  /// The bytes of the items in the channel.
  bytes: Cell<usize>,
  /// Items put after those in the channel, on disk, while there are any.
  spill: RefCell<Option<spill::Spill>>,
  /// Producers (and the static items' feeder) not finished yet.
  open: Cell<usize>,
  /// Consumers not finished yet. When none is left, nothing will ever take an item: the queue
  /// is abandoned, so that no producer waits for room forever.
  consumers: Cell<usize>,
  abandoned: Cell<bool>,
  /// Items nobody took (the first [`LEFT_LISTED`]), and how many there were.
  left: RefCell<Vec<String>>,
  left_total: Cell<u64>,
  pub put: Cell<u64>,
  pub taken: Cell<u64>,
  pub done: Cell<u64>,
  pub failed: Cell<u64>,
  pub cancelled: Cell<u64>,
  reports: Reports,
}

/// When a queue's state is reported: a change (a put, a take, an item's end) asks the loop for a
/// report, at once if the last one is [`QUEUE_STATE_EVERY`] old, else when it will be; changes
/// meanwhile ride along. So a busy queue costs at most one wake-up of the loop that long.
struct Reports {
  inbox: Inbox,
  /// The queue's index, for the loop's message.
  index: usize,
  /// A report is asked for and not made yet.
  asked: Cell<bool>,
  /// Changed since the last report.
  changed: Cell<bool>,
  last: Cell<Option<Instant>>,
}

impl Queue {
  fn new(maxsize: usize, producers: usize, consumers: usize, reports: Reports) -> Self {
    let (tx, rx) =
      if maxsize == 0 { async_channel::unbounded() } else { async_channel::bounded(maxsize) };
    let queue = Self {
      tx: RefCell::new(Some(tx)),
      rx,
      unbounded: maxsize == 0,
      bytes: Cell::new(0),
      spill: RefCell::new(None),
      open: Cell::new(producers + 1),
      consumers: Cell::new(consumers + 1),
      abandoned: Cell::new(false),
      left: RefCell::new(Vec::new()),
      left_total: Cell::new(0),
      put: Cell::new(0),
      taken: Cell::new(0),
      done: Cell::new(0),
      failed: Cell::new(0),
      cancelled: Cell::new(0),
      reports,
    };
    // The extra counts are released after counting: a queue with no producers closes at once,
    // one with no consumers is abandoned at once.
    queue.producer_finished();
    queue.consumer_finished();
    queue
  }

  /// The next item; None once the queue is closed and drained, or once `stop` is closed.
  pub(super) async fn take(&self, stop: &Receiver<()>) -> Option<String> {
    let taken = async {
      let item = self.rx.recv().await.ok()?;
      self.left_memory(&item);
      self.refill();
      Some(item)
    };
    let stopped = async {
      let _ = stop.recv().await;
      None
    };
    // A cancelled consumer takes nothing more: what is queued is reported as never taken.
    stopped.or(taken).await
  }

  /// Counts an item taken, and the final status of one.
  pub(super) fn count_taken(&self) {
    self.taken.set(self.taken.get() + 1);
    self.changed();
  }

  /// Items taken and not finished yet.
  pub(super) fn in_progress(&self) -> u64 {
    let finished = self.done.get() + self.failed.get() + self.cancelled.get();
    self.taken.get().saturating_sub(finished)
  }

  /// The counters changed: asks the loop for a report, unless one is asked for already.
  fn changed(&self) {
    let reports = &self.reports;
    reports.changed.set(true);
    if reports.asked.replace(true) {
      return;
    }
    let due = reports.last.get().map_or(Duration::ZERO, |last| {
      (last + QUEUE_STATE_EVERY).saturating_duration_since(Instant::now())
    });
    reports.inbox.after(due, Msg::QueueState(reports.index));
  }

  /// The loop reports the state now: whether it changed since the last report.
  pub(super) fn report(&self) -> bool {
    let reports = &self.reports;
    reports.asked.set(false);
    reports.last.set(Some(Instant::now()));
    reports.changed.replace(false)
  }

  pub(super) fn count_finished(&self, status: Status) {
    let counter = match status {
      Status::Succeeded => &self.done,
      Status::Cancelled => &self.cancelled,
      _ => &self.failed,
    };
    counter.set(counter.get() + 1);
    self.changed();
  }

  pub(super) fn depth(&self) -> usize {
    let spilled = self.spill.borrow().as_ref().map_or(0, |s| s.items as usize);
    self.rx.len() + spilled
  }

  /// Whether the channel is past what an unbounded queue holds in memory (`part`: a share of
  /// it, from 1 = all of it).
  fn memory_full(&self, part: usize) -> bool {
    self.rx.len() >= SPILL_ITEMS / part || self.bytes.get() >= SPILL_BYTES / part
  }

  /// Puts an item on an unbounded queue now: on disk once the queue spills (or while items wait
  /// there, to keep the order), else in the channel.
  fn put_unbounded(&self, tx: &Sender<String>, item: String) {
    let mut spill = self.spill.borrow_mut();
    if spill.is_none() && self.memory_full(1) {
      *spill = spill::Spill::new(tx.clone());
    }
    match spill.as_mut() {
      Some(spill) => spill.push(&item),
      None => self.send_now(tx, item),
    }
  }

  /// `item` is out of the channel (only an unbounded queue counts its bytes).
  fn left_memory(&self, item: &str) {
    if self.unbounded {
      self.bytes.set(self.bytes.get() - item.len());
    }
  }

  /// Sends into the unbounded channel, which takes it at once (unless it is closed).
  fn send_now(&self, tx: &Sender<String>, item: String) {
    let len = item.len();
    match tx.try_send(item) {
      Ok(()) => self.bytes.set(self.bytes.get() + len),
      Err(err) => self.leave(err.into_inner()),
    }
  }

  /// Once the channel is down to half of what it may hold, brings spilled items back into it,
  /// oldest first, until it is full again or the spill is empty (then the file goes).
  fn refill(&self) {
    let mut slot = self.spill.borrow_mut();
    let Some(spill) = slot.as_mut() else { return };
    if self.memory_full(2) {
      return;
    }
    while !self.memory_full(1) {
      match spill.pop() {
        Ok(Some(item)) => self.send_now(&spill.tx, item),
        Ok(None) => break,
        Err(_) => {
          // The file cannot be read back: what it held is reported as never taken.
          self.left_total.set(self.left_total.get() + spill.items);
          spill.items = 0;
          break;
        }
      }
    }
    if spill.items == 0 {
      *slot = None;
    }
  }

  /// Puts an item, waiting while the queue is full (back-pressure). False if the queue is
  /// closed.
  pub(super) async fn put(&self, item: String) -> bool {
    let Some(tx) = self.tx.borrow().clone() else { return false };
    self.put.set(self.put.get() + 1);
    self.changed();
    if self.abandoned.get() {
      self.leave(item);
      return true;
    }
    if self.unbounded {
      self.put_unbounded(&tx, item);
      return true;
    }
    if let Err(err) = tx.send(item).await {
      self.leave(err.0);
    }
    true
  }

  fn leave(&self, item: String) {
    let mut left = self.left.borrow_mut();
    if left.len() < LEFT_LISTED {
      left.push(item);
    }
    self.left_total.set(self.left_total.get() + 1);
  }

  /// One producer (or the feeder) ended; the last one closes the queue.
  pub(super) fn producer_finished(&self) {
    self.open.set(self.open.get().saturating_sub(1));
    if self.open.get() == 0 {
      self.tx.borrow_mut().take();
    }
  }

  /// One consumer ended; after the last one, what is queued is left and producers go on.
  pub(super) fn consumer_finished(&self) {
    self.consumers.set(self.consumers.get().saturating_sub(1));
    if self.consumers.get() == 0 && !self.abandoned.replace(true) {
      self.drain();
    }
  }

  fn drain(&self) {
    while let Ok(item) = self.rx.try_recv() {
      self.left_memory(&item);
      self.leave(item);
    }
    let Some(mut spill) = self.spill.borrow_mut().take() else { return };
    // Read back only as many as are listed; the rest are counted.
    while self.left.borrow().len() < LEFT_LISTED {
      match spill.pop() {
        Ok(Some(item)) => self.leave(item),
        Ok(None) | Err(_) => break,
      }
    }
    self.left_total.set(self.left_total.get() + spill.items);
  }

  /// Items nobody took (the first ones, when there were many) and how many there were.
  pub(super) fn left(&self) -> (Vec<String>, u64) {
    self.drain();
    (self.left.borrow().clone(), self.left_total.get())
  }
}

/// Every queue of the graph; the producers and consumers counted are the selected ones.
pub(super) fn open(
  graph: &Graph,
  selected: impl Fn(NodeId) -> bool,
  inbox: &Inbox,
) -> Rc<Vec<Rc<Queue>>> {
  let queues: Vec<Rc<Queue>> = graph
    .queues
    .iter()
    .enumerate()
    .map(|(index, q)| {
      let count = |ids: &[NodeId]| ids.iter().filter(|&&id| selected(id)).count();
      let feeder = usize::from(!q.items.is_empty());
      let reports = Reports {
        inbox: inbox.clone(),
        index,
        asked: Cell::new(false),
        changed: Cell::new(false),
        last: Cell::new(None),
      };
      Rc::new(Queue::new(q.maxsize, count(&q.producers) + feeder, count(&q.consumers), reports))
    })
    .collect();
  for (q, def) in graph.queues.iter().enumerate() {
    if def.items.is_empty() {
      continue;
    }
    let (queue, items) = (queues[q].clone(), def.items.clone());
    crate::engine::reactor::spawn_local(async move {
      for item in items {
        queue.put(item).await;
      }
      queue.producer_finished();
    });
  }
  Rc::new(queues)
}

/// A running consumer: what each of its items runs with, and the switch that stops its takes.
pub(super) struct Consumer {
  queue: Rc<Queue>,
  pub env: Env,
  pub cwd: PathBuf,
  /// The queue the items' stdout lines go to, when the consumer also produces.
  pub produces: Option<Rc<Queue>>,
  stop: RefCell<Option<Sender<()>>>,
  stopped: Receiver<()>,
}

impl Consumer {
  pub(super) fn new(queue: Rc<Queue>, env: Env, cwd: PathBuf, produces: Option<Rc<Queue>>) -> Self {
    let (stop, stopped) = async_channel::bounded(1);
    Self { queue, env, cwd, produces, stop: RefCell::new(Some(stop)), stopped }
  }

  /// The next item for one of its workers: None once the queue is closed and drained, or once
  /// taking was stopped.
  pub(super) async fn take(&self) -> Option<String> {
    self.queue.take(&self.stopped).await
  }

  pub(super) fn stop_taking(&self) {
    self.stop.borrow_mut().take();
  }
}

#[cfg(test)]
mod tests;
