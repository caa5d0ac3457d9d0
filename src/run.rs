//! `runner run`: resolve the targets and the options against the graph, pick a reporter, run,
//! and map the outcome to an exit code.

mod cause;
mod open_files;
mod watch;

use crate::cli::RunArgs;
use crate::engine;
use crate::error::ExitCode;
use crate::event::Event;
use crate::graph::{Graph, NodeId};
use crate::options::RunOptions;
use crate::report;
use crate::scheduler::{Action, Input, Policy, Proc, Scheduler, StopReason, Timer};
use crate::suggest;
use crate::uptodate::{self, Force, Store};
use std::io::IsTerminal;
use std::time::Instant;

pub(crate) fn run(args: &RunArgs, graph: &mut Graph) -> ExitCode {
  // `--env` is over every variable of the job file, in every run.
  graph.overrides.clone_from(&args.env);
  let graph = &*graph;
  match args.watch {
    true => watch::watch(args, graph),
    false => run_once(args, graph, None),
  }
}

/// One run of the selected tasks, to its end, or until a message on `changes` (`--watch`).
fn run_once(
  args: &RunArgs,
  graph: &Graph,
  changes: Option<async_channel::Receiver<()>>,
) -> ExitCode {
  engine::stdout::notice_closed();
  let targets = match resolve_targets(graph, &args.targets) {
    Ok(targets) => targets,
    Err(exit) => return exit,
  };
  let terminal = std::io::stdout().is_terminal();
  let run = RunOptions::new(args, graph.concurrency, &report::Env::read(), terminal);
  let force = match run.force.as_deref() {
    None => Force::Nothing,
    Some([]) => Force::All,
    Some(names) => match resolve_targets(graph, names) {
      Ok(ids) => Force::tasks(graph, &ids),
      Err(exit) => return exit,
    },
  };
  let workers = (0..graph.nodes.len()).filter_map(|id| graph.task(id));
  let workers = workers.filter(|t| t.consumes.is_some()).map(|t| t.workers as usize).sum();
  let (jobs, warning) = open_files::fit(run.jobs, workers, run.report.files.log_dir.is_some());
  if let (Some(warning), false) = (warning, run.dry_run) {
    eprintln!("{warning}");
  }
  let policy =
    Policy { jobs, fail_fast: run.fail_fast, timeout: run.timeout, kill_grace: run.kill_grace };
  if run.dry_run {
    return dry_run(graph, &targets, policy, &force);
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
  let cluster = match slurm_config(args, graph).map(open_slurm) {
    Some(Ok(cluster)) => Some(cluster),
    Some(Err(line)) => {
      eprintln!("error: {line}");
      return ExitCode::Invalid;
    }
    None => None,
  };
  let backend = match cluster.as_ref().map(|(c, config)| engine::slurm::Backend::new(c, config)) {
    Some(Err(err)) => {
      eprintln!("error: --slurm-dir: {err}");
      cluster.iter().for_each(|(c, _)| engine::slurm::close(c));
      return ExitCode::Invalid;
    }
    Some(Ok(backend)) => Some(backend),
    None => None,
  };
  let started = Instant::now();
  let outcome = engine::run(graph, &targets, policy, force, &mut reporter, changes, backend);
  if let Some((cluster, _)) = &cluster {
    engine::slurm::close(cluster);
  }
  let (exit, unwritten) = conclude(graph, &outcome, &mut reporter, started, run.timeout);
  if let Some(err) = unwritten {
    eprintln!("error: {err}");
  }
  exit
}

/// The end of a run: its exit code from the outcome and the output lost, the `run_finished`
/// event with its counts and cause, and the files written; the error of a file that could not
/// be written (the exit code then says the run failed).
pub(crate) fn conclude(
  graph: &Graph,
  outcome: &engine::Outcome,
  reporter: &mut report::Reporter,
  started: Instant,
  timeout: Option<std::time::Duration>,
) -> (ExitCode, Option<String>) {
  // Output that was lost fails the run, and says so in its last line and its report.
  reporter.flush();
  let lost = reporter.output_error();
  let mut exit = match outcome.stop {
    Some(StopReason::Signal(signal)) => ExitCode::Interrupted(signal),
    // As SIGTERM would have stopped a local run.
    Some(StopReason::Cancelled) => ExitCode::Interrupted(libc::SIGTERM),
    _ if outcome.failed => ExitCode::RunFailed,
    _ => ExitCode::Ok,
  };
  if lost.is_some() {
    exit = exit.or_output_failed();
  }
  let counts = cause::counts(graph, outcome);
  let cause = cause::cause(graph, outcome, timeout);
  let cause = match (cause, lost) {
    (Some(cause), Some(lost)) if !cause.contains(&lost) => Some(format!("{cause}; {lost}")),
    (cause, lost) => cause.or(lost),
  };
  let status = match exit {
    ExitCode::Ok => "succeeded",
    ExitCode::RunFailed | ExitCode::OutputFailed | ExitCode::Served(_) => "failed",
    ExitCode::Invalid | ExitCode::Interrupted(_) => "interrupted",
  };
  let duration_ms = started.elapsed().as_millis() as u64;
  let (exit_code, cause) = (exit.code(), cause.as_deref());
  reporter.event(&Event::RunFinished { status, exit_code, duration_ms, counts, cause });
  match reporter.finish() {
    Ok(()) => (exit, None),
    Err(err) => (exit.or_output_failed(), Some(err)),
  }
}

/// Why a run failed or stopped, in one line, as its last line says it.
pub(crate) fn cause_of(graph: &Graph, outcome: &engine::Outcome) -> Option<String> {
  cause::cause(graph, outcome, None)
}

/// The run's Slurm options, with `--backend slurm`.
fn slurm_config(args: &RunArgs, graph: &Graph) -> Option<engine::slurm::Config> {
  use crate::cli::{Backend, SlurmLaunch};
  if args.backend != Backend::Slurm {
    return None;
  }
  let launch = match args.slurm_launch {
    SlurmLaunch::Auto => engine::slurm::Launch::Auto,
    SlurmLaunch::Steps => engine::slurm::Launch::Steps,
    SlurmLaunch::Jobs => engine::slurm::Launch::Jobs,
  };
  let dir = args.slurm_dir.clone().unwrap_or_else(|| graph.dir.join(".runner").join("slurm"));
  Some(engine::slurm::Config {
    launch,
    alloc: args.slurm_alloc,
    dir: std::path::absolute(&dir).unwrap_or(dir),
    poll: args.slurm_poll.max(std::time::Duration::from_millis(10)),
    max_jobs: args.slurm_max_jobs as usize,
    rate: args.slurm_submit_rate,
  })
}

/// Sets the cluster up for the run (an allocation, when asked for).
fn open_slurm(
  config: engine::slurm::Config,
) -> Result<(engine::slurm::Cluster, engine::slurm::Config), String> {
  let cluster = engine::slurm::open(&config, &engine::slurm::run_name())?;
  Ok((cluster, config))
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
/// once, delays skipped and queues empty. A task with `sources` is checked as a run would check
/// it, reading its state and sources and writing nothing; one whose needs would run cannot be
/// told (their results are not known) and is shown as running, with a note.
fn dry_run(graph: &Graph, targets: &[NodeId], policy: Policy, force: &Force) -> ExitCode {
  let policy = Policy { timeout: None, ..policy };
  let mut scheduler = Scheduler::new(graph, targets, policy);
  let store = Store::new(&graph.source.path, &graph.dir);
  // Tasks spawned, and tasks checked whose needs were: they may turn out up to date.
  let (mut ran, mut maybe) = (vec![false; graph.nodes.len()], vec![false; graph.nodes.len()]);
  let mut actions = Vec::new();
  let mut inputs = std::collections::VecDeque::from([Input::Start]);
  let mut out = String::new();
  let mut step = 0;
  while let Some(input) = inputs.pop_front() {
    scheduler.handle(input, &mut actions);
    for action in actions.drain(..) {
      let done = |proc| Input::Exited { proc, success: true, result: String::new() };
      match action {
        Action::Check { id } => {
          maybe[id] = graph.nodes[id].needs.iter().any(|&need| would_run(graph, &ran, need));
          let fresh = match maybe[id] {
            true => None,
            false => dry_check(graph, &scheduler, &store, force, id, &mut out),
          };
          inputs.push_back(Input::Checked { id, fresh });
        }
        Action::Spawn { id, .. } => {
          ran[id] = true;
          step += 1;
          let run = graph
            .task(id)
            .and_then(|t| t.run.as_ref())
            .map(|p| p.script.clone().unwrap_or_else(|| p.argv.join(" ")))
            .unwrap_or_default();
          let run = run.trim_end().replace('\n', "\n        ");
          out.push_str(&format!("{step:>4}. {}: {run}\n", graph.nodes[id].name));
          if maybe[id] {
            out.push_str("      (up to date if what it needs gives the same results)\n");
          }
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

/// The up-to-date check of a dry run, whose needs' results are known: says when task `id` is
/// up to date.
fn dry_check(
  graph: &Graph,
  scheduler: &Scheduler,
  store: &Store,
  force: &Force,
  id: NodeId,
  out: &mut String,
) -> Option<String> {
  let task = graph.task(id).expect("only tasks are checked");
  let cwd = std::path::absolute(&task.cwd).unwrap_or_else(|_| task.cwd.clone());
  let verdict = uptodate::check(graph, store, id, &cwd, force.covers(id), |n| {
    scheduler.result(n).unwrap_or("")
  });
  if let Some(warning) = &verdict.warning {
    eprintln!("{warning}");
  }
  if verdict.fresh.is_some() {
    out.push_str(&format!("      {}: up to date\n", graph.nodes[id].name));
  }
  verdict.fresh
}

/// Whether node `id` would run a process in a dry run so far: a task that was spawned, or a
/// group with such a member at any depth.
fn would_run(graph: &Graph, ran: &[bool], id: NodeId) -> bool {
  let mut stack = vec![id];
  while let Some(id) = stack.pop() {
    if ran[id] {
      return true;
    }
    if let Some(group) = graph.group(id) {
      stack.extend(&group.members);
    }
  }
  false
}
