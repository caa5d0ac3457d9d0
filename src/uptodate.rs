//! Up-to-date checks: whether a task with `sources` must run. Its inputs (the command, the
//! environment it would get, its needs' results, the paths and contents of its sources and the
//! `generates` globs) hash to one 128-bit value; a task whose hash is what its last success
//! recorded, and whose `generates` all exist, is `up_to_date` and its recorded result stands
//! in for a run. This module reads files and decides nothing about the run: the engine asks it
//! when the scheduler says a task is about to start, and tells the scheduler the answer.

mod hash;
mod state;

use crate::graph::{Graph, NodeId, NodeKind};
pub(crate) use state::{Record, Store};
use std::path::Path;

/// Which tasks `--force` runs whatever their state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Force {
  #[default]
  Nothing,
  All,
  /// By node, for the tasks named (and the members of groups named).
  Tasks(Vec<bool>),
}

impl Force {
  /// `--force NAME...` over the graph: a group forces its members, at any depth.
  pub(crate) fn tasks(graph: &Graph, named: &[NodeId]) -> Self {
    let mut forced = vec![false; graph.nodes.len()];
    let mut stack = named.to_vec();
    while let Some(id) = stack.pop() {
      if std::mem::replace(&mut forced[id], true) {
        continue;
      }
      if let NodeKind::Group(group) = &graph.nodes[id].kind {
        stack.extend(&group.members);
      }
    }
    Self::Tasks(forced)
  }

  pub(crate) fn covers(&self, id: NodeId) -> bool {
    match self {
      Self::Nothing => false,
      Self::All => true,
      Self::Tasks(forced) => forced[id],
    }
  }
}

/// What a check found: the hash of the task's inputs now (recorded if it runs and succeeds),
/// the recorded result when it is up to date, and a warning about its state file.
#[derive(Debug)]
pub(crate) struct Verdict {
  pub hash: u128,
  pub fresh: Option<String>,
  pub warning: Option<String>,
}

/// Checks task `id`, whose needs have finished with the results `result` gives, run in `cwd`.
pub(crate) fn check<'r>(
  graph: &Graph,
  store: &Store,
  id: NodeId,
  cwd: &Path,
  forced: bool,
  result: impl Fn(NodeId) -> &'r str,
) -> Verdict {
  let task = graph.task(id).expect("only tasks have sources");
  let hash = hash::inputs(graph, id, cwd, result);
  if forced {
    return Verdict { hash, fresh: None, warning: None };
  }
  let (record, warning) = match store.read(&graph.nodes[id].name) {
    Ok(record) => (record, None),
    Err(warning) => (None, Some(warning)),
  };
  let fresh =
    record.filter(|r| r.hash == hash && hash::all_exist(&task.generates, cwd)).map(|r| r.result);
  Verdict { hash, fresh, warning }
}

#[cfg(test)]
mod tests;
