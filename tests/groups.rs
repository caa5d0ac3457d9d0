//! `gather` and `wait` groups end to end, replaying the asyncio chapter's examples (the job files
//! in `jobs/`) and the rules of the spec's "Groups" section with the real binary and real
//! processes.
//!
//! Timing is observed, never slept for: a runner is started in the background and its stdout is
//! polled, so each line gets the wall time at which it appeared. Every runner gets a unique
//! environment variable, inherited by its tasks, so the process table tells which processes are
//! its tasks' (and whether any outlived their cancellation) even for job files that run a plain
//! `sleep 3`.

use crate::support::{
  BIN, Background, PATIENCE, Reaper, Run, Test, assert_all_gone, assert_line, assert_line_starting,
  events, finished, lines_of, parse, repo, tagged_processes,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers

fn secs(s: f64) -> Duration {
  Duration::from_secs_f64(s)
}

/// A runner started in the background, its stdout and stderr going to files in the temp dir.
/// While it runs, its output and its tasks' processes are watched.
struct Watched {
  runner: Background,
  reaper: Reaper,
}

/// What a watched run did.
struct Watch {
  run: Run,
  /// Wall time from spawning the runner to its exit.
  took: Duration,
  /// Each stdout line with the wall time (since spawning the runner) it was first seen at.
  lines: Vec<(Duration, String)>,
  /// The command lines of every process of the run's tasks seen while it ran.
  seen: Vec<String>,
}

impl Watched {
  fn spawn(test: &Test, args: &[&str]) -> Self {
    let reaper = Reaper::new("groups");
    Self { runner: Background::spawn(test, reaper.tag(), args), reaper }
  }

  /// Polls until the runner exits; kills it and fails after `deadline`.
  #[track_caller]
  fn wait(self, deadline: Duration) -> Watch {
    self.wait_with(deadline, |_| {})
  }

  /// Like `wait`, calling `on_poll` after each look at the runner's output and the process
  /// table, so a task can be let go on once the test has seen something happen.
  #[track_caller]
  fn wait_with(mut self, deadline: Duration, mut on_poll: impl FnMut(&Seen)) -> Watch {
    let runner = self.runner.pid();
    let mut lines: Vec<(Duration, String)> = Vec::new();
    // (pid, command line): a forked shell child shows the shell's until it execs.
    let mut seen = BTreeSet::new();
    let mut buffered = 0;
    let status = loop {
      let exited = self.runner.try_wait();
      let now = self.runner.elapsed();
      // Complete lines only: the last one may still be half written.
      let text = self.runner.stdout();
      if let Some(end) = text.rfind('\n') {
        for line in text[..=end].lines().skip(buffered) {
          lines.push((now, line.to_string()));
        }
        buffered = text[..=end].lines().count();
      }
      for (pid, cmd) in tagged_processes(self.reaper.tag()) {
        if pid != runner {
          seen.insert((pid, cmd));
        }
      }
      on_poll(&Seen {
        commands: seen.iter().map(|(_, cmd)| cmd.clone()).collect(),
        lines: lines.iter().map(|(_, l)| l.clone()).collect(),
      });
      if let Some(status) = exited {
        break status;
      }
      if now > deadline {
        self.runner.fail_hung(deadline);
      }
      std::thread::sleep(Duration::from_millis(10));
    };
    let (run, took) = self.runner.finish(status);
    // The runner is gone: whatever still carries its tag outlived it.
    assert_all_gone(self.reaper.tag(), Duration::from_secs(5));
    Watch { run, took, lines, seen: seen.into_iter().map(|(_, cmd)| cmd).collect() }
  }
}

impl Watch {
  /// Every stdout line parsed as JSON (for `--output json`).
  #[track_caller]
  fn events(&self) -> Vec<Value> {
    events(&self.run)
  }

  /// When the first line matching `pred` appeared.
  #[track_caller]
  fn time_of(&self, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
    self
      .lines
      .iter()
      .find(|(_, l)| pred(l))
      .map(|(t, _)| *t)
      .unwrap_or_else(|| panic!("no line for {what}\n{}", self.run.stdout))
  }

  /// When the `group_finished` event of `group` appeared.
  #[track_caller]
  fn group_returned_at(&self, group: &str) -> Duration {
    self.time_of(&format!("group_finished of {group}"), |l| {
      serde_json::from_str::<Value>(l)
        .is_ok_and(|e| e["event"] == "group_finished" && e["group"] == group)
    })
  }

  /// Whether a `sleep ARG` process of the run's tasks was seen while it ran.
  fn saw_sleep(&self, arg: &str) -> bool {
    self.seen.iter().any(|c| is_sleep(c, arg))
  }

  #[track_caller]
  fn assert_saw_sleep(&self, arg: &str) {
    assert!(self.saw_sleep(arg), "never saw `sleep {arg}` running; saw {:#?}", self.seen);
  }
}

/// Whether a command line is `sleep ARG` (or `/path/to/sleep ARG`, as a task may write it).
fn is_sleep(cmdline: &str, arg: &str) -> bool {
  cmdline
    .strip_suffix(&format!(" {arg}"))
    .is_some_and(|program| program == "sleep" || program.ends_with("/sleep"))
}

/// What a watched run has shown so far.
struct Seen {
  /// The command lines of the run's task processes seen so far.
  commands: Vec<String>,
  /// The complete stdout lines so far.
  lines: Vec<String>,
}

impl Seen {
  /// Whether a `--output json` event with these fields has been printed.
  fn event(&self, fields: &Value) -> bool {
    let fields = fields.as_object().expect("an object");
    self
      .lines
      .iter()
      .filter_map(|l| serde_json::from_str::<Value>(l).ok())
      .any(|e| fields.iter().all(|(k, v)| &e[k] == v))
  }

  fn finished(&self, task: &str) -> bool {
    self.event(&json!({"event": "task_finished", "task": task}))
  }
}

/// Creates `name` in the test's folder (once) when `condition` holds: a task polling for that
/// file goes on only after the test has seen what it waits for.
fn release_when(test: &Test, name: &str, condition: bool) {
  if condition && !test.path(name).exists() {
    test.write(name, "");
  }
}

/// Runs `job.yaml` (`-j 3 --output json`) whose quick member ends once the file `go` exists,
/// created when the test has seen a long member's `sleep 300` running: so the long member's
/// cancellation is a real one.
#[track_caller]
fn run_releasing_go_once_sleep_300_runs(test: &Test) -> Watch {
  let watch = Watched::spawn(test, &["run", "job.yaml", "-j", "3", "--output", "json"])
    .wait_with(PATIENCE, |seen| {
      release_when(test, "go", seen.commands.iter().any(|c| is_sleep(c, "300")))
    });
  watch.assert_saw_sleep("300");
  watch
}

/// A job file of `jobs/`, as an absolute path.
fn example(name: &str) -> String {
  repo().join("jobs").join(name).display().to_string()
}

/// Asserts `low <= value < high`, saying what was measured (also on stderr, which
/// `--nocapture` shows, to see how close to the bounds a machine runs).
#[track_caller]
fn assert_between(what: &str, value: Duration, low: Duration, high: Duration) {
  eprintln!("measured: {what} {value:?} (bounds {low:?}..{high:?})");
  assert!(low <= value && value < high, "{what}: {value:?}, expected between {low:?} and {high:?}");
}

/// The index of the first event matching `pred`.
#[track_caller]
fn position(events: &[Value], what: &str, pred: impl Fn(&Value) -> bool) -> usize {
  events.iter().position(pred).unwrap_or_else(|| panic!("no event for {what}: {events:#?}"))
}

/// The one `group_finished` event of `group`.
#[track_caller]
fn group_finished<'a>(events: &'a [Value], group: &str) -> &'a Value {
  let all: Vec<_> =
    events.iter().filter(|e| e["event"] == "group_finished" && e["group"] == group).collect();
  assert_eq!(all.len(), 1, "expected one group_finished for {group}: {events:#?}");
  all[0]
}

/// The lines task `task` wrote to stdout.
fn output_of(events: &[Value], task: &str) -> Vec<String> {
  events
    .iter()
    .filter(|e| e["event"] == "output" && e["task"] == task && e["stream"] == "stdout")
    .map(|e| e["line"].as_str().unwrap_or_default().to_string())
    .collect()
}

/// A task's duration from its `task_finished` event.
#[track_caller]
fn duration_of(events: &[Value], task: &str) -> Duration {
  let ms = finished(events, task)["duration_ms"]
    .as_u64()
    .unwrap_or_else(|| panic!("no duration_ms for {task}"));
  Duration::from_millis(ms)
}

/// A JSON array of strings as a sorted list (for done and pending sets).
fn sorted(value: &Value) -> Vec<String> {
  let mut names: Vec<String> = value
    .as_array()
    .unwrap_or_else(|| panic!("not an array: {value}"))
    .iter()
    .map(|v| v.as_str().unwrap_or_default().to_string())
    .collect();
  names.sort();
  names
}

// ---------------------------------------------------------------------------------------------
// gather

#[test]
fn gather_results_come_in_declared_order_whatever_order_members_finish_in() {
  // Each tea waits until the test has seen the runner report the one declared after it as
  // finished, so the runner sees them finish exactly in reverse order.
  let test = Test::with_job(
    r#"
    tasks:
      chamomile:
        run: while [ ! -e green.seen ]; do sleep 0.01; done; echo "chamomile tea"
      green:
        run: while [ ! -e herbal.seen ]; do sleep 0.01; done; echo "green tea"
      herbal:
        run: echo "herbal tea"
      serve:
        needs: [teas]
        run: printf '%s' "$RUNNER_RESULT_TEAS" > served.txt
    groups:
      teas:
        gather: [chamomile, green, herbal]
        on_done: printf '%s %s' "$RUNNER_STATUS" "$RUNNER_RESULT" > mixed.txt
    "#,
  );
  let watch = Watched::spawn(&test, &["run", "job.yaml", "-j", "3", "--output", "json"]).wait_with(
    PATIENCE,
    |seen| {
      release_when(&test, "herbal.seen", seen.finished("herbal"));
      release_when(&test, "green.seen", seen.finished("green"));
    },
  );
  let run = &watch.run;
  run.code(0);
  let events = events(run);
  let finish_order: Vec<&str> = events
    .iter()
    .filter(|e| e["event"] == "task_finished")
    .filter_map(|e| e["task"].as_str())
    .take(3)
    .collect();
  assert_eq!(finish_order, ["herbal", "green", "chamomile"]);
  let group = group_finished(&events, "teas");
  assert_eq!(group["status"], "succeeded");
  assert_eq!(group["done"], json!(["herbal", "green", "chamomile"]));
  assert_eq!(group["pending"], json!([]));
  assert_eq!(group["timed_out"], false);
  let declared = json!(["chamomile tea", "green tea", "herbal tea"]);
  assert_eq!(parse(&test.read("served.txt")), declared);
  // The callback is on the whole group: it sees the group's status and the whole result.
  let mixed = test.read("mixed.txt");
  let (status, result) = mixed.split_once(' ').expect("status and result");
  assert_eq!(status, "succeeded");
  assert_eq!(parse(result), declared);
  // The dependent starts only once the group has returned.
  let returned = position(&events, "group_finished", |e| e["event"] == "group_finished");
  let served =
    position(&events, "serve started", |e| e["event"] == "task_started" && e["task"] == "serve");
  assert!(returned < served, "{events:#?}");
}

#[test]
fn the_gather_example_serves_the_teas_in_declared_order() {
  let test = Test::new();
  let run = test.run(&["run", &example("gather.yaml")]);
  run.code(0);
  assert_line(&run, r#"[serve] Serving ["chamomile tea","green tea","herbal tea"]"#);
  assert_line(&run, "[teas:callback] Mixing the teas together (succeeded)");
  let at = |prefix: &str| {
    run.stdout.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in\n{}", run.stdout))
  };
  assert!(at("[teas] returned: succeeded") < at("[serve] started"));
  assert!(at("[teas:callback]") < at("[serve] started"));
}

#[test]
fn a_failed_gather_skips_its_dependents_while_the_other_members_finish() {
  // `slow` goes on only once the test has seen the group return: it is still running then.
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        run: while [ ! -e returned.seen ]; do sleep 0.01; done; echo slow; touch slow.done
      bad:
        run: echo broken; exit 3
      dep:
        needs: [teas]
        run: touch dep.ran
    groups:
      teas:
        gather: [slow, bad]
        on_failure: printf '%s' "$RUNNER_STATUS" > group-status.txt
    "#,
  );
  let watch = Watched::spawn(&test, &["run", "job.yaml", "-j", "2", "--output", "json"]).wait_with(
    PATIENCE,
    |seen| {
      let returned = seen.event(&json!({"event": "group_finished", "group": "teas"}));
      release_when(&test, "returned.seen", returned);
    },
  );
  let run = &watch.run;
  run.code(1);
  let events = events(run);
  let group = group_finished(&events, "teas");
  assert_eq!(group["status"], "failed");
  assert_eq!(group["done"], json!(["bad"]));
  assert_eq!(group["pending"], json!(["slow"]));
  assert_eq!(test.read("group-status.txt"), "failed");
  // The group fails at once: before `slow` is done, which still runs to its end.
  let returned = position(&events, "group_finished", |e| e["event"] == "group_finished");
  let slow_done =
    position(&events, "slow finished", |e| e["event"] == "task_finished" && e["task"] == "slow");
  assert!(returned < slow_done, "{events:#?}");
  assert_eq!(finished(&events, "slow")["status"], "succeeded");
  assert_eq!(output_of(&events, "slow"), ["slow"]);
  assert!(test.path("slow.done").exists());
  assert_eq!(finished(&events, "dep")["status"], "skipped");
  assert!(!test.path("dep.ran").exists());
  let last = events.last().unwrap();
  assert_eq!(last["event"], "run_finished");
  assert_eq!(last["exit_code"], 1);
}

// ---------------------------------------------------------------------------------------------
// wait: the asyncio chapter's examples

#[test]
fn a_gather_that_returns_cancelled_or_skipped_says_so_once() {
  // `w` cancels `shared`, which `gat` gathers too; `skipme` is skipped, which `gs` gathers.
  let test = Test::with_job(
    r#"
    tasks:
      shared: {run: sleep 30}
      quick: {run: echo quick}
      bad: {run: exit 1}
      skipme: {needs: [bad], run: echo no}
    groups:
      w: {wait: [shared, quick], return_when: FIRST_COMPLETED}
      gat: {gather: [shared, quick]}
      gs: {gather: [quick, skipme]}
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "4", "--output", "json"]);
  run.code(1);
  let events = events(&run);
  let gat = group_finished(&events, "gat");
  assert_eq!(gat["status"], "cancelled");
  assert_eq!(sorted(&gat["done"]), ["quick", "shared"]);
  assert_eq!(group_finished(&events, "gs")["status"], "skipped");
}

#[test]
fn wait_first_completed_returns_after_the_quickest_and_cancels_the_rest() {
  // jobs/wait.yaml: sleeps of 3, 2 and 1 s; -j 3 so all three start.
  let test = Test::new();
  let watch = Watched::spawn(&test, &["run", &example("wait.yaml"), "-j", "3", "--output", "json"])
    .wait(PATIENCE);
  watch.run.code(0);
  let events = watch.events();
  for arg in ["1", "2", "3"] {
    watch.assert_saw_sleep(arg);
  }

  let group = group_finished(&events, "sleepers");
  assert_eq!(group["status"], "succeeded");
  assert_eq!(group["done"], json!(["s1"]));
  assert_eq!(sorted(&group["pending"]), ["s2", "s3"]);
  assert_eq!(group["timed_out"], false);
  let returned = watch.group_returned_at("sleepers");
  assert_between("the group returned after", returned, secs(0.9), secs(1.9));

  // The dependent sees the group's result.
  let report = output_of(&events, "report");
  assert_eq!(report.len(), 1, "{report:?}");
  let result = parse(&report[0]);
  assert_eq!(result["done"], json!([{"name": "s1", "status": "succeeded", "result": "slept 1"}]));
  assert_eq!(sorted(&result["pending"]), ["s2", "s3"]);

  // The pending members were cancelled when the group returned, not left to finish.
  for task in ["s2", "s3"] {
    assert_eq!(finished(&events, task)["status"], "cancelled", "{task}");
    assert_between(&format!("{task} ran for"), duration_of(&events, task), secs(0.9), secs(1.9));
    assert!(output_of(&events, task).is_empty(), "{task} printed");
  }
  // So the whole run ends well before the 3 s sleeper would have.
  assert_between("the run took", watch.took, secs(0.9), secs(2.6));
  let last = events.last().unwrap();
  assert_eq!(last["event"], "run_finished");
  assert_eq!(last["exit_code"], 0);
  assert_eq!(last["counts"]["cancelled"], 2);
  assert_eq!(last["counts"]["failed"], 0);
}

#[test]
fn wait_first_exception_returns_at_the_first_failure() {
  // jobs/wait-first-exception.yaml: sleep 1, fail after 2 s, sleep 3.
  let test = Test::new();
  let watch = Watched::spawn(
    &test,
    &["run", &example("wait-first-exception.yaml"), "-j", "3", "--output", "json"],
  )
  .wait(PATIENCE);
  watch.run.code(1);
  let events = watch.events();
  watch.assert_saw_sleep("3");

  let group = group_finished(&events, "watch");
  assert_eq!(group["status"], "failed");
  assert_eq!(sorted(&group["done"]), ["boom", "s1"]);
  // `done` is in finishing order.
  assert_eq!(group["done"], json!(["s1", "boom"]));
  assert_eq!(group["pending"], json!(["s3"]));
  assert_eq!(group["timed_out"], false);
  let returned = watch.group_returned_at("watch");
  assert_between("the group returned after", returned, secs(1.9), secs(2.9));

  assert_eq!(finished(&events, "s1")["status"], "succeeded");
  assert_eq!(finished(&events, "boom")["status"], "failed");
  assert_eq!(finished(&events, "s3")["status"], "cancelled");
  assert_between("s3 ran for", duration_of(&events, "s3"), secs(1.9), secs(2.9));
  assert!(output_of(&events, "s3").is_empty());
  // The group failed: its dependent is skipped; its callback sees status and result.
  assert_eq!(finished(&events, "report")["status"], "skipped");
  let callback: Vec<&str> = events
    .iter()
    .filter(|e| e["event"] == "output" && e["task"] == "watch" && e["stream"] == "callback")
    .filter_map(|e| e["line"].as_str())
    .collect();
  assert_eq!(callback.len(), 1, "{events:#?}");
  let result = callback[0]
    .strip_prefix("watch failed ")
    .unwrap_or_else(|| panic!("callback printed {:?}", callback[0]));
  let result = parse(result);
  assert_eq!(
    result["done"],
    json!([
      {"name": "s1", "status": "succeeded", "result": "slept 1"},
      {"name": "boom", "status": "failed", "result": ""},
    ])
  );
  assert_eq!(result["pending"], json!(["s3"]));

  assert_between("the run took", watch.took, secs(1.9), secs(2.9));
  let last = events.last().unwrap();
  assert_eq!(last["exit_code"], 1);
  assert_eq!(last["counts"]["cancelled"], 1);
}

#[test]
fn wait_first_exception_without_a_failure_waits_for_all() {
  let test = Test::with_job(
    r#"
    tasks:
      one:
        run: echo one
      two:
        run: while [ ! -e one.done ]; do sleep 0.01; done; echo two
      one-done:
        needs: [one]
        run: touch one.done
    groups:
      both:
        wait: [one, two]
        return_when: FIRST_EXCEPTION
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "3", "--output", "json"]);
  run.code(0);
  let events = events(&run);
  let group = group_finished(&events, "both");
  assert_eq!(group["status"], "succeeded");
  assert_eq!(group["done"], json!(["one", "two"]));
  assert_eq!(group["pending"], json!([]));
}

#[test]
fn wait_with_a_timeout_returns_with_what_is_done() {
  // jobs/wait-timeout.yaml: wait([sleep 5, sleep 1], timeout=3).
  let test = Test::new();
  let watch = Watched::spawn(&test, &["run", &example("wait-timeout.yaml"), "--output", "json"])
    .wait(PATIENCE);
  watch.run.code(0);
  let events = watch.events();
  watch.assert_saw_sleep("5");

  let group = group_finished(&events, "sleepers");
  // A timeout alone is no failure.
  assert_eq!(group["status"], "succeeded");
  assert_eq!(group["done"], json!(["quick"]));
  assert_eq!(group["pending"], json!(["slow"]));
  assert_eq!(group["timed_out"], true);
  let returned = watch.group_returned_at("sleepers");
  assert_between("the group returned after", returned, secs(2.9), secs(4.5));

  assert_eq!(finished(&events, "quick")["status"], "succeeded");
  assert_eq!(finished(&events, "slow")["status"], "cancelled");
  assert_between("slow ran for", duration_of(&events, "slow"), secs(2.9), secs(4.5));
  assert!(output_of(&events, "slow").is_empty());
  let report = output_of(&events, "report");
  assert_eq!(report.len(), 1, "{report:?}");
  let result = parse(&report[0]);
  assert_eq!(
    result,
    json!({"done": [{"name": "quick", "status": "succeeded", "result": "slept 1"}], "pending": ["slow"]})
  );
  assert_between("the run took", watch.took, secs(2.9), secs(4.5));
  let last = events.last().unwrap();
  assert_eq!(last["exit_code"], 0);
}

#[test]
fn plain_output_says_a_wait_group_returned_on_its_timeout() {
  let test = Test::new();
  let watch = Watched::spawn(&test, &["run", &example("wait-timeout.yaml"), "--output", "plain"])
    .wait(PATIENCE);
  watch.run.code(0);
  assert_line(&watch.run, "[sleepers] returned (timeout): succeeded, done [quick], pending [slow]");
  assert_line_starting(&watch.run, "[slow] cancelled");
  assert_line_starting(&watch.run, "runner: succeeded (exit 0)");
  let returned = watch.time_of("the group's line", |l| l.starts_with("[sleepers] returned"));
  assert_between("the group returned after", returned, secs(2.9), secs(4.5));
}

#[test]
fn pending_continue_leaves_members_running_and_the_run_waits_for_them() {
  // jobs/wait-continue.yaml: FIRST_COMPLETED over sleeps of 2 and 1 s, pending: continue.
  let test = Test::new();
  let watch = Watched::spawn(&test, &["run", &example("wait-continue.yaml"), "--output", "json"])
    .wait(PATIENCE);
  watch.run.code(0);
  let events = watch.events();
  watch.assert_saw_sleep("2");

  let group = group_finished(&events, "first");
  assert_eq!(group["status"], "succeeded");
  assert_eq!(group["done"], json!(["fast"]));
  assert_eq!(group["pending"], json!(["slow"]));
  let returned = watch.group_returned_at("first");
  assert_between("the group returned after", returned, secs(0.9), secs(1.9));

  // The dependent ran while `slow` still did.
  let report = position(&events, "report finished", |e| {
    e["event"] == "task_finished" && e["task"] == "report"
  });
  let slow =
    position(&events, "slow finished", |e| e["event"] == "task_finished" && e["task"] == "slow");
  assert!(report < slow, "{events:#?}");
  assert_eq!(parse(&output_of(&events, "report")[0])["pending"], json!(["slow"]));
  // `slow` was not cancelled: it ran to its end and its output appears.
  assert_eq!(finished(&events, "slow")["status"], "succeeded");
  assert_eq!(output_of(&events, "slow"), ["slept 2"]);
  assert_between("slow ran for", duration_of(&events, "slow"), secs(1.9), secs(3.5));
  let slow_printed = watch.time_of("slow's output", |l| l.contains("slept 2"));
  assert!(slow_printed > returned, "{slow_printed:?} <= {returned:?}");
  assert_between("the run took", watch.took, secs(1.9), secs(3.5));
  let last = events.last().unwrap();
  assert_eq!(last["exit_code"], 0);
  assert_eq!(last["counts"]["cancelled"], 0);
}

// ---------------------------------------------------------------------------------------------
// Groups in the graph

#[test]
fn nested_groups_a_gather_of_a_wait_group_and_a_task() {
  let test = Test::with_job(
    r#"
    tasks:
      quick:
        run: while [ ! -e go ]; do sleep 0.01; done; echo quick
      long:
        run: sleep 300
      tea:
        run: while [ ! -e inner.returned ]; do sleep 0.01; done; echo tea
      serve:
        needs: [outer]
        run: printf '%s' "$RUNNER_RESULT_OUTER" > served.txt
    groups:
      inner:
        wait: [long, quick]
        return_when: FIRST_COMPLETED
        on_done: touch inner.returned
      outer:
        gather: [inner, tea]
        on_done: printf '%s' "$RUNNER_STATUS" > outer-status.txt
    "#,
  );
  let watch = run_releasing_go_once_sleep_300_runs(&test);
  watch.run.code(0);
  let events = watch.events();

  let inner = group_finished(&events, "inner");
  assert_eq!(inner["status"], "succeeded");
  assert_eq!(inner["done"], json!(["quick"]));
  assert_eq!(inner["pending"], json!(["long"]));
  assert_eq!(finished(&events, "long")["status"], "cancelled");
  let outer = group_finished(&events, "outer");
  assert_eq!(outer["status"], "succeeded");
  // `tea` may end while the inner group's callback still runs: either finishing order.
  assert_eq!(sorted(&outer["done"]), ["inner", "tea"]);
  assert_eq!(test.read("outer-status.txt"), "succeeded");

  // The gather's result: the inner group's result, then the task's, in declared order.
  let served = parse(&test.read("served.txt"));
  let members = served.as_array().expect("an array");
  assert_eq!(members.len(), 2, "{served}");
  assert_eq!(members[1], "tea");
  // The inner result is the wait group's JSON object; the spec does not say whether a gather
  // embeds it as JSON or as a string holding JSON, so both are accepted here.
  let inner_result = match &members[0] {
    Value::String(text) => parse(text),
    value => value.clone(),
  };
  assert_eq!(
    inner_result,
    json!({"done": [{"name": "quick", "status": "succeeded", "result": "quick"}], "pending": ["long"]})
  );
  assert_between("the run took", watch.took, secs(0.0), secs(15.0));
}

#[test]
fn a_group_as_a_target_runs_its_members_and_their_needs_only() {
  let test = Test::with_job(
    r#"
    tasks:
      base: {run: touch base.ran}
      a: {run: touch a.ran, needs: [base]}
      b: {run: touch b.ran}
      other: {run: touch other.ran}
      dep: {run: touch dep.ran, needs: [g]}
    groups:
      g:
        gather: [a, b]
        on_done: touch g.callback
      unrelated:
        gather: [other]
    "#,
  );
  let run = test.run(&["run", "job.yaml", "g"]);
  run.code(0);
  for name in ["base", "a", "b"] {
    assert!(test.path(&format!("{name}.ran")).exists(), "{name} did not run");
  }
  assert!(test.path("g.callback").exists(), "the group's callback did not run");
  for name in ["other", "dep"] {
    assert!(!test.path(&format!("{name}.ran")).exists(), "{name} ran");
  }
  assert!(
    run.stdout.lines().any(|l| l == "[g] returned: succeeded, done [b, a], pending []")
      || run.stdout.lines().any(|l| l == "[g] returned: succeeded, done [a, b], pending []"),
    "{}",
    run.stdout
  );
  assert!(!run.stdout.contains("[unrelated]"), "{}", run.stdout);
  assert_line_starting(&run, "runner: succeeded (exit 0)");
}

#[test]
fn group_callbacks_see_the_groups_status_and_result() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: echo alpha}
      b: {run: echo beta}
      ok: {run: echo fine}
      bad: {run: echo broken; exit 2}
    groups:
      pair:
        gather: [a, b]
        on_success: printf '%s|%s|%s\n' "$RUNNER_TASK" "$RUNNER_STATUS" "$RUNNER_RESULT" >> pair.txt
        on_failure: echo "on_failure ran" >> pair.txt
        on_done: printf 'done|%s|%s|%s\n' "$RUNNER_TASK" "$RUNNER_STATUS" "$RUNNER_RESULT" >> pair.txt
      checks:
        wait: [ok, bad]
        on_success: echo "on_success ran" >> checks.txt
        on_failure: printf '%s|%s|%s\n' "$RUNNER_TASK" "$RUNNER_STATUS" "$RUNNER_RESULT" >> checks.txt
        on_done: printf 'done|%s|%s\n' "$RUNNER_TASK" "$RUNNER_STATUS" >> checks.txt
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(1);
  let pair = lines_of(&test, "pair.txt");
  assert_eq!(
    pair,
    [r#"pair|succeeded|["alpha","beta"]"#, r#"done|pair|succeeded|["alpha","beta"]"#,]
  );
  let checks = lines_of(&test, "checks.txt");
  assert_eq!(checks.len(), 2, "{checks:?}");
  let (head, result) = checks[0].rsplit_once('|').expect("three fields");
  assert_eq!(head, "checks|failed");
  let result = parse(result);
  assert_eq!(
    result,
    json!({"done": [
      {"name": "ok", "status": "succeeded", "result": "fine"},
      {"name": "bad", "status": "failed", "result": "broken"},
    ], "pending": []})
  );
  assert_eq!(checks[1], "done|checks|failed");
}

#[test]
fn a_task_needing_a_group_gets_its_result_after_it_returns() {
  let test = Test::with_job(
    r#"
    tasks:
      make-tea:
        run: echo "green tea"; echo made >> order.txt
      boil:
        run: echo "hot water"; echo boiled >> order.txt
      serve:
        needs: [my-teas, boil]
        run: |
          echo served >> order.txt
          printf '%s' "$RUNNER_RESULT_MY_TEAS" > teas.txt
          printf '%s' "$RUNNER_RESULT_BOIL" > boil.txt
    groups:
      my-teas:
        gather: [make-tea]
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(parse(&test.read("teas.txt")), json!(["green tea"]));
  assert_eq!(test.read("boil.txt"), "hot water");
  let order = lines_of(&test, "order.txt");
  assert_eq!(order.last().map(String::as_str), Some("served"), "{order:?}");
  assert_eq!(order.len(), 3, "{order:?}");
}

#[test]
fn a_cancelled_members_own_dependents_are_skipped() {
  let test = Test::with_job(
    r#"
    tasks:
      fast:
        run: while [ ! -e go ]; do sleep 0.01; done; echo fast
      slow:
        run: sleep 300
      late:
        delay: 30s
        run: touch late.ran
      after-slow:
        needs: [slow]
        run: touch after-slow.ran
      after-late:
        needs: [late]
        run: touch after-late.ran
    groups:
      race:
        wait: [fast, slow, late]
        return_when: FIRST_COMPLETED
    "#,
  );
  let watch = run_releasing_go_once_sleep_300_runs(&test);
  watch.run.code(0);
  let events = watch.events();
  let group = group_finished(&events, "race");
  assert_eq!(group["done"], json!(["fast"]));
  assert_eq!(sorted(&group["pending"]), ["late", "slow"]);
  // A running member and one waiting out its delay are both cancelled...
  assert_eq!(finished(&events, "slow")["status"], "cancelled");
  assert_eq!(finished(&events, "late")["status"], "cancelled");
  // ...and their dependents skipped, without failing the run.
  assert_eq!(finished(&events, "after-slow")["status"], "skipped");
  assert_eq!(finished(&events, "after-late")["status"], "skipped");
  for name in ["late", "after-slow", "after-late"] {
    assert!(!test.path(&format!("{name}.ran")).exists(), "{name} ran");
  }
  let last = events.last().unwrap();
  assert_eq!(last["exit_code"], 0);
  assert_eq!(last["counts"]["cancelled"], 2);
  assert_eq!(last["counts"]["skipped"], 2);
  assert_eq!(last["counts"]["failed"], 0);
  assert_between("the run took", watch.took, secs(0.0), secs(15.0));
}

#[test]
fn group_finished_says_how_long_the_group_ran() {
  // jobs/wait.yaml returns when its 1 s member ends: the group ran for about a second.
  let test = Test::new();
  let watch = Watched::spawn(&test, &["run", &example("wait.yaml"), "-j", "3", "--output", "json"])
    .wait(PATIENCE);
  watch.run.code(0);
  let events = watch.events();
  let group = group_finished(&events, "sleepers");
  let ms = group["duration_ms"].as_u64().expect("duration_ms");
  assert_between("group_finished.duration_ms", Duration::from_millis(ms), secs(0.9), secs(1.9));
}

#[test]
fn every_group_example_validates() {
  for name in [
    "gather.yaml",
    "wait.yaml",
    "wait-first-exception.yaml",
    "wait-timeout.yaml",
    "wait-continue.yaml",
  ] {
    let out =
      std::process::Command::new(BIN).arg("validate").arg(example(name)).output().expect("run");
    assert!(out.status.success(), "jobs/{name}: {}", String::from_utf8_lossy(&out.stderr));
  }
}
