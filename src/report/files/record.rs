//! The run as the file reports need it, collected from events: per task its attempts (start and
//! end in microseconds from the run's start), status, exit and output tails; per group what was
//! done and what was pending; per queue what became of each item. Memory stays bounded per node
//! (tails, never whole outputs) and each event is O(1) work: look-ups by name in hash maps.
//!
//! Events carry no start time for queue items: an item is taken to start when its worker
//! finished the one before (or when the consumer started), which is exact while the queue has
//! items waiting and early by the worker's idle time otherwise. Likewise a task's last attempt
//! ends at its first callback line (or its `task_finished`), since no event marks the exit of a
//! task that has callbacks. What is kept of queues and their items is in `queues`.
//!
//! With `--backend slurm`, each attempt, and each item's last attempt, also keeps where it ran
//! (the `placed` event that named it), and the record keeps the calls the run made of Slurm.

use super::tail::Tail;
use crate::error::ExitCode;
use crate::event::{Counts, Event, Exit, SlurmCalls, Stream};
use crate::graph::{Graph, NodeId, NodeKind, QueueId};
use crate::source::LineIndex;
use crate::status::Status;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// Lines and bytes kept of each stream of a node.
const TAIL_LINES: usize = 100;
const TAIL_BYTES: usize = 32 * 1024;
const CALLBACK_LINES: usize = 20;
/// Queue items are named in a consumer's output tail by at most this many bytes.
const ITEM_PREFIX: usize = 60;

pub(super) struct Record {
  pub file: String,
  pub name: Option<String>,
  /// Wall-clock time of the run's start.
  pub started_at: SystemTime,
  pub nodes: Vec<NodeRecord>,
  pub queues: Vec<QueueRecord>,
  pub end: Option<RunEnd>,
  /// What the run asked of Slurm (`--backend slurm` only).
  pub slurm: Option<SlurmCalls>,
  ids: HashMap<String, NodeId>,
  queue_ids: HashMap<String, QueueId>,
  /// Orders output lines across streams.
  seq: u64,
}

pub(super) struct NodeRecord {
  pub name: String,
  pub line: usize,
  pub is_group: bool,
  pub allow_failure: bool,
  pub timeout: Option<Duration>,
  /// Whether any event named this node: false for nodes the run did not select.
  pub seen: bool,
  pub status: Option<Status>,
  pub exit: Exit,
  pub duration_ms: u64,
  pub attempts: Vec<Attempt>,
  pub stdout: Tail,
  pub stderr: Tail,
  pub callbacks: Tail,
  pub callbacks_failed: Vec<CallbackFailure>,
  pub group: Option<GroupOutcome>,
  /// Consumers: how many items failed or timed out.
  pub failed_items: u64,
  members: Vec<NodeId>,
  /// Consumers: the items running now, by item, with their index.
  running: HashMap<String, u64>,
  /// Consumers: how many items were seen, the last index given.
  items: u64,
  /// Consumers: when each worker last finished an item.
  worker_free: Vec<Option<u64>>,
  /// Consumers: where the items running now were placed last, by item, with that attempt.
  placed_items: HashMap<String, (u32, Placed)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Attempt {
  pub number: u32,
  pub start_us: u64,
  pub end_us: Option<u64>,
  pub status: Option<Status>,
  pub exit: Option<Exit>,
  pub placed: Option<Placed>,
}

/// Where an attempt ran: its Slurm job (`12`) or step (`12.3`), and the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placed {
  pub slurm_id: String,
  pub node: String,
}

pub(super) struct CallbackFailure {
  pub command: String,
  pub exit: Exit,
}

pub(super) struct GroupOutcome {
  pub done: Vec<String>,
  pub pending: Vec<String>,
  pub timed_out: bool,
  /// When the first member started, if any did.
  pub start_us: Option<u64>,
  pub end_us: u64,
}

pub(super) struct RunEnd {
  pub status: String,
  pub exit_code: i32,
  pub duration_ms: u64,
  pub counts: Counts,
  pub cause: Option<String>,
}

impl NodeRecord {
  fn new(graph: &Graph, id: NodeId, lines: &LineIndex) -> Self {
    let node = &graph.nodes[id];
    let members = graph.group(id).map(|g| g.members.clone()).unwrap_or_default();
    Self {
      name: node.name.clone(),
      line: lines.line(node.span.offset()),
      is_group: matches!(node.kind, NodeKind::Group(_)),
      allow_failure: node.allow_failure,
      timeout: graph.task(id).and_then(|t| t.timeout),
      seen: false,
      status: None,
      exit: Exit::default(),
      duration_ms: 0,
      attempts: Vec::new(),
      stdout: Tail::new(TAIL_LINES, TAIL_BYTES),
      stderr: Tail::new(TAIL_LINES, TAIL_BYTES),
      callbacks: Tail::new(CALLBACK_LINES, TAIL_BYTES),
      callbacks_failed: Vec::new(),
      group: None,
      failed_items: 0,
      members,
      running: HashMap::new(),
      items: 0,
      worker_free: Vec::new(),
      placed_items: HashMap::new(),
    }
  }

  /// When the node first started: its first attempt, or a group's first member.
  pub(super) fn start_us(&self) -> Option<u64> {
    match &self.group {
      Some(group) => group.start_us,
      None => self.attempts.first().map(|a| a.start_us),
    }
  }

  /// Ends the last attempt at `at` if it is still open.
  fn end_attempt(&mut self, at: u64) {
    if let Some(last) = self.attempts.last_mut().filter(|a| a.end_us.is_none()) {
      last.end_us = Some(at.max(last.start_us));
    }
  }

  /// The index of a running item, given when the item is first seen.
  fn item_index(&mut self, item: &str) -> u64 {
    if let Some(&index) = self.running.get(item) {
      return index;
    }
    let index = self.next_item();
    self.running.insert(item.to_string(), index);
    index
  }

  /// The index for an item seen for the first time.
  fn next_item(&mut self) -> u64 {
    self.items += 1;
    self.items
  }
}

impl Record {
  pub(super) fn new(graph: &Graph) -> Self {
    let lines = LineIndex::new(&graph.source.text);
    let nodes: Vec<_> =
      (0..graph.nodes.len()).map(|id| NodeRecord::new(graph, id, &lines)).collect();
    let queues = graph
      .queues
      .iter()
      .map(|q| QueueRecord {
        name: q.name.clone(),
        line: lines.line(q.span.offset()),
        items: Vec::new(),
        spill: None,
        items_omitted: 0,
        totals: None,
        left: Vec::new(),
      })
      .collect();
    Self {
      file: graph.source.name(),
      name: graph.name.clone(),
      started_at: SystemTime::now(),
      ids: nodes.iter().enumerate().map(|(id, n)| (n.name.clone(), id)).collect(),
      queue_ids: graph.queues.iter().enumerate().map(|(q, d)| (d.name.clone(), q)).collect(),
      nodes,
      queues,
      end: None,
      slurm: None,
      seq: 0,
    }
  }

  pub(super) fn id(&self, name: &str) -> Option<NodeId> {
    self.ids.get(name).copied()
  }

  /// The run's status, or `interrupted` if it never finished.
  pub(super) fn status(&self) -> &str {
    self.end.as_ref().map_or("interrupted", |e| e.status.as_str())
  }

  /// Output lost after the run's end was reported (`error`) fails a run that succeeded.
  pub(super) fn lost_output(&mut self, error: &str) {
    let Some(end) = &mut self.end else { return };
    if end.exit_code == 0 {
      (end.status, end.exit_code) = ("failed".to_string(), ExitCode::OutputFailed.code());
    }
    end.cause = Some(match end.cause.take() {
      Some(cause) if cause.contains(error) => cause,
      Some(cause) => format!("{cause}; {error}"),
      None => error.to_string(),
    });
  }

  /// The job's name, or its file.
  pub(super) fn title(&self) -> &str {
    self.name.as_deref().unwrap_or(&self.file)
  }

  /// Notes one event that happened `at` microseconds into the run. Returns the index of the
  /// queue item the event is about, if any.
  pub(super) fn event(&mut self, event: &Event, at: u64) -> Option<u64> {
    match event {
      Event::RunStarted { name, file, .. } => {
        self.name = name.map(str::to_string);
        self.file = file.to_string();
        self.started_at = SystemTime::now();
      }
      Event::TaskStarted { task, attempt } => self.started(task, *attempt, at),
      Event::Output { task, stream, line, item, .. } => {
        return self.output(task, *stream, line, *item, at);
      }
      Event::TaskRetrying { task, attempt, status, exit } => {
        let node = self.node(task)?;
        if let Some(a) = node.attempts.iter_mut().rev().find(|a| a.number == *attempt) {
          a.end_us = Some(a.end_us.unwrap_or(at).max(a.start_us));
          (a.status, a.exit) = (Some(*status), Some(*exit));
        }
      }
      Event::TaskFinished { task, status, duration_ms, exit, .. } => {
        let node = self.node(task)?;
        node.end_attempt(at);
        if let Some(last) = node.attempts.last_mut().filter(|a| a.status.is_none()) {
          (last.status, last.exit) = (Some(*status), Some(*exit));
        }
        (node.status, node.exit, node.duration_ms) = (Some(*status), *exit, *duration_ms);
      }
      Event::GroupFinished { .. } => self.group_finished(event, at)?,
      Event::ItemFinished { .. } => return self.item_finished(event, at),
      Event::QueueState { .. } | Event::Stopping { .. } => {}
      Event::QueueFinished { .. } => self.queue_finished(event)?,
      Event::CallbackFailed { task, command, exit } => {
        let node = self.node(task)?;
        node.end_attempt(at);
        node.callbacks_failed.push(CallbackFailure { command: command.to_string(), exit: *exit });
      }
      Event::Placed { task, attempt, item, slurm_id, node } => {
        let placed = Placed { slurm_id: slurm_id.to_string(), node: node.to_string() };
        self.placed(task, *attempt, *item, placed);
      }
      Event::Slurm(calls) => self.slurm = Some(calls.clone()),
      Event::RunFinished { status, exit_code, duration_ms, counts, cause } => {
        for node in &mut self.nodes {
          node.end_attempt(at);
        }
        let (status, exit_code, duration_ms, counts) =
          (status.to_string(), *exit_code, *duration_ms, *counts);
        let cause = cause.map(str::to_string);
        self.end = Some(RunEnd { status, exit_code, duration_ms, counts, cause });
      }
    }
    None
  }

  fn group_finished(&mut self, event: &Event, at: u64) -> Option<()> {
    let Event::GroupFinished { group, status, done, pending, timed_out, .. } = event else {
      return None;
    };
    let id = self.id(group)?;
    let start_us = self.nodes[id].members.iter().filter_map(|&m| self.nodes[m].start_us()).min();
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    let node = self.seen(id);
    node.status = Some(*status);
    let (done, pending, timed_out) = (names(done), names(pending), *timed_out);
    node.group = Some(GroupOutcome { done, pending, timed_out, start_us, end_us: at });
    node.duration_ms = start_us.map_or(0, |s| at.saturating_sub(s) / 1000);
    Some(())
  }

  /// The node named `name`, now marked seen.
  fn node(&mut self, name: &str) -> Option<&mut NodeRecord> {
    let id = self.id(name)?;
    Some(self.seen(id))
  }

  /// The node `id`, now marked seen.
  fn seen(&mut self, id: NodeId) -> &mut NodeRecord {
    let node = &mut self.nodes[id];
    node.seen = true;
    node
  }

  fn started(&mut self, task: &str, number: u32, at: u64) {
    if let Some(node) = self.node(task) {
      node.end_attempt(at);
      node.status = Some(Status::Running);
      let attempt =
        Attempt { number, start_us: at, end_us: None, status: None, exit: None, placed: None };
      node.attempts.push(attempt);
    }
  }

  /// Notes where an attempt of `task`, or of its queue `item`, runs.
  fn placed(&mut self, task: &str, attempt: u32, item: Option<&str>, placed: Placed) {
    let Some(node) = self.node(task) else { return };
    match item {
      Some(item) => _ = node.placed_items.insert(item.to_string(), (attempt, placed)),
      None => {
        if let Some(a) = node.attempts.iter_mut().rev().find(|a| a.number == attempt) {
          a.placed = Some(placed);
        }
      }
    }
  }

  fn output(
    &mut self,
    task: &str,
    stream: Stream,
    line: &str,
    item: Option<&str>,
    at: u64,
  ) -> Option<u64> {
    self.seq += 1;
    let seq = self.seq;
    let node = self.node(task)?;
    let index = item.map(|item| node.item_index(item));
    let prefix = match item {
      Some(item) => format!("[{}] ", super::tail::cut(item, ITEM_PREFIX)),
      None => String::new(),
    };
    match stream {
      Stream::Stdout => node.stdout.push(seq, &prefix, line),
      Stream::Stderr => node.stderr.push(seq, &prefix, line),
      Stream::Callback => {
        node.end_attempt(at);
        node.callbacks.push(seq, &prefix, line);
      }
    }
    index
  }
}

pub(super) mod queues;

pub(super) use queues::{ItemRecord, QueueRecord, QueueTotals};

#[cfg(test)]
pub(super) mod tests;
