//! What the engine keeps of one run's up-to-date checks: the state store, `--force`, the hash
//! of each checked task's inputs and its last result (to record on success), and the answers
//! not yet handed to the scheduler. The checks themselves are made in `start`, where a task
//! would start.

use crate::graph::NodeId;
use crate::status::Status;
use crate::uptodate::{Force, Record, Store};
use std::collections::{HashMap, VecDeque};

/// The checks of one run.
pub(super) struct Checks {
  pub(super) store: Store,
  pub(super) force: Force,
  /// The hash of each checked task's inputs, recorded if its run succeeds.
  pub(super) hashes: HashMap<NodeId, u128>,
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

  /// What to do with the record of checked task `name`, ended with `status`: a success is
  /// recorded with its result; an up-to-date task keeps its record; any other end forgets it,
  /// so that the next run runs the task. Err: a warning.
  pub(super) fn ended(&mut self, id: NodeId, name: &str, status: Status) -> Result<(), String> {
    let result = self.results.remove(&id);
    let Some(hash) = self.hashes.remove(&id) else {
      return Ok(());
    };
    match status {
      Status::UpToDate => Ok(()),
      Status::Succeeded => {
        self.store.write(name, &Record { hash, result: result.unwrap_or_default() })
      }
      _ => self.store.remove(name),
    }
  }
}
