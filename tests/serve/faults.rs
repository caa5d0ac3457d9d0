//! The daemon killed mid-run and started again; clients that go away.

use super::Daemon;
use crate::support::{PATIENCE, Test, assert_all_gone, read, sleeping, tagged_processes, wait_for};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;

/// Three tasks that do not go quietly: one ignores SIGTERM, one leaves its process group (and
/// session), one is a plain `sleep`.
const STUBBORN: &str = "
  tasks:
    deaf:
      run: trap '' TERM; sleep 300
    away:
      run: setsid sleep 300 & wait
    plain:
      run: sleep 300
";

const QUICK: &str = "tasks:\n  hello:\n    run: echo hello\n";

/// `submit FILE` (without waiting): the run's id.
#[track_caller]
fn submit(daemon: &Daemon, file: &str) -> String {
  let run = daemon.run(&["submit", file]);
  assert_eq!(run.code, 0, "submit {file}: {}", run.stderr);
  run.stdout.trim().to_string()
}

/// Each run's entry in `status --json`, by id.
fn runs(daemon: &Daemon) -> BTreeMap<String, Value> {
  let status = daemon.status();
  let runs = status["runs"].as_array().cloned().unwrap_or_default();
  runs.into_iter().map(|r| (r["run"].as_str().unwrap_or_default().to_string(), r)).collect()
}

/// The runs `status` lists, oldest first, with their states.
fn states(daemon: &Daemon) -> Vec<(String, String)> {
  let status = daemon.status();
  let runs = status["runs"].as_array().cloned().unwrap_or_default();
  let state = |r: &Value| r["state"].as_str().unwrap_or_default().to_string();
  runs.iter().map(|r| (r["run"].as_str().unwrap_or_default().to_string(), state(r))).collect()
}

/// Waits until run `id` is in a final state; returns its entry.
#[track_caller]
fn finished(daemon: &Daemon, id: &str) -> Value {
  wait_for(&format!("run {id} ends"), PATIENCE, || {
    let entry = runs(daemon).remove(id).ok_or_else(|| format!("no run {id}"))?;
    match entry["state"].as_str() {
      Some("queued" | "running") => Err(entry.to_string()),
      _ => Ok(entry),
    }
  })
}

/// The journal's lines; every one must be a JSON object but, with `torn_allowed`, a last one
/// without its newline (a write the kill cut short).
#[track_caller]
fn journal(daemon: &Daemon, torn_allowed: bool) -> Vec<Value> {
  let text = read(&daemon.state.join("journal.jsonl"));
  let lines: Vec<&str> = text.lines().collect();
  let mut entries = Vec::new();
  for (n, line) in lines.iter().enumerate() {
    match serde_json::from_str::<Value>(line) {
      Ok(entry) if entry.is_object() => entries.push(entry),
      _ => {
        let torn = torn_allowed && n + 1 == lines.len() && !text.ends_with('\n');
        assert!(torn, "journal line {} is not JSON: {line:?}\n{text}", n + 1);
      }
    }
  }
  entries
}

/// The tagged processes of the daemon's runs: every one but the daemon itself.
fn of_runs(daemon: &Daemon) -> BTreeMap<i32, String> {
  let own = daemon.child.as_ref().map(|c| c.id() as i32);
  let mut found = tagged_processes(daemon.reaper.tag());
  found.retain(|pid, _| Some(*pid) != own);
  found
}

/// Waits until the three stubborn tasks sleep: every process of the run is there.
#[track_caller]
fn all_sleeping(daemon: &Daemon) {
  wait_for("the three tasks sleep", PATIENCE, || match sleeping(daemon.reaper.tag(), "300") {
    3 => Ok(()),
    n => Err(format!("{n} sleeping: {:#?}", of_runs(daemon))),
  });
}

/// A process's parent, from /proc (None once it is gone).
fn parent_of(pid: i32) -> Option<i32> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  stat.rsplit(") ").next()?.split_whitespace().nth(1)?.parse().ok()
}

fn sigkill(pid: i32) {
  // SAFETY: kill has no memory-safety preconditions.
  assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill -9 {pid}");
}

#[test]
fn a_daemon_killed_mid_run_leaves_its_runs_interrupted_and_nothing_running() {
  let test = Test::with_job(STUBBORN);
  test.write("quick.yaml", QUICK);
  let mut daemon = Daemon::start(&test, &["-j", "4", "--max-runs", "1"]);
  assert_eq!(submit(&daemon, "job.yaml"), "r1");
  all_sleeping(&daemon);
  assert_eq!(submit(&daemon, "job.yaml"), "r2");
  let before = [("r1".to_string(), "running".to_string()), ("r2".into(), "queued".into())];
  assert_eq!(states(&daemon), before);
  journal(&daemon, false);

  daemon.kill9();
  // The run's watchdog kills what it left; nothing of the runs may outlive the daemon.
  assert_all_gone(daemon.reaper.tag(), PATIENCE);
  journal(&daemon, true);

  daemon.restart();
  let entries = runs(&daemon);
  for id in ["r1", "r2"] {
    let entry = &entries[id];
    assert_eq!(entry["state"], "interrupted", "{id}: {entry}");
    let cause = entry["cause"].as_str().unwrap_or_default();
    assert!(!cause.is_empty(), "{id} says why it was interrupted: {entry}");
    assert!(entry["finished_ms"].as_u64().is_some(), "{id}: {entry}");
  }
  assert!(entries["r1"]["started_ms"].as_u64().is_some(), "{}", entries["r1"]);
  assert!(entries["r2"]["started_ms"].is_null(), "r2 never started: {}", entries["r2"]);
  let stderr = daemon.stderr();
  assert!(stderr.contains("2 runs interrupted when the last daemon ended"), "{stderr}");
  assert!(of_runs(&daemon).is_empty(), "{:#?}", of_runs(&daemon));

  // The journal reads back whole, and the next run takes the next id.
  let journaled = journal(&daemon, false);
  let last = |id: &str| journaled.iter().rev().find(|e| e["run"] == id).map(|e| e["state"].clone());
  assert_eq!(last("r1"), Some("interrupted".into()));
  assert_eq!(last("r2"), Some("interrupted".into()));
  let run = daemon.run(&["submit", "quick.yaml", "--wait"]);
  assert_eq!((run.code, run.stdout.trim()), (0, "r3"), "{}", run.stderr);
  let output = read(&daemon.state.join("runs/r3/output.txt"));
  assert!(output.contains("[hello] hello\n"), "{output}");
}

#[test]
fn a_restart_kills_what_a_killed_daemon_and_its_watchdog_left() {
  let test = Test::with_job(STUBBORN);
  let mut daemon = Daemon::start(&test, &["-j", "4"]);
  assert_eq!(submit(&daemon, "job.yaml"), "r1");
  all_sleeping(&daemon);
  let tasks = of_runs(&daemon);
  let watchdogs: Vec<i32> = tasks
    .iter()
    .filter(|(_, cmd)| cmd.starts_with("runner __watchdog "))
    .map(|(&p, _)| p)
    .collect();
  assert_eq!(watchdogs.len(), 1, "one watchdog for the run: {tasks:#?}");
  let tasks: BTreeMap<i32, String> =
    tasks.into_iter().filter(|(pid, _)| !watchdogs.contains(pid)).collect();
  // The daemon's own children may die with it (PR_SET_PDEATHSIG); their children do not.
  let daemon_pid = daemon.child.as_ref().map(|c| c.id() as i32);
  let lasting: Vec<i32> =
    tasks.keys().copied().filter(|&pid| parent_of(pid) != daemon_pid).collect();
  assert_eq!(lasting.len(), 2, "the sleeps under a shell: {tasks:#?}");

  for &watchdog in &watchdogs {
    sigkill(watchdog);
  }
  wait_for("the watchdog is gone", PATIENCE, || {
    let left = of_runs(&daemon);
    if watchdogs.iter().any(|pid| left.contains_key(pid)) {
      Err(format!("{left:#?}"))
    } else {
      Ok(())
    }
  });
  daemon.kill9();
  let alive = tagged_processes(daemon.reaper.tag());
  assert!(lasting.iter().all(|pid| alive.contains_key(pid)), "{lasting:?} outlive: {alive:#?}");

  daemon.restart();
  let stderr = daemon.stderr();
  let line = stderr.lines().find(|l| l.contains("interrupted when the last daemon ended"));
  let line = line.unwrap_or_else(|| panic!("no line about interrupted runs:\n{stderr}"));
  let killed: usize = line
    .split_once(" (")
    .and_then(|(_, rest)| rest.split_once(' '))
    .and_then(|(n, _)| n.parse().ok())
    .unwrap_or_else(|| panic!("no count of processes killed: {line}"));
  assert!(line.starts_with("runner serve: 1 run interrupted"), "{line}");
  assert!(line.ends_with(": r1"), "{line}");
  assert!(
    (lasting.len()..=tasks.len()).contains(&killed),
    "{killed} killed; {} outlived the daemon, of {}: {line}",
    lasting.len(),
    tasks.len()
  );
  wait_for("the restart killed what was left", PATIENCE, || {
    let left = of_runs(&daemon);
    if left.is_empty() { Ok(()) } else { Err(format!("{left:#?}")) }
  });
  assert_eq!(runs(&daemon)["r1"]["state"], "interrupted");
}

#[test]
fn a_client_gone_mid_follow_costs_the_run_nothing() {
  let test = Test::new();
  let gate = |n: usize| test.path(&format!("gate-{n}"));
  let job = format!(
    "tasks:\n  talk:\n    run: for n in 1 2 3 4 5; do until [ -e {}-$n ]; do sleep 0.01; done; echo line $n; done\n",
    test.path("gate").display()
  );
  test.write("talk.yaml", &job);
  let daemon = Daemon::start(&test, &["-j", "2"]);
  let out = test.path("follow.stdout");
  let mut client = daemon
    .client(&["submit", "talk.yaml", "--follow"])
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out).expect("stdout file"))
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn submit --follow");
  std::fs::write(gate(1), "").unwrap();
  wait_for("the follower sees the first line", PATIENCE, || {
    let seen = read(&out);
    if seen.contains("[talk] line 1\n") { Ok(()) } else { Err(seen) }
  });
  client.kill().expect("kill the client");
  client.wait().expect("reap the client");

  // The next line goes out to a connection whose client is gone.
  std::fs::write(gate(2), "").unwrap();
  let output = daemon.state.join("runs/r1/output.txt");
  wait_for("the run prints its second line", PATIENCE, || {
    let text = read(&output);
    if text.contains("[talk] line 2\n") { Ok(()) } else { Err(text) }
  });
  assert_eq!(states(&daemon), [("r1".to_string(), "running".to_string())]);
  for n in 3..=5 {
    std::fs::write(gate(n), "").unwrap();
  }
  let entry = finished(&daemon, "r1");
  assert_eq!((entry["state"].as_str(), entry["exit_code"].as_i64()), (Some("succeeded"), Some(0)));
  let lines: Vec<String> = (1..=5).map(|n| format!("[talk] line {n}")).collect();
  let printed = |text: &str| -> Vec<String> {
    text.lines().filter(|l| l.starts_with("[talk] line ")).map(str::to_string).collect()
  };
  assert_eq!(printed(&read(&output)), lines, "output.txt:\n{}", read(&output));
  let logs = daemon.run(&["logs", "r1"]);
  assert_eq!(logs.code, 0, "{}", logs.stderr);
  assert_eq!(printed(&logs.stdout), lines, "logs r1:\n{}", logs.stdout);
  assert!(logs.stdout.contains("[talk] succeeded"), "{}", logs.stdout);
}

#[test]
fn keep_holds_the_newest_finished_runs_and_deletes_the_older_ones_files() {
  let test = Test::with_job(QUICK);
  let mut daemon = Daemon::start(&test, &["--keep", "3"]);
  for n in 1..=5 {
    let run = daemon.run(&["submit", "job.yaml", "--wait"]);
    assert_eq!((run.code, run.stdout.trim()), (0, format!("r{n}").as_str()), "{}", run.stderr);
  }
  let kept = |daemon: &Daemon, ids: &[&str]| {
    let expected: Vec<(String, String)> =
      ids.iter().map(|id| (id.to_string(), "succeeded".to_string())).collect();
    assert_eq!(states(daemon), expected);
    let mut dirs: Vec<String> = std::fs::read_dir(daemon.state.join("runs"))
      .expect("runs/")
      .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
      .collect();
    dirs.sort();
    assert_eq!(dirs, ids, "the run dirs kept");
  };
  kept(&daemon, &["r3", "r4", "r5"]);

  assert_eq!(daemon.shutdown(&[]), 0);
  daemon.restart();
  kept(&daemon, &["r3", "r4", "r5"]);
  let run = daemon.run(&["submit", "job.yaml", "--wait"]);
  assert_eq!((run.code, run.stdout.trim()), (0, "r6"), "{}", run.stderr);
  kept(&daemon, &["r4", "r5", "r6"]);
}
