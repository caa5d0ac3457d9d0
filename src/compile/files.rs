//! The files of one job: each file's own text and where its bytes start in the span space all
//! of them share (see `includes`), so that an error found anywhere is shown in its own file,
//! and a name is written back the way that file writes it.

use crate::compile_error::{CompileError, CompileErrors};
use crate::source::Source;
use miette::SourceSpan;
use std::path::PathBuf;

/// One file of the job: the root, or a file it includes (directly or not).
#[derive(Debug)]
pub(crate) struct Unit {
  /// The file as read, its spans starting at 0.
  pub source: Source,
  /// Where its bytes start in the job's span space.
  pub base: usize,
  /// What its names get in front of them: `""` for the root, `lint:` or `lint:rust:`.
  pub prefix: String,
  /// Its folder relative to the root's folder: where its tasks run.
  pub dir: PathBuf,
  /// Its real path, for include cycles; `None` if it has none.
  pub canonical: Option<PathBuf>,
  /// The unit that includes it.
  pub parent: Option<usize>,
}

/// The files of a job, the root first, in the order they were read.
#[derive(Debug)]
pub(crate) struct Files {
  pub units: Vec<Unit>,
}

impl Files {
  /// The unit whose bytes hold `offset` (the root for a span of no place).
  pub(crate) fn unit_at(&self, offset: usize) -> usize {
    self.units.partition_point(|u| u.base <= offset).saturating_sub(1)
  }

  /// How the file holding `span` writes the full name `full`: without its own prefix, or with a
  /// leading `:` for a name of the root's (or another file's) namespace.
  pub(crate) fn written(&self, full: &str, span: SourceSpan) -> String {
    let prefix = &self.units[self.unit_at(span.offset())].prefix;
    match full.strip_prefix(prefix.as_str()) {
      _ if prefix.is_empty() => full.to_string(),
      Some(local) => local.to_string(),
      None => format!(":{full}"),
    }
  }

  /// Each file's errors, with spans into its own text, in the order of the files. An error
  /// belongs to the file of its first label; a label in another file becomes a line of its help
  /// naming that place, since an excerpt shows one file.
  pub(crate) fn split(&self, errors: CompileErrors) -> Vec<(&Source, CompileErrors)> {
    let mut out: Vec<(usize, Vec<CompileError>)> = Vec::new();
    for error in errors.0 {
      let unit = self.unit_at(error.span().offset());
      let error = self.localized(error, unit);
      match out.iter_mut().find(|(u, _)| *u == unit) {
        Some((_, list)) => list.push(error),
        None => out.push((unit, vec![error])),
      }
    }
    out.sort_by_key(|(unit, _)| *unit);
    out.into_iter().map(|(u, list)| (&self.units[u].source, CompileErrors(list))).collect()
  }

  fn localized(&self, mut error: CompileError, unit: usize) -> CompileError {
    let mut elsewhere = Vec::new();
    let labels = std::mem::take(&mut error.labels);
    for (span, label) in labels {
      let other = self.unit_at(span.offset());
      let local = &self.units[other];
      let at = SourceSpan::from((span.offset() - local.base, span.len()));
      if other == unit {
        error.labels.push((at, label));
      } else {
        let (line, column) = local.source.line_col(at.offset());
        elsewhere.push(format!("{}:{line}:{column}: {label}", local.source.name()));
      }
    }
    if !elsewhere.is_empty() {
      let help = error.help.take().map(|h| format!("{h}\n")).unwrap_or_default();
      error.help = Some(format!("{help}{}", elsewhere.join("\n")));
    }
    error
  }
}
