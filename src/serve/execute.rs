//! Running the daemon's runs: each on the daemon's one loop, as a future of its own, with the
//! engine of `runner run`. A run's reporter writes its plain output (`output.txt`), its JSON
//! events (`events.jsonl`), its report (`report.json`), JUnit (`junit.xml`) and, with
//! `--attempt-logs`, a file per attempt (`logs/`)
//! in its folder of the state dir. Runs start in the order they were submitted, as run slots
//! free up; their tasks share the `-j` slots first come, first served.

use super::daemon::{Daemon, Starting};
use super::feed::Fed;
use crate::engine::{self, Served};
use crate::report::{FileOptions, Files, Plain, PlainOptions, Reporter, Screen};
use crate::scheduler::Policy;
use std::cell::RefCell;
use std::io::BufWriter;
use std::rc::Rc;
use std::time::Instant;

/// Starts every queued run there is a run slot for.
pub(crate) fn start_what_can(daemon: &Rc<RefCell<Daemon>>) {
  loop {
    let Some(starting) = daemon.borrow_mut().next_to_start() else { return };
    let daemon = daemon.clone();
    engine::reactor::spawn_local(async move {
      let id = starting.id.clone();
      let (code, cause) = match run(&daemon, starting).await {
        Ok(ended) => ended,
        Err(err) => (1, Some(err)),
      };
      daemon.borrow_mut().finished(&id, code, cause);
      start_what_can(&daemon);
    });
  }
}

/// Runs one run to its end: its exit code, and what failed it.
async fn run(
  daemon: &Rc<RefCell<Daemon>>,
  starting: Starting,
) -> Result<(i32, Option<String>), String> {
  let Starting { dir, graph, targets, tag, serial, orders, news, .. } = starting;
  let cannot = |what: &str, err: std::io::Error| {
    format!("cannot write `{what}` in `{}`: {err}", dir.display())
  };
  std::fs::create_dir_all(&dir).map_err(|e| cannot(".", e))?;
  let plain =
    Fed::create(&dir.join("output.txt"), news.clone()).map_err(|e| cannot("output.txt", e))?;
  let events =
    Fed::create(&dir.join("events.jsonl"), news.clone()).map_err(|e| cannot("events.jsonl", e))?;
  let screen =
    Screen::Plain(Plain::new(&graph, Box::new(BufWriter::new(plain)), PlainOptions::default()));
  let attempt_logs = daemon.borrow().limits.attempt_logs;
  let files = FileOptions {
    log_dir: attempt_logs.then(|| dir.join("logs")),
    report: Some(dir.join("report.json")),
    junit: Some(dir.join("junit.xml")),
    trace: None,
  };
  let files = Files::new(&graph, files)?;
  let mut reporter =
    Reporter::new(screen, Some(files)).with_events(Box::new(BufWriter::new(events)));
  let (jobs, kill_grace, slots) = {
    let daemon = daemon.borrow();
    (daemon.limits.jobs, daemon.limits.kill_grace, daemon.pool.clone())
  };
  let policy = Policy { jobs, fail_fast: false, timeout: None, kill_grace };
  let served = Served { tag, serial, slots, orders };
  let started = Instant::now();
  let outcome = engine::serve(&graph, &targets, policy, &mut reporter, served).await;
  let (exit, unwritten) = crate::run::conclude(&graph, &outcome, &mut reporter, started, None);
  drop(reporter);
  let cause = unwritten.or_else(|| crate::run::cause_of(&graph, &outcome));
  Ok((exit.code(), cause))
}
