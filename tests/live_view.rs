//! What the live view shows a newcomer: failures' and failed callbacks' output in full once the
//! rows are gone, callbacks' lines, a queue's items in progress, no ETA before there is one, and
//! what a Ctrl-C stops; and the same facts in plain and JSON output.

use crate::support::{
  BIN, Background, PATIENCE, Reaper, Test, assert_line, assert_line_starting, wait_until,
};
use crate::tmux::{Tmux, spinner_line};
use std::time::{Duration, Instant};

fn in_tmux(test: &Test, args: &str) -> Tmux {
  let command = format!(
    "cd '{}' && '{BIN}' run job.yaml --output tty {args}; echo runner-exit=$?; exec cat",
    test.dir.path().display()
  );
  Tmux::start(&command)
}

#[test]
fn failures_and_failed_callbacks_are_shown_in_full_after_the_view() {
  if !crate::support::require("tmux") {
    return;
  }
  let test = Test::with_job(
    r#"
    tasks:
      quiet:
        run: echo "quiet output"
      broken:
        run: for i in $(seq 1 600); do echo "line $i"; done; exit 4
      serve:
        run: echo serving
        on_success: echo "cannot reach the waiter's pager" >&2 && exit 7
    groups:
      all:
        gather: [quiet]
        on_success: echo "notify - all green"
    "#,
  );
  let tmux = in_tmux(&test, "-j 1");
  tmux.wait_for("the end of the run", |s| s.contains("runner-exit="));
  let screen = tmux.history();
  println!("--- the whole screen ---\n{screen}---");
  assert!(screen.contains("runner-exit=1"), "{screen}");
  let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
  let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).expect(prefix);
  // A callback notifies: its line is shown as it comes.
  assert!(lines.contains(&"[all:callback] notify - all green"), "{screen}");
  // Each failure's output under a header naming it, with what was cut and where it all is.
  let broken = at("── broken: failed (exit 4) in ");
  assert!(
    lines[broken].ends_with("; 100 earlier lines cut, --log-dir DIR keeps all of it ──"),
    "{screen}"
  );
  assert_eq!(lines[broken + 1], "line 101");
  assert_eq!(lines[broken + 500], "line 600");
  let serve = at("── serve: succeeded in ");
  assert!(lines[serve].ends_with(", a callback failed ──"), "{screen}");
  assert_eq!(lines[serve + 1..serve + 3], ["serving", "callback: cannot reach the waiter's pager"]);
  // After the view, before the summary; a succeeded task's output is not shown.
  assert!(at("✓ quiet ") < broken && serve < at("summary:"), "{screen}");
  assert!(!screen.contains("quiet output"), "{screen}");
  assert!(!screen.lines().any(spinner_line), "a spinner was left behind\n{screen}");
  let last = lines[at("runner: failed (exit 1) in ")];
  assert!(last.contains(": `broken` failed; callback of `serve` failed; 2 succeeded, 1 failed, "));
}

/// A producer puts an item every 0.3 s; two workers take 1.5 s each.
const SLOW_QUEUE: &str = r#"
  tasks:
    produce:
      run: for i in 1 2 3 4 5 6; do echo "item $i"; sleep 0.3; done
      produces: q
    work:
      consumes: q
      workers: 2
      run: sleep 1.5
  queues:
    q: {}
"#;

#[test]
fn the_queue_row_counts_items_in_progress_and_no_eta_comes_before_a_task_finished() {
  if !crate::support::require("tmux") {
    return;
  }
  let test = Test::with_job(SLOW_QUEUE);
  let tmux = in_tmux(&test, "");
  let screen = tmux.wait_for("two items in progress", |s| {
    s.contains("queue q: ") && s.contains(", 2 in progress, 0 done (")
  });
  println!("--- mid-run ---\n{screen}---");
  let bar = screen.lines().find(|l| l.contains(" tasks · ")).expect("the overall bar");
  assert!(bar.contains("0/2 tasks") && !bar.contains("ETA"), "{screen}");
  tmux.wait_for("the end of the run", |s| s.contains("runner-exit=0"));
}

#[test]
fn queue_state_comes_on_puts_and_takes_rate_limited_and_ends_with_the_last_state() {
  let test = Test::with_job(SLOW_QUEUE);
  let run = test.run(&["run", "job.yaml", "--output", "json"]);
  run.code(0);
  let events = crate::support::events(&run);
  let first_finish = events.iter().position(|e| e["event"] == "item_finished").expect("an item");
  let before: Vec<_> =
    events[..first_finish].iter().filter(|e| e["event"] == "queue_state").collect();
  assert!(
    before.iter().any(|e| e["in_progress"] == 2 && e["put"].as_u64() >= Some(4)),
    "no state with 2 in progress and 4 put before the first item finished: {before:?}"
  );
  let states: Vec<_> = events.iter().filter(|e| e["event"] == "queue_state").collect();
  let last = states.last().expect("a queue_state");
  assert_eq!(
    (last["put"].as_u64(), last["done"].as_u64(), last["in_progress"].as_u64()),
    (Some(6), Some(6), Some(0))
  );

  // A fast queue: three thousand changes (puts, takes, ends), a few reports a second.
  let test = Test::with_job(
    "tasks:\n  p: {run: 'seq 1 1000', produces: q}\n  \
     work: {consumes: q, workers: 4, run: 'true'}\nqueues:\n  q: {}\n",
  );
  let started = Instant::now();
  let run = test.run(&["run", "job.yaml", "--output", "json"]);
  let took = started.elapsed();
  run.code(0);
  let events = crate::support::events(&run);
  let states = events.iter().filter(|e| e["event"] == "queue_state").count() as u128;
  assert!(states <= took.as_millis() / 100 + 2, "{states} queue_state events in {took:?}");
  let last = events.iter().rfind(|e| e["event"] == "queue_state").expect("the last state");
  assert_eq!(last["done"], 1000);
}

#[test]
fn the_first_ctrl_c_says_at_once_what_it_stops_and_the_second_kills() {
  let reaper = Reaper::new("run");
  let test =
    Test::with_job("tasks:\n  stubborn:\n    run: trap '' TERM; touch started; sleep 30\n");
  let args = ["run", "job.yaml", "--output", "plain", "--kill-grace", "20s"];
  let runner = Background::spawn(&test, reaper.tag(), &args);
  wait_until("the task has started", PATIENCE, || test.path("started").exists());
  runner.signal(libc::SIGINT);
  let said =
    "runner: SIGINT: stopping 1 task (SIGTERM now, SIGKILL after 20s); Ctrl-C again kills them now";
  wait_until("the stop is said", Duration::from_secs(5), || runner.stdout().contains(said));
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(took < Duration::from_secs(15), "the second Ctrl-C did not kill at once: {took:?}");
  assert_line(&run, "runner: SIGINT again: killing 1 task now");
  assert_line_starting(&run, "runner: interrupted (exit 130) in ");
  assert!(run.stdout.contains(": SIGINT received; "), "{}", run.stdout);
}

#[test]
fn timeout_expiry_is_said_in_json_and_named_in_the_last_line() {
  let test = Test::with_job("tasks:\n  long:\n    run: sleep 30\n");
  let run = test.run(&["run", "job.yaml", "--output", "json", "--timeout", "300ms"]);
  run.code(1);
  let events = crate::support::events(&run);
  let stopping = events.iter().find(|e| e["event"] == "stopping").expect("a stopping event");
  assert_eq!(stopping["reason"], "timeout");
  assert_eq!((stopping["tasks"].as_u64(), stopping["killed"].as_bool()), (Some(1), Some(false)));
  let run = test.run(&["run", "job.yaml", "--output", "plain", "--timeout", "300ms"]);
  run.code(1);
  assert_line(&run, "runner: --timeout expired: stopping 1 task (SIGTERM now, SIGKILL after 3s)");
  assert_line_starting(&run, "runner: failed (exit 1) in ");
  assert!(run.stdout.contains(": --timeout 300ms expired; 0 succeeded, "), "{}", run.stdout);
}

#[test]
fn the_last_line_names_why_a_run_failed_and_counts_allowed_failures_and_callbacks_apart() {
  let job = std::fs::read_to_string(crate::support::repo().join("jobs/callbacks.yaml")).unwrap();
  let test = Test::with_job(&job);
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  let last = run.stdout.lines().last().unwrap_or_default().to_string();
  assert!(last.starts_with("runner: failed (exit 1) in "), "{last}");
  assert!(
    last.ends_with(": callback of `serve` failed; 2 succeeded, 1 failed (allowed), 0 timed out, 0 cancelled, 0 skipped, 1 callback failed"),
    "{last}"
  );
  let run = test.run(&["run", "job.yaml", "--output", "json"]);
  let events = crate::support::events(&run);
  let finished = events.last().expect("run_finished");
  assert_eq!(finished["counts"]["failed"], 1);
  assert_eq!(finished["counts"]["allowed_failures"], 1);
  assert_eq!(finished["counts"]["callbacks_failed"], 1);
  assert_eq!(finished["cause"], "callback of `serve` failed");
}

#[test]
fn items_never_taken_are_quoted() {
  let test = Test::with_job(
    "tasks:\n  p: {run: 'true', produces: q}\n  c: {consumes: q, run: 'true'}\nqueues:\n  q: {items: [3, 'a, b']}\n",
  );
  let run = test.run(&["run", "job.yaml", "p", "--output", "plain"]);
  run.code(0);
  assert_line(
    &run,
    r#"[queue q] 2 put, 0 taken: 0 done, 0 failed, 0 cancelled; items never taken: "3", "a, b""#,
  );
}
