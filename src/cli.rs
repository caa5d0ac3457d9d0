//! The command line: clap types that mirror what the user typed. Doc comments are the help.

use crate::candidates;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use std::ffi::OsStr;
use std::path::PathBuf;

/// Run declarative task graphs from YAML job files.
///
/// A job file declares tasks (shell commands), their needs, delays, timeouts, retries and
/// callbacks, gather and wait groups, and bounded queues between producers and consumers.
#[derive(Debug, Parser)]
#[command(name = "runner", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
  #[command(subcommand)]
  pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
  Run(RunArgs),
  Validate(ValidateArgs),
  List(ListArgs),
  Graph(GraphArgs),
  /// Print the JSON Schema of job files, for editors to complete and check them.
  Schema,
  Completions(CompletionsArgs),
  /// Print the man page (roff) of runner or of one subcommand.
  #[command(hide = true)]
  Manpage {
    subcommand: Option<String>,
  },
}

/// Run a job file: its named targets and what they need, or all of it.
///
/// Examples:
///   runner run jobs/tea.yaml
///   runner run jobs/ci.yaml test lint -j 4 --fail-fast
///   runner run jobs/ci.yaml --output json --report run.json --junit junit.xml
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
  /// The job file.
  #[arg(value_name = "FILE", add = ArgValueCompleter::new(candidates::job_files))]
  pub file: PathBuf,
  /// Tasks or groups to run, with what they need. Default: every task and group.
  #[arg(value_name = "TARGET", add = ArgValueCompleter::new(targets))]
  pub targets: Vec<String>,
  /// How many tasks run at once. Default: the file's `concurrency`, else the number of CPUs.
  #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
  pub jobs: Option<u32>,
  /// Cancel everything at the first failure.
  #[arg(long)]
  pub fail_fast: bool,
  /// Stop the whole run after this long (e.g. `10m`); running tasks are terminated.
  #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
  pub timeout: Option<std::time::Duration>,
  /// How long a terminated task has between SIGTERM and SIGKILL.
  #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
  pub kill_grace: std::time::Duration,
  /// Print what would run, in order, without running anything.
  #[arg(long)]
  pub dry_run: bool,
  /// How progress is shown: `tty` (live bars), `plain` lines, or `json` events (NDJSON).
  /// `auto` picks `tty` on a terminal outside CI, else `plain`.
  #[arg(long, value_enum, default_value_t = Output::Auto, help_heading = "Output")]
  pub output: Output,
  /// Plain output: print each line as it comes (`interleaved`), or each task's output as one
  /// block when it ends (`grouped`), so parallel tasks don't mix.
  #[arg(long, value_enum, default_value_t = OutputMode::Interleaved, help_heading = "Output")]
  pub output_mode: OutputMode,
  /// Write each task's full stdout and stderr per attempt (and per queue item) under DIR.
  #[arg(long, value_name = "DIR", help_heading = "Output", value_hint = clap::ValueHint::DirPath)]
  pub log_dir: Option<PathBuf>,
  /// Write the whole run (tasks, groups, queues, timings, exit code) as JSON.
  #[arg(long, value_name = "FILE.json", help_heading = "Output", value_hint = clap::ValueHint::FilePath)]
  pub report: Option<PathBuf>,
  /// Write a JUnit XML file: one testcase per task, failures with their output.
  #[arg(long, value_name = "FILE.xml", help_heading = "Output", value_hint = clap::ValueHint::FilePath)]
  pub junit: Option<PathBuf>,
  /// Write a Chrome trace (Perfetto, chrome://tracing): one slice per task attempt.
  #[arg(long, value_name = "FILE.json", help_heading = "Output", value_hint = clap::ValueHint::FilePath)]
  pub trace: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
  Auto,
  Tty,
  Plain,
  Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputMode {
  Interleaved,
  Grouped,
}

/// Check job files without running anything.
///
/// Prints every error of every file, with its place in the file; exits 2 if any file is invalid.
///
/// Examples:
///   runner validate jobs/*.yaml
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
  /// The job files.
  #[arg(value_name = "FILE", required = true, value_hint = clap::ValueHint::FilePath)]
  pub files: Vec<PathBuf>,
}

/// List the tasks, groups and queues of a job file, with what each needs.
///
/// Examples:
///   runner list jobs/tea.yaml
///   runner list jobs/tea.yaml --json | jq '.tasks[].name'
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
  /// The job file.
  #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub file: PathBuf,
  /// Print JSON instead of a table.
  #[arg(long)]
  pub json: bool,
}

/// Print the compiled task graph as Graphviz dot, Mermaid or JSON.
///
/// Examples:
///   runner graph jobs/tea.yaml | dot -Tsvg > tea.svg
///   runner graph jobs/tea.yaml --format mermaid
#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
  /// The job file.
  #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub file: PathBuf,
  /// The output format.
  #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
  pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
  Dot,
  Mermaid,
  Json,
}

/// Print a shell completion script.
///
/// Examples:
///   runner completions bash > ~/.local/share/bash-completion/completions/runner
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
  /// The shell.
  #[arg(value_enum)]
  pub shell: clap_complete::Shell,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
  crate::duration::parse(text)
    .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 2s, 1m30s)"))
}

/// The tasks and groups of the job file being completed, found with this definition.
fn targets(current: &OsStr) -> Vec<CompletionCandidate> {
  candidates::targets(&Cli::command(), current)
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::ffi::OsString;

  fn words(line: &str) -> Vec<OsString> {
    line.split(' ').map(OsString::from).collect()
  }

  #[test]
  fn finds_the_job_file_argument() {
    let cli = Cli::command();
    let file = |line| {
      candidates::job_file_argument(&cli, &words(line)).map(|f| f.to_string_lossy().into_owned())
    };
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
}
