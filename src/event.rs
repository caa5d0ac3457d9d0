//! What the runner tells reporters, one event at a time. Field names are stable: `--output
//! json` prints these as NDJSON.

use crate::status::Status;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stream {
  Stdout,
  Stderr,
  Callback,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct Exit {
  pub code: Option<i32>,
  pub signal: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event<'a> {
  RunStarted {
    name: Option<&'a str>,
    file: &'a str,
    tasks: usize,
    jobs: usize,
  },
  TaskStarted {
    task: &'a str,
    attempt: u32,
  },
  Output {
    task: &'a str,
    stream: Stream,
    line: &'a str,
    /// The queue item a consumer was running.
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<&'a str>,
  },
  TaskRetrying {
    task: &'a str,
    attempt: u32,
    status: Status,
    exit: Exit,
  },
  TaskFinished {
    task: &'a str,
    status: Status,
    attempts: u32,
    duration_ms: u64,
    exit: Exit,
  },
  GroupFinished {
    group: &'a str,
    status: Status,
    done: Vec<&'a str>,
    pending: Vec<&'a str>,
    timed_out: bool,
    duration_ms: u64,
  },
  ItemFinished {
    consumer: &'a str,
    queue: &'a str,
    item: &'a str,
    worker: u32,
    status: Status,
    attempts: u32,
    exit: Exit,
  },
  QueueState {
    queue: &'a str,
    depth: usize,
    put: u64,
    taken: u64,
    done: u64,
    failed: u64,
  },
  QueueFinished {
    queue: &'a str,
    put: u64,
    taken: u64,
    done: u64,
    failed: u64,
    cancelled: u64,
    /// Items never taken by a consumer (the first 1000 when there were more).
    left: Vec<&'a str>,
    /// How many items were never taken.
    left_total: u64,
  },
  CallbackFailed {
    task: &'a str,
    command: &'a str,
    exit: Exit,
  },
  RunFinished {
    status: &'a str,
    exit_code: i32,
    duration_ms: u64,
    counts: Counts,
  },
}

/// Final statuses of the run's nodes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Counts {
  pub succeeded: usize,
  pub failed: usize,
  pub timed_out: usize,
  pub cancelled: usize,
  pub skipped: usize,
}

impl Counts {
  pub(crate) fn add(&mut self, status: Status) {
    match status {
      Status::Succeeded => self.succeeded += 1,
      Status::Failed => self.failed += 1,
      Status::TimedOut => self.timed_out += 1,
      Status::Cancelled => self.cancelled += 1,
      Status::Skipped => self.skipped += 1,
      Status::Pending | Status::Delayed | Status::Ready | Status::Running => {}
    }
  }
}
