//! What a run looks like on the screen: plain and JSON output pinned by snapshot (durations
//! normalised; `-j 1` and `needs` make the order deterministic), grouped and GitHub Actions
//! plain output, the colour rules, and the live tty view as a person sees it in a real
//! terminal (tmux).

use crate::support::{BIN, Run, Test, events, finished, require};
use crate::tmux::{Tmux, spinner_line};

/// Success, a retry, a failure, a skip, a timeout, a gather group and a queue with a failed
/// item, in one run.
const DEMO: &str = r#"
  name: demo
  tasks:
    fetch:
      run: echo fetched
    flaky:
      run: test -e flaky.once || { touch flaky.once; echo "first try fails" >&2; exit 1; }; echo "ok now"
      retries: 1
    compile:
      needs: [fetch]
      run: echo compiling; echo "error - cannot compile" >&2; exit 3
    package:
      needs: [compile]
      run: echo never
    slow:
      run: echo sleeping; sleep 5
      timeout: 200ms
    produce:
      needs: [checks]
      run: printf 'a\nb\n'
      produces: orders
    consume:
      needs: [produce]
      consumes: orders
      run: echo "handling $RUNNER_ITEM"; test "$RUNNER_ITEM" != b
  groups:
    checks:
      gather: [fetch, flaky]
  queues:
    orders: {}
"#;

/// Durations vary from run to run; everything else must not.
fn plain_filters() -> Vec<(&'static str, &'static str)> {
  vec![
    // The summary table's right-aligned duration column.
    (r"(?m) +(\d+(\.\d+)?m?s|\d+m\d\ds)$", " [duration]"),
    (r"\b(\d+(\.\d+)?m?s|\d+m\d\ds)\b", "[duration]"),
  ]
}

#[test]
fn plain_output_snapshot() {
  let test = Test::with_job(DEMO);
  let run = test.run(&["run", "job.yaml", "-j", "1", "--output", "plain"]);
  run.code(1);
  insta::with_settings!({ filters => plain_filters(), omit_expression => true }, {
    insta::assert_snapshot!("plain", run.stdout);
  });
}

#[test]
fn json_output_snapshot() {
  let test = Test::with_job(DEMO);
  let run = test.run(&["run", "job.yaml", "-j", "1", "--output", "json"]);
  run.code(1);
  // When a queue's state is reported depends on timing (at most one a queue per 100ms): the
  // queue tests check those events.
  let filters = vec![
    (r#""duration_ms":\d+"#, r#""duration_ms":0"#),
    (r#"(?m)^\{"event":"queue_state".*\n"#, ""),
  ];
  insta::with_settings!({ filters => filters, omit_expression => true }, {
    insta::assert_snapshot!("json", run.stdout);
  });
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
// Grouped output

/// Two tasks that print at the same time, each with a pause between its lines.
const TWO_AT_ONCE: &str = r#"
  tasks:
    left:
      run: for i in 1 2 3; do echo "left $i"; sleep 0.05; done
    right:
      run: for i in 1 2 3; do echo "right $i"; sleep 0.05; done
"#;

/// The lines of `stdout` about `task`, with their positions.
fn lines_of<'a>(stdout: &'a str, task: &str) -> Vec<(usize, &'a str)> {
  let prefix = format!("[{task}]");
  stdout.lines().enumerate().filter(|(_, l)| l.starts_with(&prefix)).collect()
}

#[test]
fn grouped_output_prints_each_task_as_one_block() {
  let test = Test::with_job(TWO_AT_ONCE);
  let run = test.run(&["run", "job.yaml", "-j", "2", "--output-mode", "grouped"]);
  run.code(0);
  for task in ["left", "right"] {
    let lines = lines_of(&run.stdout, task);
    let texts: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
    assert_eq!(texts.len(), 5, "{}", run.stdout);
    assert_eq!(texts[0], format!("[{task}] started"));
    assert_eq!(&texts[1..4], [1, 2, 3].map(|i| format!("[{task}] {task} {i}")));
    assert!(texts[4].starts_with(&format!("[{task}] succeeded in ")), "{}", run.stdout);
    let contiguous = lines.windows(2).all(|w| w[1].0 == w[0].0 + 1);
    assert!(contiguous, "the block of {task} is interrupted:\n{}", run.stdout);
  }
}

#[test]
fn grouped_output_is_bounded_and_says_what_it_dropped() {
  let test = Test::with_job(
    r#"
    tasks:
      big:
        run: seq 10005
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output-mode", "grouped"]);
  run.code(0);
  let lines: Vec<&str> = run.stdout.lines().collect();
  assert_eq!(lines[0], "[big] started");
  assert_eq!(lines[1], "[big] ... 5 earlier lines dropped (the last 10000 are kept)");
  assert_eq!(lines[2], "[big] 6");
  assert_eq!(lines[10_001], "[big] 10005");
  assert!(lines[10_002].starts_with("[big] succeeded in "), "{}", lines[10_002]);
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

/// A failure (with an output line that needs escaping) that cancels, with `--fail-fast`, a
/// long task that has printed and a dependent that never started.
const GITHUB: &str = r#"
  tasks:
    setup:
      run: echo ready
    long:
      run: echo "long 1"; echo "long 2"; touch long.started; sleep 30
    build:
      needs: [setup]
      run: |
        while [ ! -e long.started ]; do sleep 0.01; done
        echo "compiling"
        echo "100% broken, really: yes" >&2
        exit 2
    ship:
      needs: [build]
      run: echo never
"#;

/// Runs `job` as GitHub Actions would, with `file` as the job file's name; returns the run and
/// the job summary written.
fn github_run(job: &str, file: &str, args: &[&str]) -> (Run, String) {
  let test = Test::new();
  test.write(file, &crate::support::dedent(job));
  let summary = test.path("step-summary.md");
  std::fs::write(&summary, "# before\n").expect("write the summary file");
  let mut cmd = test.command(&[&["run", file][..], args].concat());
  cmd.env("GITHUB_ACTIONS", "true").env("GITHUB_STEP_SUMMARY", &summary);
  let run = Run::from(cmd.output().expect("run runner"));
  (run, test.read("step-summary.md"))
}

/// The 1-based line of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
  text.lines().position(|l| l.contains(needle)).expect("needle in text") + 1
}

#[test]
fn github_groups_pair_up_and_hold_each_task() {
  let (run, _) = github_run(GITHUB, "job.yaml", &["-j", "4", "--fail-fast"]);
  run.code(1);
  let mut open: Option<&str> = None;
  let mut groups = Vec::new();
  for line in run.stdout.lines() {
    if let Some(title) = line.strip_prefix("::group::") {
      assert!(open.is_none(), "::group:: inside a group at {line:?}\n{}", run.stdout);
      open = Some(title);
      groups.push(title);
    } else if line == "::endgroup::" {
      assert!(open.take().is_some(), "::endgroup:: without a group\n{}", run.stdout);
    } else if let Some(title) = open {
      let task = title.trim_start_matches('[').split(']').next().unwrap();
      assert!(line.starts_with(&format!("[{task}")), "{line:?} inside {title:?}\n{}", run.stdout);
    }
  }
  assert!(open.is_none(), "a group is never closed\n{}", run.stdout);
  assert!(groups.iter().any(|g| g.starts_with("[setup] succeeded in ")), "{groups:?}");
  assert!(groups.iter().any(|g| g.starts_with("[build] failed (exit 2) in ")), "{groups:?}");
}

#[test]
fn github_annotates_failures_and_keeps_the_rest_short() {
  let job = crate::support::dedent(GITHUB);
  let (run, summary) = github_run(GITHUB, "ci,job.yaml", &["-j", "4", "--fail-fast"]);
  run.code(1);
  let out = &run.stdout;
  // The annotation points at the task in the file, with property and data escaping.
  let line = line_of(&job, "build:");
  let error =
    format!("::error file=ci%2Cjob.yaml,line={line},title=build failed::failed (exit 2) in ");
  let errors: Vec<&str> = out.lines().filter(|l| l.starts_with(&error)).collect();
  assert_eq!(errors.len(), 1, "one annotation for one failure\n{out}");
  assert!(errors[0].ends_with(": 100%25 broken, really: yes"), "{}", errors[0]);
  // What was cancelled after the failure, run or not: one line each, no group.
  assert!(
    out.lines().any(
      |l| l.starts_with("[long] cancelled in ") && l.ends_with("(2 lines of output not shown)")
    ),
    "{out}"
  );
  assert!(out.lines().any(|l| l == "[ship] cancelled"), "{out}");
  assert!(!out.contains("::group::[long]") && !out.contains("::group::[ship]"), "{out}");
  // The first failure comes again at the end, after the last group, before the summary.
  let tail = &out[out.rfind("::endgroup::").expect("a group")..];
  let first = tail.find("runner: first failure: [build] failed (exit 2) in ").expect(out);
  let table = tail.find("\nsummary:\n").expect(out);
  assert!(first < table, "{out}");
  assert!(tail[first..].contains("[build] 100% broken, really: yes"), "{out}");
  // The job summary: appended, a Markdown table, failures first.
  assert!(summary.starts_with("# before\n### runner: ci,job.yaml\n"), "{summary}");
  let rows: Vec<&str> =
    summary.lines().filter(|l| l.starts_with("| ") && l.contains('`')).collect();
  assert_eq!(rows.len(), 4, "{summary}");
  assert!(rows[0].starts_with("| ❌ failed | `build` | 1 | "), "{summary}");
  assert_eq!(rows[1], "| ⊘ cancelled | `ship` | 0 | - |", "{summary}");
  assert!(rows[2].starts_with("| ⊘ cancelled | `long` | 1 | "), "{summary}");
  assert!(rows[3].starts_with("| ✅ succeeded | `setup` | 1 | "), "{summary}");
  assert!(summary.contains("\nrunner: failed (exit 1) in "), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// Colour

fn coloured(env: &[(&str, &str)]) -> bool {
  let test = Test::with_job("tasks:\n  bad: {run: 'exit 1'}\n");
  let mut cmd = test.command(&["run", "job.yaml", "--output", "plain"]);
  cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("TERM");
  cmd.envs(env.iter().copied());
  let run = Run::from(cmd.output().expect("run runner"));
  run.code(1);
  assert!(run.stdout.contains("failed"), "{}", run.stdout);
  run.stdout.contains("\x1b[")
}

#[test]
fn colour_rules() {
  assert!(!coloured(&[]), "a pipe gets no colour");
  assert!(coloured(&[("CLICOLOR_FORCE", "1")]), "CLICOLOR_FORCE colours a pipe");
  assert!(!coloured(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]), "NO_COLOR wins");
  assert!(!coloured(&[("CLICOLOR_FORCE", "0")]), "CLICOLOR_FORCE=0 is off");
}

#[test]
fn status_words_are_coloured_when_forced() {
  let test = Test::with_job("tasks:\n  bad: {run: 'exit 1'}\n  good: {run: 'true'}\n");
  let mut cmd = test.command(&["run", "job.yaml", "--output", "plain", "-j", "1"]);
  cmd.env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1");
  let run = Run::from(cmd.output().expect("run runner"));
  assert!(run.stdout.contains("[bad] \x1b[31mfailed\x1b[0m (exit 1) in "), "{:?}", run.stdout);
  assert!(run.stdout.contains("[good] \x1b[32msucceeded\x1b[0m in "), "{:?}", run.stdout);
  assert!(run.stdout.contains("runner: \x1b[31mfailed\x1b[0m (exit 1)"), "{:?}", run.stdout);
  // Nothing else is coloured: no escape before the `[task]` prefixes.
  assert!(run.stdout.lines().filter(|l| l.starts_with('[')).all(|l| !l[..5].contains('\x1b')));
}

// ---------------------------------------------------------------------------------------------
// The live view, in a real terminal

#[test]
fn tty_view_in_a_real_terminal() {
  if !require("tmux") {
    return;
  }
  let test = Test::with_job(
    r#"
    tasks:
      compile:
        run: echo "compiling module 1 of 3"; while [ ! -e release ]; do sleep 0.02; done; echo "compiled"
      quick:
        run: echo "quick output"
      broken:
        run: echo "first clue"; echo "something went wrong" >&2; exit 4
      after:
        needs: [compile]
        run: echo done
    "#,
  );
  let command = format!(
    "cd '{}' && '{BIN}' run job.yaml -j 4 --output tty; echo runner-exit=$?; exec cat",
    test.dir.path().display()
  );
  let tmux = Tmux::start(&command);
  // Mid-run: compile's spinner row with its last output line, the others finished above.
  let screen = tmux.wait_for("spinner row for compile", |s| {
    s.lines()
      .any(|l| spinner_line(l) && l.contains("compile") && l.ends_with("compiling module 1 of 3"))
      && s.contains("✗ broken")
      && s.contains("✓ quick")
  });
  println!("--- the screen mid-run ---\n{screen}---");
  let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
  let broken = lines.iter().position(|l| l.starts_with("✗ broken ")).expect(&screen);
  assert!(lines[broken].ends_with("failed (exit 4)"), "{screen}");
  assert_eq!(lines[broken + 1], "  │ first clue", "{screen}");
  assert_eq!(lines[broken + 2], "  │ something went wrong", "{screen}");
  assert!(lines.iter().any(|l| l.contains(" 2/4 tasks, 1 failed · ")), "{screen}");
  assert!(!screen.contains("quick output"), "a successful task's output is not shown\n{screen}");
  assert!(lines.iter().all(|l| l.chars().count() <= 120), "{screen}");

  std::fs::write(test.path("release"), "").expect("release the task");
  let screen = tmux.wait_for("the end of the run", |s| s.contains("runner-exit="));
  assert!(screen.contains("runner-exit=1"), "{screen}");
  assert!(screen.contains("✓ compile "), "{screen}");
  assert!(screen.contains("✓ after "), "{screen}");
  assert!(screen.contains("\nsummary:\n"), "{screen}");
  assert!(screen.contains("  failed     broken "), "{screen}");
  assert!(screen.contains("runner: failed (exit 1) in "), "{screen}");
  assert!(!screen.lines().any(spinner_line), "a spinner was left behind\n{screen}");
  assert!(!screen.contains(" tasks · "), "the overall bar was left behind\n{screen}");
  let summary = screen.find("\nsummary:\n").unwrap();
  assert!(screen.find("✓ after ").unwrap() < summary, "{screen}");
}

#[test]
fn keys_typed_during_the_live_view_leave_no_row_behind() {
  if !require("tmux") {
    return;
  }
  // The terminal echoes a Ctrl-C as `^C` and Enter as a newline, behind the view's back: the
  // rows must still be cleared where they are, and the echo be back once the runner is done.
  let test = Test::with_job(
    r#"
    tasks:
      server:
        run: echo "listening"; sleep 30
      client:
        run: echo "tick"; sleep 30
      after:
        needs: [client]
        run: echo never
    "#,
  );
  let command = format!(
    "cd '{}' && '{BIN}' run job.yaml --output tty; echo runner-exit=$?; \
     stty -a | tr ' ;' '\n\n' | grep -x -e echo -e -echo | sed 's/^/mode=/'; exec cat",
    test.dir.path().display()
  );
  let tmux = Tmux::start(&command);
  tmux.wait_for("both spinner rows", |s| s.lines().filter(|l| spinner_line(l)).count() == 2);
  let keys = |keys: &[&str]| {
    let status = tmux.cmd(&[&["send-keys", "-t", "main"], keys].concat()).status();
    assert!(status.expect("tmux send-keys").success());
  };
  keys(&["typed", "Enter"]);
  keys(&["C-c"]);
  let screen = tmux.wait_for("the end of the run", |s| s.contains("mode="));
  assert!(screen.contains("runner-exit=130"), "{screen}");
  assert!(!screen.lines().any(spinner_line), "a spinner row was left behind\n{screen}");
  assert!(!screen.contains(" tasks · "), "the overall bar was left behind\n{screen}");
  // The first line says what the Ctrl-C stops, the next ones what became of the tasks.
  let first = "runner: SIGINT: stopping 2 tasks (SIGTERM now, SIGKILL after 3s); Ctrl-C again \
               kills them now\n⊘ ";
  assert!(screen.starts_with(first), "the first lines: the stop, then a finished task\n{screen}");
  assert!(screen.contains("\nmode=echo\n"), "the echo is back on\n{screen}");
}

/// Runs `runner` with `--output tty` on a pipe: no terminal, so no rows, but the same lines.
#[test]
fn tty_output_without_a_terminal_prints_the_lines() {
  let test = Test::with_job("tasks:\n  ok: {run: 'echo hi'}\n  bad: {run: 'echo clue; exit 2'}\n");
  let run = test.run(&["run", "job.yaml", "-j", "1", "--output", "tty"]);
  run.code(1);
  let lines: Vec<&str> = run.stdout.lines().collect();
  assert!(lines[0].starts_with("✓ ok "), "{}", run.stdout);
  assert!(
    lines[1].starts_with("✗ bad ") && lines[1].ends_with("failed (exit 2)"),
    "{}",
    run.stdout
  );
  assert_eq!(lines[2], "  │ clue");
  // At the end, the failure's output in full under a header that names it.
  assert!(lines[3].starts_with("── bad: failed (exit 2) in "), "{}", run.stdout);
  assert_eq!(lines[4], "clue");
  assert_eq!(lines[5], "summary:");
  assert!(lines.last().unwrap().starts_with("runner: failed (exit 1)"), "{}", run.stdout);
}
