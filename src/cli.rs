//! The command line: clap types that mirror what the user typed. Doc comments are the help.

use crate::candidates;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

mod serve;
pub(crate) use serve::*;

/// Run declarative task graphs from YAML job files.
///
/// A job file declares tasks (shell commands), their needs, delays, timeouts, retries and
/// callbacks, gather and wait groups, and bounded queues between producers and consumers.
#[derive(Debug, Parser)]
#[command(name = "runner", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Cli {
  /// When to colour: `auto` on a terminal (NO_COLOR, CLICOLOR=0 turn it off, CLICOLOR_FORCE and
  /// FORCE_COLOR on), `always`, or `never`.
  #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
  pub color: ColorWhen,
  #[command(subcommand)]
  pub command: Command,
}

/// `--color`: resolved with the environment, per stream, in `options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
  #[default]
  Auto,
  Always,
  Never,
}

// The examples of each command's help: `after_help` keeps their lines as written, where a doc
// comment's paragraph would be rewrapped into one.

const EXAMPLES: &str = "\
Examples:
  runner run build test
  runner validate jobs/ci.yaml
  runner run jobs/ci.yaml -j 4 --junit junit.xml
  runner list jobs/ci.yaml
  runner run --help
";

const RUN_EXAMPLES: &str = "\
Examples:
  runner run
  runner run build test
  runner run -f jobs/ci.yaml lint:clippy
  runner run jobs/tea.yaml
  runner run jobs/ci.yaml test lint -j 4 --fail-fast
  runner run jobs/ci.yaml --output json --report run.json --junit junit.xml
";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  runner validate jobs/*.yaml
";

const LIST_EXAMPLES: &str = "\
Examples:
  runner list jobs/tea.yaml
  runner list jobs/tea.yaml --json | jq '.tasks[].name'
";

const GRAPH_EXAMPLES: &str = "\
Examples:
  runner graph jobs/tea.yaml | dot -Tsvg > tea.svg
  runner graph jobs/tea.yaml --format mermaid
";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  runner completions bash > ~/.local/share/bash-completion/completions/runner
";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
  Run(RunArgs),
  Validate(ValidateArgs),
  List(ListArgs),
  Graph(GraphArgs),
  /// Print the JSON Schema of job files, for editors to complete and check them.
  Schema,
  Completions(CompletionsArgs),
  Serve(ServeArgs),
  Submit(SubmitArgs),
  Status(StatusArgs),
  Logs(LogsArgs),
  Cancel(CancelArgs),
  Shutdown(ShutdownArgs),
  /// Print the man page (roff) of runner or of one subcommand.
  #[command(hide = true)]
  Manpage {
    subcommand: Option<String>,
  },
}

/// Run a job file: its named targets and what they need, or all of it.
#[derive(Debug, Args)]
#[command(after_help = RUN_EXAMPLES, override_usage = "runner run [OPTIONS] [FILE] [TARGET]...")]
pub(crate) struct RunArgs {
  /// The job file; every word is then a target. Default: `runner.yaml` found from here up.
  #[arg(short = 'f', long = "file", value_name = "FILE", add = ArgValueCompleter::new(candidates::job_files))]
  pub file: Option<PathBuf>,
  /// The job file, when the first word ends in `.yaml` or `.yml`, holds a `/` or names a file
  /// (else `runner.yaml` found from here up; both at once is an error); then the tasks or groups
  /// to run, with what they need. Default: every task and group.
  #[arg(value_name = "TARGET", add = ArgValueCompleter::new(targets))]
  pub words: Vec<OsString>,
  /// The targets, once the job file is told from them.
  #[arg(skip)]
  pub targets: Vec<String>,
  /// How many tasks run at once, 1 to 4096. Default: the file's `concurrency`, else the number
  /// of CPUs.
  #[arg(short = 'j', long, value_name = "N", value_parser = jobs_range())]
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
  /// Set a variable for every task and callback, over the job file's `env`, `dotenv` and
  /// matrix values (repeatable; the last of a name wins). `RUNNER_TASK`, `RUNNER_RESULT_*` and
  /// the other variables the runner sets cannot be set.
  #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
  pub env: Vec<(String, String)>,
  /// Print what would run, in order, without running anything.
  #[arg(long)]
  pub dry_run: bool,
  /// Run tasks with `sources` even if they are up to date: `--force` alone runs every task,
  /// `--force TASK` (repeatable) the tasks named (a group: its members); what depends on them
  /// runs if their results change.
  #[arg(long, value_name = "TASK", num_args = 0..=1, default_missing_value = "")]
  #[arg(action = clap::ArgAction::Append, add = ArgValueCompleter::new(targets))]
  pub force: Option<Vec<String>>,
  /// Run, then watch the selected tasks' `sources` and run again after each change (200 ms
  /// after the last); the up-to-date checks skip what did not change. Ctrl-C stops.
  #[arg(long, conflicts_with = "dry_run")]
  pub watch: bool,
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
  /// Where attempts run: `local` processes, or jobs and job steps of a Slurm cluster (see
  /// `docs/slurm.md`); the graph, queues and reports stay in this process either way.
  #[arg(long, value_enum, default_value_t = Backend::Local, help_heading = "Slurm")]
  pub backend: Backend,
  /// How attempts reach Slurm: `steps` (`srun --exact` inside an allocation), `jobs` (one
  /// `sbatch` each), or `auto`: steps inside an allocation (`SLURM_JOB_ID` set, or
  /// `--slurm-alloc`), else jobs.
  #[arg(long, value_enum, default_value_t = SlurmLaunch::Auto, help_heading = "Slurm")]
  pub slurm_launch: SlurmLaunch,
  /// Make an allocation of N CPUs (`salloc`) for the run, and run its attempts as steps in it.
  #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000), help_heading = "Slurm")]
  pub slurm_alloc: Option<u32>,
  /// The run directory for the jobs path: exit files and output, on a filesystem the nodes
  /// share. Default: `.runner/slurm/` next to the job file.
  #[arg(long, value_name = "DIR", help_heading = "Slurm", value_hint = clap::ValueHint::DirPath)]
  pub slurm_dir: Option<PathBuf>,
  /// How often the jobs path asks `squeue` about the run's jobs (one call for all of them).
  #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s", help_heading = "Slurm")]
  pub slurm_poll: std::time::Duration,
  /// At most this many jobs of the run submitted and not ended at once.
  #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000), default_value_t = 1000, help_heading = "Slurm")]
  pub slurm_max_jobs: u32,
  /// At most this many `sbatch` submissions a second.
  #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000), default_value_t = 100, help_heading = "Slurm")]
  pub slurm_submit_rate: u32,
  /// The global `--color`, copied here so that `options` finds all of a run's flags in one place.
  #[arg(skip)]
  pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
  Auto,
  Tty,
  Plain,
  Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
  Local,
  Slurm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SlurmLaunch {
  Auto,
  Steps,
  Jobs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputMode {
  Interleaved,
  Grouped,
}

/// Check job files without running anything.
///
/// Prints every error of every file, with its place in the file; exits 2 if any file is invalid.
#[derive(Debug, Args)]
#[command(after_help = VALIDATE_EXAMPLES)]
pub(crate) struct ValidateArgs {
  /// A job file, with the others given as words.
  #[arg(short = 'f', long = "file", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub file: Option<PathBuf>,
  /// The job files. Default: `runner.yaml` found from here up.
  #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub files: Vec<PathBuf>,
}

/// List the tasks, groups and queues of a job file, with what each needs.
#[derive(Debug, Args)]
#[command(after_help = LIST_EXAMPLES)]
pub(crate) struct ListArgs {
  /// The job file. Default: `runner.yaml` found from here up.
  #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub file: Option<PathBuf>,
  /// The job file, as a flag (as `run` takes it).
  #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "file", value_hint = clap::ValueHint::FilePath)]
  pub file_flag: Option<PathBuf>,
  /// Print JSON instead of a table.
  #[arg(long)]
  pub json: bool,
}

/// Print the compiled task graph as Graphviz dot, Mermaid or JSON.
#[derive(Debug, Args)]
#[command(after_help = GRAPH_EXAMPLES)]
pub(crate) struct GraphArgs {
  /// The job file. Default: `runner.yaml` found from here up.
  #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub file: Option<PathBuf>,
  /// The job file, as a flag (as `run` takes it).
  #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "file", value_hint = clap::ValueHint::FilePath)]
  pub file_flag: Option<PathBuf>,
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
#[derive(Debug, Args)]
#[command(after_help = COMPLETIONS_EXAMPLES)]
pub(crate) struct CompletionsArgs {
  /// The shell.
  #[arg(value_enum)]
  pub shell: clap_complete::Shell,
}

/// `-j` from 1 to `limits::MAX_PARALLEL`: clap refuses anything else with a usage error.
fn jobs_range() -> clap::builder::RangedI64ValueParser<u32> {
  clap::value_parser!(u32).range(1..=crate::limits::MAX_PARALLEL as i64)
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
  crate::duration::parse(text)
    .map_err(|_| format!("`{text}` is not a duration (e.g. 500ms, 2s, 1m30s)"))
}

/// `KEY=VALUE`: a name without `=` or NUL, then any value without NUL.
fn parse_env(text: &str) -> Result<(String, String), String> {
  let Some((key, value)) = text.split_once('=') else {
    return Err(format!("`{text}` is not KEY=VALUE (write `{text}=` for an empty value)"));
  };
  if key.is_empty() {
    return Err(format!("`{text}` has no variable name before `=`"));
  }
  if text.contains('\0') {
    return Err("a variable cannot hold a NUL byte".into());
  }
  Ok((key.to_string(), value.to_string()))
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
    assert_eq!(file("runner -- runner run build "), None);
    assert_eq!(file("runner -- runner run jobs/x"), None);
    assert_eq!(file("runner -- runner run -f x.yml build "), Some("x.yml".into()));
    assert_eq!(file("runner -- runner run build --file=x.yml "), Some("x.yml".into()));
    let every_value_flag = "runner -- runner run -j 2 --jobs 2 --timeout 1m --kill-grace 1s \
      --output plain --output-mode grouped --log-dir d --report r --junit j --trace t \
      --env A=1 x.yaml ";
    assert_eq!(file(every_value_flag), Some("x.yaml".into()));
  }

  #[test]
  fn env_flags() {
    assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
    assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
    assert!(parse_env("A").unwrap_err().contains("not KEY=VALUE"));
    assert!(parse_env("=x").unwrap_err().contains("no variable name"));
  }
}
