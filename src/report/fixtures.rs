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

/// A writer that a test hands to a reporter and reads back afterwards.
#[derive(Debug, Clone, Default)]
pub(super) struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Shared {
  /// What was written so far.
  pub(super) fn text(&self) -> String {
    String::from_utf8(self.0.borrow().clone()).expect("UTF-8 output")
  }
}

impl std::io::Write for Shared {
  fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
    self.0.borrow_mut().extend_from_slice(buf);
    Ok(buf.len())
  }

  fn flush(&mut self) -> std::io::Result<()> {
    Ok(())
  }
}

/// `placed` of `task`'s `attempt` (of its queue `item`) as Slurm job or step `slurm_id` on
/// `node`.
pub(super) fn placed<'a>(
  task: &'a str,
  attempt: u32,
  item: Option<&'a str>,
  slurm_id: &'a str,
  node: &'a str,
) -> Event<'a> {
  Event::Placed { task, attempt, item, slurm_id, node }
}
