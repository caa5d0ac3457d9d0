//! The nodes' results, kept only while something can still read them: the tasks that need the
//! node (each of their attempts reads `RUNNER_RESULT_<N>`), the groups it is a member of (a
//! group's result is made of its members' when it returns) and its own callbacks
//! (`RUNNER_RESULT`). Once the last of those has completed, the result is dropped: a run of
//! many tasks with large output holds only the results still to be read. No report holds
//! results, so nothing needs them after that.

use crate::graph::{Callbacks, Graph, NodeId};

pub(super) struct Results {
  values: Vec<Option<String>>,
  /// What may still read each node's result: its selected readers not completed yet.
  readers: Vec<usize>,
  /// The groups that read their members' results: those whose own result is read.
  reads_members: Vec<bool>,
  /// Every result as it was last set, dropped or not, for tests to look at after the run.
  #[cfg(test)]
  pub(super) last: Vec<Option<String>>,
}

impl Results {
  /// No result yet; the readers of each node counted over the selected nodes.
  pub(super) fn new(graph: &Graph, selected: &[bool]) -> Self {
    let n = graph.nodes.len();
    let mut readers = vec![0; n];
    for id in (0..n).filter(|&id| selected[id]) {
      for read in own_reads(graph, id) {
        readers[read] += 1;
      }
    }
    // A group reads its members' results only to make its own: only if that is read. Each
    // group is looked at once, when it is found to be read.
    let mut reads_members = vec![false; n];
    let mut read_groups: Vec<NodeId> =
      (0..n).filter(|&id| selected[id] && readers[id] > 0 && graph.group(id).is_some()).collect();
    while let Some(group) = read_groups.pop() {
      reads_members[group] = true;
      for &member in &graph.group(group).expect("a group").members {
        readers[member] += 1;
        if readers[member] == 1 && graph.group(member).is_some() {
          read_groups.push(member);
        }
      }
    }
    Self {
      values: vec![None; n],
      readers,
      reads_members,
      #[cfg(test)]
      last: vec![None; n],
    }
  }

  /// One more reader of every result, which never completes: for tests that look at results
  /// nothing in the graph reads.
  #[cfg(test)]
  pub(super) fn read_all(&mut self, graph: &Graph) {
    for id in 0..graph.nodes.len() {
      self.readers[id] += 1;
      if let Some(group) = graph.group(id).filter(|_| !self.reads_members[id]) {
        self.reads_members[id] = true;
        group.members.iter().for_each(|&member| self.readers[member] += 1);
      }
    }
  }

  pub(super) fn get(&self, id: NodeId) -> Option<&str> {
    self.values[id].as_deref()
  }

  /// Whether anything is left to read the result of `id`: if not, it need not be made.
  pub(super) fn is_read(&self, id: NodeId) -> bool {
    self.readers[id] > 0
  }

  /// Sets the result of `id`, kept only if something is left to read it.
  pub(super) fn set(&mut self, id: NodeId, value: String) {
    #[cfg(test)]
    {
      self.last[id] = Some(value.clone());
    }
    if self.is_read(id) {
      self.values[id] = Some(value);
    }
  }

  /// Node `id` has completed: it reads no result any more, its own included.
  pub(super) fn completed(&mut self, graph: &Graph, id: NodeId) {
    for read in own_reads(graph, id) {
      self.release(read);
    }
    if self.reads_members[id] {
      for &member in &graph.group(id).expect("a group").members {
        self.release(member);
      }
    }
  }

  /// One reader of `id`'s result is done; after the last, the result is dropped.
  fn release(&mut self, id: NodeId) {
    self.readers[id] -= 1;
    if self.readers[id] == 0 {
      self.values[id] = None;
    }
  }
}

/// The nodes whose results node `id` reads, a group's members aside: its needs, and itself
/// when it has callbacks or `sources` (its success records its result for later runs).
fn own_reads(graph: &Graph, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
  let node = &graph.nodes[id];
  let Callbacks { on_success, on_failure, on_done } = &node.callbacks;
  let has_callbacks = !(on_success.is_empty() && on_failure.is_empty() && on_done.is_empty());
  let recorded = node.task().is_some_and(|t| !t.sources.is_empty());
  node.needs.iter().copied().chain((has_callbacks || recorded).then_some(id))
}
