//! Where the attempts running now were placed (`placed` events), kept until the line that ends
//! each attempt says which node it ran on; and for the closing `slurm:` line, the calls the run
//! made (the `slurm` event) and the jobs whose steps ran attempts. Plain output and the live view
//! share it. A local run never fills it, so there each look-up is a look in an empty map.

use crate::event::SlurmCalls;
use std::collections::HashMap;

/// Allocations named in the closing line; past these, `...`.
const JOBS_NAMED: usize = 3;

/// An attempt's place: which attempt, and its node.
#[derive(Debug)]
struct Place {
  attempt: u32,
  node: String,
}

/// The last placed attempt of each task and of each queue item that has not ended yet.
#[derive(Debug, Default)]
pub(crate) struct Placements {
  tasks: HashMap<String, Place>,
  /// Consumer -> item -> its place.
  items: HashMap<String, HashMap<String, Place>>,
  /// The jobs whose steps ran attempts (`12` of `12.3`), the first [`JOBS_NAMED`] in order seen.
  jobs: Vec<String>,
  /// Steps ran in more jobs than `jobs` names.
  more_jobs: bool,
  /// What the run asked of Slurm, once said.
  calls: Option<SlurmCalls>,
}

impl Placements {
  /// Notes a `placed` event: `attempt` of `task` (of its `item`, for a consumer) runs on `node`
  /// as Slurm job or step `slurm_id`.
  pub(crate) fn placed(
    &mut self,
    task: &str,
    item: Option<&str>,
    attempt: u32,
    slurm_id: &str,
    node: &str,
  ) {
    let place = Place { attempt, node: node.to_string() };
    match item {
      Some(item) => {
        let items = self.items.entry(task.to_string()).or_default();
        items.insert(item.to_string(), place);
      }
      None => _ = self.tasks.insert(task.to_string(), place),
    }
    if let Some((job, _step)) = slurm_id.split_once('.') {
      self.step_job(job);
    }
  }

  /// Counts a job that ran a step.
  fn step_job(&mut self, job: &str) {
    if self.jobs.iter().any(|j| j == job) {
      return;
    }
    match self.jobs.len() {
      n if n < JOBS_NAMED => self.jobs.push(job.to_string()),
      _ => self.more_jobs = true,
    }
  }

  /// The node `attempt` of `task` runs on, if it was placed.
  pub(crate) fn node(&self, task: &str, attempt: u32) -> Option<&str> {
    let place = self.tasks.get(task).filter(|p| p.attempt == attempt)?;
    Some(&place.node)
  }

  /// The node `attempt` of `task` ran on, if it was placed; forgotten now, as the attempt ended.
  pub(crate) fn ended(&mut self, task: &str, attempt: u32) -> Option<String> {
    if self.tasks.is_empty() {
      return None;
    }
    let place = self.tasks.remove(task)?;
    (place.attempt == attempt).then_some(place.node)
  }

  /// The node the last of `attempts` of `consumer`'s `item` ran on, if it was placed; forgotten
  /// now, as the item ended.
  pub(crate) fn item_ended(&mut self, consumer: &str, item: &str, attempts: u32) -> Option<String> {
    let items = self.items.get_mut(consumer)?;
    let place = items.remove(item)?;
    (place.attempt == attempts).then_some(place.node)
  }

  /// Notes a `slurm` event: what the run asked of Slurm.
  pub(crate) fn calls(&mut self, calls: &SlurmCalls) {
    self.calls = Some(calls.clone());
  }

  /// The `slurm:` line of the run's end (`--backend slurm` only).
  pub(crate) fn closing(&self) -> Option<String> {
    let calls = self.calls.as_ref()?;
    Some(crate::report::plain::text::slurm(calls, &self.jobs, self.more_jobs))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn an_attempt_is_said_to_run_where_it_was_placed_and_only_once() {
    let mut p = Placements::default();
    assert_eq!(p.ended("a", 1), None);
    p.placed("a", None, 1, "12", "n1");
    assert_eq!(p.node("a", 1), Some("n1"));
    assert_eq!(p.node("a", 2), None);
    assert_eq!(p.ended("a", 1).as_deref(), Some("n1"));
    assert_eq!(p.ended("a", 1), None);
    // A retry that was never placed does not run where the attempt before it did.
    p.placed("a", None, 1, "12", "n1");
    assert_eq!(p.ended("a", 2), None);
  }

  #[test]
  fn items_are_placed_apart_from_their_consumer() {
    let mut p = Placements::default();
    p.placed("c", Some("x"), 1, "12.0", "n2");
    p.placed("c", Some("y"), 2, "12.1", "n3");
    assert_eq!(p.node("c", 1), None);
    assert_eq!(p.item_ended("c", "y", 2).as_deref(), Some("n3"));
    assert_eq!(p.item_ended("c", "x", 2), None, "its last attempt was not placed");
    assert_eq!(p.item_ended("c", "x", 1), None, "forgotten");
  }

  #[test]
  fn the_closing_line_names_the_jobs_of_steps_once_each_and_only_a_few() {
    let mut p = Placements::default();
    p.placed("a", None, 1, "40", "n1");
    assert_eq!(p.closing(), None, "said only once the run said its calls");
    let steps = SlurmCalls { launch: "steps", steps: 5, ..SlurmCalls::default() };
    p.calls(&steps);
    assert_eq!(p.closing().as_deref(), Some("slurm: 5 steps, 0 cancels"), "a job is no step");
    for (i, id) in ["12.0", "12.1", "13.0", "14.0"].into_iter().enumerate() {
      p.placed("a", None, i as u32, id, "n1");
    }
    assert_eq!(p.closing().as_deref(), Some("slurm: 5 steps in jobs 12, 13, 14, 0 cancels"));
    p.placed("a", None, 9, "15.0", "n1");
    assert_eq!(p.closing().as_deref(), Some("slurm: 5 steps in jobs 12, 13, 14, ..., 0 cancels"));
  }
}
