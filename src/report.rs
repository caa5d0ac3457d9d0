//! Reporters turn events into output: a live `tty` view for people, `plain` lines for logs, pipes
//! and CI (with GitHub Actions groups and annotations), `json` events for machines, and the files
//! of `--log-dir`, `--report`, `--junit` and `--trace`. The runner emits events; it never prints.

mod escape;
mod files;
#[cfg(test)]
mod fixtures;
mod lines;
mod placements;
mod plain;
mod tty;

use crate::event::Event;
use crate::graph::Graph;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

pub(crate) use files::{FileOptions, Files};
pub(crate) use plain::github::annotations;
pub(crate) use plain::{Plain, PlainOptions, text};
pub(crate) use tty::Tty;

/// What a person or a pipe sees.
pub(crate) enum Screen {
  Tty(Tty),
  Plain(Plain),
  Json(Box<dyn Write>),
}

/// The screen and the files of one run.
pub(crate) struct Reporter {
  screen: Screen,
  files: Option<Files>,
  /// The JSON events as well, besides the screen (a served run's `events.jsonl`).
  events: Option<Box<dyn Write>>,
}

impl Reporter {
  pub(crate) fn new(screen: Screen, files: Option<Files>) -> Self {
    Self { screen, files, events: None }
  }

  /// Writes every event as a JSON line to `out` too.
  pub(crate) fn with_events(mut self, out: Box<dyn Write>) -> Self {
    self.events = Some(out);
    self
  }

  pub(crate) fn event(&mut self, event: &Event) {
    match &mut self.screen {
      Screen::Tty(tty) => tty.event(event),
      Screen::Plain(plain) => plain.event(event),
      Screen::Json(out) => {
        if serde_json::to_writer(&mut *out, event).is_ok() {
          let _ = out.write_all(b"\n");
        }
      }
    }
    if let Some(out) = &mut self.events
      && serde_json::to_writer(&mut *out, event).is_ok()
    {
      let _ = out.write_all(b"\n");
    }
    if let Some(files) = &mut self.files {
      files.event(event);
    }
  }

  pub(crate) fn flush(&mut self) {
    if let Some(out) = &mut self.events {
      let _ = out.flush();
    }
    let _ = match &mut self.screen {
      Screen::Tty(tty) => tty.flush(),
      Screen::Plain(plain) => plain.flush(),
      Screen::Json(out) => out.flush(),
    };
  }

  /// The first output that could not be written so far: stdout (unless its reader left, a
  /// stop of its own), else a log file.
  pub(crate) fn output_error(&self) -> Option<String> {
    let stdout = crate::engine::stdout::failure().filter(|f| !f.closed);
    let stdout = stdout.map(|f| format!("cannot write output: {}", f.reason));
    stdout.or_else(|| self.files.as_ref().and_then(|f| f.error()))
  }

  /// Ends the screen and writes the files; errors name the file that could not be written.
  pub(crate) fn finish(&mut self) -> Result<(), String> {
    if let Screen::Tty(tty) = &mut self.screen {
      tty.finish();
    }
    self.flush();
    match &mut self.files {
      Some(files) => files.finish(),
      None => Ok(()),
    }
  }
}

/// Where the run's output goes, resolved from the command line and the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
  Tty,
  Plain,
  Json,
}

/// The environment variables that decide the output, read once; `options` resolves them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Env {
  pub ci: bool,
  pub github_actions: bool,
  pub gitlab_ci: bool,
  /// `NO_COLOR` set and not empty.
  pub no_color: bool,
  /// `CLICOLOR_FORCE` or `FORCE_COLOR` set, not empty and not `0`.
  pub force_color: bool,
  /// `CLICOLOR=0`.
  pub clicolor_off: bool,
  pub dumb: bool,
  pub step_summary: Option<PathBuf>,
}

impl Env {
  pub(crate) fn read() -> Self {
    use std::env::var_os;
    let not_empty = |v: Option<OsString>| v.is_some_and(|v| !v.is_empty());
    let on = |v: Option<OsString>| v.is_some_and(|v| !v.is_empty() && v != "0");
    Self {
      ci: on(var_os("CI")),
      github_actions: var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
      gitlab_ci: var_os("GITLAB_CI").is_some_and(|v| v == "true"),
      no_color: not_empty(var_os("NO_COLOR")),
      force_color: on(var_os("CLICOLOR_FORCE")) || on(var_os("FORCE_COLOR")),
      clicolor_off: var_os("CLICOLOR").is_some_and(|v| v == "0"),
      dumb: var_os("TERM").is_some_and(|t| t == "dumb"),
      step_summary: var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from),
    }
  }
}

/// How a run is shown and which files it writes, as `options` resolved them.
#[derive(Debug, Clone)]
pub(crate) struct ReportOptions {
  pub kind: Kind,
  pub color: bool,
  /// Plain output: each task's output as one block when it ends.
  pub grouped: bool,
  /// GitHub Actions: groups, annotations and a job summary.
  pub github: bool,
  /// GitLab CI: collapsible sections.
  pub gitlab: bool,
  /// `$GITHUB_STEP_SUMMARY`: where the job summary goes.
  pub step_summary: Option<PathBuf>,
  pub files: FileOptions,
}

/// Builds the reporter for a run.
pub(crate) fn reporter(graph: &Graph, options: &ReportOptions) -> Result<Reporter, String> {
  let color = options.color;
  let stdout: Box<dyn Write> =
    Box::new(std::io::BufWriter::with_capacity(64 * 1024, crate::engine::stdout::Stdout));
  let screen = match options.kind {
    Kind::Tty => Screen::Tty(Tty::new(graph, color, options.files.log_dir.as_deref())),
    Kind::Json => Screen::Json(stdout),
    Kind::Plain => {
      let plain = PlainOptions {
        grouped: options.grouped,
        github: options.github,
        gitlab: options.gitlab,
        color,
        step_summary: options.step_summary.clone(),
      };
      Screen::Plain(Plain::new(graph, stdout, plain))
    }
  };
  let files = &options.files;
  let files = if files.is_empty() { None } else { Some(Files::new(graph, files.clone())?) };
  Ok(Reporter::new(screen, files))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::{Latency, SlurmCalls};
  use crate::report::fixtures::{Shared, placed};

  #[test]
  fn json_output_prints_placements_and_slurm_calls_as_one_line_each() {
    let out = Shared::default();
    let mut reporter = Reporter::new(Screen::Json(Box::new(out.clone())), None);
    reporter.event(&placed("build", 2, None, "12", "n2"));
    reporter.event(&placed("work", 1, Some("x"), "12.3", "n1"));
    let calls = SlurmCalls {
      launch: "jobs",
      submits: 3,
      polls: 2,
      latency_ms: Some(Latency { p50: 40, p99: 90, max: 120 }),
      ..SlurmCalls::default()
    };
    reporter.event(&Event::Slurm(calls));
    reporter.event(&Event::Slurm(SlurmCalls {
      launch: "steps",
      steps: 3,
      ..SlurmCalls::default()
    }));
    reporter.flush();
    let text = out.text();
    for line in text.lines() {
      serde_json::from_str::<serde_json::Value>(line).expect("each line is one JSON value");
    }
    // Kept with the reporters' other snapshots.
    insta::with_settings!({ snapshot_path => "report/snapshots", omit_expression => true }, {
      insta::assert_snapshot!(text);
    });
  }
}
