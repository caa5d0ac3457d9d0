//! The exit codes of `runner run`: 0 when everything succeeds, 1 when a task fails, 2 for an
//! invalid file, an unknown target or a bad command line (and then nothing runs).

use crate::support::{Test, assert_line_starting};

#[test]
fn exit_0_when_everything_succeeds() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: echo hello}
      b: {run: 'true', needs: [a]}
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  assert_line_starting(&run, "[a] hello");
  assert_line_starting(&run, "runner: succeeded (exit 0)");
}

#[test]
fn exit_1_when_a_task_fails() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: exit 7}
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(1);
  assert_line_starting(&run, "[a] failed (exit 7)");
}

#[test]
fn exit_2_for_an_invalid_file() {
  let test = Test::with_job(
    r#"
    tasks:
      a:
        run: touch a.ran
        needs: [nowhere]
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(2);
  assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
  assert!(!test.path("a.ran").exists());

  test.write("broken.yaml", "tasks: [a, {b: \n");
  test.run(&["run", "broken.yaml"]).code(2);
  test.run(&["run", "missing.yaml"]).code(2);
}

#[test]
fn exit_2_for_an_unknown_target_with_a_suggestion() {
  let test = Test::with_job(
    r#"
    tasks:
      build: {run: touch build.ran}
      test:  {run: touch test.ran}
    "#,
  );
  let run = test.run(&["run", "job.yaml", "biuld"]);
  run.code(2);
  assert!(run.stderr.contains("biuld"), "{}", run.stderr);
  assert!(run.stderr.contains("did you mean `build`"), "{}", run.stderr);
  assert!(!test.path("build.ran").exists() && !test.path("test.ran").exists());
}

#[test]
fn exit_2_for_a_bad_command_line() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: touch a.ran}
    "#,
  );
  for args in [
    &["run", "job.yaml", "--bogus"][..],
    &["run", "job.yaml", "-j", "0"],
    &["run", "job.yaml", "-j", "many"],
    &["run", "job.yaml", "--timeout", "soon"],
    &["run", "job.yaml", "--output", "xml"],
    &["run"],
  ] {
    let run = test.run(args);
    assert_eq!(run.code, 2, "{args:?}\n{}", run.stderr);
    assert!(!run.stderr.is_empty(), "{args:?}: nothing on stderr");
  }
  assert!(!test.path("a.ran").exists());
}
