//! Every transition of the scheduler, driven by hand: no runtime, no processes.

use super::*;
use crate::compile::compile_source;
use crate::source::Source;

fn graph(yaml: &str) -> Graph {
  compile_source(&Source::new("t.yaml", yaml)).expect("valid job file")
}

#[test]
fn starts_ready_tasks_in_declared_order() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n");
  let mut s = Scheduler::new(&g, &[], 1, false);
  let mut out = Vec::new();
  s.handle(Input::Start, &mut out);
  assert_eq!(out, [Action::Spawn { id: 0, attempt: 1 }]);
}
