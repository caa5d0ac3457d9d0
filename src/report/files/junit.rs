//! `--junit FILE.xml`: the run as JUnit XML, as Jenkins, GitLab and GitHub test reporters read
//! it. One `<testsuite>` (named after the job, or its file) inside `<testsuites>`, and one
//! `<testcase>` per task the run selected, in file order:
//!
//! - `failed` and `timed_out` tasks get a `<failure>` (`type` is the status) whose text is the
//!   last lines of the task's output;
//! - a failure the job allows (`allow_failure`) does not fail the run, so its testcase passes:
//!   no `<failure>`, and its `<system-out>` starts with a note that says how it ended (the
//!   Jenkins schema has no properties on a testcase);
//! - `skipped` and `cancelled` tasks get `<skipped/>`;
//! - a failed callback is an `<error type="callback_failed">`;
//! - `<system-out>` and `<system-err>` hold the tails of stdout and of stderr and callbacks.
//!
//! The file follows the Jenkins JUnit schema (`junit-10.xsd`); `tests/fixtures/junit.xsd` is the
//! subset the integration tests validate against.

use super::record::{NodeRecord, Record};
use super::tail;
use super::time;
use super::xml;
use crate::graph::NodeId;
use crate::status::Status;
use std::collections::HashMap;
use std::fmt::Write;

/// Lines of output in a failure.
const FAILURE_LINES: usize = 100;
/// Failed items named in a consumer's failure message.
const NAMED_ITEMS: usize = 5;

/// The JUnit XML of a run.
pub(super) fn render(record: &Record) -> String {
  let suite = record.title();
  let tasks: Vec<(NodeId, &NodeRecord)> =
    record.nodes.iter().enumerate().filter(|(_, n)| n.seen && !n.is_group).collect();
  let count = |f: fn(&NodeRecord) -> bool| tasks.iter().filter(|(_, n)| f(n)).count();
  let failures = count(|n| n.status.is_some_and(Status::is_failure) && !n.allow_failure);
  let skipped = count(|n| matches!(n.status, Some(Status::Skipped | Status::Cancelled)));
  let errors = count(|n| !n.callbacks_failed.is_empty());
  let end = record.end.as_ref();
  let time = time::seconds(end.map_or(0, |e| e.duration_ms));
  let (name, tests) = (xml::attr(suite), tasks.len());
  let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  let totals = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\"");
  let _ = writeln!(out, "<testsuites name=\"{name}\" {totals} time=\"{time}\">");
  let _ = writeln!(
    out,
    "  <testsuite name=\"{name}\" {totals} skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{}\">",
    time::utc_seconds(record.started_at)
  );
  properties(&mut out, record);
  let failed_items = failed_items(record);
  for (id, node) in tasks {
    let items = failed_items.get(&id).map_or(&[][..], Vec::as_slice);
    testcase(&mut out, suite, node, items);
  }
  out.push_str("  </testsuite>\n</testsuites>\n");
  out
}

fn properties(out: &mut String, record: &Record) {
  let exit_code = record.end.as_ref().map_or(String::new(), |e| e.exit_code.to_string());
  out.push_str("    <properties>\n");
  for (name, value) in
    [("file", record.file.as_str()), ("status", record.status()), ("exit_code", &exit_code)]
  {
    let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", xml::attr(value));
  }
  out.push_str("    </properties>\n");
}

/// Per consumer, its failed items (in finishing order).
fn failed_items(record: &Record) -> HashMap<NodeId, Vec<&str>> {
  let mut failed: HashMap<NodeId, Vec<&str>> = HashMap::new();
  for item in record.queues.iter().flat_map(|q| &q.items) {
    if item.status.is_failure() {
      failed.entry(item.consumer).or_default().push(&item.item);
    }
  }
  failed
}

fn testcase(out: &mut String, suite: &str, node: &NodeRecord, failed_items: &[&str]) {
  let time = time::seconds(node.duration_ms);
  let (name, class) = (xml::attr(&node.name), xml::attr(suite));
  let _ = writeln!(out, "    <testcase name=\"{name}\" classname=\"{class}\" time=\"{time}\">");
  let mut note = None;
  match node.status {
    Some(status @ (Status::Failed | Status::TimedOut)) if node.allow_failure => {
      let how = failure_message(node, status, failed_items);
      note = Some(format!("runner: {} (allowed by allow_failure): {how}", status.as_str()));
    }
    Some(status @ (Status::Failed | Status::TimedOut)) => {
      let message = xml::attr(&failure_message(node, status, failed_items));
      let tail = tail::merged(&[&node.stdout, &node.stderr], FAILURE_LINES).join("\n");
      let kind = status.as_str();
      let _ = writeln!(
        out,
        "      <failure message=\"{message}\" type=\"{kind}\">{}</failure>",
        xml::text(&tail)
      );
    }
    Some(Status::Skipped) => {
      out.push_str("      <skipped message=\"skipped: a task it needs did not succeed\"/>\n")
    }
    Some(Status::Cancelled) => out.push_str("      <skipped message=\"cancelled\"/>\n"),
    _ => {}
  }
  for callback in &node.callbacks_failed {
    let message = format!("callback `{}` {}", callback.command, ended(callback.exit));
    let _ =
      writeln!(out, "      <error message=\"{}\" type=\"callback_failed\"/>", xml::attr(&message));
  }
  let err = tail::merged(&[&node.stderr, &node.callbacks], usize::MAX);
  let out_lines = note.into_iter().chain(tail::merged(&[&node.stdout], usize::MAX)).collect();
  for (tag, lines) in [("system-out", out_lines), ("system-err", err)] {
    if lines.iter().any(|l| !l.is_empty()) {
      let _ = writeln!(out, "      <{tag}>{}</{tag}>", xml::text(&lines.join("\n")));
    }
  }
  out.push_str("    </testcase>\n");
}

fn ended(exit: crate::event::Exit) -> String {
  match (exit.code, exit.signal) {
    (_, Some(signal)) => format!("was killed by signal {signal}"),
    (Some(code), None) => format!("exited with code {code}"),
    (None, None) => "failed".into(),
  }
}

fn failure_message(node: &NodeRecord, status: Status, failed_items: &[&str]) -> String {
  let mut message = match status {
    Status::TimedOut => match node.timeout {
      Some(timeout) => format!("timed out after {}", crate::duration::display(timeout)),
      None => "timed out".to_string(),
    },
    _ if node.failed_items > 0 => {
      let named: Vec<String> =
        failed_items.iter().take(NAMED_ITEMS).map(|i| format!("`{i}`")).collect();
      let more = node.failed_items.saturating_sub(named.len() as u64);
      let more = if more > 0 { format!(" and {more} more") } else { String::new() };
      let count = match node.failed_items {
        1 => "1 queue item".to_string(),
        n => format!("{n} queue items"),
      };
      format!("{count} failed: {}{more}", named.join(", "))
    }
    _ => ended(node.exit),
  };
  if node.attempts.len() > 1 {
    let _ = write!(message, " after {} attempts", node.attempts.len());
  }
  message
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::{Event, Exit, Stream};
  use crate::report::files::record::tests::JOB;
  use crate::report::fixtures::{graph, run_finished, task_finished};

  fn finished(task: &str, status: Status, code: Option<i32>) -> Event<'_> {
    task_finished(task, status, 1, 1500, Exit { code, signal: None })
  }

  #[test]
  fn testcases() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 0);
    let out =
      |line| Event::Output { task: "a", stream: Stream::Stderr, line, item: None, raw: None };
    record.event(&out("bad <thing> & \u{1b}[31mred\u{1b}[0m \u{1}"), 1);
    record.event(&finished("a", Status::Failed, Some(3)), 2);
    record.event(&finished("b", Status::Skipped, None), 3);
    let callback =
      Event::CallbackFailed { task: "b", command: "say \"hi\"", exit: Exit::default() };
    record.event(&callback, 4);
    record.event(&run_finished("failed", 1, 2500), 5);
    let xml = render(&record);
    assert!(xml.contains(
      "<testsuites name=\"demo\" tests=\"2\" failures=\"1\" errors=\"1\" time=\"2.500\">"
    ));
    assert!(xml.contains("tests=\"2\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"2.500\""));
    assert!(xml.contains("<testcase name=\"a\" classname=\"demo\" time=\"1.500\">"));
    assert!(xml.contains(
      "<failure message=\"exited with code 3\" type=\"failed\">bad &lt;thing&gt; &amp; red \u{fffd}</failure>"
    ));
    assert!(xml.contains("<system-err>bad &lt;thing&gt; &amp; red \u{fffd}</system-err>"));
    assert!(xml.contains("<skipped message=\"skipped: a task it needs did not succeed\"/>"));
    assert!(xml.contains(
      "<error message=\"callback `say &quot;hi&quot;` failed\" type=\"callback_failed\"/>"
    ));
    assert!(!xml.contains("system-out"));
  }

  #[test]
  fn an_allowed_failure_is_a_passing_testcase_with_a_note() {
    let job =
      "name: demo\ntasks:\n  lint:\n    run: lint\n    allow_failure: true\n  b:\n    run: b\n";
    let mut record = Record::new(&graph(job));
    record.event(&Event::TaskStarted { task: "lint", attempt: 1 }, 0);
    let out =
      |line| Event::Output { task: "lint", stream: Stream::Stdout, line, item: None, raw: None };
    record.event(&out("3 warnings"), 1);
    record.event(&finished("lint", Status::Failed, Some(1)), 2);
    record.event(&finished("b", Status::Succeeded, Some(0)), 3);
    record.event(&run_finished("succeeded", 0, 10), 4);
    let xml = render(&record);
    assert!(xml.contains("tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\""), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(
      xml.contains(
        "<system-out>runner: failed (allowed by allow_failure): exited with code 1\n3 warnings</system-out>"
      ),
      "{xml}"
    );
  }
}
