//! Output as CI systems read it: GitHub Actions annotations (one per failure, one per job-file
//! error, escaped as workflow commands require), GitLab CI sections, JUnit's allowed failures,
//! and colour as the flag and the environment decide, with no escape byte left without it.

use crate::support::{Run, Test};

/// Durations and Unix timestamps vary from run to run; escapes and carriage returns are shown.
fn filters() -> Vec<(&'static str, &'static str)> {
  vec![
    (r"section_(start|end):\d+:", "section_$1:[ts]:"),
    // The summary's duration column is right-aligned: its width follows the longest duration.
    (r" *\b\d+(\.\d+)?m?s\b", " [duration]"),
    (r"\x1b", "<ESC>"),
    (r"\r", "<CR>"),
  ]
}

fn snapshot(name: &str, text: &str) {
  insta::with_settings!({ filters => filters(), omit_expression => true }, {
    insta::assert_snapshot!(name, text);
  });
}

/// A failure whose output needs escaping, an allowed failure, and a success.
const FAILING: &str = r#"
  tasks:
    setup:
      run: echo ready
    build:
      needs: [setup]
      run: |
        echo compiling
        printf '100%% broken:\r a,b\n'
        exit 2
    lint:
      run: echo "3 warnings"; exit 1
      allow_failure: true
"#;

/// `runner ARGS` with `job` as `file`, in a CI environment (`vars`).
fn in_ci(file: &str, job: &str, args: &[&str], vars: &[(&str, &str)]) -> Run {
  let test = Test::new();
  test.write(file, &crate::support::dedent(job));
  let mut cmd = test.command(args);
  cmd.envs(vars.iter().copied());
  Run::from(cmd.output().expect("run runner"))
}

fn workflow_commands(text: &str) -> String {
  text.lines().filter(|l| l.starts_with("::")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn github_annotates_each_failure_once_escaped() {
  let file = "ci,job:1%.yaml";
  let run = in_ci(file, FAILING, &["run", file, "-j", "1"], &[("GITHUB_ACTIONS", "true")]);
  run.code(1);
  let commands = workflow_commands(&run.stdout);
  let errors = commands.lines().filter(|l| l.starts_with("::error ")).count();
  assert_eq!(errors, 1, "one failure, one annotation:\n{}", run.stdout);
  snapshot("github_run_commands", &commands);
}

#[test]
fn github_annotates_every_error_of_a_job_file() {
  let bad = r#"
    tasks:
      build:
        run: make
        nedds: [x]
      "a,b:c":
        run: "true"
  "#;
  for command in ["validate", "run"] {
    let run = in_ci("bad.yaml", bad, &[command, "bad.yaml"], &[("GITHUB_ACTIONS", "true")]);
    run.code(2);
    assert!(run.stderr.contains("× unknown key `nedds`"), "the diagnostics stay: {}", run.stderr);
    snapshot(&format!("github_{command}_annotations"), &workflow_commands(&run.stderr));
  }
  let outside = in_ci("bad.yaml", bad, &["validate", "bad.yaml"], &[]);
  assert!(!outside.stderr.contains("::error"), "no annotations outside GitHub: {}", outside.stderr);
}

#[test]
fn gitlab_folds_each_task_into_a_section() {
  let before = now();
  let run = in_ci("job.yaml", FAILING, &["run", "job.yaml", "-j", "1"], &[("GITLAB_CI", "true")]);
  run.code(1);
  let after = now();
  assert!(!run.stdout.contains("::group::"), "{}", run.stdout);
  let stamps: Vec<u64> = run
    .stdout
    .split("section_")
    .skip(1)
    .map(|s| s.split(':').nth(1).and_then(|t| t.parse().ok()).expect("a timestamp"))
    .collect();
  assert_eq!(stamps.len(), 6, "a start and an end per task:\n{}", run.stdout);
  assert!(stamps.iter().all(|t| (before..=after).contains(t)), "{stamps:?} in {before}..={after}");
  assert!(stamps.chunks(2).all(|pair| pair[0] <= pair[1]), "{stamps:?}");
  snapshot("gitlab_run", &run.stdout);
}

fn now() -> u64 {
  std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn junit_allowed_failure_passes_with_a_note() {
  let test = Test::with_job(FAILING);
  test.run(&["run", "job.yaml", "-j", "1", "--junit", "junit.xml"]).code(1);
  let xml = test.read("junit.xml");
  let lint = &xml[xml.find("<testcase name=\"lint\"").expect(&xml)..];
  let lint = &lint[..lint.find("</testcase>").expect(&xml)];
  assert!(!lint.contains("<failure"), "{lint}");
  assert!(
    lint.contains(
      "<system-out>runner: failed (allowed by allow_failure): exited with code 1\n3 warnings"
    ),
    "{lint}"
  );
  assert!(xml.contains("failures=\"1\""), "only build fails the suite:\n{xml}");
  crate::reports::validate_with_xmllint(&test.path("junit.xml"));
}

// ---------------------------------------------------------------------------------------------
// Colour

/// Output with colour codes of its own, a `tput sgr0` reset (`ESC ( B ESC [ m`), and a title.
const COLOURFUL: &str = r#"
  tasks:
    paint:
      run: printf '\033[1;31mred\033(B\033[m plain \033]0;title\007done\n'
    bad:
      run: printf '\033[33mwarn\033[0m\n' >&2; exit 1
"#;

/// `runner run` (plain) with `args` and the colour variables `vars` (all others removed).
fn plain_run(args: &[&str], vars: &[(&str, &str)]) -> Run {
  let test = Test::with_job(COLOURFUL);
  let mut cmd = test.command(&[&["run", "job.yaml", "--output", "plain"][..], args].concat());
  for var in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "TERM"] {
    cmd.env_remove(var);
  }
  cmd.envs(vars.iter().copied());
  let run = Run::from(cmd.output().expect("run runner"));
  run.code(1);
  run
}

#[test]
fn without_colour_plain_output_has_no_escape_byte() {
  for (args, vars) in [
    (&["--color", "never"][..], &[("CLICOLOR_FORCE", "1"), ("FORCE_COLOR", "1")][..]),
    (&[][..], &[][..]),
    (&["--output-mode", "grouped"][..], &[("NO_COLOR", "1")][..]),
    (&[][..], &[("GITHUB_ACTIONS", "true")][..]),
  ] {
    let run = plain_run(args, vars);
    assert!(run.stdout.contains("[paint] red plain done"), "{args:?} {vars:?}: {}", run.stdout);
    assert!(!run.stdout.contains('\x1b'), "{args:?} {vars:?}: {:?}", run.stdout);
    assert!(!run.stdout.contains("(B"), "{args:?} {vars:?}: {:?}", run.stdout);
  }
}

#[test]
fn colour_follows_the_flag_then_the_environment() {
  let coloured = |args: &[&str], vars: &[(&str, &str)]| {
    let run = plain_run(args, vars);
    run.stdout.contains("\x1b[31mfailed\x1b[0m")
  };
  assert!(coloured(&["--color", "always"], &[("NO_COLOR", "1")]), "the flag wins");
  assert!(!coloured(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]), "the flag wins");
  assert!(!coloured(&[], &[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]), "NO_COLOR next");
  assert!(coloured(&[], &[("NO_COLOR", ""), ("FORCE_COLOR", "1")]), "an empty NO_COLOR is unset");
  assert!(coloured(&[], &[("FORCE_COLOR", "1")]), "FORCE_COLOR colours a pipe");
  assert!(!coloured(&[], &[("FORCE_COLOR", "0")]), "FORCE_COLOR=0 does not");
  assert!(coloured(&[], &[("CLICOLOR_FORCE", "1"), ("CLICOLOR", "0")]), "forcing before CLICOLOR");
  assert!(!coloured(&[], &[]), "a pipe gets no colour");
  // With colour, the task's own escapes pass through.
  let run = plain_run(&["--color", "always"], &[]);
  assert!(run.stdout.contains("\x1b[1;31mred"), "{:?}", run.stdout);
}

#[test]
fn diagnostics_follow_the_colour_choice() {
  let test = Test::with_job("tasks:\n  a:\n    run: x\n    nedds: [b]\n");
  let stderr = |args: &[&str], vars: &[(&str, &str)]| {
    let mut cmd = test.command(&[&["validate", "job.yaml"][..], args].concat());
    cmd.env_remove("NO_COLOR").envs(vars.iter().copied());
    let run = Run::from(cmd.output().expect("run runner"));
    run.code(2);
    run.stderr
  };
  assert!(stderr(&[], &[("CLICOLOR_FORCE", "1")]).contains('\x1b'), "CLICOLOR_FORCE");
  assert!(stderr(&[], &[("FORCE_COLOR", "1")]).contains('\x1b'), "FORCE_COLOR");
  assert!(stderr(&["--color", "always"], &[]).contains('\x1b'), "--color always");
  assert!(!stderr(&["--color", "never"], &[("FORCE_COLOR", "1")]).contains('\x1b'));
  assert!(!stderr(&[], &[]).contains('\x1b'), "a pipe gets no colour");
}
