//! The options of one `runner run`, resolved once from the command line, the job file and the
//! environment. This is the only place `cli` types become decisions; nothing below sees them.

use crate::cli::{ColorWhen, Output, OutputMode, RunArgs};
use crate::report::{Env, FileOptions, Kind, ReportOptions};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
  /// How many tasks run at once: `-j`, else the file's `concurrency`, else the CPUs.
  pub jobs: usize,
  pub fail_fast: bool,
  pub timeout: Option<Duration>,
  pub kill_grace: Duration,
  pub dry_run: bool,
  /// `--force`: None, no task is forced; an empty list, every task; else the tasks named.
  pub force: Option<Vec<String>>,
  /// What the reporters show and write.
  pub report: ReportOptions,
}

impl RunOptions {
  /// `concurrency` is the job file's; `terminal` is whether stdout is one.
  pub(crate) fn new(args: &RunArgs, concurrency: Option<usize>, env: &Env, terminal: bool) -> Self {
    Self {
      jobs: jobs(args.jobs, concurrency, cpus),
      fail_fast: args.fail_fast,
      timeout: args.timeout,
      kill_grace: args.kill_grace,
      dry_run: args.dry_run,
      force: force(args.force.as_deref()),
      report: ReportOptions {
        kind: kind(args.output, env, terminal),
        color: color(args.color, env, terminal),
        grouped: args.output_mode == OutputMode::Grouped,
        github: env.github_actions,
        gitlab: env.gitlab_ci,
        step_summary: env.step_summary.clone(),
        files: FileOptions {
          log_dir: args.log_dir.clone(),
          report: args.report.clone(),
          junit: args.junit.clone(),
          trace: args.trace.clone(),
        },
      },
    }
  }
}

/// `-j`, else the file's `concurrency`, else the number of CPUs.
fn jobs(flag: Option<u32>, concurrency: Option<usize>, cpus: impl FnOnce() -> usize) -> usize {
  flag.map(|j| j as usize).or(concurrency).unwrap_or_else(cpus)
}

/// `--force` without a name (an empty value) forces every task, whatever else is named.
fn force(flags: Option<&[String]>) -> Option<Vec<String>> {
  let names = flags?;
  if names.iter().any(String::is_empty) { Some(Vec::new()) } else { Some(names.to_vec()) }
}

/// `auto`: the live view on a terminal outside CI (and not on a dumb terminal), else plain.
fn kind(output: Output, env: &Env, terminal: bool) -> Kind {
  match output {
    Output::Auto if terminal && !env.ci && !env.dumb => Kind::Tty,
    Output::Auto | Output::Plain => Kind::Plain,
    Output::Tty => Kind::Tty,
    Output::Json => Kind::Json,
  }
}

/// Whether one stream gets colour, first rule that applies: `--color always|never`; NO_COLOR
/// (not empty) never; CLICOLOR_FORCE or FORCE_COLOR (not empty, not `0`) always; `CLICOLOR=0`
/// never; else whether the stream is a terminal, and not a dumb one.
pub(crate) fn color(when: ColorWhen, env: &Env, terminal: bool) -> bool {
  match when {
    ColorWhen::Always => true,
    ColorWhen::Never => false,
    ColorWhen::Auto if env.no_color => false,
    ColorWhen::Auto if env.force_color => true,
    ColorWhen::Auto if env.clicolor_off => false,
    ColorWhen::Auto => terminal && !env.dumb,
  }
}

/// The number of CPUs this process may use: the default `-j`.
pub(crate) fn cpus() -> usize {
  std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::cli::{Cli, Command};
  use clap::Parser;
  use std::path::PathBuf;

  fn run_args(line: &str) -> RunArgs {
    match Cli::try_parse_from(line.split(' ')).unwrap().command {
      Command::Run(args) => args,
      _ => unreachable!(),
    }
  }

  #[test]
  fn auto_output() {
    let env = Env::default();
    assert_eq!(kind(Output::Auto, &env, true), Kind::Tty);
    assert_eq!(kind(Output::Auto, &env, false), Kind::Plain);
    let ci = Env { ci: true, ..Env::default() };
    assert_eq!(kind(Output::Auto, &ci, true), Kind::Plain);
    let dumb = Env { dumb: true, ..Env::default() };
    assert_eq!(kind(Output::Auto, &dumb, true), Kind::Plain);
    assert_eq!(kind(Output::Tty, &ci, false), Kind::Tty);
  }

  #[test]
  fn colour_precedence() {
    use ColorWhen::{Always, Auto, Never};
    let env = |no_color, force_color, clicolor_off| Env {
      no_color,
      force_color,
      clicolor_off,
      ..Env::default()
    };
    let all = env(true, true, true);
    // The flag first, over everything.
    assert!(color(Always, &all, false));
    assert!(!color(Never, &env(false, true, false), true));
    // Then NO_COLOR, then forcing, then CLICOLOR=0, then the terminal.
    assert!(!color(Auto, &env(true, true, false), true));
    assert!(color(Auto, &env(false, true, true), false));
    assert!(!color(Auto, &env(false, false, true), true));
    assert!(color(Auto, &Env::default(), true));
    assert!(!color(Auto, &Env::default(), false));
    assert!(!color(Auto, &Env { dumb: true, ..Env::default() }, true));
  }

  #[test]
  fn jobs_come_from_the_flag_then_the_file_then_the_cpus() {
    assert_eq!(jobs(Some(3), Some(5), || 8), 3);
    assert_eq!(jobs(None, Some(5), || 8), 5);
    assert_eq!(jobs(None, None, || 8), 8);
  }

  #[test]
  fn resolves_a_command_line() {
    let args = run_args(
      "runner run x.yaml -j 2 --fail-fast --timeout 1m --kill-grace 1s --dry-run --output json \
       --output-mode grouped --log-dir d --report r --junit j --trace t --env A=1 --env B=2=3",
    );
    let env = Env { github_actions: true, step_summary: Some("s".into()), ..Env::default() };
    let options = RunOptions::new(&args, Some(5), &env, false);
    assert_eq!(options.jobs, 2);
    assert!(options.fail_fast && options.dry_run);
    assert_eq!(args.env, [("A".into(), "1".into()), ("B".into(), "2=3".into())]);
    assert_eq!(options.timeout, Some(Duration::from_secs(60)));
    assert_eq!(options.kill_grace, Duration::from_secs(1));
    let report = &options.report;
    assert_eq!(report.kind, Kind::Json);
    assert!(report.grouped && report.github && !report.color);
    assert_eq!(report.step_summary, Some(PathBuf::from("s")));
    assert_eq!(report.files.trace, Some(PathBuf::from("t")));
    assert_eq!(report.files.log_dir, Some(PathBuf::from("d")));
  }

  #[test]
  fn force_alone_forces_everything() {
    let force = |line: &str| RunOptions::new(&run_args(line), None, &Env::default(), false).force;
    assert_eq!(force("runner run x.yaml"), None);
    assert_eq!(force("runner run x.yaml --force"), Some(Vec::new()));
    assert_eq!(force("runner run x.yaml --force a --force b"), Some(vec!["a".into(), "b".into()]));
    assert_eq!(force("runner run x.yaml --force a --force"), Some(Vec::new()));
  }

  #[test]
  fn defaults() {
    let options = RunOptions::new(&run_args("runner run x.yaml"), Some(4), &Env::default(), true);
    assert_eq!((options.jobs, options.fail_fast, options.dry_run), (4, false, false));
    assert_eq!((options.timeout, options.kill_grace), (None, Duration::from_secs(3)));
    assert_eq!((options.report.kind, options.report.color), (Kind::Tty, true));
    assert!(!options.report.grouped && options.report.files.is_empty());
  }
}
