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
  /// Takes nothing more: the queue is drained, or the consumer cancelled.
  Finished,
}

/// What a worker does next.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Step {
  /// Start attempt `attempt` at the worker's item.
  Run { attempt: u32 },
  /// Wait this long, then call [`ConsumerState::retry_due`].
  Wait(Duration),
  /// The item has its final status. The worker takes the next item, unless the consumer is
  /// cancelled: then it has finished.
  Finished { item: String, status: Status, attempts: u32, take_next: bool },
  /// Nothing to do (the worker has finished, or the input was stale).
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

#[derive(Debug)]
pub(crate) struct ConsumerState {
  rules: ItemRules,
  workers: Vec<Worker>,
  cancelled: bool,
  done: u64,
  failed: Vec<String>,
}

impl ConsumerState {
  pub(crate) fn new(rules: ItemRules, workers: u32) -> Self {
    let workers = (0..workers).map(|_| Worker::Taking).collect();
    Self { rules, workers, cancelled: false, done: 0, failed: Vec::new() }
  }

  pub(crate) fn workers(&self) -> u32 {
    self.workers.len() as u32
  }

  /// Worker `w` took `item` (None: the queue is closed and drained, or taking was stopped).
  pub(crate) fn taken(&mut self, w: u32, item: Option<String>) -> Step {
    let worker = &mut self.workers[w as usize];
    if !matches!(worker, Worker::Taking) {
      return Step::Idle;
    }
    match item {
      None => {
        *worker = Worker::Finished;
        Step::Idle
      }
      // Taken just as the consumer was cancelled: it never runs.
      Some(item) if self.cancelled => {
        *worker = Worker::Finished;
        Step::Finished { item, status: Status::Cancelled, attempts: 0, take_next: false }
      }
      Some(item) => {
        *worker = Worker::Delayed { item, attempt: 0 };
        self.retry_due(w)
      }
    }
  }

  /// The wait before the next attempt of `w`'s item is over (or there was none).
  pub(crate) fn retry_due(&mut self, w: u32) -> Step {
    let worker = &mut self.workers[w as usize];
    let Worker::Delayed { item, attempt } = worker else { return Step::Idle };
    let (item, attempt) = (std::mem::take(item), *attempt + 1);
    *worker = Worker::Running { item, attempt, seq: 0, timed_out: false, stopping: false };
    Step::Run { attempt }
  }

  /// The attempt [`Step::Run`] asked for started as process number `seq`.
  pub(crate) fn started(&mut self, w: u32, started: u64) {
    if let Worker::Running { seq, .. } = &mut self.workers[w as usize] {
      *seq = started;
    }
  }

  /// The process number of `w`'s running attempt.
  pub(crate) fn running(&self, w: u32) -> Option<u64> {
    match &self.workers[w as usize] {
      Worker::Running { seq, .. } => Some(*seq),
      _ => None,
    }
  }

  /// The item `w` holds, while it runs or waits to run again.
  pub(crate) fn item(&self, w: u32) -> Option<&str> {
    match &self.workers[w as usize] {
      Worker::Running { item, .. } | Worker::Delayed { item, .. } => Some(item),
      Worker::Taking | Worker::Finished => None,
    }
  }

  /// The timeout of attempt `seq` expired: true when it still runs and is to be terminated.
  pub(crate) fn timed_out(&mut self, w: u32, at: u64) -> bool {
    match &mut self.workers[w as usize] {
      Worker::Running { seq, timed_out, stopping, .. } if *seq == at && !*stopping => {
        *timed_out = true;
        *stopping = true;
        true
      }
      _ => false,
    }
  }

  /// `w`'s attempt ended; `success` says whether its process exited 0.
  pub(crate) fn exited(&mut self, w: u32, success: bool, stop_retries: bool) -> Step {
    let worker = &mut self.workers[w as usize];
    let Worker::Running { item, attempt, timed_out, .. } = worker else { return Step::Idle };
    let (attempt, timed_out) = (*attempt, *timed_out);
    let status = match (self.cancelled, timed_out, success) {
      (true, _, _) => Status::Cancelled,
      (false, true, _) => Status::TimedOut,
      (false, false, true) => Status::Succeeded,
      (false, false, false) => Status::Failed,
    };
    if status.is_failure() && attempt <= self.rules.retries && !stop_retries {
      *worker = Worker::Delayed { item: std::mem::take(item), attempt };
      if self.rules.retry_delay.is_zero() {
        return self.retry_due(w);
      }
      return Step::Wait(self.rules.retry_delay);
    }
    let item = std::mem::take(item);
    self.finish(w, item, status, attempt)
  }

  fn finish(&mut self, w: u32, item: String, status: Status, attempts: u32) -> Step {
    match status {
      Status::Succeeded => self.done += 1,
      Status::Cancelled => {}
      _ => self.failed.push(item.clone()),
    }
    let take_next = !self.cancelled;
    self.workers[w as usize] = if take_next { Worker::Taking } else { Worker::Finished };
    Step::Finished { item, status, attempts, take_next }
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
          self.workers[w as usize] = Worker::Finished;
          out.finished.push((w, item, attempts));
        }
        Worker::Taking | Worker::Finished => {}
      }
    }
    out
  }

  /// Whether every worker has finished: the consumer's own end.
  pub(crate) fn is_over(&self) -> bool {
    self.workers.iter().all(|w| matches!(w, Worker::Finished))
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
