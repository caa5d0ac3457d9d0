//! The engine's part of up-to-date checks: asking `uptodate` when the scheduler orders a check,
//! handing the answer back as an input, and recording (or forgetting) a checked task's state
//! when it ends.

use super::event_loop::Loop;
use crate::event::Stream;
use crate::graph::NodeId;
use crate::status::Status;
use crate::uptodate::{self, Force, Record, Store};
use std::collections::{HashMap, VecDeque};

/// The checks of one run.
pub(super) struct Checks {
  pub(super) store: Store,
  pub(super) force: Force,
  /// The hash of each checked task's inputs, recorded if its run succeeds.
  hashes: HashMap<NodeId, u128>,
  /// Answers not yet handed to the scheduler, first asked first.
  pub(super) answers: VecDeque<(NodeId, Option<String>)>,
  /// The result of each checked task's last attempt, to record: the scheduler keeps a result
  /// only while the run reads it.
  results: HashMap<NodeId, String>,
}

impl Checks {
  pub(super) fn new(store: Store, force: Force) -> Self {
    Self { store, force, hashes: HashMap::new(), answers: VecDeque::new(), results: HashMap::new() }
  }

  /// An attempt of task `id` ended with `result`.
  pub(super) fn ran(&mut self, id: NodeId, result: &str) {
    if self.hashes.contains_key(&id) {
      self.results.insert(id, result.to_string());
    }
  }
}

impl Loop<'_, '_> {
  /// Checks task `id` now; the answer waits in `answers` for the scheduler.
  pub(super) fn check(&mut self, id: NodeId) {
    let cwd = self.cwd(id);
    let forced = self.checks.force.covers(id);
    let scheduler = &*self.scheduler;
    let verdict = uptodate::check(self.graph, &self.checks.store, id, &cwd, forced, |n| {
      scheduler.result(n).unwrap_or("")
    });
    if let Some(warning) = verdict.warning {
      self.warn(id, Stream::Stderr, &[warning], None);
    }
    self.checks.hashes.insert(id, verdict.hash);
    self.checks.answers.push_back((id, verdict.fresh));
  }

  /// A checked task ended: a success is recorded with its result; an up-to-date task keeps
  /// its record; any other end forgets it, so that the next run runs the task.
  pub(super) fn record(&mut self, id: NodeId, status: Status) {
    let result = self.checks.results.remove(&id);
    let Some(hash) = self.checks.hashes.remove(&id) else {
      return;
    };
    let name = self.name(id);
    let done = match status {
      Status::UpToDate => return,
      Status::Succeeded => {
        self.checks.store.write(name, &Record { hash, result: result.unwrap_or_default() })
      }
      _ => self.checks.store.remove(name),
    };
    if let Err(warning) = done {
      self.warn(id, Stream::Stderr, &[warning], None);
    }
  }
}
