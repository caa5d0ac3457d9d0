//! Every client verb, on the unix socket and over TCP.

use super::Daemon;
use crate::support::{
  PATIENCE, Run, Test, dedent, parse, read, sleeping, tagged_processes, wait_child, wait_for,
  wait_until,
};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Stdio};

const JOB: &str = "
  tasks:
    one:
      run: echo hello from one
    two:
      needs: [one]
      run: echo two; exit 3
";

/// A task that says it started, then waits until the test opens the gate.
const GATED: &str = "
  tasks:
    hold:
      run: touch hold.started; while [ ! -e gate ]; do sleep 0.02; done; echo through the gate
";

/// A task that sleeps (exec'd, so the sleep is the task's process) once it said it started.
const SLEEPY: &str = "
  tasks:
    quick:
      run: echo quick
    slow:
      run: touch slow.started; exec sleep 60
    after:
      needs: [slow]
      run: echo after
";

/// A daemon on the unix socket, or (`tcp`) on a loopback port.
pub(super) fn daemon(test: &Test, tcp: bool, args: &[&str]) -> Daemon {
  if tcp { Daemon::tcp(test, args) } else { Daemon::start(test, args) }
}

/// A client running in the background, its stdout and stderr going to files; killed when
/// dropped unfinished.
pub(super) struct Pending {
  child: Child,
  out: PathBuf,
  err: PathBuf,
}

impl Pending {
  /// `runner ARGS...` as a client of `daemon`; `name` names its output files.
  pub(super) fn spawn(daemon: &Daemon, name: &str, args: &[&str]) -> Pending {
    let out = daemon.cwd.join(format!("{name}.stdout"));
    let err = daemon.cwd.join(format!("{name}.stderr"));
    let child = daemon
      .client(args)
      .stdin(Stdio::null())
      .stdout(std::fs::File::create(&out).expect("stdout file"))
      .stderr(std::fs::File::create(&err).expect("stderr file"))
      .spawn()
      .expect("spawn the client");
    Pending { child, out, err }
  }

  /// What it printed to stdout so far.
  pub(super) fn stdout(&self) -> String {
    read(&self.out)
  }

  /// Whether it has not exited yet.
  pub(super) fn running(&mut self) -> bool {
    self.child.try_wait().expect("try_wait").is_none()
  }

  /// Waits for its end (failing after PATIENCE): how it exited and what it printed.
  #[track_caller]
  pub(super) fn finish(mut self) -> Run {
    let Some(status) = wait_child(&mut self.child, PATIENCE) else {
      panic!("the client did not exit within {PATIENCE:?}; stdout:\n{}", self.stdout());
    };
    Run { code: crate::support::code_of(status), stdout: self.stdout(), stderr: read(&self.err) }
  }
}

impl Drop for Pending {
  fn drop(&mut self) {
    if let Ok(None) = self.child.try_wait() {
      let _ = self.child.kill();
      let _ = self.child.wait();
    }
  }
}

/// Run `run`'s entry, as `status RUN --json` gives it.
#[track_caller]
pub(super) fn entry(daemon: &Daemon, run: &str) -> Value {
  let status = daemon.run(&["status", run, "--json"]);
  assert_eq!(status.code, 0, "status {run}: {}", status.stderr);
  let reply = parse(&status.stdout);
  assert_eq!(reply["runs"].as_array().map(Vec::len), Some(1), "status {run}: {reply}");
  reply["runs"][0].clone()
}

/// Waits until run `run` is in `state`, failing at once if it ends in another.
#[track_caller]
pub(super) fn wait_state(daemon: &Daemon, run: &str, state: &str) -> Value {
  wait_for(&format!("{run} is {state}"), PATIENCE, || {
    // A run submitted in the background may not be there yet.
    let status = daemon.run(&["status", run, "--json"]);
    if status.code != 0 {
      return Err(status.stderr);
    }
    let entry = parse(&status.stdout)["runs"][0].clone();
    let ended = ["succeeded", "failed", "cancelled", "interrupted"].map(Value::from);
    match &entry["state"] {
      now if now == state => Ok(entry),
      now if ended.contains(now) => panic!("{run} ended {now}, not {state}: {entry}"),
      _ => Err(entry.to_string()),
    }
  })
}

/// Waits until the test's dir holds `name`.
#[track_caller]
pub(super) fn wait_file(test: &Test, name: &str) {
  wait_until(&format!("`{name}` exists"), PATIENCE, || test.path(name).exists());
}

/// The processes of the daemon's runs still alive: those with its tag but the daemon itself.
fn left_by_runs(daemon: &Daemon) -> Vec<String> {
  let pid = daemon.child.as_ref().map(|c| c.id() as i32);
  let left = tagged_processes(daemon.reaper.tag());
  left.into_iter().filter(|(p, _)| Some(*p) != pid).map(|(p, cmd)| format!("{p}: {cmd}")).collect()
}

#[track_caller]
fn assert_runs_left_nothing(daemon: &Daemon) {
  wait_for("the runs' processes are gone", PATIENCE, || {
    let left = left_by_runs(daemon);
    if left.is_empty() { Ok(()) } else { Err(left.join("\n")) }
  });
}

/// Run `run`'s last journal entry, from the state dir (for after the daemon is gone).
fn journaled(daemon: &Daemon, run: &str) -> Value {
  let journal = read(&daemon.state.join("journal.jsonl"));
  let mut entries = journal.lines().rev().filter_map(|l| serde_json::from_str::<Value>(l).ok());
  entries.find(|e| e["run"] == run).unwrap_or(Value::Null)
}

#[test]
fn submit_wait_exits_with_the_run_s_code_on_both_transports() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    let daemon = daemon(&test, tcp, &["-j", "2"]);
    let run = daemon.run(&["submit", "job.yaml", "--wait"]);
    assert_eq!(
      run.code, 1,
      "a failed run exits 1, as `runner run` does (tcp {tcp}): {}",
      run.stderr
    );
    assert_eq!(run.stdout.trim(), "r1");
    let run = daemon.run(&["submit", "job.yaml", "one", "--wait"]);
    assert_eq!((run.code, run.stdout.trim()), (0, "r2"), "tcp {tcp}: {}", run.stderr);
    let status = daemon.status();
    let states: Vec<_> =
      status["runs"].as_array().unwrap().iter().map(|r| r["state"].clone()).collect();
    assert_eq!(states, [json!("failed"), json!("succeeded")]);
    // Every line is in the run's output.txt; a file per attempt only with --attempt-logs.
    let run_dir = daemon.state.join("runs/r1");
    assert!(read(&run_dir.join("output.txt")).contains("[one] hello from one"));
    assert!(run_dir.join("report.json").exists() && run_dir.join("junit.xml").exists());
    assert!(!run_dir.join("logs").exists(), "no logs/ without --attempt-logs");
  }
}

#[test]
fn submit_alone_prints_the_run_id_and_returns_while_the_run_goes_on() {
  for tcp in [false, true] {
    let test = Test::with_job(GATED);
    let daemon = daemon(&test, tcp, &[]);
    let run = daemon.run(&["submit", "job.yaml"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "r1\n"), "tcp {tcp}: {}", run.stderr);
    // The run cannot end before the gate opens, which is after `submit` returned.
    let state = entry(&daemon, "r1")["state"].clone();
    assert!(state == "queued" || state == "running", "tcp {tcp}: {state}");
    wait_file(&test, "hold.started");
    test.write("gate", "");
    let end = wait_state(&daemon, "r1", "succeeded");
    assert_eq!(end["exit_code"], 0);
    let second = daemon.run(&["submit", "job.yaml"]);
    assert_eq!(second.stdout, "r2\n", "ids count up: {}", second.stderr);
  }
}

#[test]
fn submit_wait_of_a_run_cancelled_while_running_exits_143_and_its_sleep_is_gone() {
  for tcp in [false, true] {
    let test = Test::with_job(SLEEPY);
    let daemon = daemon(&test, tcp, &["-j", "2"]);
    let waiting = Pending::spawn(&daemon, "submit", &["submit", "job.yaml", "--wait"]);
    wait_file(&test, "slow.started");
    let tag = daemon.reaper.tag();
    wait_until("the task's sleep runs", PATIENCE, || sleeping(tag, "60") == 1);
    let cancel = daemon.run(&["cancel", "r1"]);
    assert_eq!((cancel.code, cancel.stderr.trim()), (0, "r1: stopping"), "tcp {tcp}");
    let waited = waiting.finish();
    assert_eq!((waited.code, waited.stdout.trim()), (143, "r1"), "tcp {tcp}: {}", waited.stderr);
    let end = entry(&daemon, "r1");
    assert_eq!((&end["state"], &end["exit_code"]), (&json!("cancelled"), &json!(143)), "{end}");
    assert_runs_left_nothing(&daemon);
    let logs = daemon.run(&["logs", "r1"]);
    for line in ["[quick] succeeded in ", "[slow] cancelled in ", "runner: interrupted (exit 143)"]
    {
      assert!(logs.stdout.lines().any(|l| l.starts_with(line)), "{line:?} in\n{}", logs.stdout);
    }
    assert!(logs.stdout.lines().any(|l| l == "[after] cancelled"), "{}", logs.stdout);
    let again = daemon.run(&["cancel", "r1"]);
    assert_eq!((again.code, again.stderr.trim()), (0, "r1: cancelled already"));
  }
}

#[test]
fn cancel_of_one_task_stops_it_alone_and_the_run_goes_on() {
  let job = "
    tasks:
      quick:
        run: echo quick
      slow:
        run: touch slow.started; exec sleep 60
      after:
        needs: [slow]
        run: echo after
      later:
        needs: [quick]
        run: while [ ! -e gate ]; do sleep 0.02; done; echo later ran
  ";
  for tcp in [false, true] {
    let test = Test::with_job(job);
    let daemon = daemon(&test, tcp, &["-j", "3"]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    wait_file(&test, "slow.started");
    let tag = daemon.reaper.tag();
    wait_until("the task's sleep runs", PATIENCE, || sleeping(tag, "60") == 1);
    let typo = daemon.run(&["cancel", "r1", "slwo"]);
    assert_eq!(typo.code, 2, "an unknown task: {}", typo.stderr);
    assert_eq!(typo.stderr.trim(), "error: run `r1` has no task `slwo`; did you mean `slow`?");
    let cancel = daemon.run(&["cancel", "r1", "slow"]);
    assert_eq!((cancel.code, cancel.stderr.trim()), (0, "r1: cancelling `slow`"), "tcp {tcp}");
    wait_until("the sleep is gone", PATIENCE, || sleeping(tag, "60") == 0);
    assert_eq!(entry(&daemon, "r1")["state"], "running", "`later` still waits for the gate");
    test.write("gate", "");
    // The engine's verdict: a cancelled task is no failure; what needs it is skipped.
    let end = wait_state(&daemon, "r1", "succeeded");
    assert_eq!(end["exit_code"], 0, "{end}");
    assert_runs_left_nothing(&daemon);
    let report = parse(&read(&daemon.state.join("runs/r1/report.json")));
    let statuses: Vec<(String, String)> = report["tasks"]
      .as_array()
      .expect("tasks")
      .iter()
      .map(|t| (t["name"].as_str().unwrap().into(), t["status"].as_str().unwrap().into()))
      .collect();
    let expected = [("quick", "succeeded"), ("slow", "cancelled"), ("after", "skipped")];
    for (task, status) in expected.iter().chain(&[("later", "succeeded")]) {
      assert!(
        statuses.contains(&(task.to_string(), status.to_string())),
        "{task} {status} in {statuses:?}"
      );
    }
    let logs = daemon.run(&["logs", "r1", "later"]).code(0).stdout.clone();
    assert!(logs.contains("[later] later ran\n"), "{logs}");
  }
}

#[test]
fn cancel_of_a_queued_run_ends_it_cancelled_before_it_ever_runs() {
  for tcp in [false, true] {
    let test = Test::with_job(GATED);
    test.write("other.yaml", "tasks:\n  mark:\n    run: touch other.ran\n");
    let daemon = daemon(&test, tcp, &["--max-runs", "1"]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    wait_file(&test, "hold.started");
    let waiting = Pending::spawn(&daemon, "submit", &["submit", "other.yaml", "--wait"]);
    wait_state(&daemon, "r2", "queued");
    let cancel = daemon.run(&["cancel", "r2"]);
    assert_eq!(cancel.stderr.trim(), "r2: cancelled before it started", "tcp {tcp}");
    let waited = waiting.finish();
    assert_eq!(
      (waited.code, waited.stdout.trim()),
      (143, "r2"),
      "a cancelled run exits as a stopped one: {}",
      waited.stderr
    );
    test.write("gate", "");
    wait_state(&daemon, "r1", "succeeded");
    // Runs start in order: had r2 stayed queued, it would have run before r3.
    let third = daemon.run(&["submit", "job.yaml", "--wait"]);
    assert_eq!((third.code, third.stdout.trim()), (0, "r3"), "{}", third.stderr);
    assert!(!test.path("other.ran").exists(), "the cancelled run ran");
    let end = entry(&daemon, "r2");
    assert_eq!(end["state"], "cancelled", "{end}");
    assert_eq!((&end["started_ms"], &end["exit_code"]), (&Value::Null, &Value::Null), "{end}");
    assert_eq!(daemon.run(&["logs", "r2"]).code(0).stdout, "", "it printed nothing");
  }
}

#[test]
fn status_shows_every_run_or_one_as_a_table_or_json() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    test.write("gated.yaml", &dedent(GATED));
    let daemon = daemon(&test, tcp, &["-j", "2"]);
    daemon.run(&["submit", "job.yaml", "--wait"]).code(1);
    daemon.run(&["submit", "job.yaml", "one", "--wait"]).code(0);
    daemon.run(&["submit", "gated.yaml"]).code(0);
    wait_file(&test, "hold.started");
    let (job, gated) = (test.path("job.yaml"), test.path("gated.yaml"));
    let (job, gated) = (job.to_str().unwrap(), gated.to_str().unwrap());

    let table = daemon.run(&["status"]).code(0).stdout.clone();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "a header, 3 runs, the counts:\n{table}");
    assert_eq!(
      lines[0].split_whitespace().collect::<Vec<_>>(),
      ["RUN", "STATE", "EXIT", "DURATION", "FILE"]
    );
    let row = |line: &str| line.split_whitespace().map(String::from).collect::<Vec<_>>();
    let (r1, r2, r3) = (row(lines[1]), row(lines[2]), row(lines[3]));
    assert_eq!([&r1[..3], &r1[4..]].concat(), ["r1", "failed", "1", job], "{table}");
    assert_eq!([&r2[..3], &r2[4..]].concat(), ["r2", "succeeded", "0", job], "{table}");
    assert!(r1[3].ends_with('s'), "a duration: {table}");
    assert_eq!(r3, ["r3", "running", "-", "-", gated], "{table}");
    assert_eq!(lines[4], "3 runs kept; 1 running, 0 queued");

    let one = daemon.run(&["status", "r2"]).code(0).stdout.clone();
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), 3, "{one}");
    assert_eq!(row(lines[1])[..3], ["r2", "succeeded", "0"], "{one}");
    assert_eq!(lines[2], "1 running, 0 queued");

    let all = daemon.status();
    let runs = all["runs"].as_array().expect("runs");
    let seen: Vec<_> = runs.iter().map(|r| (r["run"].clone(), r["state"].clone())).collect();
    assert_eq!(
      seen,
      [
        (json!("r1"), json!("failed")),
        (json!("r2"), json!("succeeded")),
        (json!("r3"), json!("running"))
      ]
    );
    assert_eq!(
      (&all["running"], &all["queued"], &all["slots"]["jobs"]),
      (&json!(1), &json!(0), &json!(2))
    );
    assert_eq!((&runs[0]["exit_code"], &runs[0]["file"]), (&json!(1), &json!(job)));
    assert_eq!(runs[0]["cause"], "`two` failed");
    assert_eq!(runs[1]["targets"], json!(["one"]));
    let one = entry(&daemon, "r1");
    assert_eq!(one, runs[0], "one run's entry is the one in the list");

    let unknown = daemon.run(&["status", "r9"]);
    assert_eq!((unknown.code, unknown.stderr.trim()), (2, "error: no run `r9`"), "tcp {tcp}");
    test.write("gate", "");
    wait_state(&daemon, "r3", "succeeded");
  }
}

#[test]
fn logs_print_a_run_s_output_or_one_task_s_lines() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    let daemon = daemon(&test, tcp, &["-j", "2"]);
    daemon.run(&["submit", "job.yaml", "--wait"]).code(1);
    let logs = daemon.run(&["logs", "r1"]).code(0).stdout.clone();
    assert_eq!(logs, read(&daemon.state.join("runs/r1/output.txt")), "tcp {tcp}");
    for line in ["[one] hello from one", "[two] two", "summary:"] {
      assert!(logs.lines().any(|l| l == line), "{line:?} in\n{logs}");
    }
    assert!(logs.lines().last().unwrap().starts_with("runner: failed (exit 1) in "), "{logs}");

    let two = daemon.run(&["logs", "r1", "two"]).code(0).stdout.clone();
    let expected: String =
      logs.lines().filter(|l| l.starts_with("[two] ")).map(|l| l.to_string() + "\n").collect();
    assert_eq!(two, expected, "only `two`'s lines");
    assert_eq!(two.lines().count(), 3, "started, its output, its end:\n{two}");

    let events = daemon.run(&["logs", "r1", "two", "--output", "json"]).code(0).stdout.clone();
    let events: Vec<Value> = events.lines().map(parse).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["task_started", "output", "task_finished"], "{events:?}");
    assert!(events.iter().all(|e| e["task"] == "two"), "{events:?}");

    let unknown = daemon.run(&["logs", "r9"]);
    assert_eq!((unknown.code, unknown.stdout.as_str()), (2, ""), "tcp {tcp}");
    assert_eq!(unknown.stderr.trim(), "error: no run `r9`");
    let no_task = daemon.run(&["logs", "r1", "tow"]);
    assert_eq!((no_task.code, no_task.stdout.as_str()), (2, ""), "tcp {tcp}");
    assert_eq!(no_task.stderr.trim(), "error: run `r1` has no task `tow`");
  }
}

#[test]
fn shutdown_lets_a_running_run_finish_and_refuses_new_ones_meanwhile() {
  for tcp in [false, true] {
    let test = Test::with_job(GATED);
    test.write("other.yaml", "tasks:\n  mark:\n    run: touch other.ran\n");
    let mut daemon = daemon(&test, tcp, &["--max-runs", "1"]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    wait_file(&test, "hold.started");
    assert_eq!(daemon.run(&["submit", "other.yaml"]).stdout, "r2\n");
    let stopping = Pending::spawn(&daemon, "shutdown", &["shutdown"]);
    // The shutdown cancels the queued run: then it has come.
    wait_state(&daemon, "r2", "cancelled");
    let refused = daemon.run(&["submit", "other.yaml"]);
    assert_eq!(refused.code, 1, "tcp {tcp}: {}", refused.stderr);
    assert_eq!(refused.stderr.trim(), "error: the daemon is shutting down and takes no new run");
    let mut raw = daemon.greeted();
    let cwd = test.dir.path().to_str().unwrap();
    let reply = raw.ask(&json!({"verb": "submit", "file": "other.yaml", "cwd": cwd}).to_string());
    assert_eq!((&reply["ok"], &reply["error"]), (&json!(false), &json!("shutting_down")));
    drop(raw);
    assert_eq!(entry(&daemon, "r1")["state"], "running");
    let mut stopping = stopping;
    assert!(stopping.running(), "shutdown waits for the running run");
    test.write("gate", "");
    let stopped = stopping.finish();
    assert_eq!((stopped.code, stopped.stderr.trim()), (0, "runner serve: stopped"), "tcp {tcp}");
    let mut child = daemon.child.take().expect("the daemon");
    let status = wait_child(&mut child, PATIENCE).expect("the daemon exits");
    assert_eq!(crate::support::code_of(status), 0, "{}", daemon.stderr());
    let r1 = journaled(&daemon, "r1");
    assert_eq!((&r1["state"], &r1["exit_code"]), (&json!("succeeded"), &json!(0)), "{r1}");
    assert_eq!(journaled(&daemon, "r2")["state"], "cancelled");
    assert!(!test.path("other.ran").exists(), "no run started after the shutdown");
    assert!(!daemon.state.join("address").exists(), "the address file is gone");
    assert!(!daemon.state.join("serve.sock").exists(), "the socket is gone");
  }
}

#[test]
fn shutdown_now_stops_the_running_run_and_the_daemon_exits() {
  for tcp in [false, true] {
    let test = Test::with_job(SLEEPY);
    let mut daemon = daemon(&test, tcp, &["-j", "2"]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    wait_file(&test, "slow.started");
    let tag = daemon.reaper.tag().to_string();
    wait_until("the task's sleep runs", PATIENCE, || sleeping(&tag, "60") == 1);
    assert_eq!(daemon.shutdown(&["--now"]), 0, "tcp {tcp}: {}", daemon.stderr());
    let r1 = journaled(&daemon, "r1");
    assert_eq!((&r1["state"], &r1["exit_code"]), (&json!("cancelled"), &json!(143)), "{r1}");
    crate::support::assert_all_gone(&tag, PATIENCE);
    assert!(!daemon.state.join("address").exists(), "the address file is gone");
    assert!(!daemon.state.join("serve.sock").exists(), "the socket is gone");
  }
}

/// Job file `NAME.yaml`: its tasks are named as the other run's; each waits until both runs
/// run, then prints its env and passes on its result.
fn twin(who: &str) -> String {
  dedent(&format!(
    r#"
    env: {{WHO: {who}}}
    tasks:
      make:
        run: touch "started.$WHO"; while [ ! -e started.a ] || [ ! -e started.b ]; do sleep 0.02; done; echo "made by $WHO"
      use:
        needs: [make]
        run: echo "use got $RUNNER_RESULT_MAKE"; test "$WHO" = a
    "#
  ))
}

#[test]
fn runs_of_same_named_tasks_at_once_keep_their_env_results_and_output_apart() {
  for tcp in [false, true] {
    let test = Test::new();
    test.write("a.yaml", &twin("a"));
    test.write("b.yaml", &twin("b"));
    let daemon = daemon(&test, tcp, &["-j", "2", "--attempt-logs"]);
    let a = Pending::spawn(&daemon, "a", &["submit", "a.yaml", "--wait"]);
    let b = Pending::spawn(&daemon, "b", &["submit", "b.yaml", "--wait"]);
    let (a, b) = (a.finish(), b.finish());
    let mut runs =
      [(a.stdout.trim().to_string(), a.code, "a"), (b.stdout.trim().to_string(), b.code, "b")];
    runs.sort();
    let ids: Vec<&str> = runs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"], "{runs:?}");
    for (id, code, who) in &runs {
      let other = if *who == "a" { "b" } else { "a" };
      assert_eq!(
        *code,
        if *who == "a" { 0 } else { 1 },
        "run {who} ({id}) exits with its own result"
      );
      let output = read(&daemon.state.join(format!("runs/{id}/output.txt")));
      for line in [format!("[make] made by {who}"), format!("[use] use got made by {who}")] {
        assert!(output.lines().any(|l| l == line), "{line:?} in {id}:\n{output}");
      }
      assert!(
        !output.contains(&format!("by {other}")),
        "{id} has a line of run {other}:\n{output}"
      );
      let report = parse(&read(&daemon.state.join(format!("runs/{id}/report.json"))));
      assert_eq!(report["file"], json!(test.path(&format!("{who}.yaml")).to_str().unwrap()));
      let log = read(&daemon.state.join(format!("runs/{id}/logs/use/attempt-1.stdout")));
      assert_eq!(log, format!("use got made by {who}\n"), "{id}'s log of `use`");
    }
  }
}

#[test]
fn a_run_s_end_or_cancel_leaves_the_tasks_of_other_runs_alone() {
  for tcp in [false, true] {
    let test = Test::with_job(GATED);
    test.write("short.yaml", "tasks:\n  short:\n    run: echo short\n");
    test.write("sleepy.yaml", &dedent(SLEEPY));
    let daemon = daemon(&test, tcp, &["-j", "3"]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    wait_file(&test, "hold.started");
    let short = daemon.run(&["submit", "short.yaml", "--wait"]);
    assert_eq!((short.code, short.stdout.trim()), (0, "r2"), "tcp {tcp}: {}", short.stderr);
    assert_eq!(daemon.run(&["submit", "sleepy.yaml"]).stdout, "r3\n");
    wait_file(&test, "slow.started");
    daemon.run(&["cancel", "r3"]).code(0);
    wait_state(&daemon, "r3", "cancelled");
    assert_eq!(entry(&daemon, "r1")["state"], "running", "tcp {tcp}");
    test.write("gate", "");
    wait_state(&daemon, "r1", "succeeded");
    let logs = daemon.run(&["logs", "r1", "hold"]).stdout;
    assert!(logs.contains("[hold] through the gate\n"), "tcp {tcp}:\n{logs}");
  }
}

#[test]
fn shared_slots_go_to_runs_in_turn_not_to_the_first_run_s_whole_backlog() {
  let mut first = String::from("tasks:\n");
  for n in 1..=6 {
    first += &format!(
      "  a{n}:\n    run: echo a{n} >> order; while [ ! -e gate-a ]; do sleep 0.02; done\n"
    );
  }
  let second =
    "tasks:\n  b:\n    run: echo b >> order; while [ ! -e gate-b ]; do sleep 0.02; done\n";
  for tcp in [false, true] {
    let test = Test::new();
    test.write("a.yaml", &first);
    test.write("b.yaml", second);
    let daemon = daemon(&test, tcp, &["-j", "1"]);
    assert_eq!(daemon.run(&["submit", "a.yaml"]).stdout, "r1\n");
    wait_until("a1 holds the one slot", PATIENCE, || test.read("order") == "a1\n");
    assert_eq!(daemon.run(&["submit", "b.yaml"]).stdout, "r2\n");
    // r1 asks for no more than its -j: r2 alone waits in line.
    wait_for("r2 waits for a slot", PATIENCE, || {
      let status = daemon.status();
      let waiting = status["slots"]["runs_waiting"] == 1 && status["runs"][1]["state"] == "running";
      if waiting { Ok(()) } else { Err(status.to_string()) }
    });
    test.write("gate-a", "");
    // a1 ends: the slot goes to r2, first in line, though r1 has five tasks ready; r2 holds it
    // until gate-b opens, so nothing of r1 can have run meanwhile.
    wait_until("a second task runs", PATIENCE, || test.read("order").lines().count() >= 2);
    assert_eq!(test.read("order"), "a1\nb\n", "tcp {tcp}");
    test.write("gate-b", "");
    wait_state(&daemon, "r2", "succeeded");
    wait_until("r1's other tasks ran", PATIENCE, || test.read("order").lines().count() == 7);
    let order = test.read("order");
    assert_eq!(order.lines().collect::<Vec<_>>(), ["a1", "b", "a2", "a3", "a4", "a5", "a6"]);
  }
}
