//! Renders job-file errors for a person: miette's graphical report, every error of a file, then
//! a one-line count.

use crate::compile_error::CompileErrors;
use crate::source::Source;
use miette::{GraphicalReportHandler, GraphicalTheme, Report};

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

/// Renders every error of one file, followed by a summary line.
pub(crate) fn render(source: &Source, errors: &CompileErrors, style: Style) -> String {
  let theme =
    if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
  let handler =
    GraphicalReportHandler::new_themed(theme).with_width(style.width).with_context_lines(1);
  let mut out = String::new();
  for error in &errors.0 {
    let report = Report::new(error.clone()).with_source_code(source.named());
    if handler.render_report(&mut out, report.as_ref()).is_err() {
      out.push_str(&format!("error: {error}\n"));
    }
    out.push('\n');
  }
  let count = errors.0.len();
  let noun = if count == 1 { "error" } else { "errors" };
  out.push_str(&format!("{}: {count} {noun}, nothing was run\n", source.name()));
  out
}
