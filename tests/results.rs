//! Results: a task's stdout reaches its dependents as `RUNNER_RESULT_<NEED>`, never as code,
//! capped when it is too big for the environment, without NUL bytes.

use crate::support::Test;

#[test]
fn dependents_see_results_of_their_needs() {
  let test = Test::with_job(
    r#"
    tasks:
      make-tea:
        run: printf 'green tea\n\n\n'
      v1.2:
        run: printf 'line one\n\nline three\n\n'
      brew:
        run: echo brewed
      serve:
        needs: [make-tea, v1.2, brew]
        run: |
          printf '%s' "$RUNNER_RESULT_MAKE_TEA" > tea.txt
          printf '%s' "$RUNNER_RESULT_V1_2" > version.txt
          printf '%s' "$RUNNER_RESULT_BREW" > brew.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(test.read("tea.txt"), "green tea");
  assert_eq!(test.read("version.txt"), "line one\n\nline three");
  assert_eq!(test.read("brew.txt"), "brewed");
}

#[test]
fn a_result_is_never_run_as_code() {
  let payload =
    "$(touch pwned) `touch pwned` ${HOME} $HOME 'single' \"double\" ; touch pwned | \\ & end";
  let test = Test::with_job(
    r#"
    tasks:
      evil:
        run: cat payload.txt
        on_success: printf '%s' "$RUNNER_RESULT" > callback.txt
      victim:
        needs: [evil]
        run: printf '%s' "$RUNNER_RESULT_EVIL" > got.txt
    "#,
  );
  test.write("payload.txt", &format!("{payload}\n"));
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(test.read("got.txt"), payload);
  assert_eq!(test.read("callback.txt"), payload);
  assert!(!test.path("pwned").exists(), "the result was run as code");
}

#[test]
fn a_dependent_of_a_task_with_a_big_result_still_runs() {
  // 300 kB of stdout: more than one environment string may hold (128 KiB on Linux). The result
  // is capped, but the dependent must still start and see (a prefix of) the output.
  let test = Test::with_job(
    r#"
    tasks:
      big:
        run: head -c 300000 /dev/zero | tr '\0' 'x'
      dependent:
        needs: [big]
        run: printf '%s' "$RUNNER_RESULT_BIG" > got.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  // Leave the 300 kB of x's out of the failure message.
  let shown: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with("[big] xxx")).collect();
  assert_eq!(run.code, 0, "exit code\n{}", shown.join("\n"));
  let got = test.read("got.txt");
  assert!(!got.is_empty(), "the dependent saw no result");
  assert!(got.bytes().all(|b| b == b'x'), "the result is not a prefix of the output");
}

#[test]
fn a_result_with_nul_bytes_reaches_the_dependent_without_them() {
  // No environment variable can carry a NUL byte; a shell drops them from `$(...)` too.
  let test = Test::with_job(
    r#"
    tasks:
      binary:
        run: printf 'x\0y\0z'
      dependent:
        needs: [binary]
        run: printf '%s' "$RUNNER_RESULT_BINARY" > got.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  assert_eq!(run.code, 0, "exit code\n{}", run.stdout);
  assert_eq!(test.read("got.txt"), "xyz");
  let warning = "[dependent] warning: $RUNNER_RESULT_BINARY holds 2 NUL bytes";
  assert!(run.stdout.contains(warning), "no warning in\n{}", run.stdout);
}
