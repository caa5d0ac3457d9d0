//! Shell completion: the scripts `runner completions SHELL` prints, and the candidates the shell
//! asks the binary for at each TAB (subcommands, flags, job files, a file's tasks and groups).
//!
//! The scripts call back into `runner` (clap_complete's dynamic completion), so task names are
//! always those of the file on disk.

use crate::cli::Cli;
use crate::source::Source;
use clap::CommandFactory;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The environment variable the scripts set when they ask for candidates.
const VAR: &str = "COMPLETE";

/// Answers a completion request and exits, if this process is one; otherwise returns.
pub fn answer_if_asked() {
  clap_complete::CompleteEnv::with_factory(Cli::command).var(VAR).complete();
}

/// The registration script for `shell`.
pub fn script(shell: clap_complete::Shell) -> String {
  let name = shell.to_string();
  let shells = clap_complete::env::Shells::builtins();
  let mut out = Vec::new();
  if let Some(completer) = shells.completer(&name) {
    let _ = completer.write_registration(VAR, "runner", "runner", "runner", &mut out);
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// The man page of `runner`, or of one of its subcommands (`runner-run(1)`...), as roff.
pub fn manpage(subcommand: Option<&str>) -> Option<String> {
  let mut command = Cli::command();
  command.build();
  let page = match subcommand {
    None => command,
    Some(name) => {
      let sub = command.find_subcommand(name)?.clone();
      sub.name(format!("runner-{name}")).version(env!("CARGO_PKG_VERSION"))
    }
  };
  let mut out = Vec::new();
  clap_mangen::Man::new(page).render(&mut out).ok()?;
  Some(String::from_utf8_lossy(&out).into_owned())
}

/// Job files: `*.yaml` and `*.yml` files, and folders to descend into.
pub fn job_files(current: &OsStr) -> Vec<CompletionCandidate> {
  let is_job =
    |path: &Path| path.is_dir() || path.extension().is_some_and(|e| e == "yaml" || e == "yml");
  PathCompleter::any().filter(is_job).complete(current)
}

/// The tasks and groups of the job file named on the command line being completed.
pub fn targets(current: &OsStr) -> Vec<CompletionCandidate> {
  let args: Vec<OsString> = std::env::args_os().collect();
  let Some(file) = job_file_argument(&args) else { return Vec::new() };
  let current = current.to_string_lossy();
  names(Path::new(&file))
    .into_iter()
    .filter(|(name, _)| name.starts_with(current.as_ref()))
    .map(|(name, help)| CompletionCandidate::new(name).help(help.map(Into::into)))
    .collect()
}

/// Whether `word` is a flag of `run` that takes a value (`-j`, `--timeout`...), so that the
/// word after it is not taken for the job file. Read from the clap definition, not a copy.
fn takes_value(run: &clap::Command, word: &str) -> bool {
  let long = word.strip_prefix("--");
  let short = word.strip_prefix('-').and_then(|s| s.parse::<char>().ok());
  run.get_arguments().any(|arg| {
    !arg.is_positional()
      && arg.get_action().takes_values()
      && (long.is_some_and(|l| arg.get_long() == Some(l))
        || short.is_some_and(|c| arg.get_short() == Some(c)))
  })
}

/// The first positional argument after `run` in the words being completed.
fn job_file_argument(args: &[OsString]) -> Option<OsString> {
  let command = Cli::command();
  let run = command.find_subcommand("run")?;
  let words = args.iter().skip_while(|a| *a != "--").skip(1);
  let mut words = words.skip_while(|a| *a != "run").skip(1);
  while let Some(word) = words.next() {
    let text = word.to_string_lossy();
    if takes_value(run, &text) {
      words.next();
    } else if !text.starts_with('-') {
      return Some(word.clone());
    }
  }
  None
}

/// Task and group names with their descriptions, as far as the file decodes.
fn names(path: &Path) -> Vec<(String, Option<String>)> {
  let Ok(source) = Source::read(path) else { return Vec::new() };
  let Ok(root) = crate::yaml::parse(&source) else { return Vec::new() };
  let (file, _) = crate::decode::decode(&source, &root);
  let description =
    |d: &Option<crate::schema::Spanned<String>>| d.as_ref().map(|d| d.value.clone());
  let tasks = file.tasks.iter().map(|t| (t.name.value.clone(), description(&t.description)));
  let groups = file.groups.iter().map(|g| (g.name.value.clone(), description(&g.description)));
  tasks.chain(groups).collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  fn words(line: &str) -> Vec<OsString> {
    line.split(' ').map(OsString::from).collect()
  }

  #[test]
  fn finds_the_job_file_argument() {
    let file = |line| job_file_argument(&words(line)).map(|f| f.to_string_lossy().into_owned());
    assert_eq!(file("runner -- runner run jobs/x.yaml "), Some("jobs/x.yaml".into()));
    assert_eq!(
      file("runner -- runner run -j 2 --fail-fast jobs/x.yaml b"),
      Some("jobs/x.yaml".into())
    );
    assert_eq!(file("runner -- runner validate jobs/x.yaml"), None);
    assert_eq!(file("runner -- runner run"), None);
    let every_value_flag = "runner -- runner run -j 2 --jobs 2 --timeout 1m --kill-grace 1s \
      --output plain --output-mode grouped --log-dir d --report r --junit j --trace t x.yaml";
    assert_eq!(file(every_value_flag), Some("x.yaml".into()));
  }

  #[test]
  fn scripts_exist_for_every_shell() {
    for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish]
    {
      assert!(script(shell).contains("COMPLETE"), "{shell}");
    }
  }
}
