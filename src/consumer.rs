//! A consumer's workers and the queue items they run, as a pure state machine: items taken,
//! attempts ended, timeouts and cancellation in; the next step for the worker out. No processes,
//! channels, timers or graph here: the scheduler turns steps into actions.

use crate::status::Status;
use std::time::Duration;

/// How a consumer treats each item: its task's `retries`, `retry_delay` and `timeout` apply per
/// item, not to the consumer as a whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemRules {
  pub retries: u32,
  pub retry_delay: Duration,
}

#[derive(Debug)]
enum Worker {
  /// Waiting for the next item.
  Taking,
  /// An attempt at `item` runs as process number `seq`.
  Running { item: String, attempt: u32, seq: u64, timed_out: bool, stopping: bool },
  /// Between two attempts at `item`.
  Delayed { item: String, attempt: u32 },
  /// Holds no item and takes none.
  Idle,
}

/// What a worker does next.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Step {
  /// Start attempt `attempt` at the worker's item.
  Run { attempt: u32 },
  /// Wait this long, then call [`ConsumerState::retry_due`].
  Wait(Duration),
  /// The item has its final status; the worker is idle.
  Finished { item: String, status: Status, attempts: u32 },
  /// Nothing to do (the worker is idle, or the input was stale).
  Idle,
}

/// What cancelling a consumer means for its workers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Cancelled {
  /// Workers whose running attempt is to be terminated.
  pub terminate: Vec<u32>,
  /// Items between two attempts: cancelled now, `(worker, item, attempts)`.
  pub finished: Vec<(u32, String, u32)>,
}

/// A consumer's workers. One worker at a time waits for an item; when it has one, the next
/// takes, up to `workers` holding items at once. So workers exist only once they have run:
/// `workers: 4096` costs nothing until 4096 items run at once.
#[derive(Debug)]
pub(crate) struct ConsumerState {
  rules: ItemRules,
  /// How many workers may hold items at once.
  most: u32,
  /// The workers that exist, by number: no more than ever held items at once, plus the taker.
  workers: Vec<Worker>,
  /// Workers that are idle, to be reused before a new one is made.
  idle: Vec<u32>,
  /// The worker waiting for an item.
  taking: Option<u32>,
  /// A take found the queue closed and drained (or taking stopped): nothing more is taken.
  drained: bool,
  cancelled: bool,
  done: u64,
  failed: Vec<String>,
}

impl ConsumerState {
  pub(crate) fn new(rules: ItemRules, workers: u32) -> Self {
    Self {
      rules,
      most: workers.max(1),
      workers: Vec::new(),
      idle: Vec::new(),
      taking: None,
      drained: false,
      cancelled: false,
      done: 0,
      failed: Vec::new(),
    }
  }

  /// How many workers exist: those that held an item or take one.
  pub(crate) fn workers(&self) -> u32 {
    self.workers.len() as u32
  }

  fn worker(&mut self, w: u32) -> Option<&mut Worker> {
    self.workers.get_mut(w as usize)
  }

  /// The worker that is to take the next item, if one is to: none is taking, the queue is not
  /// drained, the consumer not cancelled, and fewer than `workers` hold items.
  pub(crate) fn next_take(&mut self) -> Option<u32> {
    let busy = self.workers.len() - self.idle.len();
    if self.taking.is_some() || self.drained || self.cancelled || busy >= self.most as usize {
      return None;
    }
    let w = self.idle.pop().unwrap_or_else(|| {
      self.workers.push(Worker::Idle);
      self.workers.len() as u32 - 1
    });
    self.workers[w as usize] = Worker::Taking;
    self.taking = Some(w);
    Some(w)
  }

  /// Worker `w` took `item` (None: the queue is closed and drained, or taking was stopped).
  pub(crate) fn taken(&mut self, w: u32, item: Option<String>) -> Step {
    if self.taking != Some(w) {
      return Step::Idle;
    }
    self.taking = None;
    match item {
      None => {
        self.drained = true;
        self.set_idle(w);
        Step::Idle
      }
      // Taken just as the consumer was cancelled: it never runs.
      Some(item) if self.cancelled => {
        self.set_idle(w);
        Step::Finished { item, status: Status::Cancelled, attempts: 0 }
      }
      Some(item) => {
        self.workers[w as usize] = Worker::Delayed { item, attempt: 0 };
        self.retry_due(w)
      }
    }
  }

  fn set_idle(&mut self, w: u32) {
    self.workers[w as usize] = Worker::Idle;
    self.idle.push(w);
  }

  /// The wait before the next attempt of `w`'s item is over (or there was none).
  pub(crate) fn retry_due(&mut self, w: u32) -> Step {
    let Some(worker) = self.worker(w) else { return Step::Idle };
    let Worker::Delayed { item, attempt } = worker else { return Step::Idle };
    let (item, attempt) = (std::mem::take(item), *attempt + 1);
    *worker = Worker::Running { item, attempt, seq: 0, timed_out: false, stopping: false };
    Step::Run { attempt }
  }

  /// The attempt [`Step::Run`] asked for started as process number `seq`.
  pub(crate) fn started(&mut self, w: u32, started: u64) {
    if let Some(Worker::Running { seq, .. }) = self.worker(w) {
      *seq = started;
    }
  }

  /// The process number of `w`'s running attempt.
  pub(crate) fn running(&self, w: u32) -> Option<u64> {
    match self.workers.get(w as usize) {
      Some(Worker::Running { seq, .. }) => Some(*seq),
      _ => None,
    }
  }

  /// The item `w` holds, while it runs or waits to run again.
  pub(crate) fn item(&self, w: u32) -> Option<&str> {
    match self.workers.get(w as usize) {
      Some(Worker::Running { item, .. } | Worker::Delayed { item, .. }) => Some(item),
      _ => None,
    }
  }

  /// The timeout of attempt `seq` expired: true when it still runs and is to be terminated.
  pub(crate) fn timed_out(&mut self, w: u32, at: u64) -> bool {
    match self.worker(w) {
      Some(Worker::Running { seq, timed_out, stopping, .. }) if *seq == at && !*stopping => {
        *timed_out = true;
        *stopping = true;
        true
      }
      _ => false,
    }
  }

  /// `w`'s attempt ended; `success` says whether its process exited 0.
  pub(crate) fn exited(&mut self, w: u32, success: bool, stop_retries: bool) -> Step {
    let (cancelled, rules) = (self.cancelled, self.rules);
    let Some(worker) = self.worker(w) else { return Step::Idle };
    let Worker::Running { item, attempt, timed_out, .. } = worker else { return Step::Idle };
    let (attempt, timed_out) = (*attempt, *timed_out);
    let status = match (cancelled, timed_out, success) {
      (true, _, _) => Status::Cancelled,
      (false, true, _) => Status::TimedOut,
      (false, false, true) => Status::Succeeded,
      (false, false, false) => Status::Failed,
    };
    let item = std::mem::take(item);
    if status.is_failure() && attempt <= rules.retries && !stop_retries {
      *worker = Worker::Delayed { item, attempt };
      if rules.retry_delay.is_zero() {
        return self.retry_due(w);
      }
      return Step::Wait(rules.retry_delay);
    }
    self.finish(w, item, status, attempt)
  }

  fn finish(&mut self, w: u32, item: String, status: Status, attempts: u32) -> Step {
    match status {
      Status::Succeeded => self.done += 1,
      Status::Cancelled => {}
      _ => self.failed.push(item.clone()),
    }
    self.set_idle(w);
    Step::Finished { item, status, attempts }
  }

  /// Cancels the consumer: no worker takes anything more, running attempts are terminated and
  /// items waiting to run again are cancelled.
  pub(crate) fn cancel(&mut self) -> Cancelled {
    let mut out = Cancelled::default();
    if std::mem::replace(&mut self.cancelled, true) {
      return out;
    }
    for w in 0..self.workers() {
      match &mut self.workers[w as usize] {
        Worker::Running { stopping, .. } => {
          if !std::mem::replace(stopping, true) {
            out.terminate.push(w);
          }
        }
        Worker::Delayed { item, attempt } => {
          let (item, attempts) = (std::mem::take(item), *attempt);
          self.set_idle(w);
          out.finished.push((w, item, attempts));
        }
        Worker::Taking | Worker::Idle => {}
      }
    }
    out
  }

  /// Whether the consumer has ended: nothing more is taken (the queue is drained, or the
  /// consumer cancelled), no take is waiting and every worker is idle.
  pub(crate) fn is_over(&self) -> bool {
    let taking_ends = self.drained || self.cancelled;
    taking_ends && self.taking.is_none() && self.idle.len() == self.workers.len()
  }

  /// The consumer's status and result (`{"done": N, "failed": [items]}`) once it is over.
  pub(crate) fn outcome(&self) -> (Status, String) {
    let status = match (self.cancelled, self.failed.is_empty()) {
      (true, _) => Status::Cancelled,
      (false, true) => Status::Succeeded,
      (false, false) => Status::Failed,
    };
    (status, serde_json::json!({"done": self.done, "failed": self.failed}).to_string())
  }
}

#[cfg(test)]
mod tests;
