//! One picture of the live view, built from the model by the renderer a few times a second:
//! which running tasks get a row (sticky, oldest first, as many as the terminal has room
//! for), and the text of every row. O(rows) per frame, whatever the number of tasks.

use super::{Model, QueueRow};
use crate::graph::NodeId;
use crate::report::plain::paint::{BOLD, DIM, Paint, RED};
use std::time::{Duration, Instant};

/// At most this many group rows and queue rows.
const GROUP_ROWS: usize = 3;
const QUEUE_ROWS: usize = 3;
/// Task names are padded to the longest shown, up to this...
const NAME_WIDTH: usize = 32;
/// ...and so are the names of the Slurm nodes the tasks run on.
const NODE_WIDTH: usize = 16;

/// What the live view shows now.
#[derive(Debug, Default)]
pub(in crate::report::tty) struct Frame {
  /// Lines to print above the rows.
  pub print: String,
  /// One row per shown running task.
  pub tasks: Vec<String>,
  /// `... and 12 more running`, when not every running task has a row.
  pub more: Option<String>,
  pub groups: Vec<String>,
  pub queues: Vec<String>,
  pub done: u64,
  pub total: u64,
  /// `, 2 failed` or nothing: after the overall bar's counts.
  pub failures: String,
}

impl Model {
  /// The view for a terminal `height` rows high, at `now`.
  pub(crate) fn frame(&mut self, now: Instant, height: usize) -> Frame {
    let paint = self.paint;
    let groups: Vec<String> =
      self.active_groups.iter().take(GROUP_ROWS).map(|&g| self.group_row(g)).collect();
    let queues: Vec<String> = self
      .queues
      .iter()
      .filter(|q| q.active)
      .take(QUEUE_ROWS)
      .map(|q| queue_row(q, paint))
      .collect();
    // The overall bar, a "more" row and the line the cursor sits on stay free.
    let budget = height.saturating_sub(3 + groups.len() + queues.len()).max(1);
    self.place(budget);
    let width = self.visible.iter().map(|&id| self.nodes[id].name.chars().count()).max();
    let width = width.unwrap_or(0).min(NAME_WIDTH);
    let placed = self.visible.iter().filter_map(|&id| self.placed(id)).map(|n| n.chars().count());
    let widths = (width, placed.max().unwrap_or(0).min(NODE_WIDTH));
    let tasks = self.visible.iter().map(|&id| self.task_row(id, now, widths)).collect();
    let hidden = self.running - self.visible.len();
    Frame {
      print: self.take_print(),
      tasks,
      more: (hidden > 0).then(|| paint.style(DIM, &format!("... and {hidden} more running"))),
      groups,
      queues,
      done: self.done as u64,
      total: self.total.max(self.done) as u64,
      failures: failed(self.failures as u64, paint),
    }
  }

  /// Gives rows to running tasks: a finished task's row goes to the oldest waiting one, so
  /// rows don't jump; rows beyond `budget` go back to waiting.
  fn place(&mut self, budget: usize) {
    for i in 0..self.visible.len() {
      let id = self.visible[i];
      if !self.states[id].running {
        self.states[id].shown = false;
        self.visible[i] = self.next_waiting().unwrap_or(usize::MAX);
      }
    }
    self.visible.retain(|&id| id != usize::MAX);
    while self.visible.len() > budget {
      let id = self.visible.pop().expect("more rows than the budget");
      self.states[id].shown = false;
      self.waiting.push_front(id);
    }
    while self.visible.len() < budget {
      match self.next_waiting() {
        Some(id) => self.visible.push(id),
        None => break,
      }
    }
  }

  fn next_waiting(&mut self) -> Option<NodeId> {
    while let Some(id) = self.waiting.pop_front() {
      let state = &mut self.states[id];
      if state.running && !state.shown {
        state.shown = true;
        return Some(id);
      }
    }
    None
  }

  /// The Slurm node the running attempt of task `id` was placed on.
  fn placed(&self, id: NodeId) -> Option<&str> {
    self.placements.node(&self.nodes[id].name, self.states[id].attempt)
  }

  /// `build    12.3s  compiling foo v0.1`; with `widths.1` > 0, when some shown task runs on a
  /// Slurm node, a column of nodes after the time: `build    12.3s  n2  compiling foo v0.1`.
  fn task_row(&self, id: NodeId, now: Instant, widths: (usize, usize)) -> String {
    let (node, state) = (&self.nodes[id], &self.states[id]);
    let (width, node_width) = widths;
    let name = self.paint.style(BOLD, &format!("{:<width$}", node.name));
    let elapsed = live(state.since.map_or(Duration::ZERO, |since| now.duration_since(since)));
    let attempt = match state.attempt {
      0 | 1 => String::new(),
      n => format!("[attempt {n}] "),
    };
    let last = state.tail.as_ref().map_or("", |t| t.last());
    let placed = match node_width {
      0 => String::new(),
      _ => {
        let placed = format!("{:<node_width$}", self.placed(id).unwrap_or(""));
        format!("{}  ", self.paint.style(DIM, &placed))
      }
    };
    let elapsed = self.paint.style(DIM, &format!("{elapsed:>6}"));
    format!("{name}  {elapsed}  {placed}{attempt}{last}")
  }

  /// `group teas: gather, 1/2 done`
  fn group_row(&self, id: NodeId) -> String {
    let (node, state) = (&self.nodes[id], &self.states[id]);
    let name = self.paint.style(BOLD, &node.name);
    format!("group {name}: {}, {}/{} done", node.rule, state.members_done, node.members)
  }
}

/// `queue orders: 3 waiting, 2 in progress, 12 done, 1 failed (18 put)`
fn queue_row(q: &QueueRow, paint: Paint) -> String {
  let (name, failed) = (paint.style(BOLD, &q.name), failed(q.failed, paint));
  let (depth, running, done, put) = (q.depth, q.in_progress, q.done, q.put);
  format!("queue {name}: {depth} waiting, {running} in progress, {done} done{failed} ({put} put)")
}

/// `, 2 failed` in red, or nothing for none.
fn failed(n: u64, paint: Paint) -> String {
  match n {
    0 => String::new(),
    n => format!(", {}", paint.style(RED, &format!("{n} failed"))),
  }
}

/// Elapsed time on a live row: `0.4s`, `12.3s`, `2m03s`.
fn live(d: Duration) -> String {
  let s = d.as_secs();
  if s < 60 { format!("{:.1}s", d.as_secs_f64()) } else { format!("{}m{:02}s", s / 60, s % 60) }
}

#[cfg(test)]
mod tests;
