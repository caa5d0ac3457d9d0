//! Many clients at once: every run accounted for, every line of its output kept, the daemon
//! bounded.

use super::Daemon;
use crate::support::{Run, Test, code_of, read, wait_child};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

const CLIENTS: usize = 50;
const RUNS: usize = 1000;
/// The daemon's peak RSS stays under this. Measured: 26 MiB (debug build, 1,000 runs of 3 tasks,
/// every entry kept); the rest is margin, and a leak of 20 kB a run breaks it.
const PEAK_KB: u64 = 48 * 1024;
/// How long one `submit --wait` may take, queued behind the other clients' runs.
const WAIT: Duration = Duration::from_secs(120);

/// Client `c`'s job: three tasks, the second needing the first, each printing lines that say
/// whose they are.
fn job(c: usize) -> String {
  format!(
    "tasks:\n  first:\n    run: echo c{c} first a; echo c{c} first b\n  second:\n    needs: [first]\n    run: echo c{c} second\n  third:\n    run: echo c{c} third\n"
  )
}

/// What a run of client `c`'s job prints, task by task, each task's lines in order.
fn expected(c: usize) -> Vec<String> {
  by_task(vec![
    format!("[first] c{c} first a"),
    format!("[first] c{c} first b"),
    format!("[second] c{c} second"),
    format!("[third] c{c} third"),
  ])
}

/// The task of a plain output line `[task] ...`.
fn task_of(line: &str) -> &str {
  line.strip_prefix('[').and_then(|l| l.split_once(']')).map_or("", |(task, _)| task)
}

/// Lines grouped by task (a stable sort: each task's lines keep their order).
fn by_task(mut lines: Vec<String>) -> Vec<String> {
  lines.sort_by(|a, b| task_of(a).cmp(task_of(b)));
  lines
}

/// What the tasks of a run printed, from its `output.txt`: the task lines but those that say
/// a task started or ended.
fn printed(output: &str) -> Vec<String> {
  let own =
    |l: &&str| l.starts_with('[') && !l.ends_with("] started") && !l.contains("] succeeded in ");
  by_task(output.lines().filter(own).map(str::to_string).collect())
}

/// The `q` quantile of `sorted`.
fn quantile(sorted: &[u64], q: f64) -> u64 {
  sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The daemon's peak RSS in kB (`VmHWM`).
fn peak_kb(daemon: &Daemon) -> u64 {
  let pid = daemon.child.as_ref().expect("a running daemon").id();
  let status = read(std::path::Path::new(&format!("/proc/{pid}/status")));
  let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"));
  line.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).expect("VmHWM")
}

#[test]
fn a_thousand_runs_from_fifty_clients_all_finish_with_every_line() {
  let test = Test::new();
  for c in 0..CLIENTS {
    test.write(&format!("job-{c}.yaml"), &job(c));
  }
  let daemon = Daemon::start(&test, &["-j", "4", "--keep", "2000"]);
  let began = Instant::now();
  let submitted: Vec<(usize, String, i32, String)> = std::thread::scope(|scope| {
    let clients: Vec<_> = (0..CLIENTS)
      .map(|c| {
        let daemon = &daemon;
        scope.spawn(move || {
          let file = format!("job-{c}.yaml");
          let submit = |_| {
            let run = submit_wait(daemon, &file);
            (c, run.stdout.trim().to_string(), run.code, run.stderr)
          };
          (0..RUNS / CLIENTS).map(submit).collect::<Vec<_>>()
        })
      })
      .collect();
    clients.into_iter().flat_map(|t| t.join().expect("a client thread")).collect()
  });
  let took = began.elapsed();

  let failed: Vec<_> = submitted.iter().filter(|(_, _, code, _)| *code != 0).take(5).collect();
  assert!(failed.is_empty(), "submit --wait failed: {failed:#?}");
  let client_of: BTreeMap<String, usize> =
    submitted.iter().map(|(c, id, _, _)| (id.clone(), *c)).collect();
  assert_eq!(client_of.len(), RUNS, "each submission got a run of its own");

  let status = daemon.status();
  let runs = status["runs"].as_array().cloned().unwrap_or_default();
  let listed: BTreeSet<&str> = runs.iter().filter_map(|r| r["run"].as_str()).collect();
  let ids: BTreeSet<&str> = client_of.keys().map(String::as_str).collect();
  assert_eq!(listed, ids, "status lists every run submitted, and only those");
  let unfinished: Vec<&Value> = runs.iter().filter(|r| r["state"] != "succeeded").collect();
  assert!(unfinished.is_empty(), "not succeeded: {unfinished:#?}");
  assert_eq!((&status["running"], &status["queued"]), (&Value::from(0), &Value::from(0)));

  for (id, &c) in &client_of {
    let output = read(&daemon.state.join("runs").join(id).join("output.txt"));
    assert_eq!(printed(&output), expected(c), "{id} (client {c}) output.txt:\n{output}");
    let (first_done, second_began) =
      (output.find("[first] succeeded"), output.find("[second] started"));
    assert!(
      first_done < second_began && first_done.is_some(),
      "{id}: `second` needs `first`:\n{output}"
    );
    assert!(output.contains("runner: succeeded (exit 0)"), "{id}:\n{output}");
  }

  let mut waits: Vec<u64> = runs
    .iter()
    .map(|r| {
      let (submitted, started) = (r["submitted_ms"].as_u64(), r["started_ms"].as_u64());
      started.unwrap_or(0).saturating_sub(submitted.unwrap_or(0))
    })
    .collect();
  waits.sort_unstable();
  let peak = peak_kb(&daemon);
  eprintln!(
    "{RUNS} runs from {CLIENTS} clients in {:.1}s ({:.0} runs/s); submit to start p50 {} ms, \
     p99 {} ms; daemon peak RSS {} kB",
    took.as_secs_f64(),
    RUNS as f64 / took.as_secs_f64(),
    quantile(&waits, 0.5),
    quantile(&waits, 0.99),
    peak
  );
  assert!(peak < PEAK_KB, "the daemon's peak RSS is {peak} kB, over {PEAK_KB} kB");
}

/// `submit FILE --wait`, killed and failed if its run has not ended within `WAIT`.
fn submit_wait(daemon: &Daemon, file: &str) -> Run {
  let mut child = daemon
    .client(&["submit", file, "--wait"])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn submit --wait");
  let Some(status) = wait_child(&mut child, WAIT) else {
    let _ = child.kill();
    let _ = child.wait();
    return Run { code: -1, stdout: String::new(), stderr: format!("no end within {WAIT:?}") };
  };
  let (mut stdout, mut stderr) = (String::new(), String::new());
  if let Some(mut pipe) = child.stdout.take() {
    let _ = pipe.read_to_string(&mut stdout);
  }
  if let Some(mut pipe) = child.stderr.take() {
    let _ = pipe.read_to_string(&mut stderr);
  }
  Run { code: code_of(status), stdout, stderr }
}
