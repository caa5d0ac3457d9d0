//! Collapsible blocks of CI logs around one task's output: GitHub Actions' `::group::` and
//! GitLab CI's sections. GitLab times a section by its start and end timestamps (Unix seconds)
//! and shows that in its header, so a section starts when the task started, not when its block
//! is printed.

use super::github::escape_data;
use std::io::Write;

/// Which CI's folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fold {
  Github,
  Gitlab,
}

/// GitLab's erase-line sequence: hides the marker when the log is shown.
const ERASE: &str = "\x1b[0K";

impl Fold {
  /// The line that opens a block titled `header` for `task`; `collapsed`: folded when shown
  /// (GitHub always folds); `started`: when the task started, in Unix seconds.
  pub(super) fn open(
    self,
    out: &mut dyn Write,
    task: &str,
    header: &str,
    collapsed: bool,
    started: u64,
  ) -> std::io::Result<()> {
    match self {
      Fold::Github => writeln!(out, "::group::{}", escape_data(header)),
      Fold::Gitlab => {
        let name = section_name(task);
        let option = if collapsed { "[collapsed=true]" } else { "" };
        writeln!(out, "{ERASE}section_start:{started}:{name}{option}\r{ERASE}{}", one_line(header))
      }
    }
  }

  /// The line that closes `task`'s block; `ended`: in Unix seconds.
  pub(super) fn close(self, out: &mut dyn Write, task: &str, ended: u64) -> std::io::Result<()> {
    match self {
      Fold::Github => writeln!(out, "::endgroup::"),
      Fold::Gitlab => writeln!(out, "{ERASE}section_end:{ended}:{}\r{ERASE}", section_name(task)),
    }
  }
}

/// A GitLab section name: only `A-Z a-z 0-9 _ . -`, the rest as `_`.
fn section_name(task: &str) -> String {
  let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
  let name: String = task.chars().map(|c| if safe(c) { c } else { '_' }).collect();
  format!("task_{name}")
}

/// A header on one line: a line break would end the marker's line early.
fn one_line(text: &str) -> String {
  text.replace(['\r', '\n'], " ")
}

/// Now, in Unix seconds.
pub(super) fn now() -> u64 {
  std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn lines(fold: Fold, task: &str, header: &str, collapsed: bool) -> String {
    let mut out = Vec::new();
    fold.open(&mut out, task, header, collapsed, 1_700_000_000).unwrap();
    fold.close(&mut out, task, 1_700_000_042).unwrap();
    String::from_utf8(out).unwrap()
  }

  #[test]
  fn gitlab_sections() {
    assert_eq!(
      lines(Fold::Gitlab, "build", "[build] succeeded in 1s", true),
      "\x1b[0Ksection_start:1700000000:task_build[collapsed=true]\r\x1b[0K[build] succeeded in 1s\n\
       \x1b[0Ksection_end:1700000042:task_build\r\x1b[0K\n"
    );
    let open = lines(Fold::Gitlab, "a b:c/é", "[x] failed\nnext", false);
    assert!(
      open.starts_with("\x1b[0Ksection_start:1700000000:task_a_b_c__\r\x1b[0K[x] failed next\n")
    );
  }

  #[test]
  fn github_groups() {
    assert_eq!(
      lines(Fold::Github, "build", "[build] 100% done\r\n", true),
      "::group::[build] 100%25 done%0D%0A\n::endgroup::\n"
    );
  }
}
