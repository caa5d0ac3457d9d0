//! The closing table of a run: one row per task (status, task, attempts, duration), failures
//! first, as text for the screen and as Markdown for the GitHub job summary. Long runs show the
//! first rows and count the rest, so ten thousand tasks don't bury the failures.

use super::paint::Paint;
use super::text::took;
use crate::status::Status;

/// Rows shown on the screen; the rest are counted.
const SCREEN_ROWS: usize = 50;
/// Rows written to the job summary (GitHub caps a step's summary at 1 MiB).
const MARKDOWN_ROWS: usize = 1000;

#[derive(Debug)]
struct Row {
  task: String,
  status: Status,
  attempts: u32,
  duration_ms: u64,
}

/// Every finished task, in finishing order.
#[derive(Debug, Default)]
pub(crate) struct Summary {
  rows: Vec<Row>,
}

impl Summary {
  pub(crate) fn add(&mut self, task: &str, status: Status, attempts: u32, duration_ms: u64) {
    self.rows.push(Row { task: task.to_string(), status, attempts, duration_ms });
  }

  pub(crate) fn is_empty(&self) -> bool {
    self.rows.is_empty()
  }

  /// Failures first, then what was stopped, what never ran, and what succeeded; finishing
  /// order within each.
  fn sorted(&self) -> Vec<&Row> {
    let mut rows: Vec<&Row> = self.rows.iter().collect();
    rows.sort_by_key(|r| rank(r.status));
    rows
  }

  /// The table as text lines, each indented by two spaces, under a `summary:` heading.
  pub(crate) fn text(&self, paint: Paint) -> Vec<String> {
    let rows = self.sorted();
    let (shown, hidden) = rows.split_at(rows.len().min(SCREEN_ROWS));
    let width = shown.iter().map(|r| r.task.chars().count()).max().unwrap_or(0).clamp(4, 40);
    let column = shown.iter().map(|r| r.status.as_str().len()).max().unwrap_or(0).max(9);
    let mut lines = vec![
      "summary:".to_string(),
      format!("  {:<column$}  {:<width$}  {:>8}  {:>8}", "status", "task", "attempts", "duration"),
    ];
    for row in shown {
      let status = paint.like(row.status, &format!("{:<column$}", row.status.as_str()));
      let (task, attempts, duration) = (&row.task, row.attempts, duration(row));
      lines.push(format!("  {status}  {task:<width$}  {attempts:>8}  {duration:>8}"));
    }
    if !hidden.is_empty() {
      lines.push(format!("  ... and {} more: {}", hidden.len(), counts(hidden)));
    }
    lines
  }

  /// The table in Markdown, under a heading naming the run, with the closing line below.
  pub(crate) fn markdown(&self, title: &str, closing: &str) -> String {
    let rows = self.sorted();
    let (shown, hidden) = rows.split_at(rows.len().min(MARKDOWN_ROWS));
    let mut md = format!("### {title}\n\n");
    md.push_str("| status | task | attempts | duration |\n| :-- | :-- | --: | --: |\n");
    for row in shown {
      let (icon, status) = (icon(row.status), row.status.as_str());
      let task = row.task.replace('|', "\\|");
      md.push_str(&format!(
        "| {icon} {status} | `{task}` | {} | {} |\n",
        row.attempts,
        duration(row)
      ));
    }
    if !hidden.is_empty() {
      md.push_str(&format!("\n... and {} more: {}\n", hidden.len(), counts(hidden)));
    }
    md.push_str(&format!("\n{closing}\n\n"));
    md
  }
}

fn rank(status: Status) -> u8 {
  match status {
    Status::Failed => 0,
    Status::TimedOut => 1,
    Status::Cancelled => 2,
    Status::Skipped => 3,
    Status::Succeeded => 4,
    Status::UpToDate => 5,
    Status::Pending | Status::Delayed | Status::Ready | Status::Running => 6,
  }
}

fn duration(row: &Row) -> String {
  if row.attempts == 0 { "-".to_string() } else { took(row.duration_ms) }
}

fn icon(status: Status) -> &'static str {
  match status {
    Status::Succeeded | Status::UpToDate => "✅",
    Status::Failed => "❌",
    Status::TimedOut => "⏱️",
    Status::Cancelled => "⊘",
    Status::Skipped | Status::Pending | Status::Delayed | Status::Ready | Status::Running => "⏭️",
  }
}

/// `3 succeeded, 1 skipped` for rows not shown (sorted, so equal statuses are adjacent).
fn counts(rows: &[&Row]) -> String {
  let mut parts: Vec<(Status, usize)> = Vec::new();
  for row in rows {
    match parts.last_mut() {
      Some((status, n)) if *status == row.status => *n += 1,
      _ => parts.push((row.status, 1)),
    }
  }
  parts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
  use super::*;

  fn summary() -> Summary {
    let mut s = Summary::default();
    s.add("fetch", Status::Succeeded, 1, 12);
    s.add("deploy", Status::Skipped, 0, 0);
    s.add("compile", Status::Failed, 2, 1500);
    s
  }

  #[test]
  fn failures_first() {
    let lines = summary().text(Paint { on: false });
    assert_eq!(
      lines,
      [
        "summary:",
        "  status     task     attempts  duration",
        "  failed     compile         2     1.50s",
        "  skipped    deploy          0         -",
        "  succeeded  fetch           1      12ms",
      ]
    );
  }

  #[test]
  fn long_runs_count_the_rest() {
    let mut s = Summary::default();
    for i in 0..SCREEN_ROWS + 3 {
      s.add(&format!("t{i}"), Status::Succeeded, 1, 1);
    }
    s.add("bad", Status::Failed, 1, 1);
    let lines = s.text(Paint { on: false });
    assert!(lines[2].contains("bad"), "{lines:?}");
    assert_eq!(lines.last().unwrap(), "  ... and 4 more: 4 succeeded");
  }

  #[test]
  fn markdown_table() {
    let md = summary().markdown("runner: demo", "runner: failed");
    assert!(
      md.starts_with("### runner: demo\n\n| status | task | attempts | duration |\n"),
      "{md}"
    );
    assert!(md.contains("| ❌ failed | `compile` | 2 | 1.50s |\n"), "{md}");
    assert!(md.contains("| ⏭️ skipped | `deploy` | 0 | - |\n"), "{md}");
    assert!(md.ends_with("\nrunner: failed\n\n"), "{md}");
  }
}
