//! What the live view knows. Events update it in O(1) each (plus the groups a node belongs
//! to); the renderer reads it a few times a second as a `Frame` (`frame.rs`). Pure data: no
//! terminal, no clock of its own, so it is tested without either.

mod failures;
mod frame;
mod lines;

pub(super) use frame::Frame;

use super::tail::Tail;
use crate::event::{Event, Exit, Stream};
use crate::graph::{Graph, GroupRule, NodeId, NodeKind, Pending, ReturnWhen};
use crate::report::placements::Placements;
use crate::report::plain::paint::Paint;
use crate::report::plain::summary::Summary;
use crate::report::plain::text;
use crate::status::Status;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// What the graph says about a node, copied once so the model owns it.
#[derive(Debug, Default)]
struct Node {
  name: String,
  /// The groups this node is a member of.
  groups: Vec<NodeId>,
  produces: Option<usize>,
  consumes: Option<usize>,
  /// A group's rule as the file wrote it; empty for tasks.
  rule: String,
  members: usize,
  allow_failure: bool,
}

/// What happened to a node so far.
#[derive(Debug, Default)]
struct State {
  since: Option<Instant>,
  attempt: u32,
  running: bool,
  /// On a row of the live view.
  shown: bool,
  /// Output while running; dropped when the task ends.
  tail: Option<Box<Tail>>,
  /// A callback of the node failed.
  callback_failed: bool,
  /// A group some member of which has started, and that has not returned.
  active: bool,
  finished: bool,
  members_done: usize,
}

#[derive(Debug, Default)]
struct QueueRow {
  name: String,
  active: bool,
  depth: usize,
  put: u64,
  in_progress: u64,
  done: u64,
  failed: u64,
}

#[derive(Debug)]
pub(super) struct Model {
  paint: Paint,
  ids: HashMap<String, NodeId>,
  queue_ids: HashMap<String, usize>,
  nodes: Vec<Node>,
  states: Vec<State>,
  queues: Vec<QueueRow>,
  /// Running tasks not on a row yet, oldest first (finished ones are skipped when popped).
  waiting: VecDeque<NodeId>,
  /// The tasks on rows, top to bottom.
  visible: Vec<NodeId>,
  active_groups: Vec<NodeId>,
  running: usize,
  total: usize,
  done: usize,
  failures: usize,
  /// Lines to print above the live rows at the next frame.
  print: String,
  print_dropped: u64,
  failed: failures::Failures,
  summary: Summary,
  /// Where the attempts running now were placed: their rows and finish lines say so. And what
  /// the run asked of Slurm, for its end.
  placements: Placements,
  /// The summary table and the `runner:` line, once the run has finished.
  closing: String,
}

impl Model {
  pub(super) fn new(graph: &Graph, color: bool) -> Self {
    let nodes: Vec<Node> = graph.nodes.iter().map(node).collect();
    let queues =
      graph.queues.iter().map(|q| QueueRow { name: q.name.clone(), ..Default::default() });
    Self {
      paint: Paint { on: color },
      ids: graph.nodes.iter().enumerate().map(|(id, n)| (n.name.clone(), id)).collect(),
      queue_ids: graph
        .queues
        .iter()
        .enumerate()
        .map(|(q, queue)| (queue.name.clone(), q))
        .collect(),
      states: nodes.iter().map(|_| State::default()).collect(),
      nodes,
      queues: queues.collect(),
      waiting: VecDeque::new(),
      visible: Vec::new(),
      active_groups: Vec::new(),
      running: 0,
      total: graph.task_count(),
      done: 0,
      failures: 0,
      print: String::new(),
      print_dropped: 0,
      failed: failures::Failures::default(),
      summary: Summary::default(),
      placements: Placements::default(),
      closing: String::new(),
    }
  }

  pub(super) fn event(&mut self, event: &Event, now: Instant) {
    match event {
      Event::RunStarted { tasks, .. } => self.total = *tasks,
      Event::TaskStarted { task, attempt } => self.started(task, *attempt, now),
      Event::Output { task, stream, line, item, .. } => self.output(task, *stream, line, *item),
      Event::TaskRetrying { task, attempt, status, exit } => {
        let node = self.placements.ended(task, *attempt);
        let line = lines::retrying(task, *status, *exit, *attempt + 1, node.as_deref(), self.paint);
        self.line(&line);
      }
      Event::TaskFinished { task, status, attempts, duration_ms, exit } => {
        self.summary.add(task, *status, *attempts, *duration_ms);
        let node = self.placements.ended(task, *attempts);
        self.finished(task, *status, *attempts, *duration_ms, *exit, node.as_deref());
      }
      Event::GroupFinished { group, status, done, pending, timed_out, .. } => {
        self.group_finished(group);
        let returned = text::Returned { status: *status, done, pending, timed_out: *timed_out };
        self.line(&lines::group(group, &returned, self.paint));
      }
      Event::ItemFinished { consumer, item, worker, status, attempts, exit, .. } => {
        let node = self.placements.item_ended(consumer, item, *attempts);
        if status.is_failure() {
          let line = text::item(consumer, *worker, item, *status, *attempts, *exit, self.paint);
          let (symbol, on) =
            (lines::symbol(*status, self.paint), lines::on(node.as_deref(), self.paint));
          self.line(&format!("{symbol} {line}{on}"));
        }
      }
      Event::QueueState { queue, depth, put, in_progress, done, failed, .. } => {
        if let Some(row) = self.queue_ids.get(*queue).map(|&q| &mut self.queues[q]) {
          (row.depth, row.put, row.in_progress) = (*depth, *put, *in_progress);
          (row.done, row.failed) = (*done, *failed);
        }
      }
      Event::QueueFinished { queue, .. } => {
        if let Some(&q) = self.queue_ids.get(*queue) {
          self.queues[q].active = false;
        }
        let totals = text::QueueTotals::of(event).expect("a queue_finished event");
        self.line(&lines::queue(&totals, self.paint));
      }
      Event::Stopping { .. } => self.line(&text::stopping(event).unwrap_or_default()),
      Event::CallbackFailed { task, command, exit } => {
        let line = text::callback_failed(task, command, *exit);
        self.line(&format!("{} {line}", lines::symbol(Status::Failed, self.paint)));
        self.callback_failed(task);
      }
      Event::Placed { task, attempt, item, slurm_id, node } => {
        self.placements.placed(task, *item, *attempt, slurm_id, node);
      }
      Event::Slurm(calls) => self.placements.calls(calls),
      Event::RunFinished { status, exit_code, duration_ms, counts, cause } => {
        self.closing.push_str(&self.failed.text(self.paint));
        for line in self.summary.text(self.paint) {
          self.closing.push_str(&line);
          self.closing.push('\n');
        }
        if let Some(slurm) = self.placements.closing() {
          self.closing.push_str(&slurm);
          self.closing.push('\n');
        }
        self.closing.push_str(&text::run(
          status,
          *exit_code,
          *duration_ms,
          counts,
          *cause,
          self.paint,
        ));
        self.closing.push('\n');
      }
    }
  }

  fn started(&mut self, task: &str, attempt: u32, now: Instant) {
    let Some(&id) = self.ids.get(task) else { return };
    let state = &mut self.states[id];
    state.attempt = attempt;
    state.since.get_or_insert(now);
    let tail = state.tail.get_or_insert_with(Box::default);
    if attempt > 1 {
      tail.push(["", ""], &format!("--- attempt {attempt} ---"));
    }
    if !state.running {
      state.running = true;
      self.running += 1;
      self.waiting.push_back(id);
    }
    for q in [self.nodes[id].produces, self.nodes[id].consumes].into_iter().flatten() {
      self.queues[q].active = true;
    }
    self.activate_groups(id);
  }

  /// Marks the groups of a node that started as running, and theirs in turn. Each group is
  /// activated once, so this is O(1) amortised.
  fn activate_groups(&mut self, id: NodeId) {
    let mut stack: Vec<NodeId> = self.nodes[id].groups.clone();
    while let Some(g) = stack.pop() {
      let state = &mut self.states[g];
      if !state.active && !state.finished {
        state.active = true;
        self.active_groups.push(g);
        stack.extend(&self.nodes[g].groups);
      }
    }
  }

  fn output(&mut self, task: &str, stream: Stream, line: &str, item: Option<&str>) {
    let Some(&id) = self.ids.get(task) else { return };
    if stream == Stream::Callback {
      // Callbacks notify: what they say is shown, as plain output shows it.
      let mut shown = format!("[{task}:callback] ");
      super::tail::clean(&mut shown, line, 1024);
      self.line(&shown);
      // A group's callbacks run after it returned: their lines are kept in case one fails.
      self.states[id].tail.get_or_insert_with(Box::default);
    }
    let Some(tail) = self.states[id].tail.as_mut() else { return };
    let prefix = match (stream, item) {
      (Stream::Callback, _) => ["callback", ": "],
      (_, Some(item)) => [item, ": "],
      (_, None) => ["", ""],
    };
    tail.push(prefix, line);
  }

  fn finished(
    &mut self,
    task: &str,
    status: Status,
    attempts: u32,
    duration_ms: u64,
    exit: Exit,
    node: Option<&str>,
  ) {
    self.done += 1;
    self.failures += usize::from(status.is_failure());
    let Some(&id) = self.ids.get(task) else { return };
    let state = &mut self.states[id];
    if std::mem::take(&mut state.running) {
      self.running -= 1;
    }
    let (tail, callback_failed) = (state.tail.take(), state.callback_failed);
    let line = lines::finished(task, status, attempts, duration_ms, exit, node, self.paint);
    self.line(&line);
    if let (true, Some(tail)) = (status.is_failure(), &tail) {
      self.line(&lines::tail(tail, self.paint));
    }
    if status.is_failure() || callback_failed {
      let outcome = text::outcome(status, attempts, duration_ms, exit, Paint { on: false });
      let allowed = status.is_failure() && self.nodes[id].allow_failure;
      let what = match (allowed, callback_failed) {
        (true, true) => " (allowed), a callback failed",
        (true, false) => " (allowed)",
        (false, true) => ", a callback failed",
        (false, false) => "",
      };
      let on = text::on(node);
      self.failed.add(format!("{task}: {outcome}{on}{what}"), tail);
    }
    self.member_done(id);
    if let Some(q) = self.nodes[id].consumes {
      self.queues[q].active = false;
    }
  }

  /// A task's callback failed: its output is kept when the task finishes (after its
  /// callbacks); a group's, which has returned already, is kept now.
  fn callback_failed(&mut self, node: &str) {
    let Some(&id) = self.ids.get(node) else { return };
    if self.nodes[id].members == 0 && self.nodes[id].rule.is_empty() {
      self.states[id].callback_failed = true;
      return;
    }
    let tail = self.states[id].tail.take();
    self.failed.add(format!("group {node}: a callback failed"), tail);
  }

  /// Where `--log-dir` puts every line, for the failures' headers.
  pub(super) fn log_dir(&mut self, dir: Option<&std::path::Path>) {
    self.failed.log_dir = dir.map(|dir| dir.display().to_string());
  }

  fn group_finished(&mut self, group: &str) {
    let Some(&id) = self.ids.get(group) else { return };
    self.states[id].finished = true;
    if std::mem::take(&mut self.states[id].active) {
      self.active_groups.retain(|&g| g != id);
    }
    self.member_done(id);
  }

  /// Counts a finished node as done in each group it is a member of.
  fn member_done(&mut self, id: NodeId) {
    for &g in &self.nodes[id].groups {
      self.states[g].members_done += 1;
    }
  }

  /// Queues lines to print above the live rows; past a megabyte (a terminal that stopped
  /// reading), they are counted instead.
  fn line(&mut self, line: &str) {
    if self.print.len() + line.len() > 1 << 20 {
      self.print_dropped += 1 + line.matches('\n').count() as u64;
      return;
    }
    self.print.push_str(line);
    self.print.push('\n');
  }

  /// The lines not printed yet, taken.
  pub(super) fn take_print(&mut self) -> String {
    if self.print_dropped > 0 {
      let n = std::mem::take(&mut self.print_dropped);
      self.print.push_str(&format!("... {n} lines not shown (the terminal was not reading)\n"));
    }
    std::mem::take(&mut self.print)
  }

  /// The closing summary, once the run has finished.
  pub(super) fn closing(&self) -> &str {
    &self.closing
  }
}

fn node(n: &crate::graph::Node) -> Node {
  let (produces, consumes, rule, members) = match &n.kind {
    NodeKind::Task(t) => (t.produces, t.consumes, String::new(), 0),
    NodeKind::Group(g) => (None, None, rule(g.rule), g.members.len()),
  };
  let (name, groups, allow_failure) = (n.name.clone(), n.groups.clone(), n.allow_failure);
  Node { name, groups, produces, consumes, rule, members, allow_failure }
}

/// `gather`, or `wait FIRST_COMPLETED, timeout 5s, pending continue` (defaults left out).
fn rule(rule: GroupRule) -> String {
  let GroupRule::Wait { return_when, timeout, pending } = rule else {
    return "gather".to_string();
  };
  let mut text = match return_when {
    ReturnWhen::AllCompleted => "wait ALL_COMPLETED".to_string(),
    ReturnWhen::FirstCompleted => "wait FIRST_COMPLETED".to_string(),
    ReturnWhen::FirstException => "wait FIRST_EXCEPTION".to_string(),
  };
  if let Some(timeout) = timeout {
    let timeout = match timeout.subsec_millis() {
      0 => format!("{}s", timeout.as_secs()),
      _ => crate::duration::display(timeout),
    };
    text.push_str(&format!(", timeout {timeout}"));
  }
  if pending == Pending::Continue {
    text.push_str(", pending continue");
  }
  text
}
