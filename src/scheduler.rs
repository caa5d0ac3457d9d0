//! The scheduler: a synchronous state machine over the graph. Facts go in (a process ended, a
//! timer fired, a queue item was taken, a signal came); orders come out (start a process, start
//! a timer, terminate or kill a process, take an item, report). It decides everything (order,
//! the `-j` limit, delays, retries, every timeout and kill grace, cancellation, callbacks, the
//! stop of the run) and does nothing itself, so every transition is unit-tested without a
//! runtime. Work per input is O(1) plus the edges of the node it concerns.

mod flow;
mod items;
mod results;
pub(crate) mod slots;
mod stops;

use crate::consumer::ConsumerState;
use crate::graph::{Graph, NodeId, NodeKind};
use crate::group::{Decision, GroupState};
use crate::status::Status;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// What the run was asked to respect, resolved from the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
  /// How many tasks run at once.
  pub jobs: usize,
  pub fail_fast: bool,
  /// The whole run's time limit (`--timeout`).
  pub timeout: Option<Duration>,
  /// How long a terminated process has between SIGTERM and SIGKILL.
  pub kill_grace: Duration,
}

/// A process the scheduler started: an attempt of a task, an attempt at the item a consumer's
/// worker holds, or a node's running callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Proc {
  Task(NodeId),
  Item(NodeId, u32),
  Callback(NodeId),
}

/// A timer the scheduler asked for; it comes back as [`Input::TimerFired`]. Timers of a process
/// carry its start number, so one that fires after that process ended changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
  /// The run's `--timeout`.
  Run,
  Delay(NodeId),
  Retry(NodeId),
  GroupTimeout(NodeId),
  /// The `retry_delay` of a consumer's worker.
  ItemRetry(NodeId, u32),
  /// A task's or item's `timeout`.
  Timeout(Proc, u64),
  /// The kill grace of a terminated process.
  Grace(Proc, u64),
}

/// Why the run stops early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
  FailFast,
  Timeout,
  Signal(i32),
  /// A watched source changed (`--watch`): the run stops, to start again; not a failure.
  Changed,
  /// `runner cancel RUN`: stopped as a signal stops a run, a second cancel kills.
  Cancelled,
}

/// What runs at a moment: tasks' processes, queue items' and callbacks'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Running {
  pub tasks: usize,
  pub items: usize,
  pub callbacks: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
  Start,
  TimerFired(Timer),
  /// A process ended; `success`: it exited 0. `result`: a task's captured stdout (or the count
  /// of items a producer put).
  Exited {
    proc: Proc,
    success: bool,
    result: String,
  },
  /// Worker `worker` of consumer `id` took `item`; None: the queue is closed and drained, or
  /// taking was stopped.
  Taken {
    id: NodeId,
    worker: u32,
    item: Option<String>,
  },
  /// A stopping signal reached the runner.
  Signal(i32),
  /// A watched source changed during the run (`--watch`).
  Changed,
  /// A slot of the pool this run shares may be free for it (`runner serve`).
  Slots,
  /// `runner cancel RUN TASK`: task `id` is cancelled, as a wait group cancels its members.
  Cancel(NodeId),
  /// `runner cancel RUN`: the run stops as a stopping signal stops it.
  CancelRun,
  /// The up-to-date check of task `id` (asked by [`Action::Check`]) found it up to date with
  /// the recorded result `fresh`, or found that it must run (None).
  Checked {
    id: NodeId,
    fresh: Option<String>,
  },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum Action {
  /// Start attempt `attempt` of task `id` (for a consumer: start taking items). `waiting`:
  /// how many ready tasks wait for a slot now.
  Spawn {
    id: NodeId,
    attempt: u32,
    waiting: usize,
  },
  /// Check whether task `id` (it has `sources`) is up to date, before its first attempt; it
  /// holds a slot meanwhile. The answer comes back as [`Input::Checked`].
  Check {
    id: NodeId,
  },
  /// Start attempt `attempt` at the item worker `worker` of consumer `id` holds.
  SpawnItem {
    id: NodeId,
    worker: u32,
    attempt: u32,
  },
  /// Start callback `index` of node `id`'s callbacks for `status` (on_success or on_failure,
  /// then on_done).
  RunCallback {
    id: NodeId,
    status: Status,
    index: usize,
  },
  /// Worker `worker` of consumer `id` takes the next item.
  Take {
    id: NodeId,
    worker: u32,
  },
  /// Consumer `id` is cancelled: workers waiting for an item take nothing.
  StopTaking {
    id: NodeId,
  },
  StartTimer {
    after: Duration,
    timer: Timer,
  },
  /// SIGTERM to attempt `seq` of `proc`: its group and its descendants.
  Terminate {
    proc: Proc,
    seq: u64,
  },
  /// The kill grace of attempt `seq` of `proc` is over: SIGKILL to what is left of it, its
  /// group if it still runs and every descendant it had, wherever they went.
  Kill {
    proc: Proc,
    seq: u64,
  },
  /// SIGKILL to every process of the run, now.
  KillAll,
  /// The run stops early (a signal, `--timeout`): `running` is what is terminated now; `killed`:
  /// a second signal kills it at once instead.
  Stopping {
    reason: StopReason,
    running: Running,
    killed: bool,
  },
  /// A task failed and will run again.
  Retrying {
    id: NodeId,
    attempt: u32,
    status: Status,
  },
  /// A queue item reached its final status.
  ItemFinished {
    id: NodeId,
    worker: u32,
    item: String,
    status: Status,
    attempts: u32,
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

#[derive(Debug, Clone, Default)]
struct NodeState {
  status: Status,
  attempt: u32,
  /// Needs not finished yet.
  waiting: usize,
  cancel_requested: bool,
  /// The start number of the running process (the task's attempt or its callback).
  seq: u64,
  /// The running attempt's timeout expired.
  timed_out: bool,
  /// The running process was terminated.
  stopping: bool,
  /// The final status is set and callbacks are running; dependents are not told yet.
  in_callbacks: bool,
  /// The callback running now, and whether every one so far succeeded.
  callback: usize,
  callbacks_ok: bool,
  /// The task holds one of the `jobs` slots.
  holds_slot: bool,
  /// The task waits for the answer of its up-to-date check.
  checking: bool,
}

pub(crate) struct Scheduler<'g> {
  graph: &'g Graph,
  policy: Policy,
  nodes: Vec<NodeState>,
  /// Boxed: most nodes are tasks, and a task's slot is then one pointer.
  groups: Vec<Option<Box<GroupState>>>,
  consumers: HashMap<NodeId, ConsumerState>,
  results: results::Results,
  selected: Vec<bool>,
  ready: VecDeque<NodeId>,
  /// Nodes that completed and whose groups and dependents are not told yet (see `propagate`).
  completed: VecDeque<NodeId>,
  running: usize,
  remaining: usize,
  /// Processes started so far: each gets the next number.
  started: u64,
  signals: u32,
  stopped: Option<StopReason>,
  failed: bool,
  /// Nodes whose callbacks failed, in the order their callbacks ended.
  callbacks_failed: Vec<NodeId>,
  /// The pool of slots this run shares with others (`runner serve`), besides its own `jobs`.
  slots: Option<slots::Slots>,
}

impl<'g> Scheduler<'g> {
  /// A scheduler for `targets` (all nodes when empty).
  pub(crate) fn new(graph: &'g Graph, targets: &[NodeId], policy: Policy) -> Self {
    let selected = select(graph, targets);
    let nodes = graph
      .nodes
      .iter()
      .map(|n| NodeState { waiting: n.needs.len(), ..NodeState::default() })
      .collect();
    let groups = graph
      .nodes
      .iter()
      .map(|n| match &n.kind {
        NodeKind::Group(g) => Some(Box::new(GroupState::new(g.rule, g.members.len()))),
        NodeKind::Task(_) => None,
      })
      .collect();
    Self {
      graph,
      policy: Policy { jobs: policy.jobs.max(1), ..policy },
      nodes,
      groups,
      consumers: HashMap::new(),
      results: results::Results::new(graph, &selected),
      remaining: selected.iter().filter(|&&s| s).count(),
      selected,
      ready: VecDeque::new(),
      completed: VecDeque::new(),
      running: 0,
      started: 0,
      signals: 0,
      stopped: None,
      failed: false,
      callbacks_failed: Vec::new(),
      slots: None,
    }
  }

  /// Every slot this run takes is also taken from `slots`, shared with other runs.
  pub(crate) fn share_slots(&mut self, slots: slots::Slots) {
    self.slots = Some(slots);
  }

  pub(crate) fn status(&self, id: NodeId) -> Status {
    self.nodes[id].status
  }

  pub(crate) fn attempts(&self, id: NodeId) -> u32 {
    self.nodes[id].attempt
  }

  /// The result of `id`, while something can still read it.
  pub(crate) fn result(&self, id: NodeId) -> Option<&str> {
    self.results.get(id)
  }

  /// Whether anything will read the result of `id`: if not, its output need not be kept.
  pub(crate) fn result_read(&self, id: NodeId) -> bool {
    self.results.is_read(id)
  }

  /// The item worker `worker` of consumer `id` holds, while it runs or waits to run again.
  pub(crate) fn item(&self, id: NodeId, worker: u32) -> Option<&str> {
    self.consumers.get(&id).and_then(|c| c.item(worker))
  }

  pub(crate) fn is_selected(&self, id: NodeId) -> bool {
    self.selected[id]
  }

  /// Whether a task or group failed (or a callback did) in a way that fails the run.
  pub(crate) fn run_failed(&self) -> bool {
    self.failed
      || !self.callbacks_failed.is_empty()
      || matches!(self.stopped, Some(StopReason::Timeout))
  }

  /// The nodes whose callbacks failed, in the order their callbacks ended.
  pub(crate) fn callbacks_failed(&self) -> &[NodeId] {
    &self.callbacks_failed
  }

  pub(crate) fn stop_reason(&self) -> Option<StopReason> {
    self.stopped
  }

  /// Handles one input; appends what to do to `out`.
  pub(crate) fn handle(&mut self, input: Input, out: &mut Vec<Action>) {
    match input {
      Input::Start => self.start(out),
      Input::TimerFired(timer) => self.timer_fired(timer, out),
      Input::Exited { proc: Proc::Task(id), success, result } => {
        self.task_exited(id, success, result, out)
      }
      Input::Exited { proc: Proc::Item(id, worker), success, .. } => {
        self.item_exited(id, worker, success, out)
      }
      Input::Exited { proc: Proc::Callback(id), success, .. } => {
        self.callback_exited(id, success, out)
      }
      Input::Taken { id, worker, item } => self.taken(id, worker, item, out),
      Input::Signal(signal) => self.halt(StopReason::Signal(signal), out),
      Input::CancelRun => self.halt(StopReason::Cancelled, out),
      Input::Changed => self.stop(StopReason::Changed, out),
      // `dispatch` below takes the slot.
      Input::Slots => {}
      Input::Cancel(id) => self.cancel_asked(id, out),
      Input::Checked { id, fresh } => self.checked(id, fresh, out),
    }
    self.propagate(out);
    self.dispatch(out);
    if self.remaining == 0 {
      self.remaining = usize::MAX;
      out.push(Action::Done);
    }
  }

  fn start(&mut self, out: &mut Vec<Action>) {
    if let Some(after) = self.policy.timeout {
      out.push(Action::StartTimer { after, timer: Timer::Run });
    }
    for id in 0..self.graph.nodes.len() {
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

  fn timer_fired(&mut self, timer: Timer, out: &mut Vec<Action>) {
    match timer {
      Timer::Run => self.stop(StopReason::Timeout, out),
      Timer::Delay(id) | Timer::Retry(id) if self.nodes[id].status == Status::Delayed => {
        self.enqueue(id, out)
      }
      Timer::Delay(_) | Timer::Retry(_) => {}
      Timer::GroupTimeout(id) if !self.nodes[id].status.is_final() => {
        if let Some(decision) = self.groups[id].as_deref_mut().and_then(GroupState::timeout) {
          self.apply_decision(id, decision, out);
        }
      }
      Timer::GroupTimeout(_) => {}
      Timer::ItemRetry(id, worker) => self.item_retry_due(id, worker, out),
      Timer::Timeout(proc, seq) => self.timeout_expired(proc, seq, out),
      // Once the run is over, what is left goes with the engine's end of the run.
      Timer::Grace(proc, seq) if self.remaining != usize::MAX => {
        out.push(Action::Kill { proc, seq })
      }
      Timer::Grace(..) => {}
    }
  }

  /// The next process start number.
  fn next_seq(&mut self) -> u64 {
    self.started += 1;
    self.started
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
