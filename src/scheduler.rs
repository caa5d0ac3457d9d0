//! The scheduler: a synchronous state machine over the graph. Inputs (process exits, timers,
//! stop requests) go in; actions (spawn, start a timer, terminate, run callbacks, report) come
//! out. It decides everything and does nothing itself, so every transition is unit-tested
//! without a runtime. Work per input is O(1) plus the edges of the node it concerns.

use crate::graph::{Graph, GroupRule, NodeId, NodeKind};
use crate::group::{Decision, GroupState};
use crate::status::Status;
use std::collections::VecDeque;
use std::time::Duration;

/// Why a timer was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
  Delay,
  Retry,
  GroupTimeout,
}

/// Why the run stops early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
  FailFast,
  Timeout,
  Signal(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
  Start,
  TimerFired(NodeId, Timer),
  /// A task's process ended: succeeded, failed or timed_out (always a final status), with its
  /// captured result.
  Exited {
    id: NodeId,
    status: Status,
    result: String,
  },
  CallbacksDone {
    id: NodeId,
    ok: bool,
  },
  Stop(StopReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Action {
  Spawn {
    id: NodeId,
    attempt: u32,
  },
  StartTimer {
    id: NodeId,
    after: Duration,
    timer: Timer,
  },
  /// Terminate a running task's process group (SIGTERM, grace, SIGKILL).
  Terminate {
    id: NodeId,
  },
  RunCallbacks {
    id: NodeId,
    status: Status,
  },
  /// A task failed and will run again.
  Retrying {
    id: NodeId,
    attempt: u32,
    status: Status,
  },
  /// A wait or gather group returned.
  GroupReturned {
    id: NodeId,
    decision: Decision,
  },
  /// A node reached its final status.
  Finished {
    id: NodeId,
    status: Status,
  },
  /// Everything selected has a final status.
  Done,
}

#[derive(Debug, Clone)]
struct NodeState {
  status: Status,
  attempt: u32,
  /// Needs not finished yet.
  waiting: usize,
  cancel_requested: bool,
  /// The final status is set and callbacks are running; dependents are not told yet.
  in_callbacks: bool,
  /// The task holds one of the `limit` slots.
  holds_slot: bool,
}

pub struct Scheduler<'g> {
  graph: &'g Graph,
  nodes: Vec<NodeState>,
  groups: Vec<Option<GroupState>>,
  results: Vec<Option<String>>,
  selected: Vec<bool>,
  ready: VecDeque<NodeId>,
  /// Nodes that completed and whose groups and dependents are not told yet (see `propagate`).
  completed: VecDeque<NodeId>,
  running: usize,
  limit: usize,
  remaining: usize,
  fail_fast: bool,
  stopped: Option<StopReason>,
  failed: bool,
  callbacks_failed: usize,
}

impl<'g> Scheduler<'g> {
  /// A scheduler for `targets` (all nodes when empty), at most `limit` tasks at once.
  pub fn new(graph: &'g Graph, targets: &[NodeId], limit: usize, fail_fast: bool) -> Self {
    let selected = select(graph, targets);
    let nodes = graph
      .nodes
      .iter()
      .map(|n| NodeState {
        status: Status::Pending,
        attempt: 0,
        waiting: n.needs.len(),
        cancel_requested: false,
        in_callbacks: false,
        holds_slot: false,
      })
      .collect();
    let groups = graph
      .nodes
      .iter()
      .map(|n| match &n.kind {
        NodeKind::Group(g) => Some(GroupState::new(g.rule, g.members.len())),
        NodeKind::Task(_) => None,
      })
      .collect();
    Self {
      graph,
      nodes,
      groups,
      results: vec![None; graph.nodes.len()],
      remaining: selected.iter().filter(|&&s| s).count(),
      selected,
      ready: VecDeque::new(),
      completed: VecDeque::new(),
      running: 0,
      limit: limit.max(1),
      fail_fast,
      stopped: None,
      failed: false,
      callbacks_failed: 0,
    }
  }

  pub fn status(&self, id: NodeId) -> Status {
    self.nodes[id].status
  }

  pub fn attempts(&self, id: NodeId) -> u32 {
    self.nodes[id].attempt
  }

  pub fn result(&self, id: NodeId) -> Option<&str> {
    self.results[id].as_deref()
  }

  /// Whether fewer tasks wait for a slot than there are slots: then a slot will go idle when
  /// a running task ends.
  pub fn slots_to_spare(&self) -> bool {
    self.ready.len() < self.limit
  }

  pub fn is_selected(&self, id: NodeId) -> bool {
    self.selected[id]
  }

  /// Whether a task or group failed (or a callback did) in a way that fails the run.
  pub fn run_failed(&self) -> bool {
    self.failed || self.callbacks_failed > 0 || matches!(self.stopped, Some(StopReason::Timeout))
  }

  pub fn stop_reason(&self) -> Option<StopReason> {
    self.stopped
  }

  /// Handles one input; appends what to do to `out`.
  pub fn handle(&mut self, input: Input, out: &mut Vec<Action>) {
    match input {
      Input::Start => self.start(out),
      Input::TimerFired(id, timer) => self.timer_fired(id, timer, out),
      Input::Exited { id, status, result } => self.exited(id, status, result, out),
      Input::CallbacksDone { id, ok } => self.callbacks_done(id, ok, out),
      Input::Stop(reason) => self.stop(reason, out),
    }
    self.propagate(out);
    self.dispatch(out);
    if self.remaining == 0 {
      self.remaining = usize::MAX;
      out.push(Action::Done);
    }
  }

  fn start(&mut self, out: &mut Vec<Action>) {
    for id in 0..self.graph.nodes.len() {
      // A stop that came before Start has settled everything already.
      if !self.selected[id] || self.nodes[id].status != Status::Pending {
        continue;
      }
      match &self.graph.nodes[id].kind {
        NodeKind::Task(_) if self.nodes[id].waiting == 0 => self.make_ready(id, out),
        NodeKind::Group(group) if group.members.is_empty() => {
          self.finish(id, Status::Succeeded, out)
        }
        NodeKind::Task(_) | NodeKind::Group(_) => {}
      }
    }
  }

  /// All needs of a task are met: start its delay, or queue it.
  fn make_ready(&mut self, id: NodeId, out: &mut Vec<Action>) {
    self.activate_groups(id, out);
    let task = self.graph.task(id).expect("only tasks become ready");
    match task.delay {
      Some(after) if !after.is_zero() => {
        self.nodes[id].status = Status::Delayed;
        out.push(Action::StartTimer { id, after, timer: Timer::Delay });
      }
      _ => self.enqueue(id, out),
    }
  }

  fn enqueue(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let task = self.graph.task(id).expect("only tasks are queued");
    if task.run.is_none() {
      // A join point or pure timer: nothing to run, it succeeds at once. Like a group, it holds
      // no slot (its callbacks run at once): taking one here could go over the limit.
      self.nodes[id].attempt = 1;
      self.results[id] = Some(String::new());
      self.finish(id, Status::Succeeded, out);
      return;
    }
    if task.consumes.is_some() {
      // A consumer starts at once and holds no slot: it waits for items, and taking a slot
      // while its producers wait for one could deadlock at `-j 1`. Its `workers` bound it.
      self.nodes[id].status = Status::Running;
      self.nodes[id].attempt = 1;
      out.push(Action::Spawn { id, attempt: 1 });
      return;
    }
    self.nodes[id].status = Status::Ready;
    self.ready.push_back(id);
  }

  /// A group runs from the moment its first member became ready; a wait group's timeout counts
  /// from then.
  fn activate_groups(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let graph = self.graph;
    for &group in &graph.nodes[id].groups {
      // Running already, or returned before any member became ready (its members skipped).
      if !self.selected[group] || self.nodes[group].status != Status::Pending {
        continue;
      }
      self.nodes[group].status = Status::Running;
      if let Some(GroupRule::Wait { timeout: Some(after), .. }) = graph.group(group).map(|g| g.rule)
      {
        out.push(Action::StartTimer { id: group, after, timer: Timer::GroupTimeout });
      }
      self.activate_groups(group, out);
    }
  }

  fn dispatch(&mut self, out: &mut Vec<Action>) {
    while self.stopped.is_none() && self.running < self.limit {
      let Some(id) = self.ready.pop_front() else {
        break;
      };
      if self.nodes[id].status != Status::Ready {
        continue;
      }
      self.take_slot(id);
      self.nodes[id].attempt += 1;
      out.push(Action::Spawn { id, attempt: self.nodes[id].attempt });
    }
  }

  fn timer_fired(&mut self, id: NodeId, timer: Timer, out: &mut Vec<Action>) {
    match timer {
      Timer::Delay | Timer::Retry if self.nodes[id].status == Status::Delayed => {
        self.enqueue(id, out)
      }
      Timer::GroupTimeout if !self.nodes[id].status.is_final() => {
        if let Some(decision) = self.groups[id].as_mut().and_then(GroupState::timeout) {
          self.apply_decision(id, decision, out);
        }
      }
      _ => {}
    }
  }

  fn exited(&mut self, id: NodeId, status: Status, result: String, out: &mut Vec<Action>) {
    let NodeState { status: current, attempt, cancel_requested, .. } = self.nodes[id];
    if current != Status::Running {
      return;
    }
    let graph = self.graph;
    let task = graph.task(id).expect("only tasks run");
    self.results[id] = Some(result);
    if cancel_requested {
      return self.finish(id, Status::Cancelled, out);
    }
    // A consumer's `retries` apply to each item, not to the consumer as a whole.
    let retry = task.consumes.is_none() && attempt <= task.retries;
    if status.is_failure() && retry && self.stopped.is_none() {
      self.release(id);
      out.push(Action::Retrying { id, attempt, status });
      if task.retry_delay.is_zero() {
        self.enqueue(id, out);
      } else {
        self.nodes[id].status = Status::Delayed;
        out.push(Action::StartTimer { id, after: task.retry_delay, timer: Timer::Retry });
      }
      return;
    }
    self.finish(id, status, out);
  }

  /// A node has its final status: run its callbacks, then complete it. Running tasks keep
  /// their slot until their callbacks are done. With fail-fast, a failure stops the run here,
  /// not after its callbacks: nothing new may start meanwhile.
  fn finish(&mut self, id: NodeId, status: Status, out: &mut Vec<Action>) {
    self.nodes[id].status = status;
    let ran = status != Status::Skipped;
    let interrupted = matches!(self.stopped, Some(StopReason::Signal(_)));
    if ran && !interrupted && !self.graph.nodes[id].callbacks.is_empty() {
      self.nodes[id].in_callbacks = true;
      out.push(Action::RunCallbacks { id, status });
    } else {
      self.release(id);
      self.complete(id, out);
    }
    if self.fail_fast && status.is_failure() && !self.graph.nodes[id].allow_failure {
      self.stop(StopReason::FailFast, out);
    }
  }

  fn callbacks_done(&mut self, id: NodeId, ok: bool, out: &mut Vec<Action>) {
    if !self.nodes[id].in_callbacks {
      return;
    }
    self.nodes[id].in_callbacks = false;
    if !ok {
      self.callbacks_failed += 1;
    }
    self.release(id);
    self.complete(id, out);
  }

  fn take_slot(&mut self, id: NodeId) {
    self.nodes[id].status = Status::Running;
    self.nodes[id].holds_slot = true;
    self.running += 1;
  }

  /// Frees the concurrency slot of a task that was running, if it holds one.
  fn release(&mut self, id: NodeId) {
    if std::mem::take(&mut self.nodes[id].holds_slot) {
      self.running -= 1;
    }
  }

  /// A node has its final status and its callbacks are done: report it, and queue it for
  /// `propagate` to tell its groups and dependents.
  fn complete(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let status = self.nodes[id].status;
    self.remaining -= 1;
    out.push(Action::Finished { id, status });
    if status.is_failure() && !self.graph.nodes[id].allow_failure {
      self.failed = true;
    }
    self.completed.push_back(id);
  }

  /// Tells the groups and dependents of completed nodes, first completed first. A loop, not a
  /// recursion: a long chain of skipped tasks or join points must not overflow the stack.
  fn propagate(&mut self, out: &mut Vec<Action>) {
    while let Some(id) = self.completed.pop_front() {
      let status = self.nodes[id].status;
      let node = &self.graph.nodes[id];
      let allowed = node.allow_failure;
      // Groups first: a group hears of its member's own outcome before it hears of that
      // member's dependents being skipped because of it.
      for (&group, &index) in node.groups.iter().zip(&node.member_index) {
        if !self.selected[group] || self.nodes[group].status.is_final() {
          continue;
        }
        let Some(state) = self.groups[group].as_mut() else {
          continue;
        };
        if let Some(decision) = state.member_finished(index, status, allowed) {
          self.apply_decision(group, decision, out);
        }
      }
      let go_on = status == Status::Succeeded || (status.is_failure() && allowed);
      for &dependent in &node.dependents {
        if !self.selected[dependent] || self.nodes[dependent].status != Status::Pending {
          continue;
        }
        if go_on {
          self.nodes[dependent].waiting -= 1;
          if self.nodes[dependent].waiting == 0 {
            self.need_met(dependent, out);
          }
        } else {
          self.settle(dependent, Status::Skipped, out);
        }
      }
    }
  }

  /// The last need of `id` (a task: groups have no needs) finished successfully.
  fn need_met(&mut self, id: NodeId, out: &mut Vec<Action>) {
    if self.stopped.is_some() {
      return self.settle(id, Status::Cancelled, out);
    }
    self.make_ready(id, out);
  }

  /// Gives a node that never started, or a group, its final status (skipped or cancelled); a
  /// group's members are cancelled with it.
  fn settle(&mut self, id: NodeId, status: Status, out: &mut Vec<Action>) {
    // A node in its callbacks has its final status already.
    if self.nodes[id].status.is_final() {
      return;
    }
    let graph = self.graph;
    if let Some(group) = graph.group(id) {
      // Final before its members are cancelled: nothing they set off may reach it again. Its
      // `GroupState` is not asked anything once it is final.
      self.nodes[id].status = status;
      for &member in &group.members {
        if self.selected[member] {
          self.cancel(member, out);
        }
      }
    }
    // A task cancelled before it started still gets its `on_done`, as a cancelled future's
    // done-callbacks run in asyncio; a skipped one gets none.
    self.finish(id, status, out);
  }

  /// A group returned: the group is not final yet (its inputs are only read while it is not),
  /// and cancelling its pending members cannot make it final (they complete in `propagate`).
  fn apply_decision(&mut self, id: NodeId, decision: Decision, out: &mut Vec<Action>) {
    let graph = self.graph;
    let members = &graph.group(id).expect("decisions come from groups").members;
    self.results[id] = Some(self.group_result(id, &decision));
    let status = decision.status;
    let cancel = if decision.cancel_pending { decision.pending.clone() } else { Vec::new() };
    // The group returns first; then what it left pending is cancelled.
    out.push(Action::GroupReturned { id, decision });
    for i in cancel {
      self.cancel(members[i], out);
    }
    self.finish(id, status, out);
  }

  /// A gather group's result: member results in declared order; a wait group's: done (in
  /// finishing order, with status and result) and pending names.
  fn group_result(&self, id: NodeId, decision: &Decision) -> String {
    let group = self.graph.group(id).expect("a group");
    // A member group's result is JSON already: it is embedded as a value, not as a string.
    let result = |m: NodeId| {
      let text = self.results[m].as_deref().unwrap_or_default();
      match self.graph.group(m).and_then(|_| serde_json::from_str(text).ok()) {
        Some(value) => value,
        None => serde_json::Value::from(text),
      }
    };
    let value = match group.rule {
      GroupRule::Gather => {
        serde_json::Value::Array(group.members.iter().map(|&m| result(m)).collect())
      }
      GroupRule::Wait { .. } => {
        let done: Vec<_> = decision
          .done
          .iter()
          .map(|&i| {
            let m = group.members[i];
            serde_json::json!({"name": self.graph.nodes[m].name, "status": self.nodes[m].status.as_str(), "result": result(m)})
          })
          .collect();
        let pending: Vec<_> = decision
          .pending
          .iter()
          .map(|&i| self.graph.nodes[group.members[i]].name.clone())
          .collect();
        serde_json::json!({"done": done, "pending": pending})
      }
    };
    value.to_string()
  }

  /// Cancels one node: a running task is terminated, one not started is settled as cancelled.
  fn cancel(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let node = &mut self.nodes[id];
    match node.status {
      Status::Running if self.graph.task(id).is_some() => {
        if !std::mem::replace(&mut node.cancel_requested, true) {
          out.push(Action::Terminate { id });
        }
      }
      _ => self.settle(id, Status::Cancelled, out),
    }
  }

  /// Stops the run: nothing new starts, everything unfinished is cancelled.
  fn stop(&mut self, reason: StopReason, out: &mut Vec<Action>) {
    if self.stopped.is_some() && !matches!(reason, StopReason::Signal(_)) {
      return;
    }
    self.stopped = Some(reason);
    // Fail-fast stops because something failed, whoever asked (a task or a queue item).
    self.failed |= reason == StopReason::FailFast;
    self.ready.clear();
    for id in 0..self.graph.nodes.len() {
      if self.selected[id] {
        self.cancel(id, out);
      }
    }
  }
}

/// The nodes a run covers: the targets and, transitively, what they need and their members.
fn select(graph: &Graph, targets: &[NodeId]) -> Vec<bool> {
  if targets.is_empty() {
    return vec![true; graph.nodes.len()];
  }
  let mut selected = vec![false; graph.nodes.len()];
  let mut stack = targets.to_vec();
  while let Some(id) = stack.pop() {
    if std::mem::replace(&mut selected[id], true) {
      continue;
    }
    let node = &graph.nodes[id];
    stack.extend(&node.needs);
    match &node.kind {
      NodeKind::Group(group) => stack.extend(&group.members),
      NodeKind::Task(task) => {
        if let Some(q) = task.consumes {
          stack.extend(&graph.queues[q].producers);
        }
      }
    }
  }
  selected
}

#[cfg(test)]
mod tests;
