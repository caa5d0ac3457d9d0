//! `runner run`: resolve the targets and the options against the graph, pick a reporter, run,
//! and map the outcome to an exit code.

mod cause;
mod open_files;

use crate::cli::RunArgs;
use crate::engine;
use crate::error::ExitCode;
use crate::event::Event;
use crate::graph::{Graph, NodeId};
use crate::options::RunOptions;
use crate::report;
use crate::scheduler::{Action, Input, Policy, Proc, Scheduler, StopReason, Timer};
use crate::suggest;
use std::io::IsTerminal;
use std::time::Instant;

pub(crate) fn run(args: &RunArgs, graph: &mut Graph) -> ExitCode {
  engine::stdout::notice_closed();
  let targets = match resolve_targets(graph, &args.targets) {
    Ok(targets) => targets,
    Err(exit) => return exit,
  };
  let terminal = std::io::stdout().is_terminal();
  let run = RunOptions::new(args, graph.concurrency, &report::Env::read(), terminal);
  graph.overrides.clone_from(&run.env);
  let graph = &*graph;
  let workers = (0..graph.nodes.len()).filter_map(|id| graph.task(id));
  let workers = workers.filter(|t| t.consumes.is_some()).map(|t| t.workers as usize).sum();
  let (jobs, warning) = open_files::fit(run.jobs, workers, run.report.files.log_dir.is_some());
  if let (Some(warning), false) = (warning, run.dry_run) {
    eprintln!("{warning}");
  }
  let policy =
    Policy { jobs, fail_fast: run.fail_fast, timeout: run.timeout, kill_grace: run.kill_grace };
  if run.dry_run {
    return dry_run(graph, &targets, policy);
  }
  // Before the reporter, which may start a thread: every thread must have them blocked.
  engine::signal::block();
  let mut reporter = match report::reporter(graph, &run.report) {
    Ok(reporter) => reporter,
    Err(err) => {
      eprintln!("error: {err}");
      return ExitCode::Invalid;
    }
  };
  let started = Instant::now();
  let outcome = engine::run(graph, &targets, policy, &mut reporter);
  // Output that was lost fails the run, and says so in its last line and its report.
  reporter.flush();
  let lost = reporter.output_error();
  let mut exit = match outcome.stop {
    Some(StopReason::Signal(signal)) => ExitCode::Interrupted(signal),
    _ if outcome.failed => ExitCode::RunFailed,
    _ => ExitCode::Ok,
  };
  if lost.is_some() {
    exit = exit.or_output_failed();
  }
  let counts = cause::counts(graph, &outcome);
  let cause = cause::cause(graph, &outcome, run.timeout);
  let cause = match (cause, lost) {
    (Some(cause), Some(lost)) if !cause.contains(&lost) => Some(format!("{cause}; {lost}")),
    (cause, lost) => cause.or(lost),
  };
  let status = match exit {
    ExitCode::Ok => "succeeded",
    ExitCode::RunFailed | ExitCode::OutputFailed => "failed",
    ExitCode::Invalid | ExitCode::Interrupted(_) => "interrupted",
  };
  let duration_ms = started.elapsed().as_millis() as u64;
  let (exit_code, cause) = (exit.code(), cause.as_deref());
  reporter.event(&Event::RunFinished { status, exit_code, duration_ms, counts, cause });
  if let Err(err) = reporter.finish() {
    eprintln!("error: {err}");
    return exit.or_output_failed();
  }
  exit
}

fn resolve_targets(graph: &Graph, names: &[String]) -> Result<Vec<NodeId>, ExitCode> {
  let mut ids = Vec::with_capacity(names.len());
  let mut bad = false;
  for name in names {
    match graph.find(name) {
      Some(id) => ids.push(id),
      None => {
        bad = true;
        eprintln!("error: `{}` has no task or group `{name}`", graph.source.name());
        match suggest::closest(name, graph.nodes.iter().map(|n| n.name.as_str())) {
          Some(s) => eprintln!("  help: did you mean `{s}`?"),
          None => eprintln!("  help: `runner list {}` shows what there is", graph.source.name()),
        }
      }
    }
  }
  if bad { Err(ExitCode::Invalid) } else { Ok(ids) }
}

/// Prints what would run, in the order a run would start it, with every task succeeding at
/// once, delays skipped and queues empty.
fn dry_run(graph: &Graph, targets: &[NodeId], policy: Policy) -> ExitCode {
  let policy = Policy { timeout: None, ..policy };
  let mut scheduler = Scheduler::new(graph, targets, policy);
  let mut actions = Vec::new();
  let mut inputs = std::collections::VecDeque::from([Input::Start]);
  let mut out = String::new();
  let mut step = 0;
  while let Some(input) = inputs.pop_front() {
    scheduler.handle(input, &mut actions);
    for action in actions.drain(..) {
      let done = |proc| Input::Exited { proc, success: true, result: String::new() };
      match action {
        Action::Spawn { id, .. } => {
          step += 1;
          let run = graph
            .task(id)
            .and_then(|t| t.run.as_ref())
            .map(|p| p.script.clone().unwrap_or_else(|| p.argv.join(" ")))
            .unwrap_or_default();
          let run = run.trim_end().replace('\n', "\n        ");
          out.push_str(&format!("{step:>4}. {}: {run}\n", graph.nodes[id].name));
          if graph.task(id).is_some_and(|t| t.consumes.is_none()) {
            inputs.push_back(done(Proc::Task(id)));
          }
        }
        Action::Take { id, worker } => inputs.push_back(Input::Taken { id, worker, item: None }),
        // Nothing runs long enough to time out.
        Action::StartTimer { timer: Timer::Timeout(..) | Timer::Grace(..), .. } => {}
        Action::StartTimer { timer, .. } => inputs.push_back(Input::TimerFired(timer)),
        Action::RunCallback { id, .. } => inputs.push_back(done(Proc::Callback(id))),
        _ => {}
      }
    }
  }
  print!("{out}");
  ExitCode::Ok
}
