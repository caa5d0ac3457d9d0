//! What the reporters' unit tests build over and over: a job compiled from YAML, exits, and the
//! events with many fields that the tests only vary in a few.

use crate::event::{Counts, Event, Exit};
use crate::graph::Graph;
use crate::status::Status;

/// `yaml` compiled as `job.yaml`.
pub(super) fn graph(yaml: &str) -> Graph {
  let source = crate::source::Source::new("job.yaml", yaml);
  crate::compile::compile_source(&source).expect("a valid job")
}

/// An exit with `code` and no signal.
pub(super) fn exit(code: i32) -> Exit {
  Exit { code: Some(code), signal: None }
}

/// `task_finished`.
pub(super) fn task_finished(
  task: &str,
  status: Status,
  attempts: u32,
  duration_ms: u64,
  exit: Exit,
) -> Event<'_> {
  Event::TaskFinished { task, status, attempts, duration_ms, exit }
}

/// `group_finished` of a group that did not time out.
pub(super) fn group_finished<'a>(
  group: &'a str,
  status: Status,
  done: &[&'a str],
  pending: &[&'a str],
) -> Event<'a> {
  let (done, pending) = (done.to_vec(), pending.to_vec());
  Event::GroupFinished { group, status, done, pending, timed_out: false, duration_ms: 0 }
}

/// `run_finished` with zero counts.
pub(super) fn run_finished(status: &str, exit_code: i32, duration_ms: u64) -> Event<'_> {
  Event::RunFinished { status, exit_code, duration_ms, counts: Counts::default(), cause: None }
}
