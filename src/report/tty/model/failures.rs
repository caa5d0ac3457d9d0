//! What failed, in full, once the live rows are off the screen (as cargo and nextest do): the
//! output each failed task and each failed callback left in its tail, under a header naming it,
//! and saying when lines were cut and where the whole output is.

use super::super::tail::Tail;
use crate::report::plain::paint::{BOLD, Paint};

/// Failures whose output is kept until the end; later ones are only counted, so that memory
/// stays bounded by this many tails.
const KEPT: usize = 20;

#[derive(Debug, Default)]
pub(super) struct Failures {
  /// What failed (`broken: failed (exit 4) in 3ms`) and its output.
  kept: Vec<(String, Box<Tail>)>,
  /// Failures with output past [`KEPT`].
  more: usize,
  /// `--log-dir`, where every line is.
  pub log_dir: Option<String>,
}

impl Failures {
  /// Keeps a failure's output; one without output needs no more than its finish line.
  pub(super) fn add(&mut self, what: String, tail: Option<Box<Tail>>) {
    let Some(tail) = tail.filter(|t| t.lines().next().is_some()) else { return };
    if self.kept.len() < KEPT {
      self.kept.push((what, tail));
    } else {
      self.more += 1;
    }
  }

  /// Every kept failure's output under its header, then how many were not kept.
  pub(super) fn text(&self, paint: Paint) -> String {
    let mut text = String::new();
    for (what, tail) in &self.kept {
      let cut = match tail.dropped() {
        0 => String::new(),
        n => format!("; {n} earlier lines cut, {}", self.whole()),
      };
      text.push_str(&paint.style(BOLD, &format!("── {what}{cut} ──")));
      text.push('\n');
      for line in tail.lines() {
        text.push_str(line);
        text.push('\n');
      }
    }
    if self.more > 0 {
      let more = self.more;
      text.push_str(&format!(
        "── the output of {more} more failures is not shown: {} ──\n",
        self.whole()
      ));
    }
    text
  }

  /// Where the whole output is: `all of it is in logs/`, or how to keep it.
  fn whole(&self) -> String {
    match &self.log_dir {
      Some(dir) => format!("all of it is in {dir}"),
      None => "--log-dir DIR keeps all of it".to_string(),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const OFF: Paint = Paint { on: false };

  fn tail(lines: usize) -> Option<Box<Tail>> {
    let mut tail = Box::<Tail>::default();
    for i in 0..lines {
      tail.push(["", ""], &format!("line {i}"));
    }
    Some(tail)
  }

  #[test]
  fn each_failure_under_its_header_with_what_was_cut() {
    let mut failures = Failures::default();
    failures.add("a: failed (exit 1) in 3ms".into(), tail(2));
    failures.add("quiet: failed (exit 1) in 3ms".into(), tail(0));
    failures.add("b: failed (exit 2) in 5ms".into(), tail(super::super::super::tail::LINES + 7));
    let text = failures.text(OFF);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..3], ["── a: failed (exit 1) in 3ms ──", "line 0", "line 1"]);
    assert_eq!(
      lines[3],
      "── b: failed (exit 2) in 5ms; 7 earlier lines cut, --log-dir DIR keeps all of it ──"
    );
    assert_eq!(lines[4], "line 7");
    failures.log_dir = Some("logs".into());
    for _ in 0..KEPT {
      failures.add("c: failed".into(), tail(1));
    }
    let text = failures.text(OFF);
    assert!(text.contains("; 7 earlier lines cut, all of it is in logs ──"), "{text}");
    assert!(
      text.ends_with("── the output of 2 more failures is not shown: all of it is in logs ──\n"),
      "{text}"
    );
  }
}
