//! What the runner tells reporters, one event at a time. Field names are stable: `--output
//! json` prints these as NDJSON.

use crate::status::Status;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stream {
  Stdout,
  Stderr,
  Callback,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// The bytes as the process wrote them, with their line end if they had one (`line` is
    /// their text: lossy UTF-8, without `\r\n`); None for the runner's own words, a line of
    /// text. Logs hold these bytes.
    #[serde(skip)]
    raw: Option<&'a [u8]>,
  },
  /// An attempt of a task (of a queue item, for a consumer) runs on a node of a Slurm cluster:
  /// its job id (`12`) or step id (`12.3`) and the node's name. Said once per attempt, when the
  /// node is known (for a job, at its start or at its end).
  Placed {
    task: &'a str,
    attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<&'a str>,
    slurm_id: &'a str,
    node: &'a str,
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
  /// A queue's counters after a put, a take or an item's end: at most one per queue per
  /// [`QUEUE_STATE_EVERY`], and the last state always.
  QueueState {
    queue: &'a str,
    depth: usize,
    put: u64,
    taken: u64,
    /// Taken and not finished yet.
    in_progress: u64,
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
  /// The run stops early (`--timeout`, a signal): what is being stopped, and how.
  Stopping {
    /// `timeout` or `signal`.
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<i32>,
    /// What is terminated now (SIGTERM, SIGKILL after the kill grace).
    tasks: usize,
    items: usize,
    callbacks: usize,
    kill_grace_ms: u64,
    /// A second signal: everything left is killed now.
    killed: bool,
  },
  /// What the Slurm backend asked of the cluster during the run: said once, before
  /// `run_finished`, by `--backend slurm` runs only.
  Slurm(SlurmCalls),
  RunFinished {
    status: &'a str,
    exit_code: i32,
    duration_ms: u64,
    counts: Counts,
    /// Why a run that did not succeed failed or stopped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
  },
}

/// The Slurm commands a run called, by kind, and how fast the jobs path saw jobs end.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub(crate) struct SlurmCalls {
  /// `steps` or `jobs`.
  pub launch: &'static str,
  /// `sbatch` calls (jobs path).
  pub submits: u64,
  /// `srun` steps started (steps path).
  pub steps: u64,
  /// `squeue` calls.
  pub polls: u64,
  /// `scancel` calls.
  pub cancels: u64,
  /// `salloc` calls (`--slurm-alloc`).
  pub allocs: u64,
  /// Calls that failed (a non-zero exit, no answer in time), of any kind.
  pub failed: u64,
  /// Attempts whose job vanished without saying how it ended.
  pub lost: u64,
  /// Jobs path: from a job's exit file being written to its end being seen, in milliseconds.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub latency_ms: Option<Latency>,
}

/// A few points of a distribution of milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Latency {
  pub p50: u64,
  pub p99: u64,
  pub max: u64,
}

/// The text of a line of output as the process wrote it: without its line end (`\n` or `\r\n`),
/// and with bytes that are not UTF-8 shown as U+FFFD.
pub(crate) fn text(raw: &[u8]) -> std::borrow::Cow<'_, str> {
  let line = raw.strip_suffix(b"\n").unwrap_or(raw);
  let line = line.strip_suffix(b"\r").unwrap_or(line);
  String::from_utf8_lossy(line)
}

/// The most often a queue's `queue_state` is reported.
pub(crate) const QUEUE_STATE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Final statuses of the run's nodes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Counts {
  pub succeeded: usize,
  pub failed: usize,
  pub timed_out: usize,
  pub cancelled: usize,
  pub skipped: usize,
  /// Tasks that did not run because their last success still holds.
  pub up_to_date: usize,
  /// Of the failed and timed out, those with `allow_failure`.
  pub allowed_failures: usize,
  /// Nodes whose callbacks failed.
  pub callbacks_failed: usize,
}

impl Counts {
  pub(crate) fn add(&mut self, status: Status) {
    match status {
      Status::Succeeded => self.succeeded += 1,
      Status::Failed => self.failed += 1,
      Status::TimedOut => self.timed_out += 1,
      Status::Cancelled => self.cancelled += 1,
      Status::Skipped => self.skipped += 1,
      Status::UpToDate => self.up_to_date += 1,
      Status::Pending | Status::Delayed | Status::Ready | Status::Running => {}
    }
  }
}

#[cfg(test)]
mod tests {
  #[test]
  fn text_of_a_line() {
    assert_eq!(super::text(b"a\r\n"), "a");
    assert_eq!(super::text(b"a\n"), "a");
    assert_eq!(super::text(b"a\r"), "a");
    assert_eq!(super::text(b"\xffa"), "\u{fffd}a");
  }
}
