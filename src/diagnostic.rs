//! Renders job-file errors and warnings for a person: miette's graphical report, every one of a
//! file, then a one-line count.

use crate::compile_error::CompileErrors;
use crate::source::Source;
use excerpt::Excerpts;
use miette::{GraphicalReportHandler, GraphicalTheme};

/// How errors are drawn: with colour on a terminal, plain for pipes and snapshots.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
  pub color: bool,
  pub width: usize,
}

impl Style {
  #[cfg(test)]
  pub(crate) const PLAIN: Self = Self { color: false, width: 100 };
}

/// Renders every error and warning of one file, followed by a summary line.
pub(crate) fn render(source: &Source, errors: &CompileErrors, style: Style) -> String {
  let theme =
    if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
  let handler =
    GraphicalReportHandler::new_themed(theme).with_width(style.width).with_context_lines(1);
  let mut out = String::new();
  let excerpts = Excerpts::new(source.name(), &source.text);
  for error in &errors.0 {
    // An error in an environment file is drawn from that file.
    let other = error.source.as_ref().map(|s| Excerpts::new(s.name(), &s.text));
    let excerpts = other.as_ref().unwrap_or(&excerpts);
    if handler.render_report(&mut out, &excerpts.diagnostic(error)).is_err() {
      out.push_str(&format!("error: {error}\n"));
    }
    out.push('\n');
  }
  out.push_str(&format!("{}: {}\n", source.name(), summary(errors)));
  out
}

/// `2 errors, 1 warning, nothing was run`, or for warnings alone `1 warning`.
fn summary(errors: &CompileErrors) -> String {
  let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
  let (errors, warnings) = (errors.errors(), errors.warnings());
  match (errors, warnings) {
    (0, w) => count(w, "warning"),
    (e, 0) => format!("{}, nothing was run", count(e, "error")),
    (e, w) => format!("{}, {}, nothing was run", count(e, "error"), count(w, "warning")),
  }
}

mod excerpt;
