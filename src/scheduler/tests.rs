//! Every transition of the scheduler, driven by hand: no runtime, no processes.
//!
//! Actions are rendered as short strings with node names (`spawn a#1`, `finished b skipped`)
//! so that each test reads as the sequence of decisions it checks.

use super::*;
use crate::compile::compile_source;
use crate::source::Source;
use Status::{
  Cancelled, Delayed, Failed, Pending, Ready, Running, Skipped, Succeeded, TimedOut, UpToDate,
};
use std::time::Duration;

fn graph(yaml: &str) -> Graph {
  compile_source(&Source::new("t.yaml", yaml)).expect("valid job file")
}

const NOTHING: [&str; 0] = [];

/// One action as a line: `spawn a#1`, `timer a Delay 2s`, `finished a failed`, `done`...
fn show(g: &Graph, action: &Action) -> String {
  let name = |id: NodeId| g.nodes[id].name.as_str();
  let proc = |p: &Proc| match *p {
    Proc::Task(id) => name(id).to_string(),
    Proc::Item(id, w) => format!("{}/{w}", name(id)),
    Proc::Callback(id) => format!("{} callback", name(id)),
  };
  match action {
    Action::Spawn { id, attempt, .. } => format!("spawn {}#{attempt}", name(*id)),
    Action::Check { id } => format!("check {}", name(*id)),
    Action::SpawnItem { id, worker, attempt } => {
      let item = "?";
      format!("item {}/{worker}#{attempt} {item}", name(*id))
    }
    Action::RunCallback { id, status, index: 0 } => {
      format!("callbacks {} {}", name(*id), status.as_str())
    }
    Action::RunCallback { id, status, index } => {
      format!("callbacks {} {} #{index}", name(*id), status.as_str())
    }
    Action::Take { id, worker } => format!("take {}/{worker}", name(*id)),
    Action::StopTaking { id } => format!("stop taking {}", name(*id)),
    Action::StartTimer { after, timer } => {
      let (who, kind) = match timer {
        Timer::Run => ("run".to_string(), "Run"),
        Timer::Delay(id) => (name(*id).to_string(), "Delay"),
        Timer::Retry(id) => (name(*id).to_string(), "Retry"),
        Timer::GroupTimeout(id) => (name(*id).to_string(), "GroupTimeout"),
        Timer::ItemRetry(id, w) => (format!("{}/{w}", name(*id)), "ItemRetry"),
        Timer::Timeout(p, _) => (proc(p), "Timeout"),
        Timer::Grace(p, _) => (proc(p), "Grace"),
      };
      format!("timer {who} {kind} {after:?}")
    }
    Action::Terminate { proc: p, .. } => format!("terminate {}", proc(p)),
    Action::Kill { proc: p, seq } => format!("kill {} @{seq}", proc(p)),
    Action::KillAll => "kill all".to_string(),
    Action::Stopping { reason, running, killed } => {
      let super::Running { tasks, items, callbacks } = running;
      let how = if *killed { "killing" } else { "stopping" };
      format!("{how} ({reason:?}): {tasks} tasks, {items} items, {callbacks} callbacks")
    }
    Action::Retrying { id, attempt, status } => {
      format!("retrying {}#{attempt} {}", name(*id), status.as_str())
    }
    Action::ItemFinished { id, worker, item, status, attempts } => {
      format!("item {}/{worker} {item} {} after {attempts}", name(*id), status.as_str())
    }
    Action::GroupReturned { id, decision } => {
      format!("returned {} {}", name(*id), decision.status.as_str())
    }
    Action::Finished { id, status } => format!("finished {} {}", name(*id), status.as_str()),
    Action::Done => "done".to_string(),
  }
}

fn policy(jobs: usize, fail_fast: bool) -> Policy {
  Policy { jobs, fail_fast, timeout: None, kill_grace: Duration::from_secs(3) }
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
    Self::with_policy(g, targets, policy(limit, fail_fast))
  }

  fn with_policy(g: &'g Graph, targets: &[&str], policy: Policy) -> Self {
    let targets: Vec<NodeId> = targets.iter().map(|t| g.find(t).expect("a target")).collect();
    Self { g, s: Scheduler::new(g, &targets, policy), log: Vec::new() }
  }

  fn id(&self, name: &str) -> NodeId {
    self.g.find(name).unwrap_or_else(|| panic!("no node {name}"))
  }

  fn send_raw(&mut self, input: Input) -> Vec<Action> {
    let mut out = Vec::new();
    self.s.handle(input, &mut out);
    assert!(
      self.s.running <= self.s.policy.jobs,
      "{} slots taken, limit {}",
      self.s.running,
      self.s.policy.jobs
    );
    self.log.extend(out.iter().map(|a| show(self.g, a)));
    // Every attempt reads its needs' results: they are kept while it may start one.
    for action in &out {
      if let Action::Spawn { id, .. } = action {
        for &need in &self.g.nodes[*id].needs {
          assert!(self.s.result(need).is_some(), "{}'s result dropped", self.g.nodes[need].name);
        }
      }
    }
    out
  }

  /// The actions as lines, without the kill-grace timer that follows every `terminate` and the
  /// announcement of a stop (the log keeps both; `kill_grace_*` and `stopping_*` tests check
  /// them).
  fn send(&mut self, input: Input) -> Vec<String> {
    let out = self.send_raw(input);
    let out = out.iter().filter(|a| {
      !matches!(a, Action::StartTimer { timer: Timer::Grace(..), .. } | Action::Stopping { .. })
    });
    out.map(|a| show(self.g, a)).collect()
  }

  fn start(&mut self) -> Vec<String> {
    self.send(Input::Start)
  }

  /// The task's attempt ends with `status`; `timed_out` is reached through its timeout timer.
  fn exit(&mut self, name: &str, status: Status) -> Vec<String> {
    self.exit_with(name, status, &format!("{name} out"))
  }

  fn exit_with(&mut self, name: &str, status: Status, result: &str) -> Vec<String> {
    let id = self.id(name);
    if status == TimedOut {
      let timer = self.timer(name, "Timeout");
      self.send(Input::TimerFired(timer));
    }
    let proc = Proc::Task(id);
    self.send(Input::Exited { proc, success: status == Succeeded, result: result.to_string() })
  }

  /// A timer of node `name`, by kind, for the process running now.
  fn timer(&self, name: &str, kind: &str) -> Timer {
    let id = self.id(name);
    let seq = self.s.nodes[id].seq;
    match kind {
      "Run" => Timer::Run,
      "Delay" => Timer::Delay(id),
      "Retry" => Timer::Retry(id),
      "GroupTimeout" => Timer::GroupTimeout(id),
      "Timeout" => Timer::Timeout(Proc::Task(id), seq),
      "Grace" => Timer::Grace(Proc::Task(id), seq),
      "CallbackGrace" => Timer::Grace(Proc::Callback(id), seq),
      _ => panic!("no timer kind {kind}"),
    }
  }

  fn fire(&mut self, name: &str, kind: &str) -> Vec<String> {
    let timer = self.timer(name, kind);
    self.send(Input::TimerFired(timer))
  }

  /// The node's running callback ends.
  fn callbacks_done(&mut self, name: &str, ok: bool) -> Vec<String> {
    let proc = Proc::Callback(self.id(name));
    self.send(Input::Exited { proc, success: ok, result: String::new() })
  }

  fn stop(&mut self, reason: StopReason) -> Vec<String> {
    match reason {
      StopReason::Signal(signal) => self.send(Input::Signal(signal)),
      StopReason::Timeout => self.send(Input::TimerFired(Timer::Run)),
      StopReason::Changed => self.send(Input::Changed),
      StopReason::Cancelled => self.send(Input::CancelRun),
      StopReason::FailFast => panic!("fail-fast comes from a failure, not from outside"),
    }
  }

  fn status(&self, name: &str) -> Status {
    self.s.status(self.id(name))
  }

  /// The node's result as last set, even once nothing reads it any more and it was dropped.
  fn result(&self, name: &str) -> Option<&str> {
    self.s.results.last[self.id(name)].as_deref()
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
  let mut s = Scheduler::new(&g, &[], policy(1, false));
  let mut out = Vec::new();
  s.handle(Input::Start, &mut out);
  assert_eq!(out, [Action::Spawn { id: 0, attempt: 1, waiting: 2 }]);
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
fn a_spawn_says_how_many_ready_tasks_wait_for_a_slot() {
  let g =
    graph("tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\n  d: {run: x}\n  e: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  let waiting = |out: &[Action]| -> Vec<usize> {
    out
      .iter()
      .filter_map(|a| match a {
        Action::Spawn { waiting, .. } => Some(*waiting),
        _ => None,
      })
      .collect()
  };
  assert_eq!(waiting(&sim.send_raw(Input::Start)), [4, 3]);
  let a = Input::Exited { proc: Proc::Task(sim.id("a")), success: true, result: String::new() };
  assert_eq!(waiting(&sim.send_raw(a)), [2]);
  let b = Input::Exited { proc: Proc::Task(sim.id("b")), success: true, result: String::new() };
  assert_eq!(waiting(&sim.send_raw(b)), [1]);
  let c = Input::Exited { proc: Proc::Task(sim.id("c")), success: true, result: String::new() };
  assert_eq!(waiting(&sim.send_raw(c)), [0]);
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
  assert_eq!(sim.fire("a", "Delay"), NOTHING);
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
  assert_eq!(sim.fire("b", "Delay"), ["spawn b#1"]);
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
  assert_eq!(sim.fire("b", "Delay"), ["spawn b#1"]);
}

#[test]
fn a_delay_without_run_is_a_pure_timer() {
  let g = graph("tasks:\n  wait: {delay: 1m}\n  b: {run: x, needs: [wait]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer wait Delay 60s"]);
  assert_eq!(sim.status("wait"), Delayed);
  assert_eq!(sim.fire("wait", "Delay"), ["finished wait succeeded", "spawn b#1"]);
}

#[test]
fn a_pure_timer_with_callbacks_takes_no_slot() {
  // At limit 1 with `a` running, the timer's callbacks must not push the slots over the limit
  // (Sim checks `running <= limit` after every input).
  let g = graph("tasks:\n  a: {run: x}\n  t: {delay: 1s, on_done: y}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["timer t Delay 1s", "spawn a#1"]);
  assert_eq!(sim.fire("t", "Delay"), ["callbacks t succeeded"]);
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
  assert_eq!(sim.fire("b", "Retry"), NOTHING);
  assert_eq!(sim.callbacks_done("b", false), NOTHING);
  assert!(!sim.s.run_failed());
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded"]);
  assert_eq!(sim.exit("b", Failed), NOTHING, "a second exit is ignored");
  assert_eq!(sim.fire("a", "Delay"), ["spawn a#1"]);
  assert_eq!(sim.fire("a", "Delay"), NOTHING, "a timer fires once");
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
  assert_eq!(sim.fire("a", "Retry"), ["spawn a#2"]);
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
  assert_eq!(sim.start(), ["spawn a#1", "timer a Timeout 1s"]);
  assert_eq!(
    sim.exit("a", TimedOut),
    ["retrying a#1 timed_out", "spawn a#2", "timer a Timeout 1s"]
  );
  assert_eq!(sim.exit("a", TimedOut), ["finished a timed_out", "finished b skipped", "done"]);
  assert!(sim.s.run_failed());
}

#[test]
fn a_success_on_a_retry_lets_dependents_run() {
  let g = graph("tasks:\n  a: {run: x, retries: 1}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
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
  assert_eq!(sim.start(), ["spawn a#1", "spawn t#1", "timer t Timeout 1s"]);
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
  assert_eq!(sim.fire("e", "Delay"), NOTHING);
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
  assert_eq!(sim.fire("c", "Delay"), NOTHING);
  assert_eq!(sim.exit("a", Succeeded), ["finished a cancelled", "done"]);
  assert!(!sim.log.iter().any(|l| l.starts_with("callbacks")), "{:?}", sim.log);
  assert!(!sim.s.run_failed(), "an interrupted run reports its signal, not a failure");
}

#[test]
fn a_change_of_sources_stops_the_run_without_failing_it() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.stop(StopReason::Changed), ["terminate a", "finished b cancelled"]);
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Changed));
  assert_eq!(sim.exit("a", Failed), ["finished a cancelled", "done"]);
  assert!(!sim.s.run_failed(), "a stop to run again is not a failure");
}

#[test]
fn a_signal_terminates_running_callbacks_and_starts_no_other() {
  let g = graph("tasks:\n  a: {run: x, on_success: y, on_done: z}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.stop(StopReason::Signal(15)), ["terminate a callback", "finished b cancelled"]);
  // Killed, it fails; its `on_done` does not start.
  assert_eq!(sim.callbacks_done("a", false), ["finished a succeeded", "done"]);
  assert!(sim.s.run_failed());
}

#[test]
fn a_run_timeout_terminates_running_callbacks_too() {
  let g = graph("tasks:\n  a: {run: x, on_success: y}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.stop(StopReason::Timeout), ["terminate a callback"]);
  assert_eq!(sim.fire("a", "CallbackGrace"), ["kill a callback @2"]);
  assert_eq!(sim.callbacks_done("a", false), ["finished a succeeded", "done"]);
}

#[test]
fn fail_fast_lets_running_callbacks_finish_and_start_the_next() {
  let g = graph("tasks:\n  a: {run: x, on_failure: y, on_done: z}\n  b: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  sim.start();
  assert_eq!(sim.exit("a", Failed), ["callbacks a failed", "terminate b"]);
  assert_eq!(sim.callbacks_done("a", true), ["callbacks a failed #1"]);
  assert_eq!(sim.exit("b", Failed), ["finished b cancelled"]);
  assert_eq!(sim.callbacks_done("a", true), ["finished a failed", "done"]);
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
  assert_eq!(sim.start(), ["spawn a#1", "spawn b#1", "timer b Timeout 1s"]);
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
  let out = sim.send_raw(Input::Exited {
    proc: Proc::Task(sim.id("a")),
    success: true,
    result: String::new(),
  });
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
  assert_eq!(sim.fire("w", "GroupTimeout"), NOTHING);
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
  assert_eq!(sim.fire("c", "Delay"), ["spawn c#1"]);
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
  let out = sim.send_raw(Input::TimerFired(Timer::GroupTimeout(sim.id("w"))));
  let shown: Vec<String> = out.iter().map(|a| show(&g, a)).collect();
  assert_eq!(
    shown,
    [
      "returned w failed",
      "terminate b",
      "timer b Grace 3s",
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
    sim.fire("w", "GroupTimeout"),
    ["returned w succeeded", "finished w succeeded", "spawn after#1"]
  );
  assert_eq!(sim.exit("after", Succeeded), ["finished after succeeded"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(!sim.s.run_failed());
  assert_eq!(sim.fire("w", "GroupTimeout"), NOTHING);
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
  assert_eq!(sim.fire("w", "GroupTimeout"), NOTHING);
}

#[test]
fn wait_first_exception_returns_at_the_first_failure() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x}\ngroups:\n  w: {wait: [a, b, c], return_when: FIRST_EXCEPTION}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  sim.s.results.read_all(&g);
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
  sim.s.results.read_all(&g);
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
  assert_eq!(sim.fire("w", "GroupTimeout"), NOTHING);
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
  assert_eq!(sim.fire("a", "Delay"), NOTHING);
  assert_eq!(sim.fire("w", "GroupTimeout"), NOTHING);
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
    timeout: bool,
    /// 0: a plain task, 1: a producer of queue `q`, 2: a consumer of `q`.
    role: u8,
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
      (prop::bool::weighted(0.3), prop::sample::select(vec![0u8, 0, 0, 0, 1, 2])),
    )
      .prop_map(
        |(needs, group_needs, run, delay, retries, retry_delay, allow_failure, callbacks, more)| {
          TaskSpec {
            needs,
            group_needs,
            run,
            delay,
            retries,
            retry_delay,
            allow_failure,
            callbacks,
            timeout: more.0,
            role: more.1,
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
    // Producers come before every consumer, so that no producer can need one.
    let first_consumer = case.tasks.iter().position(|t| t.role == 2).unwrap_or(n);
    let role = |t: usize| match case.tasks[t].role {
      1 if t > first_consumer => 0,
      role => role,
    };
    let queue = case.tasks.iter().any(|t| t.role != 0);
    let mut out = String::from(if queue { "queues: {q: {}}\ntasks:\n" } else { "tasks:\n" });
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
      if task.run || role(t) != 0 {
        keys.push("run: x".into());
      }
      match role(t) {
        1 => keys.push("produces: q".into()),
        2 => keys.push("consumes: q, workers: 2".into()),
        _ => {}
      }
      if task.timeout {
        keys.push("timeout: 2s".into());
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
        keys.push("on_failure: w, on_done: y".into());
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

  /// What the simulated engine owes the scheduler.
  #[derive(Debug, Clone, Copy)]
  enum Owed {
    Exit(Proc),
    Timer(Timer),
    Take(NodeId, u32),
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

  /// Checks one action against what the engine owes and what has finished.
  struct Checker<'g> {
    g: &'g Graph,
    owed: Vec<Owed>,
    finished: Vec<Option<Status>>,
    attempts: Vec<u32>,
    spawned: usize,
    dones: usize,
    item_failed: bool,
    /// Attempts terminated whose kill is still to come.
    terminated: std::collections::HashSet<(Proc, u64)>,
  }

  impl Checker<'_> {
    fn ok_need(&self, n: NodeId) -> bool {
      match self.finished[n] {
        Some(Status::Succeeded) => true,
        Some(status) => status.is_failure() && self.g.nodes[n].allow_failure,
        None => false,
      }
    }

    fn owes_exit(&self, proc: Proc) -> bool {
      self.owed.iter().any(|o| matches!(o, Owed::Exit(p) if *p == proc))
    }

    fn action(
      &mut self,
      s: &Scheduler,
      limit: usize,
      action: &Action,
    ) -> Result<(), TestCaseError> {
      let g = self.g;
      prop_assert_eq!(self.dones, 0, "{:?} after Done", action);
      match action {
        &Action::Spawn { id, attempt, .. } => {
          let task = g.task(id).expect("only tasks spawn");
          prop_assert!(task.run.is_some());
          prop_assert!(s.is_selected(id));
          prop_assert_eq!(attempt, self.attempts[id] + 1);
          prop_assert!(attempt <= task.retries + 1);
          self.attempts[id] = attempt;
          for &need in &g.nodes[id].needs {
            prop_assert!(self.ok_need(need), "t{} started before its need {}", id, need);
          }
          prop_assert!(s.stop_reason().is_none(), "spawn after a stop");
          if task.consumes.is_none() {
            self.spawned += 1;
            prop_assert!(self.spawned <= limit, "{} running, limit {}", self.spawned, limit);
            self.owed.push(Owed::Exit(Proc::Task(id)));
          }
        }
        // The random graphs have no `sources`.
        &Action::Check { id } => prop_assert!(false, "checked t{} without sources", id),
        &Action::SpawnItem { id, worker, .. } => {
          prop_assert!(s.item(id, worker).is_some());
          self.owed.push(Owed::Exit(Proc::Item(id, worker)));
        }
        &Action::Take { id, worker } => self.owed.push(Owed::Take(id, worker)),
        Action::StopTaking { .. } | Action::KillAll | Action::Stopping { .. } => {}
        &Action::ItemFinished { status, .. } => self.item_failed |= status.is_failure(),
        &Action::StartTimer { timer, .. } => self.owed.push(Owed::Timer(timer)),
        &Action::Terminate { proc, seq } => {
          prop_assert!(self.owes_exit(proc), "{:?} not running", proc);
          prop_assert!(self.terminated.insert((proc, seq)), "{:?} terminated twice", proc);
        }
        &Action::Kill { proc, seq } => {
          prop_assert!(self.terminated.remove(&(proc, seq)), "{:?} killed, never terminated", proc);
        }
        &Action::RunCallback { id, status, index } => {
          prop_assert!(index < g.nodes[id].callbacks.for_status(status).count());
          prop_assert!(status.is_final() && status != Status::Skipped);
          self.owed.push(Owed::Exit(Proc::Callback(id)));
        }
        &Action::Retrying { id, attempt, status } => {
          prop_assert_eq!(attempt, self.attempts[id]);
          prop_assert!(status.is_failure());
        }
        &Action::GroupReturned { id, .. } => prop_assert!(g.group(id).is_some()),
        &Action::Finished { id, status } => self.finished(s, id, status)?,
        Action::Done => self.dones += 1,
      }
      Ok(())
    }

    fn finished(&mut self, s: &Scheduler, id: NodeId, status: Status) -> Result<(), TestCaseError> {
      let g = self.g;
      prop_assert!(self.finished[id].is_none(), "node {} finished twice", id);
      prop_assert!(status.is_final());
      prop_assert!(s.is_selected(id));
      if g.task(id).is_some()
        && matches!(status, Status::Succeeded | Status::Failed | Status::TimedOut)
      {
        for &need in &g.nodes[id].needs {
          prop_assert!(self.ok_need(need), "node {} ran before its need {}", id, need);
        }
      }
      if status == Status::Skipped && g.task(id).is_some() {
        let blocked =
          g.nodes[id].needs.iter().any(|&n| self.finished[n].is_some() && !self.ok_need(n));
        prop_assert!(blocked, "node {} skipped but no need failed", id);
      }
      self.finished[id] = Some(status);
      Ok(())
    }
  }

  fn check(case: &Case) -> Result<(), TestCaseError> {
    let text = yaml(case);
    let g = graph(&text);
    let nodes = g.nodes.len();
    let targets: Vec<NodeId> = case.target.map(|i| vec![i.index(nodes)]).unwrap_or_default();
    let mut s = Scheduler::new(&g, &targets, policy(case.limit, case.fail_fast));
    let mut rng = Rng(case.seed | 1);
    let mut c = Checker {
      g: &g,
      owed: Vec::new(),
      finished: vec![None; nodes],
      attempts: vec![0; nodes],
      spawned: 0,
      dones: 0,
      item_failed: false,
      terminated: std::collections::HashSet::new(),
    };
    let mut callback_failed = false;
    let mut timeout_stop = false;
    let mut items = 0;
    let mut input = Input::Start;
    for step in 0.. {
      prop_assert!(step < 10_000, "no end in sight");
      let mut out = Vec::new();
      s.handle(input, &mut out);
      prop_assert!(s.running <= case.limit, "{} slots taken, limit {}", s.running, case.limit);
      for action in &out {
        c.action(&s, case.limit, action)?;
      }
      if out.contains(&Action::Done) {
        prop_assert!(
          c.owed.iter().all(|o| matches!(o, Owed::Timer(..))),
          "done with processes or takes outstanding: {:?}",
          c.owed
        );
      }
      // The next input: an injected stop, or something the engine owes.
      if let Some((at, kind)) = case.stop
        && at == step
      {
        timeout_stop |= kind == 1 && s.stop_reason().is_none();
        input = match kind {
          0 => Input::Signal(2),
          1 => Input::TimerFired(Timer::Run),
          _ => Input::Signal(15),
        };
        continue;
      }
      if c.owed.is_empty() {
        break;
      }
      input = match c.owed.swap_remove(rng.below(c.owed.len())) {
        Owed::Exit(proc) => {
          let success = rng.below(3) != 0;
          if let Proc::Task(_) = proc {
            c.spawned -= 1;
          }
          if let Proc::Callback(_) = proc {
            callback_failed |= !success;
          }
          Input::Exited { proc, success, result: format!("r{proc:?}") }
        }
        Owed::Timer(timer) => Input::TimerFired(timer),
        Owed::Take(id, worker) => {
          items += 1;
          let item = (items < 20 && rng.below(3) != 0).then(|| format!("i{items}"));
          Input::Taken { id, worker, item }
        }
      };
    }
    let (finished, dones) = (&c.finished, c.dones);
    // A failed item under fail-fast stops the run, and so fails it, whatever stopped it later.
    let item_fail_fast = case.fail_fast && c.item_failed;
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
      failed || callback_failed || stopped_by_timeout || fail_fast || item_fail_fast,
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

impl Sim<'_> {
  fn take(&mut self, name: &str, worker: u32, item: Option<&str>) -> Vec<String> {
    let (id, item) = (self.id(name), item.map(str::to_string));
    self.send(Input::Taken { id, worker, item })
  }

  fn item_exit(&mut self, name: &str, worker: u32, success: bool) -> Vec<String> {
    let proc = Proc::Item(self.id(name), worker);
    self.send(Input::Exited { proc, success, result: String::new() })
  }

  /// A timer of a consumer's worker, for the attempt running now.
  fn fire_item(&mut self, name: &str, worker: u32, kind: &str) -> Vec<String> {
    let id = self.id(name);
    let proc = Proc::Item(id, worker);
    let seq = self.s.consumers[&id].running(worker).unwrap_or(0);
    let timer = match kind {
      "Timeout" => Timer::Timeout(proc, seq),
      "Grace" => Timer::Grace(proc, seq),
      "ItemRetry" => Timer::ItemRetry(id, worker),
      _ => panic!("no item timer {kind}"),
    };
    self.send(Input::TimerFired(timer))
  }
}

#[test]
fn a_consumer_starts_at_once_and_holds_no_slot() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 1, false);
  // At -j 1 the producer still gets the slot: a consumer waiting for items must not starve it.
  assert_eq!(sim.start(), ["spawn c#1", "take c/0", "spawn p#1"]);
  assert_eq!(sim.s.running, 1);
  assert_eq!(sim.exit("p", Succeeded), ["finished p succeeded"]);
  assert_eq!(sim.take("c", 0, None), ["finished c succeeded", "spawn after#1"]);
  assert_eq!(sim.result("c"), Some(r#"{"done":0,"failed":[]}"#));
}

#[test]
fn each_item_runs_on_its_worker_and_the_worker_takes_the_next() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  // One worker takes at a time: once it has an item, the next takes.
  assert_eq!(sim.take("c", 0, Some("x")), ["item c/0#1 ?", "take c/1"]);
  assert_eq!(sim.s.item(sim.id("c"), 0), Some("x"));
  assert_eq!(sim.item_exit("c", 0, true), ["item c/0 x succeeded after 1"]);
  // Takes end once the producer has ended and the queue is drained.
  assert_eq!(sim.exit("p", Succeeded), ["finished p succeeded"]);
  assert_eq!(sim.take("c", 1, None), ["finished c succeeded", "spawn after#1"]);
}

#[test]
fn an_item_is_retried_and_the_consumer_is_not_retried_as_a_whole() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  sim.exit("p", Succeeded);
  sim.take("c", 0, Some("x"));
  for attempt in 2..=4 {
    assert_eq!(sim.item_exit("c", 0, false), [format!("item c/0#{attempt} ?")]);
  }
  assert_eq!(sim.item_exit("c", 0, false), ["item c/0 x failed after 4"]);
  // Its `retries` apply to each item; a consumer with failed items fails once.
  assert_eq!(sim.take("c", 1, None), ["finished c failed", "finished after skipped", "done"]);
  assert_eq!(sim.s.attempts(sim.id("c")), 1);
  assert_eq!(sim.result("c"), Some(r#"{"done":0,"failed":["x"]}"#));
}

#[test]
fn an_item_waits_its_retry_delay_and_times_out_on_its_own_timer() {
  let g = graph(
    "queues: {q: {items: [x]}}\ntasks:\n  c: {run: y, consumes: q, retries: 1, retry_delay: 2s, timeout: 1s}\n",
  );
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn c#1", "take c/0"]);
  assert_eq!(sim.take("c", 0, Some("x")), ["item c/0#1 ?", "timer c/0 Timeout 1s"]);
  assert_eq!(sim.fire_item("c", 0, "Timeout"), ["terminate c/0"]);
  assert_eq!(sim.fire_item("c", 0, "Grace"), ["kill c/0 @1"]);
  assert_eq!(sim.item_exit("c", 0, false), ["timer c/0 ItemRetry 2s"]);
  assert_eq!(sim.fire_item("c", 0, "ItemRetry"), ["item c/0#2 ?", "timer c/0 Timeout 1s"]);
  assert_eq!(sim.fire_item("c", 0, "Timeout"), ["terminate c/0"]);
  assert_eq!(sim.item_exit("c", 0, true), ["item c/0 x timed_out after 2", "take c/0"]);
  assert_eq!(sim.take("c", 0, None), ["finished c failed", "done"]);
}

#[test]
fn a_stale_item_timer_does_nothing() {
  let g = graph("queues: {q: {items: [x, y]}}\ntasks:\n  c: {run: y, consumes: q, timeout: 1s}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  sim.take("c", 0, Some("x"));
  let id = sim.id("c");
  let first = sim.s.consumers[&id].running(0).expect("running");
  sim.item_exit("c", 0, true);
  sim.take("c", 0, Some("y"));
  let proc = Proc::Item(id, 0);
  assert_eq!(sim.send(Input::TimerFired(Timer::Timeout(proc, first))), NOTHING);
  // A grace is only ever of an attempt terminated: it kills what is left of that one, by number.
  let grace = sim.send(Input::TimerFired(Timer::Grace(proc, first)));
  assert_eq!(grace, [format!("kill c/0 @{first}")]);
}

#[test]
fn a_failed_item_stops_the_run_under_fail_fast() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, true);
  sim.start();
  sim.take("c", 0, Some("x"));
  sim.take("c", 1, Some("y"));
  for _ in 0..3 {
    sim.item_exit("c", 0, false);
  }
  let out = sim.item_exit("c", 0, false);
  assert_eq!(
    out,
    [
      "item c/0 x failed after 4",
      "take c/0",
      "terminate p",
      "stop taking c",
      "terminate c/1",
      "finished after cancelled"
    ]
  );
  assert_eq!(sim.s.stop_reason(), Some(StopReason::FailFast));
  assert_eq!(sim.item_exit("c", 1, true), ["item c/1 y cancelled after 1"]);
  sim.take("c", 0, None);
  sim.exit("p", Succeeded);
  assert_eq!(sim.status("c"), Cancelled);
  assert_eq!(sim.dones(), 1);
  assert!(sim.s.run_failed());
}

#[test]
fn a_cancelled_consumer_cancels_its_items_and_ends_cancelled() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  sim.take("c", 0, Some("run"));
  sim.take("c", 1, Some("wait"));
  let id = sim.id("c");
  let _ = sim.s.consumers.get_mut(&id).unwrap();
  let out = sim.stop(StopReason::Signal(2));
  assert_eq!(
    out,
    ["terminate p", "stop taking c", "terminate c/0", "terminate c/1", "finished after cancelled"]
  );
  sim.exit("p", Failed);
  assert_eq!(sim.item_exit("c", 0, true), ["item c/0 run cancelled after 1"]);
  // The second worker's item fails as it is killed: cancelled all the same, and not retried.
  let out = sim.item_exit("c", 1, false);
  assert_eq!(out, ["item c/1 wait cancelled after 1", "finished c cancelled", "done"]);
}

#[test]
fn an_item_taken_as_its_consumer_is_cancelled_never_runs() {
  let g = graph(QUEUE_JOB);
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  sim.stop(StopReason::Signal(2));
  assert_eq!(
    sim.take("c", 0, Some("late")),
    ["item c/0 late cancelled after 0", "finished c cancelled"]
  );
}

// ---------------------------------------------------------------------------------------------
// Timeouts, the kill grace and signal escalation: the scheduler's timers

#[test]
fn a_task_timeout_terminates_it_and_the_grace_kills_it() {
  let g = graph("tasks:\n  a: {run: x, timeout: 2s}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1", "timer a Timeout 2s"]);
  let out = sim.send_raw(Input::TimerFired(sim.timer("a", "Timeout")));
  let shown: Vec<String> = out.iter().map(|a| show(&g, a)).collect();
  assert_eq!(shown, ["terminate a", "timer a Grace 3s"]);
  assert_eq!(sim.fire("a", "Grace"), ["kill a @1"]);
  // Its exit status does not matter: it timed out.
  let proc = Proc::Task(sim.id("a"));
  let out = sim.send(Input::Exited { proc, success: true, result: String::new() });
  assert_eq!(out, ["finished a timed_out", "done"]);
}

#[test]
fn the_kill_grace_of_an_attempt_that_ended_kills_what_it_left_not_the_next_attempt() {
  let g = graph("tasks:\n  a: {run: x, timeout: 2s, retries: 1}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  let (timeout, grace) = (sim.timer("a", "Timeout"), sim.timer("a", "Grace"));
  let Timer::Grace(_, first) = grace else { unreachable!() };
  sim.send(Input::TimerFired(timeout));
  sim.exit("a", Failed);
  assert_eq!(sim.status("a"), Running, "retried");
  let running = sim.s.running_seq(Proc::Task(0)).unwrap();
  assert_ne!(running, first);
  // The first attempt's descendants that left its group may still be there: they are killed,
  // by that attempt's number, which the engine tells from the attempt now running.
  assert_eq!(sim.send(Input::TimerFired(grace)), [format!("kill a @{first}")]);
  assert_eq!(sim.send(Input::TimerFired(timeout)), NOTHING, "the first attempt's timeout");
}

#[test]
fn kill_grace_follows_every_terminate_with_the_policy_s_grace() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n");
  let policy = Policy { kill_grace: Duration::from_millis(250), ..policy(2, false) };
  let mut sim = Sim::with_policy(&g, &[], policy);
  sim.start();
  let out = sim.send_raw(Input::Signal(2));
  let shown: Vec<String> = out.iter().skip(1).map(|a| show(&g, a)).collect();
  assert_eq!(shown, ["terminate a", "timer a Grace 250ms", "terminate b", "timer b Grace 250ms"]);
}

#[test]
fn stopping_is_said_first_with_what_runs_and_again_when_a_second_signal_kills() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x, on_done: y}\n  c: {run: x, needs: [a]}\n  \
     w: {run: x, consumes: q, workers: 2}\nqueues:\n  q: {items: [i1, i2, i3]}\n",
  );
  let mut sim = Sim::new(&g, &[], 4, false);
  sim.start();
  let w = sim.id("w");
  for (worker, item) in [(0, "i1"), (1, "i2")] {
    sim.send(Input::Taken { id: w, worker, item: Some(item.to_string()) });
  }
  sim.exit("b", Succeeded);
  let first = sim.send_raw(Input::Signal(2));
  assert_eq!(show(&g, &first[0]), "stopping (Signal(2)): 1 tasks, 2 items, 1 callbacks");
  assert!(!first.contains(&Action::KillAll));
  let second = sim.send_raw(Input::Signal(2));
  assert_eq!(show(&g, &second[0]), "killing (Signal(2)): 1 tasks, 2 items, 1 callbacks");
  assert_eq!(second[1], Action::KillAll);
}

#[test]
fn stopping_is_said_when_the_run_timeout_expires_and_only_then() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\n");
  let policy = Policy { timeout: Some(Duration::from_secs(9)), ..policy(1, true) };
  let mut sim = Sim::with_policy(&g, &[], policy);
  sim.start();
  let out = sim.send_raw(Input::TimerFired(Timer::Run));
  assert_eq!(show(&g, &out[0]), "stopping (Timeout): 1 tasks, 0 items, 0 callbacks");
  let later = sim.send_raw(Input::TimerFired(Timer::Run));
  assert!(!later.iter().any(|a| matches!(a, Action::Stopping { .. })), "{later:?}");
}

#[test]
fn a_second_signal_kills_everything_now() {
  let g = graph("tasks:\n  a: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  assert_eq!(sim.stop(StopReason::Signal(2)), ["terminate a"]);
  assert_eq!(sim.stop(StopReason::Signal(2)), ["kill all"], "terminated once, then killed");
  assert_eq!(sim.stop(StopReason::Signal(15)), ["kill all"]);
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Signal(15)));
  assert_eq!(sim.exit("a", Failed), ["finished a cancelled", "done"]);
}

#[test]
fn the_run_timeout_is_a_timer_the_scheduler_starts() {
  let g = graph("tasks:\n  a: {run: x}\n");
  let policy = Policy { timeout: Some(Duration::from_secs(9)), ..policy(1, false) };
  let mut sim = Sim::with_policy(&g, &[], policy);
  assert_eq!(sim.start(), ["timer run Run 9s", "spawn a#1"]);
  assert_eq!(sim.fire("a", "Run"), ["terminate a"]);
  assert_eq!(sim.exit("a", Failed), ["finished a cancelled", "done"]);
  assert!(sim.s.run_failed());
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Timeout));
}

// ---------------------------------------------------------------------------------------------
// Groups under fail-fast: the group of the failed member has failed, it was not cancelled

#[test]
fn under_fail_fast_a_gather_group_of_the_failed_member_fails_with_it_done() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  g: {gather: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  sim.start();
  let out = sim.send_raw(Input::Exited { proc: Proc::Task(0), success: false, result: "".into() });
  let decision = returned(&out);
  assert_eq!((decision.status, &decision.done, &decision.pending), (Failed, &vec![0], &vec![1]));
  assert!(sim.log.contains(&"finished g failed".to_string()), "{:?}", sim.log);
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
  assert_eq!((sim.status("a"), sim.status("g")), (Failed, Failed));
}

#[test]
fn under_fail_fast_a_wait_group_returns_failed_with_what_is_done() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  w: {wait: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  sim.s.results.read_all(&g);
  sim.start();
  let out = sim.send_raw(Input::Exited { proc: Proc::Task(0), success: false, result: "".into() });
  let decision = returned(&out);
  assert_eq!((decision.status, &decision.done, &decision.pending), (Failed, &vec![0], &vec![1]));
  assert!(decision.cancel_pending && !decision.timed_out);
  assert_eq!(
    sim.log,
    [
      "spawn a#1",
      "spawn b#1",
      "finished a failed",
      "stopping (FailFast): 1 tasks, 0 items, 0 callbacks",
      "terminate b",
      "timer b Grace 3s",
      "returned w failed",
      "finished w failed",
    ]
  );
  assert_eq!(sim.exit("b", Succeeded), ["finished b cancelled", "done"]);
  let w: serde_json::Value = serde_json::from_str(sim.result("w").unwrap()).unwrap();
  assert_eq!(w["done"][0]["status"], "failed");
  assert_eq!(w["pending"], serde_json::json!(["b"]));
}

#[test]
fn under_fail_fast_the_failure_reaches_the_outer_groups_and_callbacks_wait() {
  let g = graph(
    "tasks:\n  a: {run: x, on_failure: y}\n  b: {run: x}\n  c: {run: x}\ngroups:\n  \
     inner: {wait: [a, b]}\n  outer: {gather: [c, inner]}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, true);
  sim.start();
  sim.exit("a", Failed);
  // The member's callbacks run on; its groups have returned already.
  assert_eq!(sim.status("inner"), Failed);
  assert_eq!(sim.status("outer"), Failed);
  assert_eq!(sim.callbacks_done("a", true), ["finished a failed"]);
  sim.exit("b", Succeeded);
  assert_eq!(sim.exit("c", Succeeded), ["finished c cancelled", "done"]);
  assert_eq!((sim.status("b"), sim.status("c")), (Cancelled, Cancelled));
}

#[test]
fn a_stop_with_no_failure_in_a_group_still_cancels_it() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x}\ngroups:\n  w: {wait: [a, b]}\n");
  let mut sim = Sim::new(&g, &[], 2, true);
  sim.start();
  sim.exit("a", Succeeded);
  sim.stop(StopReason::Signal(2));
  assert_eq!(sim.status("w"), Cancelled);
}

// ---------------------------------------------------------------------------------------------
// Results are kept only while something can still read them

impl Sim<'_> {
  /// The result the scheduler holds now (`result` also sees the ones it dropped).
  fn held(&self, name: &str) -> Option<&str> {
    self.s.result(self.id(name))
  }
}

#[test]
fn a_result_is_kept_while_a_dependent_may_start_an_attempt() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a], retries: 1}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  assert!(sim.s.result_read(sim.id("a")) && !sim.s.result_read(sim.id("b")));
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
  assert_eq!(sim.held("a"), Some("a out"));
  // The retry reads it again (the simulator checks that every spawn finds its needs' results).
  assert_eq!(sim.exit("b", Failed), ["retrying b#1 failed", "spawn b#2"]);
  assert_eq!(sim.held("a"), Some("a out"));
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert_eq!((sim.held("a"), sim.held("b")), (None, None));
  assert_eq!(sim.result("b"), Some("b out"), "made, and dropped: nothing reads it");
}

#[test]
fn a_result_is_kept_for_the_callbacks_of_its_node() {
  let g = graph("tasks:\n  a: {run: x, on_success: y, on_done: z}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  sim.start();
  assert_eq!(sim.exit("a", Succeeded), ["callbacks a succeeded"]);
  assert_eq!(sim.callbacks_done("a", true), ["callbacks a succeeded #1"]);
  assert_eq!(sim.held("a"), Some("a out"));
  assert_eq!(sim.callbacks_done("a", true), ["finished a succeeded", "done"]);
  assert_eq!(sim.held("a"), None);
}

#[test]
fn members_results_are_kept_until_their_read_group_completes() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, needs: [g]}\ngroups:\n  g: {gather: [a, b]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  sim.start();
  sim.exit("a", Succeeded);
  assert_eq!(sim.held("a"), Some("a out"));
  sim.exit("b", Succeeded);
  assert_eq!((sim.held("a"), sim.held("b")), (None, None), "g has its result");
  assert_eq!(sim.held("g"), Some(r#"["a out","b out"]"#));
  sim.exit("c", Succeeded);
  assert_eq!(sim.held("g"), None);
}

#[test]
fn nothing_is_kept_for_a_group_whose_result_nobody_reads() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\ngroups:\n  inner: {gather: [a]}\n  \
     outer: {wait: [inner]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert!(!sim.s.result_read(sim.id("outer")) && !sim.s.result_read(sim.id("inner")));
  assert!(sim.s.result_read(sim.id("a")), "b reads it");
  sim.start();
  sim.exit("a", Succeeded);
  assert_eq!(sim.result("outer"), None, "not even made");
  sim.exit("b", Succeeded);
  assert_eq!(sim.held("a"), None);
}

#[test]
fn a_member_left_running_by_its_group_keeps_no_result_for_it() {
  let g = graph(
    "tasks:\n  a: {run: x}\n  b: {run: x}\n  c: {run: x, needs: [w]}\ngroups:\n  \
     w: {wait: [a, b], return_when: FIRST_COMPLETED, pending: continue}\n",
  );
  let mut sim = Sim::new(&g, &[], 3, false);
  sim.start();
  sim.exit("a", Succeeded);
  assert_eq!(sim.status("w"), Succeeded);
  assert_eq!(sim.held("a"), None);
  sim.exit("b", Succeeded);
  assert_eq!(sim.held("b"), None);
  assert!(sim.held("w").is_some(), "c still runs");
}

// ---------------------------------------------------------------------------------------------
// A consumer's workers exist only once they hold items

#[test]
fn a_consumer_with_many_workers_takes_one_at_a_time_and_makes_workers_as_items_run() {
  let g =
    graph("queues: {q: {items: [a, b]}}\ntasks:\n  c: {run: y, consumes: q, workers: 4096}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn c#1", "take c/0"]);
  let workers = |sim: &Sim| sim.s.consumers[&sim.id("c")].workers();
  assert_eq!(workers(&sim), 1);
  assert_eq!(sim.take("c", 0, Some("a")), ["item c/0#1 ?", "take c/1"]);
  assert_eq!(sim.take("c", 1, Some("b")), ["item c/1#1 ?", "take c/2"]);
  assert_eq!(workers(&sim), 3);
  assert_eq!(sim.item_exit("c", 0, true), ["item c/0 a succeeded after 1"]);
  assert_eq!(sim.take("c", 2, None), NOTHING, "b still runs");
  assert_eq!(
    sim.item_exit("c", 1, true),
    ["item c/1 b succeeded after 1", "finished c succeeded", "done"]
  );
  assert_eq!(workers(&sim), 3);
}

// ---------------------------------------------------------------------------------------------
// Up-to-date checks: a task with `sources` is checked before its first attempt

impl Sim<'_> {
  fn checked(&mut self, name: &str, fresh: Option<&str>) -> Vec<String> {
    let id = self.id(name);
    self.send(Input::Checked { id, fresh: fresh.map(str::to_string) })
  }
}

#[test]
fn a_task_with_sources_is_checked_in_its_slot_before_it_spawns() {
  let g = graph("tasks:\n  a: {run: x, sources: [f]}\n  b: {run: y}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["check a"]);
  assert_eq!(sim.status("b"), Ready, "the check holds the only slot");
  assert_eq!(sim.checked("a", None), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Succeeded), ["finished a succeeded", "spawn b#1"]);
}

#[test]
fn an_up_to_date_task_settles_with_its_recorded_result_and_frees_its_slot() {
  let g = graph(
    "tasks:\n  a: {run: x, sources: [f], on_success: cb, on_done: cb}\n  b: {run: y, needs: [a]}\n  c: {run: z}\n",
  );
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["check a"]);
  // No process and no callbacks: nothing ran. Its dependent goes on as after a success.
  assert_eq!(sim.checked("a", Some("old")), ["finished a up_to_date", "spawn c#1"]);
  assert_eq!((sim.status("a"), sim.s.attempts(sim.id("a"))), (UpToDate, 0));
  assert_eq!(sim.result("a"), Some("old"), "b reads it");
  assert_eq!(sim.exit("c", Succeeded), ["finished c succeeded", "spawn b#1"]);
  assert_eq!(sim.exit("b", Succeeded), ["finished b succeeded", "done"]);
  assert!(!sim.s.run_failed());
}

#[test]
fn dependents_of_an_up_to_date_task_are_checked_in_turn() {
  let g = graph("tasks:\n  a: {run: x, sources: [f]}\n  b: {run: y, needs: [a], sources: [g]}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["check a"]);
  assert_eq!(sim.checked("a", Some("r")), ["finished a up_to_date", "check b"]);
  assert_eq!(sim.checked("b", Some("s")), ["finished b up_to_date", "done"]);
}

#[test]
fn an_up_to_date_member_counts_as_a_success_for_its_gather_group() {
  let g = graph(
    "tasks:\n  a: {run: x, sources: [f]}\n  b: {run: y}\n  c: {run: z, needs: [g]}\ngroups:\n  g: {gather: [a, b]}\n",
  );
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["check a", "spawn b#1"]);
  assert_eq!(sim.checked("a", Some("ra")), ["finished a up_to_date"]);
  let out = sim.exit_with("b", Succeeded, "rb");
  assert_eq!(
    out,
    ["finished b succeeded", "returned g succeeded", "finished g succeeded", "spawn c#1"]
  );
  assert_eq!(sim.result("g"), Some(r#"["ra","rb"]"#));
}

#[test]
fn a_retry_is_not_checked_again() {
  let g = graph("tasks:\n  a: {run: x, sources: [f], retries: 1}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["check a"]);
  assert_eq!(sim.checked("a", None), ["spawn a#1"]);
  assert_eq!(sim.exit("a", Failed), ["retrying a#1 failed", "spawn a#2"]);
}

#[test]
fn a_task_cancelled_during_its_check_ignores_the_answer() {
  let g = graph("tasks:\n  a: {run: x, sources: [f]}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["check a"]);
  assert_eq!(sim.stop(StopReason::Signal(2)), ["finished a cancelled", "done"]);
  assert_eq!(sim.checked("a", Some("r")), NOTHING);
  assert_eq!(sim.checked("a", None), NOTHING);
  assert_eq!(sim.status("a"), Cancelled);
}

/// Two runs of a daemon, one shared slot: runs wait in line in the order they asked, one turn
/// (one slot) each, so a run with many ready tasks does not keep the slot from one that asked
/// later.
#[test]
fn runs_sharing_slots_take_turns_first_come_first_served() {
  use std::cell::Cell;
  use std::rc::Rc;
  let ga = graph("tasks:\n  a1: {run: x}\n  a2: {run: x}\n  a3: {run: x}\n");
  let gb = graph("tasks:\n  b1: {run: x}\n");
  let pool = slots::Pool::new(1);
  let (woken_a, woken_b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
  let mut a = Sim::new(&ga, &[], 4, false);
  let count = woken_a.clone();
  a.s.share_slots(slots::Slots::join(&pool, 1, move || count.set(count.get() + 1)));
  let mut b = Sim::new(&gb, &[], 4, false);
  let count = woken_b.clone();
  b.s.share_slots(slots::Slots::join(&pool, 2, move || count.set(count.get() + 1)));
  assert_eq!(a.start(), ["spawn a1#1"], "one slot for both runs; a waits in line for a2");
  assert_eq!(b.start(), NOTHING, "b waits in line, after a");
  assert_eq!(a.exit("a1", Succeeded), ["finished a1 succeeded", "spawn a2#1"], "a asked first");
  assert_eq!(a.exit("a2", Succeeded), ["finished a2 succeeded"], "b's turn: a3 waits");
  assert_eq!(woken_b.get(), 1);
  assert_eq!(b.send(Input::Slots), ["spawn b1#1"]);
  assert_eq!(b.exit("b1", Succeeded), ["finished b1 succeeded", "done"]);
  assert!(woken_a.get() >= 1, "a is next");
  assert_eq!(a.send(Input::Slots), ["spawn a3#1"]);
  assert_eq!(pool.borrow().waiting(), 0);
}

/// A run stopped while it waits in line gives its turn up: the next run gets the slot.
#[test]
fn a_stopped_run_leaves_the_line_of_shared_slots() {
  let ga = graph("tasks:\n  a1: {run: x}\n");
  let gb = graph("tasks:\n  b1: {run: x}\n");
  let gc = graph("tasks:\n  c1: {run: x}\n");
  let pool = slots::Pool::new(1);
  let mut sims: Vec<Sim> =
    [&ga, &gb, &gc].into_iter().map(|g| Sim::new(g, &[], 1, false)).collect();
  for (run, sim) in sims.iter_mut().enumerate() {
    sim.s.share_slots(slots::Slots::join(&pool, run as u64, || {}));
  }
  assert_eq!(sims[0].start(), ["spawn a1#1"]);
  assert_eq!(sims[1].start(), NOTHING);
  assert_eq!(sims[2].start(), NOTHING);
  assert_eq!(pool.borrow().waiting(), 2);
  let stopped = sims[1].send(Input::Signal(libc::SIGTERM));
  assert_eq!(stopped, ["finished b1 cancelled", "done"]);
  assert_eq!(pool.borrow().waiting(), 1, "b left the line");
  sims[0].exit("a1", Succeeded);
  assert_eq!(sims[2].send(Input::Slots), ["spawn c1#1"]);
}

/// `runner cancel RUN TASK`: a running task is terminated and ends cancelled; a task not
/// started is cancelled at once; a finished one is left as it is.
#[test]
fn a_task_cancelled_from_outside_ends_cancelled() {
  let g = graph("tasks:\n  a: {run: x}\n  b: {run: x, needs: [a]}\n  c: {run: x}\n");
  let mut sim = Sim::new(&g, &[], 1, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  let b = sim.id("b");
  assert_eq!(sim.send(Input::Cancel(b)), ["finished b cancelled"]);
  let a = sim.id("a");
  assert_eq!(sim.send(Input::Cancel(a)), ["terminate a"]);
  assert_eq!(sim.exit("a", Failed), ["finished a cancelled", "spawn c#1"]);
  assert_eq!(sim.send(Input::Cancel(a)), NOTHING, "a is final");
}

/// `runner cancel RUN` stops a run as a signal does, callbacks halted; a second cancel kills.
#[test]
fn a_cancelled_run_stops_as_on_a_signal_and_a_second_cancel_kills() {
  let g = graph("tasks:\n  a: {run: x, on_done: y}\n  b: {run: x, needs: [a]}\n");
  let mut sim = Sim::new(&g, &[], 2, false);
  assert_eq!(sim.start(), ["spawn a#1"]);
  assert_eq!(sim.stop(StopReason::Cancelled), ["terminate a", "finished b cancelled"]);
  assert!(sim.log.iter().any(|l| l == "stopping (Cancelled): 1 tasks, 0 items, 0 callbacks"));
  assert_eq!(sim.send(Input::CancelRun), ["kill all"]);
  assert_eq!(sim.exit("a", Failed), ["finished a cancelled", "done"], "no on_done once halted");
  assert_eq!(sim.s.stop_reason(), Some(StopReason::Cancelled));
}
