//! The values the shell completes on TAB for `runner run`: job files, and the tasks and groups of
//! the job file on the command line. It takes the command line's clap definition as an argument
//! and does not know `cli`, which names these completers.

use crate::source::Source;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Job files: `*.yaml` and `*.yml` files, and folders to descend into.
pub(crate) fn job_files(current: &OsStr) -> Vec<CompletionCandidate> {
  let is_job =
    |path: &Path| path.is_dir() || path.extension().is_some_and(|e| e == "yaml" || e == "yml");
  PathCompleter::any().filter(is_job).complete(current)
}

/// The tasks and groups of the job file of the command line being completed: the one `-f`
/// names, a first word that names one, or the one found from the current folder up.
/// `cli` is the whole command line's definition.
pub(crate) fn targets(cli: &clap::Command, current: &OsStr) -> Vec<CompletionCandidate> {
  let args: Vec<OsString> = std::env::args_os().collect();
  let given = job_file_argument(cli, &args);
  let cwd = std::env::current_dir().unwrap_or_default();
  let file = match &given {
    Some(file) => Some(PathBuf::from(file)),
    None => crate::discover::find(&cwd).ok(),
  };
  let current_text = current.to_string_lossy();
  let mut out: Vec<CompletionCandidate> = file
    .map(|file| names(&file))
    .unwrap_or_default()
    .into_iter()
    .filter(|(name, _)| name.starts_with(current_text.as_ref()))
    .map(|(name, help)| CompletionCandidate::new(name).help(help.map(Into::into)))
    .collect();
  // No file given yet: the word being completed may be the job file itself.
  if given.is_none() {
    out.extend(job_files(current));
  }
  out
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

/// The job file given on the command line being completed after `run`: the value of `-f` or
/// `--file`, or a first positional word that is one (as `discover::run_words` tells).
pub(crate) fn job_file_argument(cli: &clap::Command, args: &[OsString]) -> Option<OsString> {
  let run = cli.find_subcommand("run")?;
  let words = args.iter().skip_while(|a| *a != "--").skip(1);
  let mut words = words.skip_while(|a| *a != "run").skip(1);
  let mut first = None;
  while let Some(word) = words.next() {
    let text = word.to_string_lossy();
    if let Some(file) = text.strip_prefix("--file=") {
      return Some(file.into());
    } else if text == "-f" || text == "--file" {
      return words.next().cloned();
    } else if takes_value(run, &text) {
      words.next();
    } else if !text.starts_with('-') && first.is_none() {
      first = Some(word);
    }
  }
  // The last word is the one being completed: a first word alone is not a file yet.
  let being_completed = |word: &OsString| args.last().is_some_and(|last| std::ptr::eq(last, word));
  first
    .filter(|word| {
      !being_completed(word)
        && (crate::discover::looks_like_file(&word.to_string_lossy()) || Path::new(word).is_file())
    })
    .cloned()
}

/// Task and group names with their descriptions, namespaced names of included files among
/// them, as far as the files decode.
fn names(path: &Path) -> Vec<(String, Option<String>)> {
  match Source::read(path) {
    Ok(source) => crate::compile::target_names(&source),
    Err(_) => Vec::new(),
  }
}
