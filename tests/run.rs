//! `runner run` end to end: real YAML in a temp dir, the real binary, real processes. Ordering is
//! observed through files the tasks write, process cleanup through the process table, and
//! waiting is always polling for a condition with a generous deadline.

use crate::support::{
  BIN, Background, PATIENCE, Reaper, Run, Test, assert_all_gone, assert_line_starting,
  assert_no_line_starting, events, finished, lines_of, read, sleeping, wait_until,
};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs the runner in the background with a tag of its own until it exits, which must be with
/// `code` and within `within`; then no process of its tasks may be left after `gone`.
#[track_caller]
fn run_to_its_end(test: &Test, args: &[&str], code: i32, within: Duration, gone: Duration) -> Run {
  let reaper = Reaper::new("run");
  let (run, took) = Background::spawn(test, reaper.tag(), args).wait(PATIENCE);
  run.code(code);
  assert!(took < within, "took {took:?}");
  assert_all_gone(reaper.tag(), gone);
  run
}

// ---------------------------------------------------------------------------------------------
// Order

#[test]
fn needs_run_before_their_dependents() {
  // Declared backwards, so declared order and needs order disagree.
  let test = Test::with_job(
    r#"
    tasks:
      deploy:
        run: echo deploy >> order.txt
        needs: [test, lint]
      test:
        run: echo test >> order.txt
        needs: [build]
      lint:
        run: echo lint >> order.txt
        needs: [build]
      build:
        run: echo build >> order.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  let order = lines_of(&test, "order.txt");
  assert_eq!(order.len(), 4, "{order:?}");
  let at = |name: &str| order.iter().position(|l| l == name).expect(name);
  assert_eq!(order[0], "build", "{order:?}");
  assert!(at("test") < at("deploy") && at("lint") < at("deploy"), "{order:?}");
  assert_eq!(order[3], "deploy", "{order:?}");
}

#[test]
fn tasks_ready_together_start_in_declared_order_at_j1() {
  let test = Test::with_job(
    r#"
    tasks:
      zulu:   {run: echo zulu >> order.txt}
      alpha:  {run: echo alpha >> order.txt}
      mike:   {run: echo mike >> order.txt}
      root:   {run: echo root >> order.txt}
      yankee: {run: echo yankee >> order.txt, needs: [root]}
      bravo:  {run: echo bravo >> order.txt, needs: [root]}
      xray:   {run: echo xray >> order.txt, needs: [root]}
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(
    lines_of(&test, "order.txt"),
    ["zulu", "alpha", "mike", "root", "yankee", "bravo", "xray"]
  );
}

#[test]
fn a_shorter_delay_finishes_first() {
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        delay: 1s
        run: echo slow >> finished.txt
      fast:
        delay: 200ms
        run: echo fast >> finished.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(lines_of(&test, "finished.txt"), ["fast", "slow"]);
}

#[test]
fn a_task_waiting_out_its_delay_holds_no_slot() {
  // At -j 1, if `slow` held the only slot during its delay, `fast` would finish after it.
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        delay: 1s
        run: echo slow >> finished.txt
      fast:
        delay: 200ms
        run: echo fast >> finished.txt
      now:
        run: echo now >> finished.txt
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(lines_of(&test, "finished.txt"), ["now", "fast", "slow"]);
}

// ---------------------------------------------------------------------------------------------
// Results and the environment

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

#[test]
fn retries_count_attempts() {
  let test = Test::with_job(
    r#"
    tasks:
      flaky:
        retries: 2
        run: echo "attempt $RUNNER_ATTEMPT of $RUNNER_TASK"; [ "$RUNNER_ATTEMPT" -ge 3 ]
      hopeless:
        retries: 1
        allow_failure: true
        run: echo "attempt $RUNNER_ATTEMPT"; exit 5
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "1"]);
  run.code(0);
  for n in 1..=3 {
    assert_line_starting(&run, &format!("[flaky] attempt {n} of flaky"));
  }
  assert_line_starting(&run, "[flaky] started (attempt 2)");
  assert_line_starting(&run, "[flaky] started (attempt 3)");
  assert_line_starting(&run, "[flaky] succeeded after 3 attempts");
  assert_no_line_starting(&run, "[flaky] started (attempt 4)");
  assert_line_starting(&run, "[hopeless] attempt 2");
  assert_line_starting(&run, "[hopeless] failed (exit 5) after 2 attempts");
  assert_no_line_starting(&run, "[hopeless] attempt 3");

  let json = test.run(&["run", "job.yaml", "-j", "1", "--output", "json"]);
  json.code(0);
  let events = events(&json);
  assert_eq!(finished(&events, "flaky")["attempts"], 3);
  assert_eq!(finished(&events, "flaky")["status"], "succeeded");
  assert_eq!(finished(&events, "hopeless")["attempts"], 2);
  assert_eq!(finished(&events, "hopeless")["status"], "failed");
  let retrying =
    events.iter().filter(|e| e["event"] == "task_retrying" && e["task"] == "flaky").count();
  assert_eq!(retrying, 2);
}

#[test]
fn env_comes_from_the_file_then_the_task() {
  let test = Test::with_job(
    r#"
    env: {WHO: file, WHAT: file, OUTER: file}
    tasks:
      one:
        env: {WHAT: task}
        run: printf '%s|%s|%s|%s|%s' "$WHO" "$WHAT" "$OUTER" "$INHERITED" "$RUNNER_TASK" > one.txt
      two:
        run: printf '%s|%s|%s|%s|%s' "$WHO" "$WHAT" "$OUTER" "$INHERITED" "$RUNNER_TASK" > two.txt
    "#,
  );
  let out = test
    .command(&["run", "job.yaml"])
    .env("OUTER", "outer")
    .env("INHERITED", "inherited")
    .output()
    .expect("run");
  Run::from(out).code(0);
  assert_eq!(test.read("one.txt"), "file|task|file|inherited|one");
  assert_eq!(test.read("two.txt"), "file|file|file|inherited|two");
}

#[test]
fn an_argv_run_uses_no_shell() {
  let test = Test::with_job(
    r#"
    tasks:
      home:
        run: [printf, '%s', '$HOME']
      words:
        run: [printf, '%s|', 'a  b', '$(touch pwned)', '*', '; touch pwned']
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  assert_line_starting(&run, "[home] $HOME");
  assert_line_starting(&run, "[words] a  b|$(touch pwned)|*|; touch pwned|");
  assert!(!test.path("pwned").exists());
}

#[test]
fn sigchld_is_blocked_in_every_thread_of_the_runner_and_in_no_task() {
  // Exits are seen through pidfds; a SIGCHLD left unblocked would wake some thread for nothing.
  // The task's own mask is read by the process it became (`exec`): a shell blocks signals around
  // each fork, and a child reading the shell's mask then may catch it before they are unblocked.
  let test = Test::with_job(
    r#"
    tasks:
      masks:
        run: grep -h '^SigBlk' /proc/$PPID/task/*/status; exec grep '^SigBlk' /proc/self/status
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  let masks: Vec<u64> = (run.stdout.lines())
    .filter(|line| line.starts_with("[masks] SigBlk:"))
    .map(|line| u64::from_str_radix(line.split_whitespace().last().unwrap(), 16).unwrap())
    .collect();
  let (task, runner) = masks.split_last().expect("masks");
  assert!(runner.len() >= 2, "the loop thread and the signal thread: {masks:x?}");
  let sigchld = 1 << (libc::SIGCHLD - 1);
  assert!(runner.iter().all(|mask| mask & sigchld != 0), "{masks:x?}");
  assert_eq!(*task, 0, "a task starts with nothing blocked");
}

#[test]
fn plain_words_behave_as_under_the_shell() {
  // Plain words are exec'd without a shell; where that cannot work, the shell still does it.
  let test = Test::with_job(
    r#"
    tasks:
      script:
        run: ./no-shebang.sh
      missing:
        run: no-such-program-here
      path:
        run: printenv PATH
        env: {PATH: /usr/bin:/bin}
    "#,
  );
  test.write("no-shebang.sh", "echo run by the shell\n");
  use std::os::unix::fs::PermissionsExt;
  let mode = std::fs::Permissions::from_mode(0o755);
  std::fs::set_permissions(test.path("no-shebang.sh"), mode).unwrap();
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  assert_line_starting(&run, "[script] run by the shell");
  assert_line_starting(&run, "[path] /usr/bin:/bin");
  assert!(run.stdout.contains("no-such-program-here: not found"), "{}", run.stdout);
  assert_line_starting(&run, "[missing] failed (exit 127)");
}

#[test]
fn a_program_that_cannot_be_execed_is_reported_as_not_started() {
  // The runner does not wait for a child's exec: a failed exec is known at the child's exit.
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [one]}
    tasks:
      task:
        run: [./missing-task]
        on_failure: [[./missing-callback]]
      items:
        consumes: q
        run: [./missing-consumer]
      dir:
        run: echo never
        cwd: no-such-dir
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  for line in [
    "[task] cannot start `./missing-task`: No such file or directory",
    "[task] failed (exit 127)",
    "[task:callback] cannot start callback `./missing-callback`: No such file or directory",
    "[items] cannot start `./missing-consumer` for item `one`: No such file or directory",
    "[dir] cannot start `sh`: cannot enter its working directory: No such file or directory",
    "[dir] failed (exit 127)",
  ] {
    assert_line_starting(&run, line);
  }
  assert!(!run.stdout.contains("never"), "{}", run.stdout);
}

#[test]
fn cwd_is_relative_to_the_job_file_folder() {
  let test = Test::new();
  let project = test.path("project");
  let elsewhere = test.path("elsewhere");
  std::fs::create_dir_all(project.join("sub/deeper")).unwrap();
  std::fs::create_dir_all(&elsewhere).unwrap();
  std::fs::write(
    project.join("job.yaml"),
    crate::support::dedent(
      r#"
      tasks:
        default:
          run: pwd -P > default.txt
        sub:
          cwd: sub/deeper
          run: pwd -P > sub.txt
      "#,
    ),
  )
  .unwrap();
  // Started from a sibling folder, with a relative path to the file.
  let out =
    test.command(&["run", "../project/job.yaml"]).current_dir(&elsewhere).output().expect("run");
  Run::from(out).code(0);
  let project = project.canonicalize().unwrap();
  assert_eq!(read(&project.join("default.txt")).trim(), project.display().to_string());
  assert_eq!(
    read(&project.join("sub/deeper/sub.txt")).trim(),
    project.join("sub/deeper").display().to_string()
  );
  assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Failure and skipping

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

// ---------------------------------------------------------------------------------------------
// Exit codes

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

// ---------------------------------------------------------------------------------------------
// Callbacks

#[test]
fn callbacks_run_in_order_with_status_and_result() {
  let test = Test::with_job(
    r#"
    tasks:
      good:
        run: echo good-result
        on_success:
          - echo "success-1 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
          - echo "success-2 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
        on_failure: echo "failure $RUNNER_STATUS" >> good.txt
        on_done: echo "done $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
      bad:
        run: echo bad-result; exit 3
        on_success: echo "success $RUNNER_STATUS" >> bad.txt
        on_failure:
          - echo "failure-1 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
          - echo "failure-2 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
        on_done: echo "done $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(1);
  assert_eq!(
    lines_of(&test, "good.txt"),
    [
      "success-1 good succeeded good-result",
      "success-2 good succeeded good-result",
      "done good succeeded good-result",
    ]
  );
  assert_eq!(
    lines_of(&test, "bad.txt"),
    [
      "failure-1 bad failed bad-result",
      "failure-2 bad failed bad-result",
      "done bad failed bad-result",
    ]
  );
}

#[test]
fn a_failing_callback_fails_the_run_but_not_the_task() {
  let test = Test::with_job(
    r#"
    tasks:
      task:
        run: echo fine
        on_success: exit 4
      dependent:
        needs: [task]
        run: touch dependent.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(1);
  assert_line_starting(&run, "[task] succeeded");
  assert_line_starting(&run, "[task:callback] `exit 4` failed (exit 4)");
  assert_line_starting(&run, "runner: failed (exit 1)");
  assert!(test.path("dependent.ran").exists(), "the task succeeded, so its dependent runs");

  let json = test.run(&["run", "job.yaml", "--output", "json"]);
  json.code(1);
  let events = events(&json);
  assert_eq!(finished(&events, "task")["status"], "succeeded");
  assert!(
    events.iter().any(|e| e["event"] == "callback_failed" && e["task"] == "task"),
    "{events:#?}"
  );
  let last = events.last().unwrap();
  assert_eq!(last["event"], "run_finished");
  assert_eq!(last["exit_code"], 1);
  assert_eq!(last["counts"]["failed"], 0);
}

// ---------------------------------------------------------------------------------------------
// Dry run and output formats

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

#[test]
fn json_output_is_one_event_per_line() {
  let test = Test::with_job(
    r#"
    tasks:
      talk:
        run: echo 'to "stdout" \ with quotes'; echo to stderr >&2
      broken:
        run: exit 2
        allow_failure: true
      after:
        needs: [talk]
        run: echo after
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "json"]);
  run.code(0);
  let events = events(&run);
  assert!(events.len() > 5, "{}", run.stdout);
  for event in &events {
    assert!(event["event"].is_string(), "no event field: {event}");
  }
  assert_eq!(events[0]["event"], "run_started");
  let last = events.last().unwrap();
  assert_eq!(last["event"], "run_finished");
  assert_eq!(last["exit_code"], 0);
  assert!(events.iter().any(|e| e["event"] == "output"
    && e["task"] == "talk"
    && e["stream"] == "stdout"
    && e["line"] == r#"to "stdout" \ with quotes"#));
  assert!(events.iter().any(|e| e["event"] == "output"
    && e["task"] == "talk"
    && e["stream"] == "stderr"
    && e["line"] == "to stderr"));
  assert_eq!(finished(&events, "broken")["status"], "failed");
  assert_eq!(finished(&events, "broken")["exit"]["code"], 2);
  assert_eq!(finished(&events, "after")["status"], "succeeded");
}

// ---------------------------------------------------------------------------------------------
// Timeouts, cancellation and signals: checked against the process table

#[test]
fn a_task_timeout_kills_the_whole_process_group() {
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        timeout: 1s
        run: sleep 297.5 & sleep 297.5; wait
        on_done: printf '%s' "$RUNNER_STATUS" > status.txt
    "#,
  );
  let args = ["run", "job.yaml"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[slow] timed_out");
  assert_eq!(test.read("status.txt"), "timed_out");
}

#[test]
fn a_task_timeout_reaches_a_program_that_made_a_group_of_its_own() {
  // coreutils `timeout` puts itself in a process group of its own.
  let test = Test::with_job(
    r#"
    tasks:
      wrapped:
        timeout: 1s
        run: timeout 300 sleep 296.5; echo after
    "#,
  );
  let args = ["run", "job.yaml"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[wrapped] timed_out");
  assert_no_line_starting(&run, "[wrapped] after");
}

#[test]
fn a_stopped_task_does_not_wait_for_output_held_outside_its_group() {
  // The `sleep` leaves the task's group (`setsid`) and its parent ends at once, so the runner
  // can reach it neither by group nor by descent; while it holds the task's output, a task that
  // ends by itself waits for it (see
  // every_line_arrives_when_the_runner_keeps_the_pipes_until_the_exit), a stopped one does not.
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      holder:
        run: (setsid sleep 288.5 &); touch holder.started; sleep 300
    "#,
  );
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "--output", "json"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("holder.started").exists() && sleeping(reaper.tag(), "288.5") > 0
  });
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(took < Duration::from_secs(10), "took {took:?}");
  let note = events(&run).iter().any(|e| {
    e["event"] == "output" && e["line"].as_str().is_some_and(|l| l.contains("no longer read"))
  });
  assert!(note, "the task's output says its end was not read\n{}", run.stdout);
}

#[test]
fn a_timed_out_task_that_traps_term_is_killed_after_the_grace() {
  let test = Test::with_job(
    r#"
    tasks:
      stubborn:
        timeout: 1s
        run: trap 'touch got-term' TERM; while :; do sleep 295.5 & wait; done
    "#,
  );
  let args = ["run", "job.yaml", "--kill-grace", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[stubborn] timed_out");
  assert!(test.path("got-term").exists(), "SIGTERM came first");
}

#[test]
fn a_run_timeout_stops_the_run() {
  let test = Test::with_job(
    r#"
    tasks:
      forever:
        run: sleep 294.5
      after:
        needs: [forever]
        run: touch after.ran
    "#,
  );
  let args = ["run", "job.yaml", "--timeout", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_no_line_starting(&run, "[forever] succeeded");
  assert!(!test.path("after.ran").exists());
}

#[test]
fn sigint_stops_every_task_and_exits_130() {
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      plain:
        run: touch plain.started; sleep 293.5
      background:
        run: sleep 292.5 & touch background.started; wait
      stubborn:
        run: trap 'touch got-term' TERM; touch stubborn.started; while :; do sleep 291.5 & wait; done
      after:
        needs: [plain]
        run: touch after.ran
    "#,
  );
  let runner =
    Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "4", "--kill-grace", "1s"]);
  wait_until("every task has started", PATIENCE, || {
    ["plain", "background", "stubborn"].iter().all(|t| test.path(&format!("{t}.started")).exists())
  });
  // Each sleep is in the process table before the signal, so "gone" below means something.
  for arg in ["293.5", "292.5", "291.5"] {
    wait_until("the sleeps run", PATIENCE, || sleeping(reaper.tag(), arg) > 0);
  }
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(took < Duration::from_secs(25), "took {took:?}");
  assert!(!test.path("after.ran").exists(), "a task started after SIGINT");
  assert_line_starting(&run, "runner: interrupted (exit 130)");
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

/// Sends `signal` to a run of one long task (`sleep ARG`) once it has started: the run must exit
/// with `code` and leave no process of its task behind.
#[track_caller]
fn a_signal_stops_the_run(signal: i32, code: i32, arg: &str) {
  let reaper = Reaper::new("run");
  let test =
    Test::with_job(&format!("tasks:\n  long:\n    run: touch long.started; sleep {arg}\n"));
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("long.started").exists() && sleeping(reaper.tag(), arg) > 0
  });
  runner.signal(signal);
  let (run, _) = runner.wait(PATIENCE);
  run.code(code);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

#[test]
fn sigterm_exits_143() {
  a_signal_stops_the_run(libc::SIGTERM, 143, "290.5");
}

#[test]
fn the_run_timeout_stops_a_running_callback() {
  let test = Test::with_job(
    r#"
    tasks:
      cb:
        run: echo x
        on_done: [sleep 286.5, touch second.ran]
    "#,
  );
  let args = ["run", "job.yaml", "--timeout", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(10), Duration::from_secs(5));
  assert_line_starting(&run, "[cb:callback] `sleep 286.5` failed (signal 15)");
  assert!(!test.path("second.ran").exists(), "a callback started after the run timed out");
}

#[test]
fn sighup_stops_every_task_and_exits_129() {
  // A closed terminal or ssh session: the runner's tasks must not live on without it.
  a_signal_stops_the_run(libc::SIGHUP, 129, "287.5");
}

#[test]
fn a_second_sigint_kills_at_once() {
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      stubborn:
        run: trap 'touch got-term' TERM; touch stubborn.started; while :; do sleep 289.5 & wait; done
    "#,
  );
  // With a 10-minute grace, only the second Ctrl-C can end this run in time.
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "--kill-grace", "10m"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("stubborn.started").exists() && sleeping(reaper.tag(), "289.5") > 0
  });
  runner.signal(libc::SIGINT);
  wait_until("the task got SIGTERM", PATIENCE, || test.path("got-term").exists());
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(130);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

#[test]
fn more_tasks_run_at_once_than_the_open_files_limit_allows_and_tasks_keep_that_limit() {
  // Each running task holds a few descriptors: with a soft limit of 128, 100 parallel tasks need
  // the runner to raise its own; the tasks still get the limit they were started under.
  let mut job = String::from("tasks:\n  limit: {run: 'ulimit -Sn'}\n");
  for i in 0..100 {
    job.push_str(&format!("  t{i}: {{run: 'sleep 0.5'}}\n"));
  }
  let test = Test::with_job(&job);
  let script = format!("ulimit -Sn 128 && exec '{BIN}' run job.yaml -j 101 --output plain");
  let out = std::process::Command::new("sh")
    .args(["-c", &script])
    .current_dir(test.dir.path())
    .output()
    .expect("run sh");
  let stdout = String::from_utf8_lossy(&out.stdout);
  if String::from_utf8_lossy(&out.stderr).contains("ulimit") {
    eprintln!("skipping: this shell cannot lower the open-files limit");
    return;
  }
  assert_eq!(out.status.code(), Some(0), "{stdout}");
  assert!(stdout.lines().any(|l| l == "[limit] 128"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Lots of output

#[test]
fn three_hundred_megabytes_of_output_in_bounded_memory() {
  let test = Test::with_job(
    r#"
    tasks:
      big:
        run: head -c 300000000 /dev/zero | tr '\0' 'x' | fold -w 1000 && touch big.done
    "#,
  );
  let run = test.measure(&["run", "job.yaml"], Duration::from_secs(120));
  assert!(run.status.success(), "exit {:?}\n{}", run.status, run.report);
  assert!(test.path("big.done").exists(), "the task did not run to its end");
  let kb = run.peak_kb;
  assert!(kb < 200 * 1024, "peak RSS {kb} kB");
}

#[test]
fn lots_of_stdout_and_stderr_at_once_do_not_deadlock() {
  let test = Test::with_job(
    r#"
    tasks:
      err-first:
        run: |
          yes err | head -n 100000 >&2
          yes out | head -n 100000
      out-first:
        run: |
          yes out | head -n 100000
          yes err | head -n 100000 >&2
      both:
        run: |
          yes err | head -n 100000 >&2 &
          yes out | head -n 100000
          wait
    "#,
  );
  let reaper = Reaper::new("run");
  let (run, _) = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "3"])
    .wait(Duration::from_secs(90));
  run.code(0);
  for task in ["err-first", "out-first", "both"] {
    for word in ["out", "err"] {
      let line = format!("[{task}] {word}");
      let count = run.stdout.lines().filter(|l| *l == line).count();
      assert_eq!(count, 100000, "{line}");
    }
  }
}

/// Pipes are reused from process to process: every line still reaches its own task, on its own
/// stream, none lost, none twice, also when tasks end while others are printing.
#[test]
fn every_line_reaches_its_own_task_and_stream() {
  let mut yaml = String::from("tasks:\n");
  for i in 0..120 {
    let pause = if i % 7 == 0 { "sleep 0.01; " } else { "" };
    yaml.push_str(&format!(
      "  t{i}: {{run: 'for n in 1 2 3 4 5; do echo \"$RUNNER_TASK out $n\"; {pause}echo \"$RUNNER_TASK err $n\" >&2; done'}}\n"
    ));
  }
  let test = Test::with_job(&yaml);
  let run = test.run(&["run", "job.yaml", "-j", "6", "--output", "json"]);
  run.code(0);
  let mut seen = std::collections::BTreeMap::new();
  for event in events(&run) {
    if event["event"] != "output" {
      continue;
    }
    let (task, stream, text) = (&event["task"], &event["stream"], &event["line"]);
    let (task, stream, text) =
      (task.as_str().unwrap(), stream.as_str().unwrap(), text.as_str().unwrap());
    let short = if stream == "stdout" { "out" } else { "err" };
    let n = text
      .strip_prefix(&format!("{task} {short} "))
      .unwrap_or_else(|| panic!("{task} {stream}: {text}"));
    *seen.entry((task.to_string(), short, n.to_string())).or_insert(0) += 1;
  }
  assert_eq!(seen.len(), 120 * 2 * 5, "every line once");
  assert!(seen.values().all(|&count| count == 1), "no line twice");
}

#[test]
fn every_line_arrives_when_the_runner_keeps_the_pipes_until_the_exit() {
  // In a chain nothing else waits for a slot, so the runner keeps its own ends of each task's
  // pipes until the task has been reaped. A process that left the task's group and still holds
  // the pipes then is waited for, as it was before, and its lines still count as the task's.
  let test = Test::with_job(
    r#"
    tasks:
      first:
        run: for n in $(seq 1 300); do echo "out $n"; echo "err $n" >&2; done
      escaped:
        needs: [first]
        # The leader ends once the other process has left its group, which it must do before
        # the group is ended with the leader.
        run: >-
          setsid sh -c 'touch escaped; sleep 0.3; echo late' &
          while [ ! -e escaped ]; do sleep 0.01; done; echo early
      last:
        needs: [escaped]
        run: echo after
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "1", "--output", "json"]);
  run.code(0);
  let lines: Vec<(String, String, String)> = events(&run)
    .iter()
    .filter(|e| e["event"] == "output")
    .map(|e| {
      let text = |key: &str| e[key].as_str().unwrap().to_string();
      (text("task"), text("stream"), text("line"))
    })
    .collect();
  let of = |task: &str, stream: &str| -> Vec<String> {
    lines.iter().filter(|l| l.0 == task && l.1 == stream).map(|l| l.2.clone()).collect()
  };
  let numbered = |word: &str| (1..=300).map(|n| format!("{word} {n}")).collect::<Vec<_>>();
  assert_eq!(of("first", "stdout"), numbered("out"));
  assert_eq!(of("first", "stderr"), numbered("err"));
  assert_eq!(of("escaped", "stdout"), ["early", "late"]);
  let position = |task: &str| lines.iter().position(|l| l.0 == task).unwrap();
  assert!(position("escaped") < position("last"), "{lines:?}");
  assert_eq!(of("last", "stdout"), ["after"]);
}
