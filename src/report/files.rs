//! The files of a run: `--log-dir` (every line, written as it comes), and `--report` (JSON),
//! `--junit` (XML) and `--trace` (Chrome trace), written once the run is over from a bounded
//! [`Record`] of it, each whole or not at all ([`atomic`]). Every path is checked when the run
//! starts, so one that cannot be written fails before any task runs, and an earlier report stays
//! as it was until the new one is complete; errors name the path.

mod atomic;
mod json;
mod junit;
mod logs;
mod record;
mod tail;
mod time;
mod trace;
mod xml;

use crate::event::Event;
use crate::graph::Graph;
use logs::Logs;
use record::Record;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub(crate) struct FileOptions {
  pub log_dir: Option<PathBuf>,
  pub report: Option<PathBuf>,
  pub junit: Option<PathBuf>,
  pub trace: Option<PathBuf>,
}

impl FileOptions {
  pub(crate) fn is_empty(&self) -> bool {
    self.log_dir.is_none() && self.report.is_none() && self.junit.is_none() && self.trace.is_none()
  }
}

/// Writes a file from the record and the `--log-dir` given, if any.
type Render = fn(&Record, Option<&str>, &mut dyn Write) -> std::io::Result<()>;

/// A file written when the run is over.
struct Output {
  path: PathBuf,
  target: atomic::Target,
  render: Render,
}

pub(crate) struct Files {
  record: Record,
  logs: Option<Logs>,
  log_dir: Option<String>,
  outputs: Vec<Output>,
  /// The run's start: event times count from here.
  origin: Instant,
}

/// The error for a file that could not be written.
fn cannot(path: &Path, err: std::io::Error) -> String {
  format!("cannot write `{}`: {}", path.display(), crate::engine::stdout::reason(&err))
}

impl Files {
  pub(crate) fn new(graph: &Graph, options: FileOptions) -> Result<Self, String> {
    let logs = match &options.log_dir {
      Some(dir) => Some(Logs::new(dir, graph.nodes.len())?),
      None => None,
    };
    let renders: [(Option<PathBuf>, Render); 3] = [
      (options.report, json::write),
      (options.junit, |record, _, out| out.write_all(junit::render(record).as_bytes())),
      (options.trace, |record, _, out| out.write_all(trace::render(record).as_bytes())),
    ];
    let mut outputs = Vec::new();
    for (path, render) in renders {
      if let Some(path) = path {
        let target = atomic::Target::new(&path).map_err(|e| cannot(&path, e))?;
        outputs.push(Output { path, target, render });
      }
    }
    Ok(Self {
      record: Record::new(graph),
      logs,
      log_dir: options.log_dir.map(|d| d.display().to_string()),
      outputs,
      origin: Instant::now(),
    })
  }

  pub(crate) fn event(&mut self, event: &Event) {
    if matches!(event, Event::RunStarted { .. }) {
      self.origin = Instant::now();
    }
    let at = self.origin.elapsed().as_micros() as u64;
    let item = self.record.event(event, at);
    if let Some(logs) = &mut self.logs {
      logs.event(event, &self.record, item);
    }
  }

  /// The first log file that could not be written, if any.
  pub(crate) fn error(&self) -> Option<String> {
    self.logs.as_ref().and_then(|logs| logs.error().map(str::to_string))
  }

  /// Closes the logs and writes the other files; the first error, naming its file.
  pub(crate) fn finish(&mut self) -> Result<(), String> {
    let mut result = self.logs.as_mut().map_or(Ok(()), Logs::finish);
    if let Err(error) = &result {
      self.record.lost_output(error);
    }
    self.record.flush_spills();
    for output in std::mem::take(&mut self.outputs) {
      let (record, log_dir) = (&self.record, self.log_dir.as_deref());
      if let Err(err) = output.target.write(|out| (output.render)(record, log_dir, out)) {
        result = result.and(Err(cannot(&output.path, err)));
      }
    }
    result
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::report::fixtures::graph;
  use record::tests::JOB;

  fn options(dir: &Path) -> FileOptions {
    FileOptions {
      log_dir: Some(dir.join("logs")),
      report: Some(dir.join("report.json")),
      junit: Some(dir.join("junit.xml")),
      trace: Some(dir.join("trace.json")),
    }
  }

  #[test]
  fn writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Files::new(&graph(JOB), options(dir.path())).unwrap();
    let started = Event::RunStarted { name: Some("demo"), file: "job.yaml", tasks: 3, jobs: 1 };
    files.event(&started);
    files.event(&Event::TaskStarted { task: "b", attempt: 1 });
    files.finish().unwrap();
    for name in ["report.json", "trace.json"] {
      let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
      serde_json::from_str::<serde_json::Value>(&text).unwrap();
    }
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(dir.path().join("logs/b/attempt-1.stdout").exists());
  }

  #[test]
  fn unwritable_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing/report.json");
    let options = FileOptions { report: Some(missing.clone()), ..options(dir.path()) };
    let err = Files::new(&graph(JOB), options).err().unwrap();
    assert!(err.starts_with(&format!("cannot write `{}`: ", missing.display())), "{err}");
  }
}
