//! ANSI colour for status words, or nothing at all: the caller decides once whether colour is
//! on (`options`), and every coloured word goes through here.

use crate::status::Status;
use anstyle::{AnsiColor, Effects, Style};

pub(crate) const RED: Style = AnsiColor::Red.on_default();
pub(crate) const GREEN: Style = AnsiColor::Green.on_default();
pub(crate) const YELLOW: Style = AnsiColor::Yellow.on_default();
pub(crate) const BOLD: Style = Style::new().effects(Effects::BOLD);
pub(crate) const DIM: Style = Style::new().effects(Effects::DIMMED);

/// Paints words when colour is on; a no-op otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
  pub on: bool,
}

impl Paint {
  /// `text` in the given SGR style, or unchanged without colour.
  pub(crate) fn style(self, style: Style, text: &str) -> String {
    if self.on && !text.is_empty() {
      format!("{}{text}{}", style.render(), style.render_reset())
    } else {
      text.to_string()
    }
  }

  /// A status word (`succeeded`, `failed`, ...) in its colour.
  pub(crate) fn status(self, status: Status) -> String {
    self.style(status_color(status), status.as_str())
  }

  /// `text` in the colour of `status`.
  pub(crate) fn like(self, status: Status, text: &str) -> String {
    self.style(status_color(status), text)
  }
}

/// Green for success, red for failures, yellow for what was stopped, dim for what never ran.
pub(crate) fn status_color(status: Status) -> Style {
  match status {
    Status::Succeeded | Status::UpToDate => GREEN,
    Status::Failed | Status::TimedOut => RED,
    Status::Cancelled => YELLOW,
    Status::Skipped | Status::Pending | Status::Delayed | Status::Ready | Status::Running => DIM,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn colour_only_when_on() {
    assert_eq!(Paint { on: false }.status(Status::Failed), "failed");
    assert_eq!(Paint { on: true }.status(Status::Failed), "\x1b[31mfailed\x1b[0m");
    assert_eq!(Paint { on: true }.style(BOLD, ""), "");
  }
}
