//! How nodes move through the graph: becoming ready, taking a slot, ending an attempt (and
//! retrying it), reaching a final status, and telling their groups and dependents.

use super::{Action, Proc, Scheduler, Timer};
use crate::consumer::{ConsumerState, ItemRules};
use crate::graph::{GroupRule, NodeId};
use crate::group::{Decision, GroupState};
use crate::status::Status;

impl Scheduler<'_> {
  /// All needs of a task are met: start its delay, or queue it.
  pub(super) fn make_ready(&mut self, id: NodeId, out: &mut Vec<Action>) {
    self.activate_groups(id, out);
    let task = self.graph.task(id).expect("only tasks become ready");
    match task.delay {
      Some(after) if !after.is_zero() => {
        self.nodes[id].status = Status::Delayed;
        out.push(Action::StartTimer { after, timer: Timer::Delay(id) });
      }
      _ => self.enqueue(id, out),
    }
  }

  pub(super) fn enqueue(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let task = self.graph.task(id).expect("only tasks are queued");
    if task.run.is_none() {
      // A join point or pure timer: nothing to run, it succeeds at once. Like a group, it holds
      // no slot (its callbacks run at once): taking one here could go over the limit.
      self.nodes[id].attempt = 1;
      self.results.set(id, String::new());
      self.finish(id, Status::Succeeded, out);
      return;
    }
    if task.consumes.is_some() {
      // A consumer starts at once and holds no slot: it waits for items, and taking a slot
      // while its producers wait for one could deadlock at `-j 1`. Its `workers` bound it.
      self.nodes[id].status = Status::Running;
      self.nodes[id].attempt = 1;
      out.push(Action::Spawn { id, attempt: 1, waiting: self.ready.len() });
      let rules = ItemRules { retries: task.retries, retry_delay: task.retry_delay };
      self.consumers.insert(id, ConsumerState::new(rules, task.workers));
      self.next_take(id, out);
      return;
    }
    self.nodes[id].status = Status::Ready;
    self.ready.push_back(id);
  }

  /// A group runs from the moment its first member became ready; a wait group's timeout counts
  /// from then. Its own groups start with it, depth first, through a stack rather than a
  /// recursion: a chain of thousands of nested groups must not overflow the stack.
  fn activate_groups(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let graph = self.graph;
    let mut stack = vec![graph.nodes[id].groups.iter()];
    while let Some(groups) = stack.last_mut() {
      let Some(&group) = groups.next() else {
        stack.pop();
        continue;
      };
      // Running already, or returned before any member became ready (its members skipped).
      if !self.selected[group] || self.nodes[group].status != Status::Pending {
        continue;
      }
      self.nodes[group].status = Status::Running;
      if let Some(GroupRule::Wait { timeout: Some(after), .. }) = graph.group(group).map(|g| g.rule)
      {
        out.push(Action::StartTimer { after, timer: Timer::GroupTimeout(group) });
      }
      stack.push(graph.nodes[group].groups.iter());
    }
  }

  pub(super) fn dispatch(&mut self, out: &mut Vec<Action>) {
    while self.stopped.is_none() && self.running < self.policy.jobs {
      let Some(id) = self.ready.pop_front() else {
        break;
      };
      if self.nodes[id].status != Status::Ready {
        continue;
      }
      if self.slots.as_ref().is_some_and(|slots| !slots.take()) {
        // Its turn comes with `Input::Slots`.
        self.ready.push_front(id);
        return;
      }
      self.take_slot(id);
      let has_sources = self.graph.task(id).is_some_and(|t| !t.sources.is_empty());
      if has_sources && self.nodes[id].attempt == 0 {
        self.nodes[id].checking = true;
        out.push(Action::Check { id });
        continue;
      }
      self.spawn(id, out);
    }
    // Nothing of this run waits for a shared slot: its turn is the next run's.
    if let Some(slots) = &self.slots
      && (self.stopped.is_some() || self.ready.is_empty() || self.running >= self.policy.jobs)
    {
      slots.not_waiting();
    }
  }

  /// Starts the next attempt of a task that holds a slot.
  fn spawn(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let seq = self.next_seq();
    let node = &mut self.nodes[id];
    node.attempt += 1;
    (node.seq, node.timed_out, node.stopping) = (seq, false, false);
    out.push(Action::Spawn { id, attempt: node.attempt, waiting: self.ready.len() });
    if let Some(after) = self.graph.task(id).and_then(|t| t.timeout) {
      out.push(Action::StartTimer { after, timer: Timer::Timeout(Proc::Task(id), seq) });
    }
  }

  /// The up-to-date check of a task ended: up to date, it settles with its recorded result and
  /// runs no process (nor callbacks: nothing happened); else its first attempt starts. A task
  /// cancelled during its check is final already.
  pub(super) fn checked(&mut self, id: NodeId, fresh: Option<String>, out: &mut Vec<Action>) {
    let checking = std::mem::take(&mut self.nodes[id].checking);
    if !checking || self.nodes[id].status.is_final() {
      return;
    }
    match fresh {
      Some(result) => {
        self.results.set(id, result);
        self.finish(id, Status::UpToDate, out);
      }
      None => self.spawn(id, out),
    }
  }

  /// A task's attempt ended: its status is the scheduler's to say (a timeout or a cancel it
  /// ordered wins over the exit), and a failure is retried while `retries` allow.
  pub(super) fn task_exited(
    &mut self,
    id: NodeId,
    success: bool,
    result: String,
    out: &mut Vec<Action>,
  ) {
    let state = &self.nodes[id];
    if state.status != Status::Running || self.consumers.contains_key(&id) {
      return;
    }
    let status = match (state.cancel_requested, state.timed_out, success) {
      (true, _, _) => Status::Cancelled,
      (false, true, _) => Status::TimedOut,
      (false, false, true) => Status::Succeeded,
      (false, false, false) => Status::Failed,
    };
    let attempt = state.attempt;
    let task = self.graph.task(id).expect("only tasks run");
    self.results.set(id, result);
    if status.is_failure() && attempt <= task.retries && self.stopped.is_none() {
      self.release(id);
      out.push(Action::Retrying { id, attempt, status });
      if task.retry_delay.is_zero() {
        self.enqueue(id, out);
      } else {
        self.nodes[id].status = Status::Delayed;
        out.push(Action::StartTimer { after: task.retry_delay, timer: Timer::Retry(id) });
      }
      return;
    }
    self.finish(id, status, out);
  }

  /// A node has its final status: run its callbacks, then complete it. Running tasks keep
  /// their slot until their callbacks are done. With fail-fast, a failure stops the run here,
  /// not after its callbacks: nothing new may start meanwhile.
  pub(super) fn finish(&mut self, id: NodeId, status: Status, out: &mut Vec<Action>) {
    self.nodes[id].status = status;
    let ran = !matches!(status, Status::Skipped | Status::UpToDate);
    let callbacks = self.graph.nodes[id].callbacks.for_status(status).count();
    if ran && !self.callbacks_halted() && callbacks > 0 {
      let node = &mut self.nodes[id];
      (node.in_callbacks, node.callbacks_ok) = (true, true);
      self.next_callback(id, 0, out);
    } else {
      self.release(id);
      self.complete(id, out);
    }
    if self.policy.fail_fast && status.is_failure() && !self.graph.nodes[id].allow_failure {
      // Its groups hear of the failure before the stop cancels them: a group whose member
      // failed has failed, it was not cancelled.
      self.tell_groups(id, out);
      self.stop(super::StopReason::FailFast, out);
    }
  }

  fn take_slot(&mut self, id: NodeId) {
    self.nodes[id].status = Status::Running;
    self.nodes[id].holds_slot = true;
    self.running += 1;
  }

  /// Frees the concurrency slot of a task that was running, if it holds one.
  pub(super) fn release(&mut self, id: NodeId) {
    if std::mem::take(&mut self.nodes[id].holds_slot) {
      self.running -= 1;
      if let Some(slots) = &self.slots {
        slots.give();
      }
    }
  }

  /// A node has its final status and its callbacks are done: report it, and queue it for
  /// `propagate` to tell its groups and dependents.
  pub(super) fn complete(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let status = self.nodes[id].status;
    self.remaining -= 1;
    out.push(Action::Finished { id, status });
    if status.is_failure() && !self.graph.nodes[id].allow_failure {
      self.failed = true;
    }
    self.results.completed(self.graph, id);
    self.completed.push_back(id);
  }

  /// Tells the groups and dependents of completed nodes, first completed first. A loop, not a
  /// recursion: a long chain of skipped tasks or join points must not overflow the stack.
  pub(super) fn propagate(&mut self, out: &mut Vec<Action>) {
    while let Some(id) = self.completed.pop_front() {
      let status = self.nodes[id].status;
      let node = &self.graph.nodes[id];
      let allowed = node.allow_failure;
      // Groups first: a group hears of its member's own outcome before it hears of that
      // member's dependents being skipped because of it.
      self.tell_groups(id, out);
      let go_on = status.is_success() || (status.is_failure() && allowed);
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

  /// Tells the groups `id` is a member of (those not final yet) its final status. Once per
  /// member: a group that heard of it already ignores it.
  fn tell_groups(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let node = &self.graph.nodes[id];
    let (status, allowed) = (self.nodes[id].status, node.allow_failure);
    for (&group, &index) in node.groups.iter().zip(&node.member_index) {
      if !self.selected[group] || self.nodes[group].status.is_final() {
        continue;
      }
      let Some(state) = self.groups[group].as_deref_mut() else {
        continue;
      };
      if let Some(decision) = state.member_finished(index, status, allowed) {
        self.apply_decision(group, decision, out);
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
  pub(super) fn settle(&mut self, id: NodeId, status: Status, out: &mut Vec<Action>) {
    // A node in its callbacks has its final status already.
    if self.nodes[id].status.is_final() {
      return;
    }
    let graph = self.graph;
    if let Some(group) = graph.group(id) {
      // A stop does not hide a failure the group has seen: it returns failed instead.
      if self.stopped.is_some()
        && let Some(decision) = self.groups[id].as_deref_mut().and_then(GroupState::stopped)
      {
        return self.apply_decision(id, decision, out);
      }
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
  pub(super) fn apply_decision(&mut self, id: NodeId, decision: Decision, out: &mut Vec<Action>) {
    let graph = self.graph;
    let members = &graph.group(id).expect("decisions come from groups").members;
    if self.results.is_read(id) {
      let result = self.group_result(id, &decision);
      self.results.set(id, result);
    }
    let status = decision.status;
    let cancel = if decision.cancel_pending { decision.pending.clone() } else { Vec::new() };
    // The group returns first; then what it left pending is cancelled.
    out.push(Action::GroupReturned { id, decision });
    for i in cancel {
      self.cancel(members[i], out);
    }
    self.finish(id, status, out);
  }

  /// A gather group's result: member results in declared order; a matrix task's: each
  /// instance's result by its name; a wait group's: done (in
  /// finishing order, with status and result) and pending names. Written as text, with a
  /// member group's result (JSON already) put in as it is: parsing it again would cost time
  /// at every level of a chain of groups and stop at serde_json's depth limit.
  fn group_result(&self, id: NodeId, decision: &Decision) -> String {
    let group = self.graph.group(id).expect("a group");
    let mut out = String::new();
    match group.rule {
      GroupRule::Gather => {
        out.push('[');
        for (i, &m) in group.members.iter().enumerate() {
          out.push_str(if i == 0 { "" } else { "," });
          self.push_result(&mut out, m);
        }
        out.push(']');
      }
      GroupRule::Matrix => {
        out.push('{');
        for (i, &m) in group.members.iter().enumerate() {
          out.push_str(if i == 0 { "" } else { "," });
          push_json(&mut out, &self.graph.nodes[m].name);
          out.push(':');
          self.push_result(&mut out, m);
        }
        out.push('}');
      }
      GroupRule::Wait { .. } => {
        out.push_str("{\"done\":[");
        for (i, &m) in decision.done.iter().map(|&i| &group.members[i]).enumerate() {
          out.push_str(if i == 0 { "{\"name\":" } else { ",{\"name\":" });
          push_json(&mut out, &self.graph.nodes[m].name);
          out.push_str(",\"result\":");
          self.push_result(&mut out, m);
          out.push_str(",\"status\":");
          push_json(&mut out, self.nodes[m].status.as_str());
          out.push('}');
        }
        out.push_str("],\"pending\":[");
        for (i, &m) in decision.pending.iter().map(|&i| &group.members[i]).enumerate() {
          out.push_str(if i == 0 { "" } else { "," });
          push_json(&mut out, &self.graph.nodes[m].name);
        }
        out.push_str("]}");
      }
    }
    out
  }

  /// A member's result as a JSON value: a group's as it is, a task's as a string.
  fn push_result(&self, out: &mut String, member: NodeId) {
    match self.results.get(member) {
      Some(json) if self.graph.group(member).is_some() => out.push_str(json),
      text => push_json(out, text.unwrap_or_default()),
    }
  }
}

/// `text` as a JSON string.
fn push_json(out: &mut String, text: &str) {
  out.push_str(&serde_json::Value::from(text).to_string());
}
