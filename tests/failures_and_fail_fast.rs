//! A failed task: its dependents are skipped unless the failure is allowed, independent tasks
//! still run, and `--fail-fast` cancels everything else.

use crate::support::{Test, assert_line_starting, run_to_its_end};
use std::time::Duration;

#[test]
fn dependents_of_a_failure_are_skipped() {
  let test = Test::with_job(
    r#"
    tasks:
      broken:
        run: exit 3
      dependent:
        needs: [broken]
        run: touch dependent.ran
      indirect:
        needs: [dependent]
        run: touch indirect.ran
      independent:
        run: touch independent.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(1);
  assert_line_starting(&run, "[broken] failed (exit 3)");
  assert_line_starting(&run, "[dependent] skipped");
  assert_line_starting(&run, "[indirect] skipped");
  assert_line_starting(&run, "[independent] succeeded");
  assert!(!test.path("dependent.ran").exists());
  assert!(!test.path("indirect.ran").exists());
  assert!(test.path("independent.ran").exists());
  assert_line_starting(&run, "runner: failed (exit 1)");
}

#[test]
fn an_allowed_failure_does_not_skip_dependents() {
  let test = Test::with_job(
    r#"
    tasks:
      broken:
        run: exit 3
        allow_failure: true
      dependent:
        needs: [broken]
        run: touch dependent.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  assert_line_starting(&run, "[broken] failed (exit 3)");
  assert_line_starting(&run, "[dependent] succeeded");
  assert!(test.path("dependent.ran").exists());
  assert_line_starting(&run, "runner: succeeded (exit 0)");
}

#[test]
fn fail_fast_cancels_a_long_sibling() {
  let test = Test::with_job(
    r#"
    tasks:
      long:
        run: touch long.started; sleep 296.5
      broken:
        run: while [ ! -e long.started ]; do sleep 0.05; done; exit 3
      queued:
        run: touch queued.ran
      after:
        needs: [long]
        run: touch after.ran
    "#,
  );
  let args = ["run", "job.yaml", "-j", "2", "--fail-fast"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(20), Duration::from_secs(10));
  assert_line_starting(&run, "[broken] failed (exit 3)");
  assert_line_starting(&run, "[long] cancelled");
  assert!(!test.path("queued.ran").exists(), "a task started after the failure");
  assert!(!test.path("after.ran").exists());
}
