//! What is wrong with a job file: one error, its kind, and labelled places in the file.

use miette::{Diagnostic, LabeledSpan, Severity, SourceSpan};
use std::fmt;

/// Every kind of error the YAML layer, the decoder and the compiler report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ErrorKind {
  Syntax,
  UnknownKey,
  WrongType,
  DuplicateKey,
  BadName,
  BadValue,
  BadDuration,
  UnknownReference,
  NameClash,
  Cycle,
  WorkersWithoutConsumes,
  UnknownQueue,
  EmptyGroup,
  BadGroup,
  BadReturnWhen,
  BadPending,
  BadVersion,
  DuplicateReference,
  NoTasks,
  CutByComment,
  IncludeCycle,
  BadInclude,
  IgnoredInInclude,
  Dotenv,
  Matrix,
}

impl ErrorKind {
  /// The code miette prints next to the message, e.g. `runner::unknown_key`.
  pub(crate) fn code(self) -> &'static str {
    match self {
      Self::Syntax => "runner::syntax",
      Self::UnknownKey => "runner::unknown_key",
      Self::WrongType => "runner::wrong_type",
      Self::DuplicateKey => "runner::duplicate_key",
      Self::BadName => "runner::bad_name",
      Self::BadValue => "runner::bad_value",
      Self::BadDuration => "runner::bad_duration",
      Self::UnknownReference => "runner::unknown_reference",
      Self::NameClash => "runner::name_clash",
      Self::Cycle => "runner::cycle",
      Self::WorkersWithoutConsumes => "runner::workers_without_consumes",
      Self::UnknownQueue => "runner::unknown_queue",
      Self::EmptyGroup => "runner::empty_group",
      Self::BadGroup => "runner::bad_group",
      Self::BadReturnWhen => "runner::bad_return_when",
      Self::BadPending => "runner::bad_pending",
      Self::BadVersion => "runner::bad_version",
      Self::DuplicateReference => "runner::duplicate_reference",
      Self::NoTasks => "runner::no_tasks",
      Self::CutByComment => "runner::cut_by_comment",
      Self::IncludeCycle => "runner::include_cycle",
      Self::BadInclude => "runner::bad_include",
      Self::IgnoredInInclude => "runner::ignored_in_include",
      Self::Dotenv => "runner::dotenv",
      Self::Matrix => "runner::matrix",
    }
  }
}

/// One error in a job file, or a warning: something that is valid but likely not what was
/// meant, which is printed and does not stop the file from running. The first label is the
/// primary place.
#[derive(Debug, Clone)]
pub(crate) struct CompileError {
  pub kind: ErrorKind,
  pub warning: bool,
  pub message: String,
  pub labels: Vec<(SourceSpan, String)>,
  pub help: Option<String>,
  /// The file the labels point into when it is not the job file (an environment file).
  pub source: Option<crate::source::Source>,
}

impl CompileError {
  pub(crate) fn new(
    kind: ErrorKind,
    message: impl Into<String>,
    span: SourceSpan,
    label: &str,
  ) -> Self {
    let labels = vec![(span, label.to_string())];
    Self { kind, warning: false, message: message.into(), labels, help: None, source: None }
  }

  pub(crate) fn into_warning(mut self) -> Self {
    self.warning = true;
    self
  }

  pub(crate) fn with_label(mut self, span: SourceSpan, label: impl Into<String>) -> Self {
    self.labels.push((span, label.into()));
    self
  }

  /// Places the labels in `source` rather than in the job file.
  pub(crate) fn in_file(mut self, source: crate::source::Source) -> Self {
    self.source = Some(source);
    self
  }

  pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
    self.help = Some(help.into());
    self
  }

  /// Adds "did you mean `x`?" when a suggestion exists.
  pub(crate) fn with_suggestion(self, suggestion: Option<&str>) -> Self {
    match suggestion {
      Some(s) => self.with_help(crate::suggest::did_you_mean(s)),
      None => self,
    }
  }

  /// The primary place of the error.
  pub(crate) fn span(&self) -> SourceSpan {
    self.labels.first().map_or(SourceSpan::from((0, 0)), |(span, _)| *span)
  }
}

impl fmt::Display for CompileError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::error::Error for CompileError {}

impl Diagnostic for CompileError {
  fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
    Some(Box::new(self.kind.code()))
  }

  fn severity(&self) -> Option<Severity> {
    Some(if self.warning { Severity::Warning } else { Severity::Error })
  }

  fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
    self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
  }

  fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
    Some(Box::new(self.labels.iter().enumerate().map(|(i, (span, text))| {
      let text = (!text.is_empty()).then(|| text.clone());
      if i == 0 {
        LabeledSpan::new_primary_with_span(text, *span)
      } else {
        LabeledSpan::new_with_span(text, *span)
      }
    })))
  }
}

/// All errors of one file, in the order they appear in it.
#[derive(Debug)]
pub(crate) struct CompileErrors(pub Vec<CompileError>);

impl CompileErrors {
  pub(crate) fn errors(&self) -> usize {
    self.0.iter().filter(|e| !e.warning).count()
  }

  pub(crate) fn warnings(&self) -> usize {
    self.0.len() - self.errors()
  }

  /// The errors in order, each once: the instances of a matrix task, or tasks that list the
  /// same environment file, would otherwise report one fault many times at the same places.
  pub(crate) fn sorted(mut errors: Vec<CompileError>) -> Self {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| {
      let spans: Vec<(usize, usize)> =
        e.labels.iter().map(|(s, _)| (s.offset(), s.len())).collect();
      seen.insert((e.kind, e.source.as_ref().map(|s| s.path.clone()), spans))
    });
    // The job file's errors first, then those of other files, each file's in order.
    errors.sort_by(|a, b| {
      let key = |e: &CompileError| {
        (e.source.as_ref().map(|s| s.path.clone()), e.span().offset(), e.span().len())
      };
      key(a).cmp(&key(b))
    });
    Self(errors)
  }
}
