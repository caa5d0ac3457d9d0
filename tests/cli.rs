//! The command line as shells and people use it: committed completions and man pages are what
//! the binary generates, completion works in a real bash, `--help` has examples.

use crate::support::{BIN, Test, repo, require};
use std::path::PathBuf;
use std::process::Command;

const SHELLS: &[(&str, &str)] = &[
  ("bash", "runner.bash"),
  ("zsh", "_runner"),
  ("fish", "runner.fish"),
  ("elvish", "runner.elv"),
  ("powershell", "_runner.ps1"),
];
const MAN_PAGES: &[&str] = &[
  "run",
  "validate",
  "list",
  "graph",
  "schema",
  "completions",
  "serve",
  "submit",
  "status",
  "logs",
  "cancel",
  "shutdown",
];

fn generated(args: &[&str]) -> String {
  let out = Command::new(BIN).args(args).output().expect("run runner");
  assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
  String::from_utf8(out.stdout).expect("utf-8")
}

/// Every generated file and the command that produces it.
fn generated_files() -> Vec<(PathBuf, Vec<String>)> {
  let mut files: Vec<(PathBuf, Vec<String>)> = SHELLS
    .iter()
    .map(|(shell, file)| {
      (repo().join("completions").join(file), vec!["completions".into(), shell.to_string()])
    })
    .collect();
  files.push((repo().join("docs/man/runner.1"), vec!["manpage".into()]));
  for page in MAN_PAGES {
    files.push((
      repo().join(format!("docs/man/runner-{page}.1")),
      vec!["manpage".into(), page.to_string()],
    ));
  }
  files
}

/// Fails when a committed completion script or man page differs from what the binary prints.
/// `RUNNER_UPDATE_GENERATED=1 cargo test --test integration generated` rewrites them.
#[test]
fn generated_files_are_fresh() {
  let update = std::env::var_os("RUNNER_UPDATE_GENERATED").is_some();
  let mut stale = Vec::new();
  for (path, args) in generated_files() {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fresh = generated(&args);
    if update {
      std::fs::create_dir_all(path.parent().unwrap()).unwrap();
      std::fs::write(&path, &fresh).unwrap();
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
      stale.push(path.display().to_string());
    }
  }
  assert!(
    stale.is_empty(),
    "stale generated files (RUNNER_UPDATE_GENERATED=1 to rewrite): {stale:?}"
  );
}

/// Sources the committed bash script in a real bash and asks it for candidates, as TAB does.
pub(crate) fn bash_complete(dir: &std::path::Path, words: &[&str]) -> Vec<String> {
  let script = repo().join("completions/runner.bash");
  let bin_dir = PathBuf::from(BIN).parent().unwrap().to_path_buf();
  let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
  let program = format!(
    r#"source '{}'
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_runner runner "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf "%s\n" "${{COMPREPLY[@]}}""#,
    script.display(),
    quoted.join(" ")
  );
  let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
  let out = Command::new("bash")
    .arg("-c")
    .arg(program)
    .current_dir(dir)
    .env("PATH", path)
    .output()
    .expect("bash");
  assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
  String::from_utf8_lossy(&out.stdout)
    .lines()
    .filter(|l| !l.is_empty())
    .map(str::to_string)
    .collect()
}

#[test]
fn bash_completes_subcommands_files_and_task_names() {
  if !require("bash") {
    return;
  }
  let test = Test::with_job(
    "tasks:\n  build: {run: 'true'}\n  bench: {run: 'true'}\n  test: {needs: [build]}\ngroups:\n  all: {gather: [test, bench]}\n",
  );
  test.write("other.yml", "tasks: {x: {}}\n");
  test.write("notes.txt", "not a job file\n");
  let dir = test.dir.path();
  assert_eq!(bash_complete(dir, &["runner", "ru"]), ["run"]);
  assert_eq!(bash_complete(dir, &["runner", "va"]), ["validate"]);
  let files = bash_complete(dir, &["runner", "run", ""]);
  assert!(
    files.contains(&"job.yaml".to_string()) && files.contains(&"other.yml".to_string()),
    "{files:?}"
  );
  assert!(!files.contains(&"notes.txt".to_string()), "{files:?}");
  let names = bash_complete(dir, &["runner", "run", "job.yaml", "b"]);
  assert_eq!(names, ["build", "bench"]);
  let names = bash_complete(dir, &["runner", "run", "-j", "2", "job.yaml", "build", ""]);
  for name in ["build", "bench", "test", "all"] {
    assert!(names.contains(&name.to_string()), "{name} missing from {names:?}");
  }
}

/// Completion reads only names (no compile) and works on a 10k-task file; its speed is measured
/// by `benches/complete.sh`.
#[test]
fn completes_task_names_of_a_big_file() {
  if !require("bash") {
    return;
  }
  let test = Test::new();
  let mut yaml = String::from("tasks:\n  task0: {run: 'true'}\n");
  for i in 1..10_000 {
    yaml.push_str(&format!("  task{i}: {{run: 'true', needs: [task{}]}}\n", i - 1));
  }
  test.write("big.yaml", &yaml);
  let names = bash_complete(test.dir.path(), &["runner", "run", "big.yaml", "task999"]);
  assert_eq!(names.len(), 11, "{names:?}");
}

#[test]
fn every_subcommand_has_help_with_examples() {
  for sub in ["run", "validate", "list", "graph", "completions"] {
    let help = generated(&[sub, "--help"]);
    assert!(help.contains("Examples:"), "{sub} --help has no examples:\n{help}");
  }
}
