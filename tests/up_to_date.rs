//! `sources` and `generates`: a task whose inputs hash to what its last success recorded is
//! `up_to_date` and runs no process; what changes reruns it, and its dependents only if its
//! result changed; `--force` reruns; the state lives in `.runner/`.

use crate::support::{Test, events, finished, parse};

/// `a` appends to `a.log` each time it runs and prints `$RESULT` (from `result.txt`); `b`
/// needs it and appends to `b.log`.
fn chain() -> Test {
  let test = Test::with_job(
    r#"
    tasks:
      a:
        run: echo run >> a.log; cat result.txt
        sources: [src/*.txt]
        generates: [a.log]
      b:
        run: echo "$RUNNER_RESULT_A" >> b.log
        needs: [a]
        sources: [b.txt]
    "#,
  );
  std::fs::create_dir(test.path("src")).unwrap();
  test.write("src/one.txt", "1");
  test.write("result.txt", "first");
  test.write("b.txt", "b");
  test
}

fn runs(test: &Test, log: &str) -> usize {
  test.read(log).lines().count()
}

fn status<'a>(run: &'a crate::support::Run, task: &str) -> &'a str {
  let marker = format!("[{task}] ");
  let line = run.stdout.lines().rev().find(|l| l.starts_with(&marker)).unwrap_or_default();
  line.strip_prefix(&marker).unwrap_or_default().split(' ').next().unwrap_or_default()
}

#[test]
fn a_second_run_of_an_unchanged_task_is_up_to_date_and_runs_nothing() {
  let test = chain();
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "succeeded"));
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  assert_eq!(
    (status(&run, "a"), status(&run, "b")),
    ("up_to_date", "up_to_date"),
    "{}",
    run.stdout
  );
  assert_eq!((runs(&test, "a.log"), runs(&test, "b.log")), (1, 1));
  assert!(run.stdout.contains("0 succeeded, 2 up to date, 0 failed"), "{}", run.stdout);
  assert!(!run.stdout.contains("[a] started"), "{}", run.stdout);
}

#[test]
fn a_changed_source_reruns_the_task_and_a_dependent_whose_need_result_changed() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  test.write("src/one.txt", "2");
  test.write("result.txt", "second");
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "succeeded"), "{}", run.stdout);
  assert_eq!(test.read("b.log"), "first\nsecond\n");
}

#[test]
fn a_dependent_stays_up_to_date_when_its_need_reran_with_the_same_result() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  // A new matching file: `a` reruns, and prints what it printed before.
  test.write("src/two.txt", "2");
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "up_to_date"), "{}", run.stdout);
  assert_eq!((runs(&test, "a.log"), runs(&test, "b.log")), (2, 1));
  // A change of the dependent's own source reruns it alone.
  test.write("b.txt", "B");
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("up_to_date", "succeeded"), "{}", run.stdout);
  assert_eq!(test.read("b.log"), "first\nfirst\n", "b got a's recorded result");
}

#[test]
fn a_missing_generated_file_reruns_the_task() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  std::fs::remove_file(test.path("a.log")).unwrap();
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "up_to_date"), "{}", run.stdout);
  assert_eq!(runs(&test, "a.log"), 1);
}

#[test]
fn force_reruns_everything_or_the_tasks_named() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  let run = test.run(&["run", "job.yaml", "--output", "plain", "--force"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "succeeded"), "{}", run.stdout);
  let run = test.run(&["run", "job.yaml", "--output", "plain", "--force", "a"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "up_to_date"), "{}", run.stdout);
  let run = test.run(&["run", "job.yaml", "--output", "plain", "--force", "b", "--force", "a"]);
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "succeeded"), "{}", run.stdout);
  assert_eq!((runs(&test, "a.log"), runs(&test, "b.log")), (4, 3));
  let run = test.run(&["run", "job.yaml", "--force", "c"]);
  run.code(2);
  assert!(run.stderr.contains("has no task or group `c`"), "{}", run.stderr);
}

#[test]
fn a_failure_records_nothing_and_forgets_an_earlier_success() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: 'echo run >> a.log; test ! -e fail', sources: [in.txt]}
    "#,
  );
  test.write("in.txt", "x");
  test.write("fail", "");
  test.run(&["run", "job.yaml"]).code(1);
  test.run(&["run", "job.yaml"]).code(1);
  std::fs::remove_file(test.path("fail")).unwrap();
  test.run(&["run", "job.yaml"]).code(0);
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(runs(&test, "a.log"), 3);
  // Forced with the same inputs, and failing: the record of the success is gone.
  test.write("fail", "");
  test.run(&["run", "job.yaml", "--force"]).code(1);
  std::fs::remove_file(test.path("fail")).unwrap();
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(runs(&test, "a.log"), 5);
}

#[test]
fn dry_run_says_what_is_up_to_date_and_runs_nothing() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  let run = test.run(&["run", "job.yaml", "--dry-run"]);
  run.code(0);
  assert_eq!(run.stdout, "      a: up to date\n      b: up to date\n");
  test.write("src/one.txt", "changed");
  let run = test.run(&["run", "job.yaml", "--dry-run"]);
  assert_eq!(
    run.stdout,
    "   1. a: echo run >> a.log; cat result.txt\n   2. b: echo \"$RUNNER_RESULT_A\" >> b.log\n      \
     (up to date if what it needs gives the same results)\n"
  );
  assert_eq!((runs(&test, "a.log"), runs(&test, "b.log")), (1, 1));
}

#[test]
fn a_corrupt_state_file_is_ignored_with_a_warning() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(test.read(".runner/.gitignore"), "*\n");
  test.write(".runner/job.yaml/a", "{\"version\": 1, \"hash\": ");
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  assert!(
    run.stdout.contains("[a] warning: ignoring .runner/job.yaml/a: it is not a state record"),
    "{}",
    run.stdout
  );
  assert_eq!((status(&run, "a"), status(&run, "b")), ("succeeded", "up_to_date"), "{}", run.stdout);
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!(status(&run, "a"), "up_to_date", "rewritten: {}", run.stdout);
}

#[test]
fn up_to_date_is_its_own_status_in_json_events_the_report_and_junit() {
  let test = chain();
  test.run(&["run", "job.yaml"]).code(0);
  let run =
    test.run(&["run", "job.yaml", "--output", "json", "--report", "r.json", "--junit", "j.xml"]);
  run.code(0);
  let events = events(&run);
  let a = finished(&events, "a");
  assert_eq!((a["status"].as_str(), a["attempts"].as_u64()), (Some("up_to_date"), Some(0)));
  let report = parse(&test.read("r.json"));
  assert_eq!(report["counts"]["up_to_date"], 2);
  assert_eq!(report["counts"]["succeeded"], 0);
  assert_eq!(report["tasks"][0]["status"], "up_to_date");
  let junit = test.read("j.xml");
  assert!(junit.contains("skipped=\"2\""), "{junit}");
  assert_eq!(junit.matches("<skipped message=\"up to date\"/>").count(), 2, "{junit}");
}

#[test]
fn sources_and_generates_are_checked_where_they_are_written() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: x, sources: src}
      b: {run: x, sources: ['', /etc/passwd, 'a**']}
      c: {generates: [out]}
      d: {sources: [in]}
      e: {run: x, sources: []}
    "#,
  );
  let run = test.run(&["validate", "job.yaml"]);
  run.code(2);
  for message in [
    "`tasks.a.sources` must be a list of strings, found a string",
    "an empty glob",
    "`/etc/passwd` is an absolute path",
    "`a**` is not a valid glob",
    "task `c` has `generates` but no `sources`",
    "task `d` has `sources` but no `run`",
    "`tasks.e.sources` must not be empty",
  ] {
    assert!(run.stderr.contains(message), "{message}:\n{}", run.stderr);
  }
}

#[test]
fn list_and_graph_show_sources_and_generates() {
  let test = chain();
  let run = test.run(&["list", "job.yaml"]);
  run.code(0);
  assert!(run.stdout.contains("a  sources [src/*.txt]  generates [a.log]\n"), "{}", run.stdout);
  assert!(run.stdout.contains("b  needs [a]  sources [b.txt]\n"), "{}", run.stdout);
  let run = test.run(&["graph", "job.yaml", "--format", "json"]);
  let graph = parse(&run.stdout);
  assert_eq!(graph["tasks"][0]["sources"], serde_json::json!(["src/*.txt"]));
  assert_eq!(graph["tasks"][1]["generates"], serde_json::json!([]));
}
