//! `runner run FILE TARGET...` runs only the targets and what they need; `--dry-run` prints the
//! order and runs nothing.

use crate::support::{Test, assert_no_line_starting};

#[test]
fn targets_run_only_with_what_they_need() {
  let test = Test::with_job(
    r#"
    tasks:
      fetch:   {run: touch fetch.ran}
      build:   {run: touch build.ran, needs: [fetch]}
      test:    {run: touch test.ran, needs: [build]}
      docs:    {run: touch docs.ran}
      lint:    {run: touch lint.ran}
    "#,
  );
  let run = test.run(&["run", "job.yaml", "build"]);
  run.code(0);
  let ran = |name: &str| test.path(&format!("{name}.ran")).exists();
  assert!(ran("fetch") && ran("build"), "{}", run.stdout);
  assert!(!ran("test") && !ran("docs") && !ran("lint"), "{}", run.stdout);
  assert_no_line_starting(&run, "[test]");
  assert_no_line_starting(&run, "[docs]");

  let run = test.run(&["run", "job.yaml", "build", "lint"]);
  run.code(0);
  assert!(ran("lint"));
  assert!(!ran("test") && !ran("docs"));
}

#[test]
fn dry_run_prints_the_order_and_runs_nothing() {
  let test = Test::with_job(
    r#"
    tasks:
      third:  {run: touch third.ran, needs: [second]}
      second: {run: touch second.ran, needs: [first]}
      first:  {run: touch first.ran}
      slow:   {run: touch slow.ran, delay: 1h}
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--dry-run"]);
  run.code(0);
  let at = |name: &str| {
    run
      .stdout
      .find(&format!("{name}: touch {name}.ran"))
      .unwrap_or_else(|| panic!("{name} missing from\n{}", run.stdout))
  };
  assert!(at("first") < at("second") && at("second") < at("third"), "{}", run.stdout);
  at("slow");
  for name in ["first", "second", "third", "slow"] {
    assert!(!test.path(&format!("{name}.ran")).exists(), "{name} ran");
  }

  let run = test.run(&["run", "job.yaml", "second", "--dry-run"]);
  run.code(0);
  assert!(run.stdout.contains("first") && run.stdout.contains("second"));
  assert!(!run.stdout.contains("third") && !run.stdout.contains("slow"), "{}", run.stdout);
}
