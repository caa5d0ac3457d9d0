//! Every transition of the scheduler, driven by hand: no runtime, no processes.
//!
//! Actions are rendered as short strings with node names (`spawn a#1`, `finished b skipped`)
//! so that each test reads as the sequence of decisions it checks.

use super::*;
use crate::compile::compile_source;
use crate::source::Source;
use Status::{Cancelled, Delayed, Failed, Pending, Ready, Running, Skipped, Succeeded, TimedOut};

fn graph(yaml: &str) -> Graph {
  compile_source(&Source::new("t.yaml", yaml)).expect("valid job file")
}

const NOTHING: [&str; 0] = [];

/// One action as a line: `spawn a#1`, `timer a Delay 2s`, `finished a failed`, `done`...
fn show(g: &Graph, action: &Action) -> String {
  let name = |id: NodeId| g.nodes[id].name.as_str();
  match action {
    Action::Spawn { id, attempt } => format!("spawn {}#{attempt}", name(*id)),
    Action::StartTimer { id, after, timer } => format!("timer {} {timer:?} {after:?}", name(*id)),
    Action::Terminate { id } => format!("terminate {}", name(*id)),
    Action::RunCallbacks { id, status } => format!("callbacks {} {}", name(*id), status.as_str()),
    Action::Retrying { id, attempt, status } => {
      format!("retrying {}#{attempt} {}", name(*id), status.as_str())
    }
    Action::GroupReturned { id, decision } => {
      format!("returned {} {}", name(*id), decision.status.as_str())
    }
    Action::Finished { id, status } => format!("finished {} {}", name(*id), status.as_str()),
    Action::Done => "done".to_string(),
  }
}

/// A scheduler over a graph, driven by node names.
struct Sim<'g> {
  g: &'g Graph,
  s: Scheduler<'g>,
  /// Every action so far, rendered.
  log: Vec<String>,
}

impl<'g> Sim<'g> {
  fn new(g: &'g Graph, targets: &[&str], limit: usize, fail_fast: bool) -> Self {
    let targets: Vec<NodeId> = targets.iter().map(|t| g.find(t).expect("a target")).collect();
    Self { g, s: Scheduler::new(g, &targets, limit, fail_fast), log: Vec::new() }
  }

  fn id(&self, name: &str) -> NodeId {
    self.g.find(name).unwrap_or_else(|| panic!("no node {name}"))
  }

  fn send_raw(&mut self, input: Input) -> Vec<Action> {
    let mut out = Vec::new();
    self.s.handle(input, &mut out);
    assert!(
      self.s.running <= self.s.limit,
      "{} slots taken, limit {}",
      self.s.running,
      self.s.limit
    );
    self.log.extend(out.iter().map(|a| show(self.g, a)));
    out
  }

  fn send(&mut self, input: Input) -> Vec<String> {
    let out = self.send_raw(input);
    out.iter().map(|a| show(self.g, a)).collect()
  }

  fn start(&mut self) -> Vec<String> {
    self.send(Input::Start)
  }

  fn exit(&mut self, name: &str, status: Status) -> Vec<String> {
    self.exit_with(name, status, &format!("{name} out"))
  }

  fn exit_with(&mut self, name: &str, status: Status, result: &str) -> Vec<String> {
    let id = self.id(name);
    self.send(Input::Exited { id, status, result: result.to_string() })
  }

  fn fire(&mut self, name: &str, timer: Timer) -> Vec<String> {
    let id = self.id(name);
    self.send(Input::TimerFired(id, timer))
  }

  fn callbacks_done(&mut self, name: &str, ok: bool) -> Vec<String> {
    let id = self.id(name);
    self.send(Input::CallbacksDone { id, ok })
  }

  fn stop(&mut self, reason: StopReason) -> Vec<String> {
    self.send(Input::Stop(reason))
  }

  fn status(&self, name: &str) -> Status {
    self.s.status(self.id(name))
  }

  fn result(&self, name: &str) -> Option<&str> {
    self.s.result(self.id(name))
  }

  /// How many times `Done` was emitted so far.
  fn dones(&self) -> usize {
    self.log.iter().filter(|l| *l == "done").count()
  }

  /// The names of the selected nodes, in node order.
  fn selected(&self) -> Vec<&str> {
    let ids = 0..self.g.nodes.len();
    ids.filter(|&id| self.s.is_selected(id)).map(|id| self.g.nodes[id].name.as_str()).collect()
  }
}

/// The decision of the one group that returned among `out`.
fn returned(out: &[Action]) -> &Decision {
  let mut decisions = out.iter().filter_map(|a| match a {
    Action::GroupReturned { decision, .. } => Some(decision),
    _ => None,
  });
  let decision = decisions.next().expect("a group returned");
  assert!(decisions.next().is_none(), "one group returned");
  decision
}

// ---------------------------------------------------------------------------------------------
// Start order and the concurrency limit

#[test]
fn starts_ready_tasks_in_declared_order() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n");
  let mut s = Scheduler::new(&g, &[], 1, false);
  let mut out = Vec::new();
  s.handle(Input::Start, &mut out);
  assert_eq!(out, [Action::Spawn { id: 0, attempt: 1 }]);
}

#[test]
fn limit_one_runs_tasks_one_at_a_time_in_declared_order() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!((sim.status("a"), sim.status("b"), sim.status("c")), (Running, Ready, Ready));
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "spawn c#1"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "done"]);
  assert!(!sim.s.run_failed());
  assert_eq!(sim.result("b"), Some("b out"));
}

#[test]
fn limit_two_refills_a_slot_as_each_task_exits() {
  let g =
    graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  d: {run: x}\n  e: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "spawn c#1"]);
  assert_eq!(sim.exit("c", Failed), ["finished c failed", "spawn d#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn e#1"]);
  assert_eq!(sim.exit("e", Succeeded), ["finished e succeeded"]);
  assert_eq!(sim.exit("d", Succeeded), ["finished d succeeded", "done"]);
  assert!(sim.s.run_failed());
}

#[test]
fn slots_are_to_spare_once_fewer_tasks_wait_than_there_are_slots() {
  let g =
    graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  d: {run: x}\n  e: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert!(!sim.s.slots_to_spare(), "c, d and e wait");
  sim.exit("a", Succeeded);
  assert!(!sim.s.slots_to_spare(), "d and e wait");
  sim.exit("b", Succeeded);
  assert!(sim.s.slots_to_spare(), "only e waits");
  sim.exit("c", Succeeded);
  assert!(sim.s.slots_to_spare(), "nothing waits");
}

#[test]
fn a_limit_of_zero_means_one() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 0, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
}

#[test]
fn needs_run_first() {
  let g = graph("tasks:\n  c: {run: x, needs: [b]}\n  b: {run: x, needs: [a]}\n  a: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 4, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!((sim.status("b"), sim.status("c")), (Pending, Pending));
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "spawn c#1"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "done"]);
}

#[test]
fn a_task_with_two_needs_waits_for_both() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, needs: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 4, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn c#1"]);
}

#[test]
fn dependents_ready_together_start_in_declared_order() {
  let g = graph(
    "tasks:\n  z: {run: x, needs: [root]}\n  root: {run: x}\n  y: {run: x, needs: [root]}\n  \
     x: {run: x, needs: [root]}\n",
  );
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn root#1"]);
  assert_eq!(sim.exit("root", Succeeded), ["finished root succeeded", "spawn z#1"]);
  assert_eq!(sim.exit("z", Succeeded), ["finished z succeeded", "spawn y#1"]);
  assert_eq!(sim.exit("y", Succeeded), ["finished y succeeded", "spawn x#1"]);
}

#[test]
fn the_ready_queue_is_first_in_first_out() {
  // `late` is declared first but becomes ready after `other` was queued: it starts after it.
  let g = graph("tasks:\n  late: {run: x, needs: [a]}\n  a: {run: x}\n  other: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn other#1"]);
  assert_eq!(sim.exit("other", Succeeded), ["finished other succeeded", "spawn late#1"]);
}

// ---------------------------------------------------------------------------------------------
// Delays, join points, pure timers

#[test]
fn a_delayed_task_starts_its_timer_and_holds_no_slot() {
  let g = graph("tasks:\n  a: {run: x, delay: 2s}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  // At limit 1, `b` runs while `a` waits out its delay.
  assert_eq!(sim.start(), ["timer a Delay 2s", "spawn b#1"]);
  assert_eq!(sim.status("a"), Delayed);
  // The delay is over but the only slot is taken: `a` is queued.
  assert_eq!(sim.fire("a", Timer::Delay), NOTHING);
  assert_eq!(sim.status("a"), Ready);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "done"]);
}

#[test]
fn a_delay_counts_from_when_the_needs_are_met() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a], delay: 500ms}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "timer b Delay 500ms"]);
  assert_eq!(sim.fire("b", Timer::Delay), ["spawn b#1"]);
}

#[test]
fn a_zero_delay_starts_at_once() {
  let g = graph("tasks:\n  a: {run: x, delay: 0s}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
}

#[test]
fn a_task_without_run_is_a_join_point_that_succeeds_at_once() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  join: {needs: [a, b]}\n  c: {run: x, needs: [join]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded"]);
  assert_eq!(
    sim.exit("b", Succeeded),
    ["finished b succeeded", "finished join succeeded", "spawn c#1"]
  );
  assert_eq!(sim.result("join"), Some(""));
  assert_eq!(sim.s.attempts(sim.id("join")), 1);
}

#[test]
fn join_points_without_needs_finish_on_start() {
  let g = graph("tasks:\n  a: {}\n  b: {needs: [a]}\n  c: {run: x, needs: [b]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["finished a succeeded", "finished b succeeded", "spawn c#1"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "done"]);
  assert_eq!(sim.dones(), 1);
}

#[test]
fn a_chain_of_join_points_made_ready_during_start_finishes_once() {
  // `b` becomes ready while Start walks the nodes (through `a`); Start must not make it ready
  // a second time when it reaches it.
  let g = graph("tasks:\n  a: {}\n  b: {needs: [a]}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["finished a succeeded", "finished b succeeded", "spawn c#1"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "done"]);
  let g = graph("tasks:\n  a: {}\n  b: {run: x, needs: [a], delay: 1s}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["finished a succeeded", "timer b Delay 1s"]);
  assert_eq!(sim.fire("b", Timer::Delay), ["spawn b#1"]);
}

#[test]
fn a_delay_without_run_is_a_pure_timer() {
  let g = graph("tasks:\n  wait: {delay: 1m}\n  b: {run: x, needs: [wait]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer wait Delay 60s"]);
  assert_eq!(sim.status("wait"), Delayed);
  assert_eq!(sim.fire("wait", Timer::Delay), ["finished wait succeeded", "spawn b#1"]);
}

#[test]
fn a_pure_timer_with_callbacks_takes_no_slot() {
  // At limit 1 with `a` running, the timer's callbacks must not push the slots over the limit
  // (Sim checks `running <= limit` after every input).
  let g = graph("tasks:\n  a: {run: x}\n  t: {delay: 1s, on_done: y}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer t Delay 1s", "spawn a#1"]);
  assert_eq!(sim.fire("t", Timer::Delay), ["callbacks t succeeded"]);
  assert_eq!(sim.callbacks_done("t", true), ["finished t succeeded"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
}

#[test]
fn stale_or_unexpected_inputs_are_ignored() {
  let g = graph("tasks:\n  a: {run: x, delay: 1s}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["timer a Delay 1s", "spawn b#1"]);
  // `a` is not running; the retry timer of a task not waiting; callbacks never asked for.
  assert_eq!(sim.exit("a", Succeeded), NOTHING);
  assert_eq!(sim.fire("b", Timer::Retry), NOTHING);
  assert_eq!(sim.callbacks_done("b", false), NOTHING);
  assert!(!sim.s.run_failed());
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.exit("b", Failed), NOTHING, "a second exit is ignored");
  assert_eq!(sim.fire("a", Timer::Delay), ["spawn a#1"]);
  assert_eq!(sim.fire("a", Timer::Delay), NOTHING, "a timer fires once");
}

// ---------------------------------------------------------------------------------------------
// Retries

#[test]
fn an_immediate_retry_is_queued_behind_ready_tasks() {
  let g = graph("tasks:\n  a: {run: x, retries: 2}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn b#1"]);
  assert_eq!(sim.status("a"), Ready);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "spawn a#2"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "done"]);
  assert_eq!(sim.s.attempts(sim.id("a")), 2);
  assert!(!sim.s.run_failed(), "a failure that was retried away does not fail the run");
}

#[test]
fn an_immediate_retry_respawns_at_once_when_a_slot_is_free() {
  let g = graph("tasks:\n  a: {run: x, retries: 1}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
}

#[test]
fn a_retry_delay_waits_without_a_slot() {
  let g = graph("tasks:\n  a: {run: x, retries: 1, retry_delay: 3s}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "timer a Retry 3s", "spawn b#1"]);
  assert_eq!(sim.status("a"), Delayed);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.fire("a", Timer::Retry), ["spawn a#2"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "done"]);
  assert_eq!(sim.s.attempts(sim.id("a")), 2);
  assert!(sim.s.run_failed());
}

#[test]
fn retries_run_out_and_the_task_fails() {
  let g = graph("tasks:\n  a: {run: x, retries: 2}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#2 failed", "spawn a#3"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "finished b skipped", "done"]);
  assert_eq!(sim.s.attempts(sim.id("a")), 3);
  assert_eq!(sim.status("a"), Failed);
  assert!(sim.s.run_failed());
}

#[test]
fn a_timeout_is_a_failure_and_is_retried() {
  let g = graph("tasks:\n  a: {run: x, timeout: 1s, retries: 1}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", TimedOut), ["retrying a#1 timed_out", "spawn a#2"]);
  assert_eq!(sim.exit("a", TimedOut), ["finished a timed_out", "finished b skipped", "done"]);
  assert!(sim.s.run_failed());
}

#[test]
fn a_success_on_a_retry_lets_dependents_run() {
  let g = graph("tasks:\n  a: {run: x, retries: 1}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", TimedOut), ["retrying a#1 timed_out", "spawn a#2"]);
  assert_eq!(sim.exit_with("a", Succeeded, "second"), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.result("a"), Some("second"));
}

// ---------------------------------------------------------------------------------------------
// Failure and allow_failure

#[test]
fn a_failure_skips_dependents_transitively_and_independent_branches_go_on() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n  c: {run: x, needs: [b]}\n  \
     both: {run: x, needs: [a, d]}\n  d: {run: x}\n  e: {run: x, needs: [d]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn d#1"]);
  assert_eq!(
    sim.exit("a", Failed),
    ["finished a failed", "finished b skipped", "finished both skipped", "finished c skipped",]
  );
  // `both` was skipped once; its other need succeeding later does not touch it.
  assert_eq!(sim.exit("d", Succeeded), ["finished d succeeded", "spawn e#1"]);
  assert_eq!(sim.exit("e", Succeeded), ["finished e succeeded", "done"]);
  assert_eq!((sim.status("b"), sim.status("c"), sim.status("both")), (Skipped, Skipped, Skipped));
  assert!(sim.s.run_failed());
  assert_eq!(sim.dones(), 1);
}

#[test]
fn allow_failure_lets_dependents_run_and_does_not_fail_the_run() {
  let g = graph(
    "tasks:\n  a: {run: x, allow_failure: true}\n  b: {run: x, needs: [a]}\n  \
     t: {run: x, allow_failure: true, timeout: 1s}\n  c: {run: x, needs: [t]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn t#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "spawn b#1"]);
  assert_eq!(sim.exit("t", TimedOut), ["finished t timed_out", "spawn c#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "done"]);
  assert_eq!(sim.status("a"), Failed);
  assert!(!sim.s.run_failed());
}

// ---------------------------------------------------------------------------------------------
// Fail-fast and stops

#[test]
fn fail_fast_cancels_everything_at_the_first_failure() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  d: {run: x, needs: [a]}\n  \
     e: {run: x, delay: 5s}\n  f: {run: x, needs: [c]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["timer e Delay 5s", "spawn a#1", "spawn b#1"]);
  assert_eq!(
    sim.exit("a", Failed),
    [
      "finished a failed",
      "terminate b",
      "finished c cancelled",
      "finished d cancelled",
      "finished e cancelled",
      "finished f cancelled",
    ]
  );
  assert_eq!(sim.s.stop_reason(), Some(StopReason::FailFast));
  // The terminated task exits (whatever its exit status): it is cancelled, not failed.
  assert_eq!(sim.exit("b", Failed), ["finished b cancelled", "done"]);
  assert_eq!(sim.fire("e", Timer::Delay), NOTHING);
  assert_eq!(sim.status("b"), Cancelled);
  assert!(sim.s.run_failed());
  assert_eq!(sim.dones(), 1);
}

#[test]
fn fail_fast_waits_for_retries_to_run_out() {
  let g = graph("tasks:\n  a: {run: x, retries: 1}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "terminate b"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
}

#[test]
fn fail_fast_stops_at_the_failure_not_after_its_callbacks() {
  // While `a`'s on_failure runs, no new task may start: `b` exiting must not let `c` in.
  let g = graph("tasks:\n  a: {run: x, on_failure: y}\n  b: {run: x}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["callbacks a failed", "terminate b", "finished c cancelled"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled"]);
  assert_eq!(sim.callbacks_done("a", true), ["finished a failed", "done"]);
  assert_eq!(sim.status("c"), Cancelled);
}

#[test]
fn fail_fast_runs_callbacks_of_cancelled_tasks() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, on_done: y}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "terminate b"]);
  assert_eq!(sim.exit("b", Failed), ["callbacks b cancelled"]);
  assert_eq!(sim.callbacks_done("b", true), ["finished b cancelled", "done"]);
}

#[test]
fn without_fail_fast_a_failure_does_not_stop_the_run() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "spawn c#1"]);
  assert_eq!(sim.s.stop_reason(), None);
}

#[test]
fn an_allowed_failure_does_not_trigger_fail_fast() {
  let g = graph("tasks:\n  a: {run: x, allow_failure: true}\n  b: {run: x}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "spawn c#1"]);
  assert_eq!(sim.s.stop_reason(), None);
}

#[test]
fn a_signal_cancels_everything_without_callbacks() {
  let g = graph(
    "tasks:\n  a: {run: x, on_done: y}\n  b: {run: x, on_done: y}\n  c: {run: x, delay: 1s, on_done: y}\n  \
     d: {run: x, needs: [a], on_failure: y}\n",
  );
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer c Delay 1s", "spawn a#1"]);
  assert_eq!(
    sim.stop(StopReason::Signal(2)),
    ["terminate a", "finished b cancelled", "finished c cancelled", "finished d cancelled"]
  );
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Signal(2)));
  assert_eq!(sim.fire("c", Timer::Delay), NOTHING);
  assert_eq!(sim.exit("a", Succeeded), ["finished a cancelled", "done"]);
  assert!(!sim.log.iter().any(|l| l.starts_with("callbacks")), "{:?}", sim.log);
  assert!(!sim.s.run_failed(), "an interrupted run reports its signal, not a failure");
}

#[test]
fn a_signal_lets_running_callbacks_finish() {
  let g = graph("tasks:\n  a: {run: x, on_success: y}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.stop(StopReason::Signal(15)), ["finished b cancelled"]);
  assert_eq!(sim.callbacks_done("a", true), ["finished a succeeded", "done"]);
}

#[test]
fn a_second_signal_after_fail_fast_takes_over() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, on_done: y}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "terminate b"]);
  assert_eq!(sim.stop(StopReason::Signal(2)), NOTHING, "b is already being terminated");
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Signal(2)));
  assert_eq!(
    sim.exit("b", Failed),
    ["finished b cancelled", "done"],
    "no callbacks once interrupted"
  );
  assert_eq!(sim.stop(StopReason::Timeout), NOTHING);
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Signal(2)));
}

#[test]
fn a_run_timeout_cancels_everything_and_fails_the_run() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.stop(StopReason::Timeout), ["terminate a", "finished b cancelled"]);
  assert_eq!(sim.exit("a", TimedOut), ["finished a cancelled", "done"]);
  assert!(sim.s.run_failed());
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Timeout));
}

#[test]
fn everything_not_started_is_cancelled_on_a_stop_whatever_the_declaration_order() {
  // `c` needs `b` needs `a`; whether the stop reaches `b` or `c` first, both are cancelled
  // (not skipped): nothing failed, the run was stopped.
  for yaml in [
    "tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n  c: {run: x, needs: [b]}\n",
    "tasks:\n  c: {run: x, needs: [b]}\n  b: {run: x, needs: [a]}\n  a: {run: x}\n",
  ] {
    let g = graph(yaml);
    let mut sim = Sim::new(&g, &[], 1, false);
    assert_eq!(sim.start(), ["spawn a#1"]);
    sim.stop(StopReason::Signal(2));
    assert_eq!((sim.status("b"), sim.status("c")), (Cancelled, Cancelled), "{yaml}");
  }
}

#[test]
fn a_stop_before_start_cancels_everything() {
  let g = graph("tasks:\n  a: {}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(
    sim.stop(StopReason::Signal(2)),
    ["finished a cancelled", "finished b cancelled", "done"]
  );
  assert_eq!(sim.start(), NOTHING);
  assert_eq!(sim.dones(), 1);
}

// ---------------------------------------------------------------------------------------------
// Targets

#[test]
fn targets_select_only_what_they_need() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n  c: {run: x}\n  d: {run: x, needs: [b]}\n",
  );
  let mut sim = Sim::new(&g, &["b"], 4, false);
  assert_eq!(sim.selected(), ["a", "b"]);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert_eq!((sim.status("c"), sim.status("d")), (Pending, Pending));
}

#[test]
fn a_group_target_selects_its_members_and_their_needs() {
  let g = graph(
    "tasks:\n  w: {run: x}\n  x: {run: x}\n  y: {run: x, needs: [w]}\n  z: {run: x}\n  \
     after: {run: x, needs: [g]}\ngroups:\n  g: {gather: [x, y]}\n",
  );
  let sim = Sim::new(&g, &["g"], 4, false);
  assert_eq!(sim.selected(), ["w", "x", "y", "g"]);
}

#[test]
fn a_consumer_target_selects_its_queue_producers() {
  let g = graph(
    "queues: {q: {}}\ntasks:\n  setup: {run: x}\n  p: {run: x, produces: q, needs: [setup]}\n  \
     c: {run: x, consumes: q}\n  other: {run: x}\n",
  );
  let sim = Sim::new(&g, &["c"], 4, false);
  assert_eq!(sim.selected(), ["setup", "p", "c"]);
}

#[test]
fn a_target_failure_skips_only_selected_dependents() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n  c: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &["b"], 4, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["finished a failed", "finished b skipped", "done"]);
  assert_eq!(sim.status("c"), Pending);
}

// ---------------------------------------------------------------------------------------------
// Callbacks

#[test]
fn callbacks_hold_the_slot_and_dependents_wait_for_them() {
  let g = graph("tasks:\n  a: {run: x, on_success: y}\n  b: {run: x, needs: [a]}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  // `a` has its final status, but holds its slot (`c` does not start) and `b` is not ready.
  assert_eq!((sim.status("a"), sim.status("b"), sim.status("c")), (Succeeded, Pending, Ready));
  assert_eq!(sim.callbacks_done("a", true), ["finished a succeeded", "spawn c#1"]);
  assert_eq!(sim.status("b"), Ready);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(!sim.s.run_failed());
}

#[test]
fn callbacks_get_the_final_status() {
  let g = graph("tasks:\n  a: {run: x, on_failure: y}\n  b: {run: x, timeout: 1s, on_done: y}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Failed), ["callbacks a failed"]);
  assert_eq!(sim.exit("b", TimedOut), ["callbacks b timed_out"]);
  assert_eq!(sim.callbacks_done("b", true), ["finished b timed_out"]);
  assert_eq!(sim.callbacks_done("a", true), ["finished a failed", "done"]);
}

#[test]
fn callbacks_run_once_after_the_last_attempt() {
  let g = graph("tasks:\n  a: {run: x, retries: 1, on_done: y}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.callbacks_done("a", true), ["finished a succeeded", "done"]);
}

#[test]
fn a_failed_callback_fails_the_run_but_not_the_task() {
  let g = graph("tasks:\n  a: {run: x, on_success: y}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.callbacks_done("a", false), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.status("a"), Succeeded);
  assert!(sim.s.run_failed());
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(sim.s.run_failed());
  assert_eq!(sim.callbacks_done("a", true), NOTHING, "callbacks are done once");
}

#[test]
fn join_points_and_groups_run_their_callbacks() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  j: {needs: [a], on_success: y}\n  b: {run: x, needs: [j]}\n\
     groups:\n  g: {gather: [a], on_done: y}\n",
  );
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    [
      "finished a succeeded",
      "returned g succeeded",
      "callbacks g succeeded",
      "callbacks j succeeded",
    ]
  );
  assert_eq!(sim.callbacks_done("g", true), ["finished g succeeded"]);
  assert_eq!(sim.callbacks_done("j", true), ["finished j succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
}

// ---------------------------------------------------------------------------------------------
// Groups

#[test]
fn gather_returns_results_in_declared_order() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  after: {run: x, needs: [teas]}\n\
     groups:\n  teas: {gather: [a, b, c]}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1", "spawn c#1"]);
  assert_eq!(sim.status("teas"), Running);
  assert_eq!(sim.exit_with("c", Succeeded, "third"), ["finished c succeeded"]);
  assert_eq!(sim.exit_with("b", Succeeded, "second \"quoted\""), ["finished b succeeded"]);
  assert_eq!(
    sim.exit_with("a", Succeeded, "first"),
    ["finished a succeeded", "returned teas succeeded", "finished teas succeeded", "spawn after#1"]
  );
  assert_eq!(sim.result("teas"), Some(r#"["first","second \"quoted\"","third"]"#));
}

#[test]
fn gather_decision_lists_members_in_finishing_order() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  g: {gather: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  sim.exit("b", Succeeded);
  let out =
    sim.send_raw(Input::Exited { id: sim.id("a"), status: Succeeded, result: String::new() });
  let expected = Decision {
    status: Succeeded,
    done: vec![1, 0],
    pending: vec![],
    cancel_pending: false,
    timed_out: false,
  };
  assert_eq!(returned(&out), &expected);
}

#[test]
fn gather_fails_at_once_and_the_other_members_go_on() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, needs: [a]}\n  after: {run: x, needs: [g]}\n\
     groups:\n  g: {gather: [a, b, c]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(
    sim.exit("a", Failed),
    [
      "finished a failed",
      "returned g failed",
      "finished g failed",
      "finished c skipped",
      "finished after skipped",
    ]
  );
  // `b` is neither terminated nor forgotten.
  assert_eq!(sim.status("b"), Running);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(sim.s.run_failed());
  assert_eq!(sim.result("g"), Some(r#"["a out","",""]"#));
}

#[test]
fn gather_with_an_allowed_failure_succeeds() {
  let g = graph(
    "tasks:\n  a: {run: x, allow_failure: true}\n  b: {run: x}\n  after: {run: x, needs: [g]}\n\
     groups:\n  g: {gather: [a, b]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert_eq!(sim.exit("a", Failed), ["finished a failed"]);
  assert_eq!(
    sim.exit("b", Succeeded),
    ["finished b succeeded", "returned g succeeded", "finished g succeeded", "spawn after#1"]
  );
  assert!(!sim.s.run_failed());
}

#[test]
fn a_failed_group_with_allow_failure_lets_dependents_run() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  after: {run: x, needs: [g]}\ngroups:\n  g: {gather: [a], allow_failure: true}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert_eq!(
    sim.exit("a", Failed),
    ["finished a failed", "returned g failed", "finished g failed", "spawn after#1"]
  );
  assert!(sim.s.run_failed(), "the member's own failure still fails the run");
}

#[test]
fn a_group_whose_members_are_all_skipped_is_skipped_and_stays_so() {
  // `g` decides early (skipped) through `a`; `b` becoming ready later must not revive it.
  let g = graph(
    "tasks:\n  x: {run: x}\n  y: {run: x}\n  a: {run: x, needs: [x]}\n  b: {run: x, needs: [y]}\n\
     groups:\n  g: {gather: [a, b]}\n  w: {wait: [a, b], timeout: 5s}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn x#1", "spawn y#1"]);
  assert_eq!(
    sim.exit("x", Failed),
    ["finished x failed", "finished a skipped", "returned g skipped", "finished g skipped"]
  );
  assert_eq!(
    sim.exit("y", Succeeded),
    ["finished y succeeded", "timer w GroupTimeout 5s", "spawn b#1"]
  );
  assert_eq!(sim.status("g"), Skipped);
  assert_eq!(
    sim.exit("b", Succeeded),
    ["finished b succeeded", "returned w succeeded", "finished w succeeded", "done"]
  );
  assert_eq!(sim.status("g"), Skipped);
  assert_eq!(sim.fire("w", Timer::GroupTimeout), NOTHING);
}

#[test]
fn wait_first_completed_cancels_the_pending_members() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  after_b: {run: x, needs: [b]}\n  \
     after_c: {run: x, needs: [c]}\n  after_w: {run: x, needs: [w]}\n\
     groups:\n  w: {wait: [a, b, c], return_when: FIRST_COMPLETED}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    [
      "finished a succeeded",
      "returned w succeeded",
      "terminate b",
      "finished c cancelled",
      "finished w succeeded",
      "finished after_c skipped",
      "spawn after_w#1",
    ]
  );
  assert_eq!(
    sim.result("w"),
    Some(r#"{"done":[{"name":"a","result":"a out","status":"succeeded"}],"pending":["b","c"]}"#)
  );
  assert_eq!(sim.exit("b", Failed), ["finished b cancelled", "finished after_b skipped"]);
  assert_eq!(sim.exit("after_w", Succeeded), ["finished after_w succeeded", "done"]);
  assert!(!sim.s.run_failed(), "members cancelled by their group do not fail the run");
}

#[test]
fn wait_first_completed_with_a_failure_fails_the_group() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  after: {run: x, needs: [w]}\n\
     groups:\n  w: {wait: [a, b], return_when: first_completed}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert_eq!(
    sim.exit("b", TimedOut),
    [
      "finished b timed_out",
      "returned w failed",
      "terminate a",
      "finished w failed",
      "finished after skipped",
    ]
  );
  assert_eq!(sim.exit("a", Succeeded), ["finished a cancelled", "done"]);
  assert_eq!(
    sim.result("w"),
    Some(r#"{"done":[{"name":"b","result":"b out","status":"timed_out"}],"pending":["a"]}"#)
  );
}

#[test]
fn a_wait_group_hears_of_a_failed_member_before_its_skipped_dependents() {
  // `c` is skipped because `a` failed; FIRST_COMPLETED must return with `a` (failed), not
  // with `c` (skipped, which alone would make the group succeed).
  let g = graph(
    "tasks:\n  a: {run: x}\n  c: {run: x, needs: [a]}\n  after: {run: x, needs: [w]}\n\
     groups:\n  w: {wait: [a, c], return_when: FIRST_COMPLETED}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(
    sim.exit("a", Failed),
    [
      "finished a failed",
      "returned w failed",
      "finished c cancelled",
      "finished w failed",
      "finished after skipped",
      "done",
    ]
  );
  assert_eq!(
    sim.result("w"),
    Some(r#"{"done":[{"name":"a","result":"a out","status":"failed"}],"pending":["c"]}"#)
  );
}

#[test]
fn wait_with_pending_continue_leaves_members_running() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, delay: 1s}\n  after: {run: x, needs: [w]}\n\
     groups:\n  w: {wait: [a, b, c], return_when: FIRST_COMPLETED, pending: continue}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["timer c Delay 1s", "spawn a#1", "spawn b#1"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    ["finished a succeeded", "returned w succeeded", "finished w succeeded", "spawn after#1"]
  );
  assert_eq!(
    sim.result("w"),
    Some(r#"{"done":[{"name":"a","result":"a out","status":"succeeded"}],"pending":["b","c"]}"#)
  );
  assert_eq!(sim.exit("after", Succeeded), ["finished after succeeded"]);
  assert_eq!(sim.fire("c", Timer::Delay), ["spawn c#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.exit("c", Failed), ["finished c failed", "done"]);
  assert!(sim.s.run_failed(), "a member failing after the group returned still fails the run");
}

#[test]
fn wait_timeout_starts_when_the_first_member_is_ready_and_returns_what_is_done() {
  let g = graph(
    "tasks:\n  x: {run: x}\n  a: {run: x, needs: [x]}\n  b: {run: x, needs: [x]}\n  c: {run: x, needs: [b]}\n  \
     after: {run: x, needs: [w]}\ngroups:\n  w: {wait: [a, b, c], timeout: 5s}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn x#1"]);
  assert_eq!(sim.status("w"), Pending);
  assert_eq!(
    sim.exit("x", Succeeded),
    ["finished x succeeded", "timer w GroupTimeout 5s", "spawn a#1", "spawn b#1"]
  );
  assert_eq!(sim.exit("a", Failed), ["finished a failed"]);
  let out = sim.send_raw(Input::TimerFired(sim.id("w"), Timer::GroupTimeout));
  let shown: Vec<String> = out.iter().map(|a| show(&g, a)).collect();
  assert_eq!(
    shown,
    [
      "returned w failed",
      "terminate b",
      "finished c cancelled",
      "finished w failed",
      "finished after skipped",
    ]
  );
  let expected = Decision {
    status: Failed,
    done: vec![0],
    pending: vec![1, 2],
    cancel_pending: true,
    timed_out: true,
  };
  assert_eq!(returned(&out), &expected);
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
}

#[test]
fn a_wait_timeout_alone_is_not_a_failure() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  after: {run: x, needs: [w]}\n\
     groups:\n  w: {wait: [a, b], timeout: 2s, pending: continue}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  assert_eq!(sim.start(), ["timer w GroupTimeout 2s", "spawn a#1", "spawn b#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded"]);
  assert_eq!(
    sim.fire("w", Timer::GroupTimeout),
    ["returned w succeeded", "finished w succeeded", "spawn after#1"]
  );
  assert_eq!(sim.exit("after", Succeeded), ["finished after succeeded"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(!sim.s.run_failed());
  assert_eq!(sim.fire("w", Timer::GroupTimeout), NOTHING);
}

#[test]
fn a_wait_that_returned_ignores_its_timer() {
  let g = graph("tasks:\n  a: {run: x}\ngroups:\n  w: {wait: [a], timeout: 2s}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer w GroupTimeout 2s", "spawn a#1"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    ["finished a succeeded", "returned w succeeded", "finished w succeeded", "done"]
  );
  assert_eq!(sim.fire("w", Timer::GroupTimeout), NOTHING);
}

#[test]
fn wait_first_exception_returns_at_the_first_failure() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\ngroups:\n  w: {wait: [a, b, c], return_when: FIRST_EXCEPTION}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  sim.start();
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded"]);
  assert_eq!(
    sim.exit("b", Failed),
    ["finished b failed", "returned w failed", "terminate c", "finished w failed",]
  );
  assert_eq!(sim.exit("c", Succeeded), ["finished c cancelled", "done"]);
  assert!(sim.s.run_failed());
  assert_eq!(
    sim.result("w"),
    Some(
      r#"{"done":[{"name":"a","result":"a out","status":"succeeded"},{"name":"b","result":"b out","status":"failed"}],"pending":["c"]}"#
    )
  );
}

#[test]
fn wait_first_exception_without_failures_waits_for_all() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  w: {wait: [a, b], return_when: FIRST_EXCEPTION}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    ["finished a succeeded", "returned w succeeded", "finished w succeeded", "done"]
  );
}

#[test]
fn wait_all_completed_collects_every_member() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  w: {wait: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  assert_eq!(sim.exit("b", Failed), ["finished b failed"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    ["finished a succeeded", "returned w failed", "finished w failed", "done"]
  );
  assert_eq!(
    sim.result("w"),
    Some(
      r#"{"done":[{"name":"b","result":"b out","status":"failed"},{"name":"a","result":"a out","status":"succeeded"}],"pending":[]}"#
    )
  );
}

#[test]
fn nested_groups() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  after: {run: x, needs: [outer]}\n\
     groups:\n  inner: {wait: [a, b], return_when: FIRST_COMPLETED}\n  outer: {gather: [inner, c]}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1", "spawn c#1"]);
  assert_eq!((sim.status("inner"), sim.status("outer")), (Running, Running));
  assert_eq!(sim.exit_with("c", Succeeded, "C"), ["finished c succeeded"]);
  assert_eq!(
    sim.exit_with("b", Succeeded, "B"),
    [
      "finished b succeeded",
      "returned inner succeeded",
      "terminate a",
      "finished inner succeeded",
      "returned outer succeeded",
      "finished outer succeeded",
      "spawn after#1",
    ]
  );
  let inner = r#"{"done":[{"name":"b","result":"B","status":"succeeded"}],"pending":["a"]}"#;
  assert_eq!(sim.result("inner"), Some(inner));
  let outer: serde_json::Value = serde_json::from_str(sim.result("outer").unwrap()).unwrap();
  // A member group's result is embedded as JSON, not as a string holding JSON.
  let inner_value: serde_json::Value = serde_json::from_str(inner).unwrap();
  assert_eq!(outer, serde_json::json!([inner_value, "C"]));
  assert_eq!(sim.exit("a", Succeeded), ["finished a cancelled"]);
  assert_eq!(sim.exit("after", Succeeded), ["finished after succeeded", "done"]);
}

#[test]
fn cancelling_a_nested_group_cancels_its_members() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, needs: [a]}\n\
     groups:\n  inner: {gather: [b, c]}\n  outer: {wait: [a, inner], return_when: FIRST_COMPLETED}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1"]);
  assert_eq!(
    sim.exit("a", Succeeded),
    [
      "finished a succeeded",
      "returned outer succeeded",
      "terminate b",
      "finished c cancelled",
      "finished inner cancelled",
      "finished outer succeeded",
    ]
  );
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
  assert!(!sim.s.run_failed());
}

#[test]
fn an_outer_wait_timeout_starts_when_a_nested_member_is_ready() {
  let g = graph(
    "tasks:\n  x: {run: x}\n  a: {run: x, needs: [x]}\n\
     groups:\n  inner: {gather: [a]}\n  outer: {wait: [inner], timeout: 3s}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn x#1"]);
  assert_eq!(
    sim.exit("x", Succeeded),
    ["finished x succeeded", "timer outer GroupTimeout 3s", "spawn a#1"]
  );
  assert_eq!((sim.status("inner"), sim.status("outer")), (Running, Running));
}

#[test]
fn a_group_as_a_need() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  mix: {run: x, needs: [teas]}\n  \
     other: {run: x, needs: [failing]}\n  c: {run: x}\n\
     groups:\n  teas: {gather: [a, b]}\n  failing: {gather: [c]}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1", "spawn c#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded"]);
  assert_eq!(sim.status("mix"), Pending);
  assert_eq!(
    sim.exit("b", Succeeded),
    ["finished b succeeded", "returned teas succeeded", "finished teas succeeded", "spawn mix#1"]
  );
  assert_eq!(
    sim.exit("c", Failed),
    [
      "finished c failed",
      "returned failing failed",
      "finished failing failed",
      "finished other skipped"
    ]
  );
  assert_eq!(sim.exit("mix", Succeeded), ["finished mix succeeded", "done"]);
}

#[test]
fn fail_fast_cancels_groups() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\ngroups:\n  g: {gather: [b, c]}\n  w: {wait: [a], timeout: 9s}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, true);
  assert_eq!(sim.start(), ["timer w GroupTimeout 9s", "spawn a#1", "spawn b#1"]);
  let out = sim.exit("a", Failed);
  assert_eq!(out[0], "finished a failed");
  assert!(out.contains(&"terminate b".to_string()), "{out:?}");
  assert!(out.contains(&"finished c cancelled".to_string()), "{out:?}");
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
  assert!(sim.s.status(sim.id("g")).is_final() && sim.s.status(sim.id("w")).is_final());
  assert_eq!(sim.fire("w", Timer::GroupTimeout), NOTHING);
}

// ---------------------------------------------------------------------------------------------
// Done

#[test]
fn done_is_emitted_exactly_once() {
  let g = graph(
    "tasks:\n  a: {run: x, delay: 1s}\n  b: {run: x}\ngroups:\n  w: {wait: [a, b], return_when: FIRST_COMPLETED, timeout: 1s}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["timer w GroupTimeout 1s", "timer a Delay 1s", "spawn b#1"]);
  assert_eq!(
    sim.exit("b", Succeeded),
    [
      "finished b succeeded",
      "returned w succeeded",
      "finished a cancelled",
      "finished w succeeded",
      "done",
    ]
  );
  // Late timers, duplicate exits, stops and callbacks after the end produce nothing.
  assert_eq!(sim.fire("a", Timer::Delay), NOTHING);
  assert_eq!(sim.fire("w", Timer::GroupTimeout), NOTHING);
  assert_eq!(sim.exit("b", Failed), NOTHING);
  assert_eq!(sim.stop(StopReason::Signal(2)), NOTHING);
  assert_eq!(sim.callbacks_done("b", true), NOTHING);
  assert_eq!(sim.start(), NOTHING);
  assert_eq!(sim.dones(), 1);
}

#[test]
fn an_empty_selection_is_done_at_once() {
  let g = graph("tasks:\n  a: {}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["finished a succeeded", "done"]);
}

#[test]
fn long_chains_do_not_overflow_the_stack() {
  // Skipping or joining along a long chain is done in one input.
  let n = 20_000;
  let mut yaml = String::from("tasks:\n  t0: {run: x}\n");
  for i in 1..n {
    yaml.push_str(&format!("  t{i}: {{needs: [t{}]}}\n", i - 1));
  }
  let g = graph(&yaml);
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn t0#1"]);
  let out = sim.exit("t0", Failed);
  assert_eq!(out.len(), n + 1);
  assert_eq!(out.last().map(String::as_str), Some("done"));
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  let out = sim.exit("t0", Succeeded);
  assert_eq!(out.len(), n + 1);
  assert_eq!(sim.status(&format!("t{}", n - 1)), Succeeded);
}

// ---------------------------------------------------------------------------------------------
// Random graphs

mod random {
  use super::*;
  use proptest::prelude::*;
  use proptest::sample::Index;

  #[derive(Debug, Clone)]
  struct TaskSpec {
    needs: Vec<Index>,
    group_needs: Vec<Index>,
    run: bool,
    delay: bool,
    retries: u32,
    retry_delay: bool,
    allow_failure: bool,
    callbacks: bool,
  }

  #[derive(Debug, Clone)]
  struct GroupSpec {
    members: Vec<Index>,
    nested: Option<Index>,
    /// 0: gather, 1..=3: wait all / first completed / first exception.
    rule: u8,
    timeout: bool,
    continue_pending: bool,
    allow_failure: bool,
    callbacks: bool,
  }

  #[derive(Debug, Clone)]
  struct Case {
    tasks: Vec<TaskSpec>,
    groups: Vec<GroupSpec>,
    limit: usize,
    fail_fast: bool,
    target: Option<Index>,
    /// Inject a stop after this many steps: (step, 0 signal / 1 timeout / 2 fail-fast).
    stop: Option<(usize, u8)>,
    seed: u64,
  }

  fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (
      prop::collection::vec(any::<Index>(), 0..3),
      prop::collection::vec(any::<Index>(), 0..2),
      prop::bool::weighted(0.8),
      prop::bool::weighted(0.3),
      0u32..3,
      any::<bool>(),
      prop::bool::weighted(0.2),
      prop::bool::weighted(0.3),
    )
      .prop_map(
        |(needs, group_needs, run, delay, retries, retry_delay, allow_failure, callbacks)| {
          TaskSpec {
            needs,
            group_needs,
            run,
            delay,
            retries,
            retry_delay,
            allow_failure,
            callbacks,
          }
        },
      )
  }

  fn group_spec() -> impl Strategy<Value = GroupSpec> {
    (
      prop::collection::vec(any::<Index>(), 1..4),
      prop::option::weighted(0.3, any::<Index>()),
      0u8..4,
      any::<bool>(),
      any::<bool>(),
      prop::bool::weighted(0.2),
      prop::bool::weighted(0.3),
    )
      .prop_map(
        |(members, nested, rule, timeout, continue_pending, allow_failure, callbacks)| GroupSpec {
          members,
          nested,
          rule,
          timeout,
          continue_pending,
          allow_failure,
          callbacks,
        },
      )
  }

  fn case() -> impl Strategy<Value = Case> {
    (
      prop::collection::vec(task_spec(), 1..9),
      prop::collection::vec(group_spec(), 0..3),
      1usize..5,
      prop::bool::weighted(0.3),
      prop::option::weighted(0.2, any::<Index>()),
      prop::option::weighted(0.2, (0usize..30, 0u8..3)),
      any::<u64>(),
    )
      .prop_map(|(tasks, groups, limit, fail_fast, target, stop, seed)| Case {
        tasks,
        groups,
        limit,
        fail_fast,
        target,
        stop,
        seed,
      })
  }

  fn dedup(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
  }

  /// The job file of a case: tasks `t0..`, groups `g0..`. Groups take tasks and earlier groups
  /// as members; a task needs earlier tasks, and groups whose tasks all come before it.
  fn yaml(case: &Case) -> String {
    let n = case.tasks.len();
    let mut group_members: Vec<(Vec<usize>, Option<usize>)> = Vec::new();
    // The highest task index a group contains, through nesting.
    let mut group_max: Vec<usize> = Vec::new();
    for (k, group) in case.groups.iter().enumerate() {
      let members = dedup(group.members.iter().map(|i| i.index(n)).collect());
      let nested = if k > 0 { group.nested.map(|i| i.index(k)) } else { None };
      let mut max = *members.iter().max().unwrap();
      if let Some(j) = nested {
        max = max.max(group_max[j]);
      }
      group_max.push(max);
      group_members.push((members, nested));
    }
    let mut out = String::from("tasks:\n");
    for (t, task) in case.tasks.iter().enumerate() {
      let mut needs: Vec<String> = if t == 0 {
        Vec::new()
      } else {
        dedup(task.needs.iter().map(|i| i.index(t)).collect())
          .iter()
          .map(|i| format!("t{i}"))
          .collect()
      };
      if !case.groups.is_empty() {
        let groups = dedup(task.group_needs.iter().map(|i| i.index(case.groups.len())).collect());
        needs.extend(groups.into_iter().filter(|&k| group_max[k] < t).map(|k| format!("g{k}")));
      }
      let mut keys = vec![format!("needs: [{}]", needs.join(", "))];
      if task.run {
        keys.push("run: x".into());
      }
      if task.delay {
        keys.push("delay: 1s".into());
      }
      if task.retries > 0 {
        keys.push(format!("retries: {}", task.retries));
        if task.retry_delay {
          keys.push("retry_delay: 2s".into());
        }
      }
      if task.allow_failure {
        keys.push("allow_failure: true".into());
      }
      if task.callbacks {
        keys.push("on_done: y".into());
      }
      out.push_str(&format!("  t{t}: {{{}}}\n", keys.join(", ")));
    }
    if !case.groups.is_empty() {
      out.push_str("groups:\n");
    }
    for (k, (group, (members, nested))) in case.groups.iter().zip(&group_members).enumerate() {
      let mut names: Vec<String> = members.iter().map(|i| format!("t{i}")).collect();
      names.extend(nested.map(|j| format!("g{j}")));
      let list = names.join(", ");
      let mut keys = match group.rule {
        0 => vec![format!("gather: [{list}]")],
        rule => {
          let when = ["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"][rule as usize - 1];
          let mut keys = vec![format!("wait: [{list}]"), format!("return_when: {when}")];
          if group.timeout {
            keys.push("timeout: 3s".into());
          }
          if group.continue_pending {
            keys.push("pending: continue".into());
          }
          keys
        }
      };
      if group.allow_failure {
        keys.push("allow_failure: true".into());
      }
      if group.callbacks {
        keys.push("on_done: y".into());
      }
      out.push_str(&format!("  g{k}: {{{}}}\n", keys.join(", ")));
    }
    out
  }

  /// What the simulated executor owes the scheduler.
  #[derive(Debug, Clone, Copy)]
  enum Owed {
    Exit(NodeId),
    Timer(NodeId, Timer),
    Callbacks(NodeId),
  }

  struct Rng(u64);

  impl Rng {
    fn next(&mut self) -> u64 {
      // xorshift64*
      self.0 ^= self.0 >> 12;
      self.0 ^= self.0 << 25;
      self.0 ^= self.0 >> 27;
      self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
      (self.next() % n as u64) as usize
    }
  }

  fn check(case: &Case) -> Result<(), TestCaseError> {
    let text = yaml(case);
    let g = graph(&text);
    let nodes = g.nodes.len();
    let targets: Vec<NodeId> = case.target.map(|i| vec![i.index(nodes)]).unwrap_or_default();
    let mut s = Scheduler::new(&g, &targets, case.limit, case.fail_fast);
    let mut rng = Rng(case.seed | 1);
    let mut owed: Vec<Owed> = Vec::new();
    let mut finished: Vec<Option<Status>> = vec![None; nodes];
    let mut attempts = vec![0u32; nodes];
    let mut spawned = 0usize;
    let mut dones = 0usize;
    let mut callback_failed = false;
    let mut timeout_stop = false;
    let mut input = Input::Start;
    let ok_need = |finished: &[Option<Status>], n: NodeId| match finished[n] {
      Some(Status::Succeeded) => true,
      Some(status) => status.is_failure() && g.nodes[n].allow_failure,
      None => false,
    };
    for step in 0.. {
      prop_assert!(step < 10_000, "no end in sight");
      let mut out = Vec::new();
      s.handle(input, &mut out);
      prop_assert!(s.running <= s.limit, "{} slots taken, limit {}", s.running, s.limit);
      for action in &out {
        prop_assert_eq!(dones, 0, "{:?} after Done", action);
        match *action {
          Action::Spawn { id, attempt } => {
            let task = g.task(id).expect("only tasks spawn");
            prop_assert!(task.run.is_some());
            prop_assert!(s.is_selected(id));
            prop_assert_eq!(attempt, attempts[id] + 1);
            prop_assert!(attempt <= task.retries + 1);
            attempts[id] = attempt;
            for &need in &g.nodes[id].needs {
              prop_assert!(ok_need(&finished, need), "t{} started before its need {}", id, need);
            }
            prop_assert!(s.stop_reason().is_none(), "spawn after a stop");
            spawned += 1;
            prop_assert!(spawned <= case.limit, "{} running, limit {}", spawned, case.limit);
            owed.push(Owed::Exit(id));
          }
          Action::StartTimer { id, timer, .. } => owed.push(Owed::Timer(id, timer)),
          Action::Terminate { id } => {
            prop_assert!(
              owed.iter().any(|o| matches!(o, Owed::Exit(t) if *t == id)),
              "terminate {} not running",
              id
            );
          }
          Action::RunCallbacks { id, status } => {
            prop_assert!(!g.nodes[id].callbacks.is_empty());
            prop_assert!(status.is_final() && status != Status::Skipped);
            owed.push(Owed::Callbacks(id));
          }
          Action::Retrying { id, attempt, status } => {
            prop_assert_eq!(attempt, attempts[id]);
            prop_assert!(status.is_failure());
          }
          Action::GroupReturned { id, .. } => prop_assert!(g.group(id).is_some()),
          Action::Finished { id, status } => {
            prop_assert!(finished[id].is_none(), "node {} finished twice", id);
            prop_assert!(status.is_final());
            prop_assert!(s.is_selected(id));
            if g.task(id).is_some()
              && matches!(status, Status::Succeeded | Status::Failed | Status::TimedOut)
            {
              for &need in &g.nodes[id].needs {
                prop_assert!(ok_need(&finished, need), "node {} ran before its need {}", id, need);
              }
            }
            if status == Status::Skipped && g.task(id).is_some() {
              let blocked =
                g.nodes[id].needs.iter().any(|&n| finished[n].is_some() && !ok_need(&finished, n));
              prop_assert!(blocked, "node {} skipped but no need failed", id);
            }
            finished[id] = Some(status);
          }
          Action::Done => dones += 1,
        }
      }
      if out.contains(&Action::Done) {
        prop_assert!(
          owed.iter().all(|o| matches!(o, Owed::Timer(..))),
          "done with processes or callbacks outstanding: {:?}",
          owed
        );
      }
      // The next input: an injected stop, or something the executor owes.
      if let Some((at, kind)) = case.stop
        && at == step
      {
        let reason =
          [StopReason::Signal(2), StopReason::Timeout, StopReason::FailFast][kind as usize];
        timeout_stop |= reason == StopReason::Timeout && s.stop_reason().is_none();
        input = Input::Stop(reason);
        continue;
      }
      if owed.is_empty() {
        break;
      }
      input = match owed.swap_remove(rng.below(owed.len())) {
        Owed::Exit(id) => {
          spawned -= 1;
          let status =
            [Status::Succeeded, Status::Succeeded, Status::Failed, Status::TimedOut][rng.below(4)];
          Input::Exited { id, status, result: format!("r{id}") }
        }
        Owed::Timer(id, timer) => Input::TimerFired(id, timer),
        Owed::Callbacks(id) => {
          let ok = rng.below(8) != 0;
          callback_failed |= !ok;
          Input::CallbacksDone { id, ok }
        }
      };
    }
    prop_assert_eq!(dones, 1, "Done exactly once\n{}", text);
    for (id, &finished_as) in finished.iter().enumerate() {
      if s.is_selected(id) {
        prop_assert!(s.status(id).is_final(), "node {} ends {:?}\n{}", id, s.status(id), text);
        prop_assert_eq!(Some(s.status(id)), finished_as);
      } else {
        prop_assert_eq!(s.status(id), Status::Pending);
        prop_assert!(finished_as.is_none());
      }
    }
    let failed = (0..nodes)
      .any(|id| finished[id].is_some_and(|st| st.is_failure() && !g.nodes[id].allow_failure));
    let stopped_by_timeout = timeout_stop && s.stop_reason() == Some(StopReason::Timeout);
    // A fail-fast stop, whoever asked for it (a failed queue item), fails the run.
    let fail_fast = s.stop_reason() == Some(StopReason::FailFast);
    prop_assert_eq!(
      s.run_failed(),
      failed || callback_failed || stopped_by_timeout || fail_fast,
      "\n{}",
      text
    );
    Ok(())
  }

  proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_graphs_always_finish_cleanly(case in case()) {
      check(&case)?;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Queue consumers

const QUEUE_JOB: &str = "queues: {q: {}}\ntasks:\n  p: {run: x, produces: q}\n  c: {run: y, consumes: q, workers: 2, retries: 3}\n  after: {run: z, needs: [c]}\n";

#[test]
fn a_consumer_starts_at_once_and_holds_no_slot() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 1, false);
  // At -j 1 the producer still gets the slot: a consumer waiting for items must not starve it.
  assert_eq!(sim.start(), ["spawn c#1", "spawn p#1"]);
  assert_eq!(sim.s.running, 1);
  assert_eq!(sim.exit("p", Succeeded), ["finished p succeeded"]);
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "spawn after#1"]);
}

#[test]
fn a_consumer_is_not_retried_as_a_whole() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  // Its `retries` apply to each item; a consumer with failed items fails once.
  assert_eq!(sim.exit("c", Failed), ["finished c failed", "finished after skipped"]);
  assert_eq!(sim.s.attempts(sim.id("c")), 1);
}

#[test]
fn a_cancelled_consumer_is_terminated_and_ends_cancelled() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  let out = sim.stop(StopReason::Signal(2));
  assert!(out.contains(&"terminate c".to_string()), "{out:?}");
  sim.exit("p", Failed);
  let out = sim.exit("c", Succeeded);
  assert!(out.contains(&"finished c cancelled".to_string()), "{out:?}");
  assert_eq!(sim.dones(), 1);
}
