//! Events read back from their JSON lines (a served run's `events.jsonl`), so that a reporter
//! on the client's side shows a run of `runner serve` as a local run is shown: `submit
//! --follow` on a terminal gets the live view. Each line is an owned copy of an [`Event`],
//! lent back as one.

use crate::event::{Counts, Event, Exit, Latency, SlurmCalls, Stream};
use crate::report::{Reporter, Screen, Tty};
use crate::source::Source;
use crate::status::Status;
use serde::Deserialize;
use std::path::Path;

/// The live view of a served run, fed its events as they come: the client's half of
/// `--follow` on a terminal. The view is built from the job file as the client reads it.
pub(crate) struct Live {
  reporter: Reporter,
}

impl Live {
  /// A live view for job file `file`; None when the client cannot compile it (the caller then
  /// shows plain lines).
  pub(crate) fn new(file: &Path, color: bool) -> Option<Live> {
    let source = Source::read(file).ok()?;
    let (graph, _) = crate::compile::compile_files(&source).0.ok()?;
    let screen = Screen::Tty(Tty::new(&graph, color, None));
    Some(Live { reporter: Reporter::new(screen, None) })
  }

  /// Shows the events of `lines` (whole JSON lines); lines that are not events are skipped.
  pub(crate) fn feed(&mut self, lines: &str) {
    for owned in lines.lines().filter_map(Owned::parse) {
      self.reporter.event(&owned.event());
    }
    self.reporter.flush();
  }

  /// Ends the view, leaving its last frame and the summary on the terminal.
  pub(crate) fn finish(mut self) {
    let _ = self.reporter.finish();
  }
}

/// One event as its JSON line holds it.
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Owned {
  RunStarted {
    name: Option<String>,
    file: String,
    tasks: usize,
    jobs: usize,
  },
  TaskStarted {
    task: String,
    attempt: u32,
  },
  Output {
    task: String,
    stream: Stream,
    line: String,
    item: Option<String>,
  },
  Placed {
    task: String,
    attempt: u32,
    item: Option<String>,
    slurm_id: String,
    node: String,
  },
  TaskRetrying {
    task: String,
    attempt: u32,
    status: Status,
    exit: Exit,
  },
  TaskFinished {
    task: String,
    status: Status,
    attempts: u32,
    duration_ms: u64,
    exit: Exit,
  },
  GroupFinished {
    group: String,
    status: Status,
    done: Vec<String>,
    pending: Vec<String>,
    timed_out: bool,
    duration_ms: u64,
  },
  ItemFinished {
    consumer: String,
    queue: String,
    item: String,
    worker: u32,
    status: Status,
    attempts: u32,
    exit: Exit,
  },
  QueueState {
    queue: String,
    depth: usize,
    put: u64,
    taken: u64,
    in_progress: u64,
    done: u64,
    failed: u64,
  },
  QueueFinished {
    queue: String,
    put: u64,
    taken: u64,
    done: u64,
    failed: u64,
    cancelled: u64,
    left: Vec<String>,
    left_total: u64,
  },
  CallbackFailed {
    task: String,
    command: String,
    exit: Exit,
  },
  Stopping {
    reason: String,
    signal: Option<i32>,
    tasks: usize,
    items: usize,
    callbacks: usize,
    kill_grace_ms: u64,
    killed: bool,
  },
  Slurm(OwnedSlurm),
  RunFinished {
    status: String,
    exit_code: i32,
    duration_ms: u64,
    counts: Counts,
    cause: Option<String>,
  },
}

/// [`SlurmCalls`] as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct OwnedSlurm {
  launch: String,
  submits: u64,
  steps: u64,
  polls: u64,
  cancels: u64,
  allocs: u64,
  failed: u64,
  lost: u64,
  latency_ms: Option<Latency>,
}

impl Owned {
  /// Parses one JSON line.
  pub(crate) fn parse(line: &str) -> Option<Owned> {
    serde_json::from_str(line).ok()
  }

  /// The event, borrowing this copy's text.
  pub(crate) fn event(&self) -> Event<'_> {
    match self {
      Owned::RunStarted { name, file, tasks, jobs } => {
        Event::RunStarted { name: name.as_deref(), file, tasks: *tasks, jobs: *jobs }
      }
      Owned::TaskStarted { task, attempt } => Event::TaskStarted { task, attempt: *attempt },
      Owned::Output { task, stream, line, item } => {
        Event::Output { task, stream: *stream, line, item: item.as_deref(), raw: None }
      }
      Owned::Placed { task, attempt, item, slurm_id, node } => {
        Event::Placed { task, attempt: *attempt, item: item.as_deref(), slurm_id, node }
      }
      Owned::TaskRetrying { task, attempt, status, exit } => {
        Event::TaskRetrying { task, attempt: *attempt, status: *status, exit: *exit }
      }
      Owned::TaskFinished { task, status, attempts, duration_ms, exit } => Event::TaskFinished {
        task,
        status: *status,
        attempts: *attempts,
        duration_ms: *duration_ms,
        exit: *exit,
      },
      Owned::GroupFinished { group, status, done, pending, timed_out, duration_ms } => {
        Event::GroupFinished {
          group,
          status: *status,
          done: strs(done),
          pending: strs(pending),
          timed_out: *timed_out,
          duration_ms: *duration_ms,
        }
      }
      Owned::ItemFinished { consumer, queue, item, worker, status, attempts, exit } => {
        Event::ItemFinished {
          consumer,
          queue,
          item,
          worker: *worker,
          status: *status,
          attempts: *attempts,
          exit: *exit,
        }
      }
      Owned::QueueState { queue, depth, put, taken, in_progress, done, failed } => {
        Event::QueueState {
          queue,
          depth: *depth,
          put: *put,
          taken: *taken,
          in_progress: *in_progress,
          done: *done,
          failed: *failed,
        }
      }
      Owned::QueueFinished { queue, put, taken, done, failed, cancelled, left, left_total } => {
        Event::QueueFinished {
          queue,
          put: *put,
          taken: *taken,
          done: *done,
          failed: *failed,
          cancelled: *cancelled,
          left: strs(left),
          left_total: *left_total,
        }
      }
      Owned::CallbackFailed { task, command, exit } => {
        Event::CallbackFailed { task, command, exit: *exit }
      }
      Owned::Stopping { reason, signal, tasks, items, callbacks, kill_grace_ms, killed } => {
        Event::Stopping {
          reason,
          signal: *signal,
          tasks: *tasks,
          items: *items,
          callbacks: *callbacks,
          kill_grace_ms: *kill_grace_ms,
          killed: *killed,
        }
      }
      Owned::Slurm(calls) => Event::Slurm(SlurmCalls {
        launch: if calls.launch == "steps" { "steps" } else { "jobs" },
        submits: calls.submits,
        steps: calls.steps,
        polls: calls.polls,
        cancels: calls.cancels,
        allocs: calls.allocs,
        failed: calls.failed,
        lost: calls.lost,
        latency_ms: calls.latency_ms.clone(),
      }),
      Owned::RunFinished { status, exit_code, duration_ms, counts, cause } => Event::RunFinished {
        status,
        exit_code: *exit_code,
        duration_ms: *duration_ms,
        counts: *counts,
        cause: cause.as_deref(),
      },
    }
  }
}

fn strs(v: &[String]) -> Vec<&str> {
  v.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Every kind of event, serialized as `--output json` prints it, reads back to the same line.
  #[test]
  fn every_event_reads_back_as_it_was_written() {
    let exit = Exit { code: Some(3), signal: None };
    let events = [
      Event::RunStarted { name: Some("ci"), file: "a.yaml", tasks: 2, jobs: 4 },
      Event::TaskStarted { task: "build", attempt: 1 },
      Event::Output {
        task: "build",
        stream: Stream::Stderr,
        line: "say \"hi\"\t\u{e9}",
        item: Some("x"),
        raw: None,
      },
      Event::Placed { task: "b", attempt: 1, item: None, slurm_id: "12.3", node: "n1" },
      Event::TaskRetrying { task: "b", attempt: 1, status: Status::Failed, exit },
      Event::TaskFinished {
        task: "b",
        status: Status::Succeeded,
        attempts: 2,
        duration_ms: 5,
        exit,
      },
      Event::GroupFinished {
        group: "g",
        status: Status::Failed,
        done: vec!["a"],
        pending: vec!["b"],
        timed_out: true,
        duration_ms: 9,
      },
      Event::ItemFinished {
        consumer: "c",
        queue: "q",
        item: "i",
        worker: 0,
        status: Status::Failed,
        attempts: 1,
        exit,
      },
      Event::QueueState {
        queue: "q",
        depth: 1,
        put: 2,
        taken: 1,
        in_progress: 1,
        done: 0,
        failed: 0,
      },
      Event::QueueFinished {
        queue: "q",
        put: 2,
        taken: 2,
        done: 1,
        failed: 1,
        cancelled: 0,
        left: vec!["z"],
        left_total: 1,
      },
      Event::CallbackFailed { task: "b", command: "notify", exit },
      Event::Stopping {
        reason: "signal",
        signal: Some(15),
        tasks: 1,
        items: 0,
        callbacks: 0,
        kill_grace_ms: 3000,
        killed: false,
      },
      Event::Slurm(SlurmCalls {
        launch: "steps",
        steps: 3,
        latency_ms: Some(Latency { p50: 1, p99: 2, max: 3 }),
        ..SlurmCalls::default()
      }),
      Event::RunFinished {
        status: "failed",
        exit_code: 1,
        duration_ms: 10,
        counts: Counts { failed: 1, ..Counts::default() },
        cause: Some("`b` failed"),
      },
    ];
    for event in &events {
      let line = serde_json::to_string(event).unwrap();
      let owned = Owned::parse(&line).unwrap_or_else(|| panic!("reads back: {line}"));
      assert_eq!(serde_json::to_string(&owned.event()).unwrap(), line);
    }
  }
}
