//! ANSI colour for status words, or nothing at all: the caller decides once whether colour is
//! on (`options`), and every coloured word goes through here.

use crate::status::Status;

const RESET: &str = "\x1b[0m";
pub(crate) const RED: &str = "\x1b[31m";
pub(crate) const GREEN: &str = "\x1b[32m";
pub(crate) const YELLOW: &str = "\x1b[33m";
pub(crate) const BOLD: &str = "\x1b[1m";
pub(crate) const DIM: &str = "\x1b[2m";

/// Paints words when colour is on; a no-op otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
  pub on: bool,
}

impl Paint {
  /// `text` in the given SGR style, or unchanged without colour.
  pub(crate) fn style(self, code: &str, text: &str) -> String {
    if self.on && !text.is_empty() { format!("{code}{text}{RESET}") } else { text.to_string() }
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
pub(crate) fn status_color(status: Status) -> &'static str {
  match status {
    Status::Succeeded => GREEN,
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
