//! The text of one job file and its path: what every diagnostic points into.

use miette::SourceSpan;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use read::ReadError;

/// A job file as read from disk. Spans elsewhere are byte ranges into `text`.
#[derive(Debug, Clone)]
pub(crate) struct Source {
  pub path: PathBuf,
  pub text: Arc<str>,
}

impl Source {
  pub(crate) fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
    Self { path: path.into(), text: text.into() }
  }

  /// Reads a job file, refusing what is not a regular file or is over `MAX_FILE_BYTES`.
  pub(crate) fn read(path: &Path) -> Result<Self, ReadError> {
    Ok(Self::new(path, read::read_text(path)?))
  }

  /// The name shown in diagnostics: the path as the user gave it.
  pub(crate) fn name(&self) -> String {
    self.path.display().to_string()
  }

  /// The folder the file lives in: the default working directory of its tasks.
  pub(crate) fn dir(&self) -> PathBuf {
    match self.path.parent() {
      Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
      _ => PathBuf::from("."),
    }
  }

  /// 1-based line and column (in characters, as [`Self::offset_of`] reads it) of a byte offset
  /// at a character boundary.
  pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
    let before = &self.text[..offset.min(self.text.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    (line, before[line_start..].chars().count() + 1)
  }

  /// The byte offset of a 1-based line and column, clamped to the text.
  pub(crate) fn offset_of(&self, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in self.text.split_inclusive('\n').enumerate() {
      if i + 1 == line {
        let col = column.saturating_sub(1);
        return (offset + l.char_indices().nth(col).map_or(l.len(), |(b, _)| b))
          .min(self.text.len());
      }
      offset += l.len();
    }
    self.text.len()
  }

  /// The text a span covers, or "" when the span lies outside the source.
  pub(crate) fn slice(&self, span: SourceSpan) -> &str {
    self.text.get(span.offset()..span.offset() + span.len()).unwrap_or("")
  }
}

/// The byte offsets of a text's newlines, found once, so that the lines of many places in the
/// job file cost a binary search each instead of a scan of the text.
#[derive(Debug)]
pub(crate) struct LineIndex(Vec<usize>);

impl LineIndex {
  pub(crate) fn new(text: &str) -> Self {
    Self(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect())
  }

  /// 1-based line of a byte offset (as `Source::line_col` counts it).
  pub(crate) fn line(&self, offset: usize) -> usize {
    self.0.partition_point(|&nl| nl < offset) + 1
  }
}

mod read;

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn line_col_round_trips() {
    let s = Source::new("x.yaml", "ab\ncd\n\nef");
    for offset in [0, 1, 3, 4, 6, 7, 9] {
      let (l, c) = s.line_col(offset);
      assert_eq!(s.offset_of(l, c), offset, "offset {offset} -> {l}:{c}");
    }
    assert_eq!(s.line_col(4), (2, 2));
    let s = Source::new("x.yaml", "é: ü\nx");
    for offset in [0, 2, 3, 4, 6, 7] {
      let (l, c) = s.line_col(offset);
      assert_eq!(s.offset_of(l, c), offset, "offset {offset} -> {l}:{c}");
    }
    assert_eq!(s.line_col(6), (1, 5));
  }

  #[test]
  fn lines_as_the_source_counts_them() {
    let text = "a:\n  b\n\nc";
    let source = Source::new("t.yaml", text);
    let index = LineIndex::new(text);
    for offset in 0..text.len() + 2 {
      assert_eq!(index.line(offset), source.line_col(offset).0, "offset {offset}");
    }
  }
}
