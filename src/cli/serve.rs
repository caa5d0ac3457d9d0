//! The command line of `runner serve` and of the verbs that talk to it.

use super::{jobs_range, parse_duration};
use crate::candidates;
use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use std::path::PathBuf;

const SERVE_EXAMPLES: &str = "\
Examples:
  runner serve -j 8
  runner serve --state-dir /srv/runner --keep 200
  runner serve --listen 127.0.0.1:7700
";

const SUBMIT_EXAMPLES: &str = "\
Examples:
  runner submit jobs/ci.yaml
  runner submit jobs/ci.yaml test lint --wait
  runner submit jobs/ci.yaml --follow
  runner submit jobs/ci.yaml --connect 127.0.0.1:7700 --token-file ~/.local/state/runner/serve/token
";

/// Run a daemon that takes job files from `runner submit` and runs them on one loop.
///
/// Runs share its `-j` task slots, first come, first served; each run's output, report, JUnit
/// and logs are kept in the state dir, and a journal there says what became of every run, across
/// restarts. It listens on a unix socket (0600) or, with `--listen`, on a loopback TCP port that
/// takes clients with the token only. `runner shutdown` (or SIGTERM) stops it once its running
/// runs have ended; see docs/protocol.md.
#[derive(Debug, Args)]
#[command(after_help = SERVE_EXAMPLES)]
pub(crate) struct ServeArgs {
  /// The unix socket to listen on. Default: `$XDG_RUNTIME_DIR/runner-serve.sock`, or
  /// `serve.sock` in the state dir when `--state-dir` is given or there is no runtime dir.
  #[arg(long, value_name = "PATH", conflicts_with = "listen", value_hint = clap::ValueHint::FilePath)]
  pub socket: Option<PathBuf>,
  /// Listen on this loopback TCP address instead (`127.0.0.1:PORT`, `[::1]:PORT`; port 0
  /// picks one); clients must give the token of the state dir's `token` file.
  #[arg(long, value_name = "ADDR")]
  pub listen: Option<std::net::SocketAddr>,
  /// Where the journal, the token and each run's files are kept. Default:
  /// `$XDG_STATE_HOME/runner/serve` (`~/.local/state/runner/serve`).
  #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
  pub state_dir: Option<PathBuf>,
  /// How many tasks run at once, over every run. Default: the number of CPUs.
  #[arg(short = 'j', long, value_name = "N", value_parser = jobs_range())]
  pub jobs: Option<u32>,
  /// How many finished runs are kept, with their files; older ones are deleted.
  #[arg(long, value_name = "N", default_value_t = 1000)]
  pub keep: u32,
  /// How many runs may wait to start; a submission past that is refused as busy.
  #[arg(long, value_name = "N", default_value_t = 1000)]
  pub backlog: u32,
  /// How many runs run at once (their tasks share the `-j` slots).
  #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
  pub max_runs: u32,
  /// How long a client has to send its first request, and to finish any request it began.
  #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
  pub handshake_timeout: std::time::Duration,
  /// How long a terminated task has between SIGTERM and SIGKILL.
  #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
  pub kill_grace: std::time::Duration,
  /// Also write each run's output per attempt and per queue item under its `logs/`, as
  /// `runner run --log-dir` does (each run's `output.txt` and `events.jsonl` hold every line
  /// either way; a file per attempt costs the daemon as much time again).
  #[arg(long)]
  pub attempt_logs: bool,
}

/// How a client finds the daemon: `--socket`, `--connect` with `--token-file`, or `--state-dir`
/// (whose `address` file says where it listens); by default, where `runner serve` listens by
/// default.
#[derive(Debug, Args, Clone)]
pub(crate) struct ConnectArgs {
  /// The daemon's unix socket.
  #[arg(long, value_name = "PATH", conflicts_with = "connect", value_hint = clap::ValueHint::FilePath)]
  pub socket: Option<PathBuf>,
  /// The daemon's loopback TCP address (`127.0.0.1:PORT`).
  #[arg(long, value_name = "ADDR")]
  pub connect: Option<std::net::SocketAddr>,
  /// The file holding the daemon's token, for `--connect`. Default: the state dir's `token`.
  #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
  pub token_file: Option<PathBuf>,
  /// The daemon's state dir: where it listens, and its token.
  #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
  pub state_dir: Option<PathBuf>,
}

/// Submit a job file to the daemon; prints the run's id.
#[derive(Debug, Args)]
#[command(after_help = SUBMIT_EXAMPLES)]
pub(crate) struct SubmitArgs {
  /// The job file, read by the daemon: a relative path is taken from this folder.
  #[arg(value_name = "FILE", add = ArgValueCompleter::new(candidates::job_files))]
  pub file: PathBuf,
  /// The tasks or groups to run, with what they need. Default: all of it.
  #[arg(value_name = "TARGET")]
  pub targets: Vec<String>,
  /// Wait for the run's end, and exit with its exit code.
  #[arg(long)]
  pub wait: bool,
  /// Print the run's output as it comes (as `runner run` prints it), and exit with its exit
  /// code; the id goes to stderr.
  #[arg(long, conflicts_with = "wait")]
  pub follow: bool,
  /// With `--follow`: the live view (`tty`), `plain` lines, or the `json` events (NDJSON);
  /// `auto`: the live view on a terminal, else plain lines.
  #[arg(long, value_enum, default_value_t = FollowOutput::Auto)]
  pub output: FollowOutput,
  #[command(flatten)]
  pub connect: ConnectArgs,
}

/// What `--follow` and `logs` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FollowOutput {
  /// `tty` when following on a terminal, else `plain`.
  Auto,
  /// The live view of `runner run` (following only).
  Tty,
  Plain,
  Json,
}

/// Show the daemon's runs, or one run.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
  /// The run (`r12`). Default: every run kept.
  #[arg(value_name = "RUN")]
  pub run: Option<String>,
  /// Print the daemon's answer as JSON.
  #[arg(long)]
  pub json: bool,
  #[command(flatten)]
  pub connect: ConnectArgs,
}

/// Print a run's output, or one task's lines of it.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
  #[arg(value_name = "RUN")]
  pub run: String,
  #[arg(value_name = "TASK")]
  pub task: Option<String>,
  /// Keep printing until the run ends.
  #[arg(long)]
  pub follow: bool,
  /// `plain` lines, or the `json` events (NDJSON); with `--follow` also the live view
  /// (`tty`), which `auto` picks on a terminal.
  #[arg(long, value_enum, default_value_t = FollowOutput::Auto)]
  pub output: FollowOutput,
  #[command(flatten)]
  pub connect: ConnectArgs,
}

/// Stop a run (as SIGTERM stops a local one), or cancel one task of it.
#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
  #[arg(value_name = "RUN")]
  pub run: String,
  #[arg(value_name = "TASK")]
  pub task: Option<String>,
  #[command(flatten)]
  pub connect: ConnectArgs,
}

/// Stop the daemon once its running runs end, and wait for that.
///
/// It takes no new run and cancels the queued ones.
#[derive(Debug, Args)]
pub(crate) struct ShutdownArgs {
  /// Stop the running runs too.
  #[arg(long)]
  pub now: bool,
  #[command(flatten)]
  pub connect: ConnectArgs,
}
