//! The run as the file reports need it, collected from events: per task its attempts (start and
//! end in microseconds from the run's start), status, exit and output tails; per group what was
//! done and what was pending; per queue what became of each item. Memory stays bounded per node
//! (tails, never whole outputs) and each event is O(1) work: look-ups by name in hash maps.
//!
//! Events carry no start time for queue items: an item is taken to start when its worker
//! finished the one before (or when the consumer started), which is exact while the queue has
//! items waiting and early by the worker's idle time otherwise. Likewise a task's last attempt
//! ends at its first callback line (or its `task_finished`), since no event marks the exit of a
//! task that has callbacks.

use super::tail::Tail;
use crate::event::{Counts, Event, Exit, Stream};
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
/// Outcomes kept per queue; later ones are only counted.
pub const ITEMS_KEPT: usize = 10_000;

pub struct Record {
  pub file: String,
  pub name: Option<String>,
  /// Wall-clock time of the run's start.
  pub started_at: SystemTime,
  pub nodes: Vec<NodeRecord>,
  pub queues: Vec<QueueRecord>,
  pub end: Option<RunEnd>,
  ids: HashMap<String, NodeId>,
  queue_ids: HashMap<String, QueueId>,
  /// Orders output lines across streams.
  seq: u64,
}

pub struct NodeRecord {
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
  pub number: u32,
  pub start_us: u64,
  pub end_us: Option<u64>,
  pub status: Option<Status>,
  pub exit: Option<Exit>,
}

pub struct CallbackFailure {
  pub command: String,
  pub exit: Exit,
}

pub struct GroupOutcome {
  pub done: Vec<String>,
  pub pending: Vec<String>,
  pub timed_out: bool,
  /// When the first member started, if any did.
  pub start_us: Option<u64>,
  pub end_us: u64,
}

pub struct QueueRecord {
  pub name: String,
  pub line: usize,
  /// The first [`ITEMS_KEPT`] outcomes, in finishing order.
  pub items: Vec<ItemRecord>,
  /// Outcomes past those.
  pub items_omitted: u64,
  pub totals: Option<QueueTotals>,
  /// Items never taken by a consumer.
  pub left: Vec<String>,
}

pub struct QueueTotals {
  pub put: u64,
  pub taken: u64,
  pub done: u64,
  pub failed: u64,
  pub cancelled: u64,
  /// How many items were never taken (`left` holds the first of them).
  pub left: u64,
}

pub struct ItemRecord {
  pub consumer: NodeId,
  /// 1-based, in the order the consumer's items were first seen.
  pub index: u64,
  pub item: String,
  pub worker: u32,
  pub status: Status,
  pub attempts: u32,
  pub exit: Exit,
  pub start_us: u64,
  pub end_us: u64,
}

pub struct RunEnd {
  pub status: String,
  pub exit_code: i32,
  pub duration_ms: u64,
  pub counts: Counts,
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
    }
  }

  /// When the node first started: its first attempt, or a group's first member.
  pub fn start_us(&self) -> Option<u64> {
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
  pub fn new(graph: &Graph) -> Self {
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
      seq: 0,
    }
  }

  pub fn id(&self, name: &str) -> Option<NodeId> {
    self.ids.get(name).copied()
  }

  /// The run's status, or `interrupted` if it never finished.
  pub fn status(&self) -> &str {
    self.end.as_ref().map_or("interrupted", |e| e.status.as_str())
  }

  /// The job's name, or its file.
  pub fn title(&self) -> &str {
    self.name.as_deref().unwrap_or(&self.file)
  }

  /// Notes one event that happened `at` microseconds into the run. Returns the index of the
  /// queue item the event is about, if any.
  pub fn event(&mut self, event: &Event, at: u64) -> Option<u64> {
    match event {
      Event::RunStarted { name, file, .. } => {
        self.name = name.map(str::to_string);
        self.file = file.to_string();
        self.started_at = SystemTime::now();
      }
      Event::TaskStarted { task, attempt } => self.started(task, *attempt, at),
      Event::Output { task, stream, line, item } => {
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
      Event::QueueState { .. } => {}
      Event::QueueFinished { .. } => self.queue_finished(event)?,
      Event::CallbackFailed { task, command, exit } => {
        let node = self.node(task)?;
        node.end_attempt(at);
        node.callbacks_failed.push(CallbackFailure { command: command.to_string(), exit: *exit });
      }
      Event::RunFinished { status, exit_code, duration_ms, counts } => {
        for node in &mut self.nodes {
          node.end_attempt(at);
        }
        let (status, exit_code, duration_ms, counts) =
          (status.to_string(), *exit_code, *duration_ms, *counts);
        self.end = Some(RunEnd { status, exit_code, duration_ms, counts });
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

  /// Records an item's outcome; its index.
  fn item_finished(&mut self, event: &Event, at: u64) -> Option<u64> {
    let Event::ItemFinished { consumer, queue, item, worker, status, attempts, exit } = event
    else {
      return None;
    };
    let q = *self.queue_ids.get(*queue)?;
    let id = self.id(consumer)?;
    let node = self.seen(id);
    let index = node.running.remove(*item).unwrap_or_else(|| node.next_item());
    let w = *worker as usize;
    if node.worker_free.len() <= w {
      node.worker_free.resize(w + 1, None);
    }
    let start_us = node.worker_free[w].or_else(|| node.start_us()).unwrap_or(at).min(at);
    node.worker_free[w] = Some(at);
    node.failed_items += u64::from(status.is_failure());
    let queue = &mut self.queues[q];
    if queue.items.len() >= ITEMS_KEPT {
      queue.items_omitted += 1;
      return Some(index);
    }
    let (item, worker, status, attempts, exit) =
      (item.to_string(), *worker, *status, *attempts, *exit);
    let record = ItemRecord {
      consumer: id,
      index,
      item,
      worker,
      status,
      attempts,
      exit,
      start_us,
      end_us: at,
    };
    queue.items.push(record);
    Some(index)
  }

  fn queue_finished(&mut self, event: &Event) -> Option<()> {
    let Event::QueueFinished { queue, put, taken, done, failed, cancelled, left, left_total } =
      event
    else {
      return None;
    };
    let q = &mut self.queues[*self.queue_ids.get(*queue)?];
    let (put, taken, done, failed, cancelled) = (*put, *taken, *done, *failed, *cancelled);
    q.totals = Some(QueueTotals { put, taken, done, failed, cancelled, left: *left_total });
    q.left = left.iter().map(|s| s.to_string()).collect();
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
      node.attempts.push(Attempt { number, start_us: at, end_us: None, status: None, exit: None });
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

#[cfg(test)]
pub(super) mod tests {
  use super::*;
  use crate::report::fixtures::{exit, graph, group_finished, run_finished, task_finished};

  /// The job the files' tests run: a retried task, a plain one, a consumer, a group, a queue.
  pub const JOB: &str = "name: demo\ntasks:\n  a:\n    run: echo a\n    retries: 1\n  b:\n    run: \
                         echo b\n  c:\n    consumes: q\n    run: echo c\n    workers: 2\ngroups:\n  \
                         g:\n    gather: [a, b]\nqueues:\n  q:\n    items: [x, y]\n";

  #[test]
  fn attempts_and_retries() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 10);
    let retry =
      Event::TaskRetrying { task: "a", attempt: 1, status: Status::Failed, exit: exit(1) };
    record.event(&retry, 20);
    record.event(&Event::TaskStarted { task: "a", attempt: 2 }, 30);
    record.event(&task_finished("a", Status::Succeeded, 2, 0, exit(0)), 45);
    let a = &record.nodes[0];
    assert!(a.seen && !record.nodes[1].seen);
    assert_eq!(a.status, Some(Status::Succeeded));
    assert_eq!(
      a.attempts,
      [
        Attempt {
          number: 1,
          start_us: 10,
          end_us: Some(20),
          status: Some(Status::Failed),
          exit: Some(exit(1))
        },
        Attempt {
          number: 2,
          start_us: 30,
          end_us: Some(45),
          status: Some(Status::Succeeded),
          exit: Some(exit(0))
        },
      ]
    );
    assert_eq!(record.nodes[1].line, 6);
  }

  #[test]
  fn a_callback_line_ends_the_attempt() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 10);
    let line = Event::Output { task: "b", stream: Stream::Callback, line: "cb", item: None };
    record.event(&line, 50);
    record.event(&task_finished("b", Status::Failed, 1, 0, exit(2)), 90);
    let b = &record.nodes[1];
    assert_eq!(b.attempts[0].end_us, Some(50));
    assert_eq!(b.attempts[0].status, Some(Status::Failed));
    assert_eq!(b.callbacks.lines().collect::<Vec<_>>(), ["cb"]);
  }

  /// An item of `c` from `q` that ran once.
  fn item_finished(item: &str, worker: u32, status: Status) -> Event<'_> {
    let (consumer, queue, attempts, exit) = ("c", "q", 1, exit(0));
    Event::ItemFinished { consumer, queue, item, worker, status, attempts, exit }
  }

  #[test]
  fn items_get_an_index_and_a_start() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "c", attempt: 1 }, 5);
    let out = Event::Output { task: "c", stream: Stream::Stdout, line: "hi", item: Some("y") };
    assert_eq!(record.event(&out, 7), Some(1));
    assert_eq!(record.event(&out, 8), Some(1));
    assert_eq!(record.event(&item_finished("x", 0, Status::Succeeded), 10), Some(2));
    assert_eq!(record.event(&item_finished("y", 1, Status::Succeeded), 12), Some(1));
    assert_eq!(record.event(&item_finished("y", 0, Status::Succeeded), 20), Some(3));
    let items = &record.queues[0].items;
    let spans: Vec<_> = items.iter().map(|i| (i.index, i.start_us, i.end_us)).collect();
    assert_eq!(spans, [(2, 5, 10), (1, 5, 12), (3, 10, 20)]);
    let tail: Vec<_> = record.nodes[2].stdout.lines().collect();
    assert_eq!(tail, ["[y] hi", "[y] hi"]);
  }

  #[test]
  fn item_outcomes_are_kept_up_to_a_bound() {
    let mut record = Record::new(&graph(JOB));
    let items: Vec<String> = (0..ITEMS_KEPT + 5).map(|i| i.to_string()).collect();
    for (i, item) in items.iter().enumerate() {
      let status = if i % 2 == 0 { Status::Failed } else { Status::Succeeded };
      assert_eq!(record.event(&item_finished(item, 0, status), i as u64), Some(i as u64 + 1));
    }
    assert_eq!(record.queues[0].items.len(), ITEMS_KEPT);
    assert_eq!(record.queues[0].items_omitted, 5);
    assert_eq!(record.nodes[2].failed_items, (ITEMS_KEPT as u64 + 6) / 2);
  }

  #[test]
  fn groups_queues_and_the_end() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 100);
    record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 200);
    record.event(&group_finished("g", Status::Failed, &["b"], &["a"]), 5100);
    let g = &record.nodes[3];
    assert!(g.is_group);
    let outcome = g.group.as_ref().unwrap();
    assert_eq!((outcome.start_us, outcome.end_us, g.duration_ms), (Some(100), 5100, 5));
    let finished = Event::QueueFinished {
      queue: "q",
      put: 2,
      taken: 1,
      done: 1,
      failed: 0,
      cancelled: 0,
      left: vec!["y"],
      left_total: 1,
    };
    record.event(&finished, 6000);
    assert_eq!(record.queues[0].left, ["y"]);
    record.event(&run_finished("failed", 1, 7), 7000);
    assert_eq!(record.nodes[0].attempts[0].end_us, Some(7000));
    assert_eq!(record.end.as_ref().unwrap().exit_code, 1);
  }
}
