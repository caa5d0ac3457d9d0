//! How a run ended, in numbers and in words: the counts of its tasks' final statuses and the
//! cause of a run that did not succeed (`callback of `serve` failed`), for its last line.

use crate::engine::Outcome;
use crate::event::Counts;
use crate::graph::{Graph, NodeId};
use crate::report::text;
use crate::scheduler::StopReason;
use crate::status::Status;
use std::time::Duration;

/// Nodes named in a cause before the rest are only counted.
const NAMED: usize = 3;

/// The counts of the run's tasks, allowed failures and failed callbacks apart.
pub(super) fn counts(graph: &Graph, outcome: &Outcome) -> Counts {
  let mut counts = Counts::default();
  for (id, status) in outcome.statuses.iter().enumerate() {
    if let (Some(status), Some(_)) = (status, graph.task(id)) {
      counts.add(*status);
      if status.is_failure() && graph.nodes[id].allow_failure {
        counts.allowed_failures += 1;
      }
    }
  }
  counts.callbacks_failed = outcome.callbacks_failed.len();
  counts
}

/// Why the run did not succeed; None when it did.
pub(super) fn cause(graph: &Graph, outcome: &Outcome, timeout: Option<Duration>) -> Option<String> {
  match outcome.stop {
    // Stdout's reader left: a stop like SIGPIPE, though none was sent.
    Some(StopReason::Signal(libc::SIGPIPE)) => return Some("stdout's reader left".to_string()),
    Some(StopReason::Signal(signal)) => {
      return Some(format!("{} received", text::signal_name(signal)));
    }
    Some(StopReason::Timeout) => {
      let limit = timeout.map(crate::duration::display).unwrap_or_default();
      return Some(format!("--timeout {limit} expired"));
    }
    Some(StopReason::Changed) => return Some("sources changed".to_string()),
    Some(StopReason::Cancelled) => return Some("cancelled by `runner cancel`".to_string()),
    Some(StopReason::FailFast) | None if !outcome.failed => return None,
    Some(StopReason::FailFast) | None => {}
  }
  let failed = |task: bool| -> Vec<NodeId> {
    (0..graph.nodes.len())
      .filter(|&id| graph.task(id).is_some() == task && !graph.nodes[id].allow_failure)
      .filter(|&id| outcome.statuses[id].is_some_and(Status::is_failure))
      .collect()
  };
  let mut parts = failures(graph, outcome, &failed(true), "");
  if parts.is_empty() {
    parts = failures(graph, outcome, &failed(false), "group ");
  }
  if !outcome.callbacks_failed.is_empty() {
    let names = listed(graph, &outcome.callbacks_failed);
    let s = if outcome.callbacks_failed.len() > 1 { "s" } else { "" };
    parts.push(format!("callback{s} of {names} failed"));
  }
  if outcome.stop == Some(StopReason::FailFast) && !parts.is_empty() {
    parts[0].push_str(" (--fail-fast)");
  }
  Some(if parts.is_empty() { "a failure".to_string() } else { parts.join("; ") })
}

/// `` `a` and `b` failed ``, `` `s` timed out ``, `` `a`, `b`, `c` and 3 more failed ``: the
/// failed, then the timed out (`kind`: `group ` for groups).
fn failures(graph: &Graph, outcome: &Outcome, ids: &[NodeId], kind: &str) -> Vec<String> {
  let timed_out = |&&id: &&NodeId| outcome.statuses[id] == Some(Status::TimedOut);
  let (late, failed): (Vec<NodeId>, Vec<NodeId>) = ids.iter().partition(timed_out);
  [(failed, "failed"), (late, "timed out")]
    .into_iter()
    .filter(|(ids, _)| !ids.is_empty())
    .map(|(ids, verb)| format!("{kind}{} {verb}", listed(graph, &ids)))
    .collect()
}

/// `` `a` ``, `` `a` and `b` ``, `` `a`, `b`, `c` and 2 more ``.
fn listed(graph: &Graph, ids: &[NodeId]) -> String {
  let names: Vec<String> =
    ids.iter().take(NAMED).map(|&id| format!("`{}`", graph.nodes[id].name)).collect();
  match (names.len(), ids.len() - names.len()) {
    (1, 0) => names[0].clone(),
    (n, 0) => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    (_, more) => format!("{} and {more} more", names.join(", ")),
  }
}
