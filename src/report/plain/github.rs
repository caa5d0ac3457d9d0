//! GitHub Actions workflow commands: `::group::`/`::endgroup::` around a task's block,
//! `::error`/`::warning` annotations that point at the task's line in the job file, and one
//! annotation per error of a job file that does not compile. Values are escaped as the runner
//! expects, so a task name, a message or an output line can never end a command early or start
//! a new one.

use crate::compile_error::CompileErrors;
use crate::graph::{Graph, NodeKind};
use crate::source::{LineIndex, Source};
use std::collections::HashMap;
use std::sync::Arc;

/// `%`, CR and LF escaped: the message part of a command.
pub(crate) fn escape_data(text: &str) -> String {
  text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Data escaping plus `:` and `,`: a property value (`file=`, `title=`).
pub(crate) fn escape_property(text: &str) -> String {
  escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Where each task is declared, to point annotations at it.
#[derive(Debug)]
pub(super) struct Places {
  file: String,
  text: Arc<str>,
  /// Task name -> byte offset of its name.
  tasks: HashMap<String, usize>,
  /// The file's lines, indexed at the first annotation.
  lines: Option<LineIndex>,
}

/// One failure worth an annotation.
#[derive(Debug, Clone)]
pub(super) struct Failure {
  pub task: String,
  pub outcome: String,
  pub last_output: String,
}

impl Places {
  pub(super) fn new(graph: &Graph) -> Self {
    let tasks = graph
      .nodes
      .iter()
      .filter(|n| matches!(n.kind, NodeKind::Task(_)))
      .map(|n| (n.name.clone(), n.span.offset()))
      .collect();
    Self { file: graph.source.name(), text: graph.source.text.clone(), tasks, lines: None }
  }

  /// 1-based line of the task's name in the job file.
  fn line(&mut self, task: &str) -> usize {
    let offset = self.tasks.get(task).copied().unwrap_or(0);
    let text = &self.text;
    self.lines.get_or_insert_with(|| LineIndex::new(text)).line(offset)
  }

  /// `::error file=..,line=..,title=<task> failed::<outcome>: <last output line>`; a warning
  /// for a failure the job allows.
  pub(super) fn annotation(&mut self, failure: &Failure, timed_out: bool, allowed: bool) -> String {
    let line = self.line(&failure.task);
    let kind = if allowed { "warning" } else { "error" };
    let what = if timed_out { "timed out" } else { "failed" };
    let title = escape_property(&format!("{} {what}", failure.task));
    let mut message = failure.outcome.clone();
    if !failure.last_output.is_empty() {
      message = format!("{message}: {}", failure.last_output);
    }
    let message = escape_data(message.lines().next().unwrap_or(""));
    let file = escape_property(&self.file);
    format!("::{kind} file={file},line={line},title={title}::{message}")
  }
}

/// `::error file=..,line=..,col=..,title=<message>::<label>\nhelp: <help>` for each error of a
/// job file, `::warning` for each warning, at the error's primary place.
pub(crate) fn annotations(source: &Source, errors: &CompileErrors) -> String {
  let mut out = String::new();
  for error in &errors.0 {
    let kind = if error.warning { "warning" } else { "error" };
    let source = error.source.as_ref().unwrap_or(source);
    let file = escape_property(&source.name());
    let (line, col) = source.line_col(error.span().offset());
    let title = escape_property(&error.message);
    let label = error.labels.first().map_or("", |(_, label)| label.as_str());
    let mut message = if label.is_empty() { error.message.clone() } else { label.to_string() };
    if let Some(help) = &error.help {
      message = format!("{message}\nhelp: {help}");
    }
    let message = escape_data(&message);
    out.push_str(&format!("::{kind} file={file},line={line},col={col},title={title}::{message}\n"));
  }
  out
}

/// Appends `markdown` to the job summary file.
pub(super) fn append_summary(path: &std::path::Path, markdown: &str) -> std::io::Result<()> {
  use std::io::Write;
  let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
  file.write_all(markdown.as_bytes())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn escaping() {
    assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
    assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
  }
}
