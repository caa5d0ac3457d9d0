//! What miette reads of a job file to draw one error: the lines around its labels, found
//! through an index of the line breaks, and cut short around the labels on very long lines.
//!
//! miette's own reading of a text scans it from the start for every label, which made 50,000
//! errors take minutes; and it pads with a format width, which panics past column 65,535. Here
//! each read starts a few lines before its span, and a long line shows only a window around
//! the label. The lines are the same as miette would read (the same breaks: `\n`, `\r\n`, a
//! lone `\r`), so ordinary errors render exactly as before.

use crate::compile_error::CompileError;
use miette::{
  Diagnostic, LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan,
  SpanContents,
};
use std::fmt;

/// A line longer than this many bytes is shown only around its labels.
const LONG_LINE: usize = 512;

/// How many bytes of a long line are shown on each side of a label, and at most of the label.
const WINDOW: usize = 120;

/// Labels whose contexts lie further apart than this many lines are drawn apart, not as one
/// excerpt with every line between them.
const MERGE_LINES: usize = 40;

/// A job file's text, indexed for drawing its errors.
pub(super) struct Excerpts<'a> {
  name: String,
  text: &'a str,
  /// The offset of each line break (of the `\n` of a `\r\n`).
  breaks: Vec<usize>,
}

impl<'a> Excerpts<'a> {
  pub(super) fn new(name: String, text: &'a str) -> Self {
    let bytes = text.as_bytes();
    let breaks = (bytes.iter().enumerate())
      .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
      .map(|(i, _)| i)
      .collect();
    Self { name, text, breaks }
  }

  /// The 0-based line of a byte offset.
  fn line_of(&self, offset: usize) -> usize {
    self.breaks.partition_point(|&b| b < offset)
  }

  fn line_start(&self, line: usize) -> usize {
    if line == 0 { 0 } else { self.breaks.get(line - 1).map_or(self.text.len(), |b| b + 1) }
  }

  /// Where a line ends, its break excluded.
  fn line_end(&self, line: usize) -> usize {
    match self.breaks.get(line) {
      Some(&b)
        if b > 0 && self.text.as_bytes()[b] == b'\n' && self.text.as_bytes()[b - 1] == b'\r' =>
      {
        b - 1
      }
      Some(&b) => b,
      None => self.text.len(),
    }
  }

  fn is_long(&self, line: usize) -> bool {
    self.line_end(line) - self.line_start(line) > LONG_LINE
  }

  /// The error as miette draws it: labels that touch a long line cut to a short piece at their
  /// start, and this text as its source.
  pub(super) fn diagnostic<'e>(&'e self, error: &'e CompileError) -> Drawn<'e> {
    let labels =
      error.labels.iter().map(|(span, text)| (self.clip(*span), text.as_str())).collect();
    Drawn { error, labels, source: self }
  }

  /// A label span, or when it touches a long line, at most [`WINDOW`] bytes of its first line.
  fn clip(&self, span: SourceSpan) -> SourceSpan {
    let (start, end) = (span.offset(), span.offset() + span.len());
    let (first, last) = (self.line_of(start), self.line_of(end));
    if !(first..=last).any(|line| self.is_long(line)) {
      return span;
    }
    let end = floor_char(self.text, end.min(start + WINDOW).min(self.line_end(first)).max(start));
    SourceSpan::from((start, end.saturating_sub(start)))
  }

  /// Where a read for `span` starts, with its line, and its column when it starts mid-line:
  /// `before` lines up, or fewer when one of them is long, or inside the span's own line when
  /// that one is long.
  fn read_start(&self, span: &SourceSpan, before: usize) -> (usize, usize, usize) {
    let line = self.line_of(span.offset());
    if self.is_long(line) {
      let start =
        floor_char(self.text, span.offset().saturating_sub(WINDOW).max(self.line_start(line)));
      return (start, line, start - self.line_start(line));
    }
    // One line more than miette keeps: it drops the extra itself, as it does on a whole text.
    let mut first = line.saturating_sub(before + 1);
    if let Some(long) = (first..line).rev().find(|&l| self.is_long(l)) {
      first = long + 1;
    }
    (self.line_start(first), first, 0)
  }

  /// Where a read for `span` ends: `after` lines down, or fewer when one of them is long, or
  /// inside the span's last line when that one is long.
  fn read_end(&self, span: &SourceSpan, after: usize) -> usize {
    let end = span.offset() + span.len();
    let line = self.line_of(end);
    if self.is_long(line) {
      return ceil_char(self.text, (end + WINDOW).min(self.line_end(line)));
    }
    let last =
      (line + 1..=line + after + 1).find(|&l| self.is_long(l)).map_or(line + after + 1, |l| l - 1);
    self.line_start(last + 1).min(self.text.len())
  }

  /// Whether `span` joins labels apart over a long line or too many lines (miette then draws
  /// each label in its own excerpt).
  fn too_far(&self, span: &SourceSpan, labels: &[(SourceSpan, &str)]) -> bool {
    if labels.iter().any(|(label, _)| label == span) {
      return false;
    }
    let (first, last) = (self.line_of(span.offset()), self.line_of(span.offset() + span.len()));
    last - first > MERGE_LINES || (first..=last).any(|line| self.is_long(line))
  }
}

/// One error with the source it is drawn from.
pub(super) struct Drawn<'e> {
  error: &'e CompileError,
  labels: Vec<(SourceSpan, &'e str)>,
  source: &'e Excerpts<'e>,
}

impl SourceCode for Drawn<'_> {
  fn read_span<'a>(
    &'a self,
    span: &SourceSpan,
    before: usize,
    after: usize,
  ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
    let source = self.source;
    if source.too_far(span, &self.labels) {
      return Err(MietteError::OutOfBounds);
    }
    let (start, line, column) = source.read_start(span, before);
    let end = source.read_end(span, after).max(span.offset() + span.len()).min(source.text.len());
    let Some(slice) = source.text.as_bytes().get(start..end) else {
      return Err(MietteError::OutOfBounds);
    };
    let inner = SourceSpan::from((span.offset().saturating_sub(start), span.len()));
    let read = slice.read_span(&inner, before, after)?;
    let at = read.span().offset();
    let column = if read.line() == 0 && (before == 0 || at == 0) {
      read.column() + column
    } else {
      read.column()
    };
    Ok(Box::new(
      MietteSpanContents::new_named(
        source.name.clone(),
        read.data(),
        SourceSpan::from((start + at, read.span().len())),
        line + read.line(),
        column,
        line + read.line_count(),
      )
      .with_language("yaml"),
    ))
  }
}

impl Diagnostic for Drawn<'_> {
  fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
    self.error.code()
  }

  fn severity(&self) -> Option<Severity> {
    self.error.severity()
  }

  fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
    self.error.help()
  }

  fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
    Some(Box::new(self.labels.iter().enumerate().map(|(i, (span, text))| {
      let text = (!text.is_empty()).then(|| text.to_string());
      if i == 0 {
        LabeledSpan::new_primary_with_span(text, *span)
      } else {
        LabeledSpan::new_with_span(text, *span)
      }
    })))
  }

  fn source_code(&self) -> Option<&dyn SourceCode> {
    Some(self)
  }
}

impl fmt::Display for Drawn<'_> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    self.error.fmt(f)
  }
}

impl fmt::Debug for Drawn<'_> {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    self.error.fmt(f)
  }
}

impl std::error::Error for Drawn<'_> {}

/// The char boundary at or before `i`.
fn floor_char(text: &str, mut i: usize) -> usize {
  i = i.min(text.len());
  while !text.is_char_boundary(i) {
    i -= 1;
  }
  i
}

/// The char boundary at or after `i`.
fn ceil_char(text: &str, mut i: usize) -> usize {
  i = i.min(text.len());
  while !text.is_char_boundary(i) {
    i += 1;
  }
  i
}

#[cfg(test)]
mod tests;
