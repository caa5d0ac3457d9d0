//! `runner run --watch`: a run, then a wait for a change to the selected tasks' `sources`, a
//! pause until they settle, and another run; until a signal.

use super::{resolve_targets, run_once};
use crate::cli::RunArgs;
use crate::engine::{signal, watch};
use crate::error::ExitCode;
use crate::graph::Graph;
use crate::scheduler::{Policy, Scheduler};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// How long the sources must be quiet before a rerun: an editor's save, a checkout, touch
/// many files at once.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often a wait looks for a signal.
const TICK: Duration = Duration::from_millis(50);

/// Runs, and runs again after each change. Every selected task runs again each time, as
/// `task --watch` does: the up-to-date checks skip those whose inputs did not change.
/// A signal during a run ends the watch with the run's code (130, 143); one while waiting
/// ends it with 0, as watchexec does: nothing was stopped.
pub(super) fn watch(args: &RunArgs, graph: &Graph) -> ExitCode {
  let Ok(targets) = resolve_targets(graph, &args.targets) else { return ExitCode::Invalid };
  let policy = Policy { jobs: 1, fail_fast: false, timeout: None, kill_grace: args.kill_grace };
  let scheduler = Scheduler::new(graph, &targets, policy);
  let selected: Vec<_> = (0..graph.nodes.len()).filter(|&id| scheduler.is_selected(id)).collect();
  let mut ignored = vec![std::path::absolute(graph.dir.join(".runner")).unwrap_or_default()];
  ignored.extend(args.log_dir.iter().filter_map(|d| std::path::absolute(d).ok()));
  let patterns = watch::Patterns::new(graph, &selected, ignored);
  if patterns.len() == 0 {
    eprintln!("error: `--watch` has nothing to watch: no selected task has `sources`");
    eprintln!("  help: give the tasks to rerun `sources:` (see `runner run --help`)");
    return ExitCode::Invalid;
  }
  let count = patterns.len();
  signal::block();
  let watcher = match watch::start(patterns) {
    Ok(watcher) => watcher,
    Err(err) => {
      eprintln!("error: cannot watch the sources: {err}");
      return ExitCode::Invalid;
    }
  };
  loop {
    watcher.drain();
    let exit = run_once(args, graph, Some(watcher.during_run.clone()));
    if matches!(exit, ExitCode::Interrupted(_) | ExitCode::Invalid) {
      return exit;
    }
    let plural = if count == 1 { "" } else { "s" };
    eprintln!("runner: watching {count} source pattern{plural} for changes (Ctrl-C to stop)");
    if !next_change(&watcher.changes) {
      return ExitCode::Ok;
    }
  }
}

/// Waits for a change and for the sources to settle after it; false on a signal (or a
/// watcher that stopped).
fn next_change(changes: &Receiver<std::path::PathBuf>) -> bool {
  loop {
    if signal::wait(TICK).is_some() {
      return false;
    }
    match changes.try_recv() {
      Ok(_) => break,
      Err(TryRecvError::Empty) => {}
      Err(TryRecvError::Disconnected) => return false,
    }
  }
  loop {
    match changes.recv_timeout(DEBOUNCE) {
      Ok(_) => {}
      Err(RecvTimeoutError::Timeout) => return signal::wait(Duration::ZERO).is_none(),
      Err(RecvTimeoutError::Disconnected) => return false,
    }
  }
}
