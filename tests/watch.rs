//! `runner run --watch`: a run, then a rerun of what a change to its `sources` touches, and a
//! clean exit on Ctrl-C.

use crate::support::{Background, PATIENCE, Reaper, Test, assert_all_gone, sleeping, wait_until};
use std::time::Duration;

/// `a` appends `src/*.txt` to `a.log` and prints it (its result); `b` needs it; `other` has sources of its own.
fn chain() -> Test {
  let test = Test::with_job(
    r#"
    tasks:
      a:
        run: cat src/*.txt | tee -a a.log
        sources: [src/*.txt]
      b:
        run: echo "$RUNNER_RESULT_A" >> b.log
        needs: [a]
        sources: [b.txt]
      other:
        run: echo run >> other.log
        sources: [other.txt]
    "#,
  );
  std::fs::create_dir(test.path("src")).unwrap();
  test.write("src/one.txt", "1\n");
  test.write("b.txt", "b");
  test.write("other.txt", "o");
  test
}

fn lines(test: &Test, name: &str) -> usize {
  std::fs::read_to_string(test.path(name)).map_or(0, |t| t.lines().count())
}

fn watching(runner: &Background, times: usize) -> bool {
  std::fs::read_to_string(runner.stderr_path())
    .unwrap_or_default()
    .matches("runner: watching")
    .count()
    >= times
}

#[test]
fn a_change_to_a_source_reruns_its_task_and_its_dependent_not_an_unrelated_task() {
  let test = chain();
  let reaper = Reaper::new("watch");
  let runner = Background::spawn(
    &test,
    reaper.tag(),
    &["run", "-f", "job.yaml", "--watch", "--output", "plain"],
  );
  wait_until("the first run is over", PATIENCE, || watching(&runner, 1));
  assert_eq!((lines(&test, "a.log"), lines(&test, "b.log"), lines(&test, "other.log")), (1, 1, 1));
  test.write("src/one.txt", "2\n");
  wait_until("the rerun is over", PATIENCE, || watching(&runner, 2));
  assert_eq!((lines(&test, "a.log"), lines(&test, "b.log")), (2, 2));
  assert_eq!(lines(&test, "other.log"), 1, "an unrelated task is up to date");
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(0);
  assert!(took < PATIENCE);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

#[test]
fn ctrl_c_while_watching_exits_at_once_with_0_and_leaves_nothing() {
  let test = chain();
  let reaper = Reaper::new("watch");
  let runner = Background::spawn(
    &test,
    reaper.tag(),
    &["run", "-f", "job.yaml", "--watch", "--output", "plain"],
  );
  wait_until("the first run is over", PATIENCE, || watching(&runner, 1));
  let asked = std::time::Instant::now();
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(0);
  assert!(asked.elapsed() < Duration::from_secs(2), "took {:?}", asked.elapsed());
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

#[test]
fn watch_with_no_selected_task_having_sources_is_an_error() {
  let test = Test::with_job("tasks:\n  a:\n    run: 'true'\n");
  let run = test.run(&["run", "job.yaml", "--watch"]);
  run.code(2);
  assert!(run.stderr.contains("no selected task has `sources`"), "{}", run.stderr);
}

#[test]
fn a_change_during_a_run_stops_it_and_runs_it_again_then_ctrl_c_stops_that_run() {
  let test = Test::with_job(
    r#"
    tasks:
      long:
        run: echo started >> long.log; sleep 31
        sources: [src/*.txt]
    "#,
  );
  std::fs::create_dir(test.path("src")).unwrap();
  test.write("src/one.txt", "1\n");
  let reaper = Reaper::new("watch");
  let args = ["run", "-f", "job.yaml", "--watch", "--output", "plain", "--kill-grace", "1s"];
  let runner = Background::spawn(&test, reaper.tag(), &args);
  wait_until("the task sleeps", PATIENCE, || sleeping(reaper.tag(), "31") == 1);
  test.write("src/one.txt", "2\n");
  wait_until("the task runs again", PATIENCE, || lines(&test, "long.log") == 2);
  wait_until("the new attempt sleeps alone", PATIENCE, || sleeping(reaper.tag(), "31") == 1);
  assert!(
    runner.stdout().contains("runner: sources changed: stopping 1 task"),
    "{}",
    runner.stdout()
  );
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(130);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}
