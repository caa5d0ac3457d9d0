//! Attempts are spread over the cluster: twelve one-second tasks at `-j 6` land on more than
//! one node, on both paths, as each attempt's `SLURMD_NODENAME` (its result) says.

use super::{Backend, run_on};
use crate::support::require_slurm;
use std::collections::BTreeSet;

/// Twelve tasks that print their node after a second, and one that writes their results to
/// `nodes.txt`, one a line.
fn twelve_tasks() -> String {
  let mut yaml = String::from("tasks:\n");
  for n in 1..=12 {
    yaml += &format!("  t{n}:\n    run: sleep 1; echo \"$SLURMD_NODENAME\"\n");
  }
  let needs: Vec<String> = (1..=12).map(|n| format!("t{n}")).collect();
  let lines: Vec<String> = (1..=12).map(|n| format!("\"$RUNNER_RESULT_T{n}\"")).collect();
  yaml += &format!("  nodes:\n    needs: [{}]\n", needs.join(", "));
  yaml += &format!("    run: printf '%s\\n' {} > nodes.txt\n", lines.join(" "));
  yaml
}

#[track_caller]
fn attempts_land_on_several_nodes(backend: Backend) {
  let finished = run_on(backend, &twelve_tasks(), &["-j", "6"]);
  finished.run.code(0);
  let nodes = finished.test.read("nodes.txt");
  let names: Vec<&str> = nodes.lines().collect();
  assert_eq!(names.len(), 12, "{nodes:?}");
  assert!(names.iter().all(|n| ["n1", "n2", "n3"].contains(n)), "{nodes:?}");
  let distinct: BTreeSet<&str> = names.into_iter().collect();
  assert!(distinct.len() >= 2, "every attempt ran on {distinct:?}");
}

#[test]
fn jobs_land_on_several_nodes() {
  if !require_slurm() {
    return;
  }
  attempts_land_on_several_nodes(Backend::Jobs);
}

#[test]
fn steps_land_on_several_nodes() {
  if !require_slurm() {
    return;
  }
  // Six CPUs: more than a node has, so the allocation spans nodes.
  attempts_land_on_several_nodes(Backend::Steps(6));
}
