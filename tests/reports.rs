//! The files of a run, end to end: `--log-dir`, `--report`, `--junit` and `--trace` written by
//! the real binary for a job with a success, a failure with a callback, a retry, a timeout, a
//! skip, a gather group and queues. Timings are redacted before snapshots; the trace and the
//! JUnit file are also checked structurally (and the JUnit file against
//! `tests/fixtures/junit.xsd` when `xmllint` is installed).

use crate::support::{Test, require};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const JOB: &str = r#"
  name: reports
  tasks:
    ok:
      run: echo hello; echo warn >&2
    broken:
      run: printf 'bad <thing> & "quotes" \033[31mred\033[0m \001\n'; exit 3
      on_failure: echo "cleanup after $RUNNER_TASK"
    after-broken:
      needs: [broken]
      run: echo never
    flaky:
      needs: [ok]
      run: if [ -f flaky.marker ]; then echo second; else touch flaky.marker; echo first; exit 1; fi
      retries: 1
    slow:
      run: sleep 5
      timeout: 300ms
    final:
      needs: [both]
      run: echo done
    work:
      consumes: orders
      retries: 1
      run: 'echo "item $RUNNER_ITEM"; [ "$RUNNER_ITEM" != bad ]'
    idle:
      needs: [broken]
      consumes: orphans
      run: echo never
  groups:
    both:
      gather: [ok, flaky]
  queues:
    orders:
      items: ["a/b c", "../x", bad, "ünï"]
    orphans:
      items: [p, q]
"#;

const FLAGS: [&str; 8] =
  ["--log-dir", "logs", "--report", "report.json", "--junit", "junit.xml", "--trace", "trace.json"];

fn run_with_files(test: &Test, extra: &[&str]) -> crate::support::Run {
  let mut args = vec!["run", "job.yaml", "--output", "plain"];
  args.extend(FLAGS);
  args.extend(extra);
  test.run(&args)
}

fn json(test: &Test, name: &str) -> Value {
  let text = test.read(name);
  serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}\n{text}"))
}

/// Timings and wall-clock times of pretty-printed JSON set to fixed values, so the rest can be
/// compared exactly (and keys keep the file's order).
fn redact_json(text: &str) -> String {
  let redact = |line: &str| {
    let key = line.trim_start().split('"').nth(1).unwrap_or("");
    let (head, value) = line.split_once(": ").unwrap_or((line, ""));
    let comma = if value.ends_with(',') { "," } else { "" };
    match key {
      "duration_ms" | "start_ms" | "end_ms" if value != "null" && value != "null," => {
        format!("{head}: 0{comma}")
      }
      "started_at" => format!("{head}: \"[time]\"{comma}"),
      _ => line.to_string(),
    }
  };
  text.lines().map(redact).collect::<Vec<_>>().join("\n")
}

/// Every `name="..."` attribute value replaced by `[name]`.
fn redact_attr(text: &str, name: &str) -> String {
  let needle = format!(" {name}=\"");
  let mut out = String::new();
  let mut rest = text;
  while let Some(at) = rest.find(&needle) {
    let value = at + needle.len();
    let end = value + rest[value..].find('"').expect("a closed attribute");
    out.push_str(&rest[..value]);
    out.push_str(&format!("[{name}]"));
    rest = &rest[end..];
  }
  out.push_str(rest);
  out
}

fn snapshot(name: &str, text: &str) {
  insta::with_settings!({ snapshot_path => "fixtures/snapshots", omit_expression => true }, {
    insta::assert_snapshot!(name, text);
  });
}

// ---------------------------------------------------------------------------------------------
// A small XML reader, enough to check the JUnit file's structure.

#[derive(Debug, Default)]
struct Element {
  name: String,
  attrs: BTreeMap<String, String>,
  text: String,
  children: Vec<Element>,
}

impl Element {
  fn attr(&self, name: &str) -> &str {
    self.attrs.get(name).unwrap_or_else(|| panic!("<{}> has no `{name}`", self.name))
  }

  fn all(&self, name: &str) -> Vec<&Element> {
    self.children.iter().filter(|c| c.name == name).collect()
  }

  fn has(&self, name: &str) -> bool {
    self.children.iter().any(|c| c.name == name)
  }
}

fn unescape(text: &str) -> String {
  let mut out = String::new();
  let mut rest = text;
  while let Some(at) = rest.find('&') {
    out.push_str(&rest[..at]);
    let end = at + rest[at..].find(';').expect("an entity ends with `;`");
    let entity = &rest[at + 1..end];
    let c = match entity {
      "amp" => '&',
      "lt" => '<',
      "gt" => '>',
      "quot" => '"',
      "apos" => '\'',
      _ => {
        let code = entity.strip_prefix('#').expect("a known entity");
        char::from_u32(code.parse().expect("a decimal reference")).expect("a character")
      }
    };
    out.push(c);
    rest = &rest[end + 1..];
  }
  out.push_str(rest);
  out
}

fn parse_attrs(tag: &str) -> (String, BTreeMap<String, String>) {
  let (name, mut rest) = tag.split_once(' ').unwrap_or((tag, ""));
  let mut attrs = BTreeMap::new();
  loop {
    rest = rest.trim_start();
    if rest.is_empty() {
      break;
    }
    let (key, after) = rest.split_once("=\"").expect("attributes are key=\"value\"");
    let (value, after) = after.split_once('"').expect("a closed attribute");
    assert!(!value.contains('<'), "`<` in an attribute");
    let old = attrs.insert(key.to_string(), unescape(value));
    assert!(old.is_none(), "attribute `{key}` twice");
    rest = after;
  }
  (name.to_string(), attrs)
}

/// Parses the XML this runner writes: a declaration, elements, attributes, text and
/// references; panics on anything malformed (unbalanced tags, bare `<` or `&`...).
fn parse_xml(text: &str) -> Element {
  for c in text.chars() {
    let allowed =
      matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}');
    assert!(allowed, "a character XML 1.0 forbids: {:?}", c);
  }
  let rest =
    text.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").expect("a declaration");
  let mut stack = vec![Element::default()];
  let mut rest = rest;
  while let Some(open) = rest.find('<') {
    stack.last_mut().unwrap().text.push_str(&unescape(&rest[..open]));
    let close = open + rest[open..].find('>').expect("a closed tag");
    let tag = &rest[open + 1..close];
    rest = &rest[close + 1..];
    if let Some(name) = tag.strip_prefix('/') {
      let done = stack.pop().expect("an open element");
      assert_eq!(done.name, name, "mismatched end tag");
      stack.last_mut().expect("a parent").children.push(done);
    } else if let Some(tag) = tag.strip_suffix('/') {
      let (name, attrs) = parse_attrs(tag);
      stack.last_mut().unwrap().children.push(Element { name, attrs, ..Element::default() });
    } else {
      let (name, attrs) = parse_attrs(tag);
      stack.push(Element { name, attrs, ..Element::default() });
    }
  }
  assert!(rest.trim().is_empty(), "text after the root");
  let mut document = stack.pop().expect("the document");
  assert!(stack.is_empty(), "unclosed elements");
  assert_eq!(document.children.len(), 1, "one root element");
  document.children.pop().unwrap()
}

fn seconds(text: &str) -> f64 {
  text.parse().unwrap_or_else(|_| panic!("`{text}` is not a number of seconds"))
}

// ---------------------------------------------------------------------------------------------
// The files of one run

#[test]
fn report_json() {
  let test = Test::with_job(JOB);
  run_with_files(&test, &[]).code(1);
  let report = json(&test, "report.json");
  let started_at = report["started_at"].as_str().unwrap().to_string();
  assert!(started_at.ends_with('Z') && started_at.len() == 24, "{started_at}");
  let slow = &report["tasks"][4];
  assert_eq!(slow["name"], "slow");
  let attempt = &slow["attempts"][0];
  let took = attempt["end_ms"].as_u64().unwrap() - attempt["start_ms"].as_u64().unwrap();
  assert!((250..4000).contains(&took), "the timed-out attempt took {took} ms");
  snapshot("report_json", &redact_json(&test.read("report.json")));
}

#[test]
fn junit_xml() {
  let test = Test::with_job(JOB);
  run_with_files(&test, &[]).code(1);
  let xml = test.read("junit.xml");
  let root = parse_xml(&xml);
  assert_eq!(root.name, "testsuites");
  let suites = root.all("testsuite");
  assert_eq!(suites.len(), 1);
  let suite = suites[0];
  assert_eq!(suite.attr("name"), "reports");
  let cases = suite.all("testcase");
  let names: Vec<_> = cases.iter().map(|c| c.attr("name")).collect();
  let expected = ["ok", "broken", "after-broken", "flaky", "slow", "final", "work", "idle"];
  assert_eq!(names, expected);
  let count = |f: fn(&Element) -> bool| cases.iter().filter(|c| f(c)).count().to_string();
  assert_eq!(suite.attr("tests"), cases.len().to_string());
  assert_eq!(suite.attr("failures"), count(|c| c.has("failure")));
  assert_eq!(suite.attr("failures"), "3");
  assert_eq!(suite.attr("errors"), count(|c| c.has("error")));
  assert_eq!(suite.attr("skipped"), count(|c| c.has("skipped")));
  assert_eq!(suite.attr("skipped"), "2");
  let timestamp = suite.attr("timestamp");
  assert!(timestamp.len() == 19 && timestamp.as_bytes()[10] == b'T', "{timestamp}");
  assert!(seconds(suite.attr("time")) >= 0.3);
  for case in &cases {
    assert_eq!(case.attr("classname"), "reports");
    seconds(case.attr("time"));
  }
  let broken = cases[1].all("failure")[0];
  assert_eq!(broken.attr("type"), "failed");
  assert_eq!(broken.attr("message"), "exited with code 3");
  assert_eq!(broken.text, "bad <thing> & \"quotes\" red \u{fffd}");
  assert_eq!(cases[4].all("failure")[0].attr("message"), "timed out after 300ms");
  assert_eq!(cases[4].all("failure")[0].attr("type"), "timed_out");
  assert_eq!(cases[6].all("failure")[0].attr("message"), "1 queue item failed: `bad`");
  assert_eq!(cases[0].all("system-out")[0].text, "hello");
  assert_eq!(cases[0].all("system-err")[0].text, "warn");
  snapshot("junit_xml", &redact_attr(&redact_attr(&xml, "time"), "timestamp"));
  validate_with_xmllint(&test.path("junit.xml"));
}

/// Validates against the JUnit schema subset with `xmllint` (the test's last step: without
/// xmllint, `require` skips only this).
pub(crate) fn validate_with_xmllint(file: &Path) {
  if !require("xmllint") {
    return;
  }
  let schema = crate::support::repo().join("tests/fixtures/junit.xsd");
  let out = Command::new("xmllint")
    .arg("--noout")
    .arg("--schema")
    .arg(&schema)
    .arg(file)
    .output()
    .expect("run xmllint");
  assert!(
    out.status.success(),
    "the JUnit file does not validate:\n{}\n{}",
    String::from_utf8_lossy(&out.stderr),
    std::fs::read_to_string(file).unwrap_or_default()
  );
}

#[test]
fn log_dir() {
  let test = Test::with_job(JOB);
  run_with_files(&test, &[]).code(1);
  let log = |p: &str| {
    let path = test.path("logs").join(p);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
  };
  assert_eq!(log("ok/attempt-1.stdout"), "hello\n");
  assert_eq!(log("ok/attempt-1.stderr"), "warn\n");
  assert_eq!(log("flaky/attempt-1.stdout"), "first\n");
  assert_eq!(log("flaky/attempt-2.stdout"), "second\n");
  assert_eq!(
    log("broken/attempt-1.stdout"),
    "bad <thing> & \"quotes\" \u{1b}[31mred\u{1b}[0m \u{1}\n"
  );
  assert_eq!(log("broken/callbacks.log"), "cleanup after broken\n");
  assert_eq!(log("slow/attempt-1.stdout"), "");
  assert_eq!(log("work/items/0001-a_b_c.stdout"), "item a/b c\n");
  assert_eq!(log("work/items/0002-_._x.stdout"), "item ../x\n");
  assert_eq!(log("work/items/0003-bad.stdout"), "item bad\nitem bad\n");
  assert_eq!(log("work/items/0004-_n_.stdout"), "item ünï\n");
  assert!(!test.path("logs/after-broken").exists(), "a skipped task has no logs");
  // Every log path the report names exists.
  let report = json(&test, "report.json");
  let mut paths = Vec::new();
  for task in report["tasks"].as_array().unwrap() {
    for attempt in task["attempts"].as_array().unwrap() {
      paths.push(attempt["logs"]["stdout"].as_str().unwrap().to_string());
      paths.push(attempt["logs"]["stderr"].as_str().unwrap().to_string());
    }
  }
  for item in report["queues"][0]["items"].as_array().unwrap() {
    paths.push(item["logs"]["stdout"].as_str().unwrap().to_string());
  }
  assert_eq!(paths.len(), 2 * 7 + 4);
  for path in paths {
    assert!(test.path("logs").join(&path).is_file(), "{path}");
  }
}

#[test]
fn trace_has_one_slice_per_attempt_and_tracks_never_overlap() {
  let test = Test::with_job(
    r#"
    tasks:
      a: {run: sleep 0.2}
      b: {run: sleep 0.1}
      c: {run: sleep 0.15}
      d:
        needs: [b]
        run: exit 1
        retries: 2
      eat:
        consumes: food
        workers: 3
        run: sleep 0.05
    queues:
      food:
        items: [1, 2, 3, 4, 5, 6, 7]
    "#,
  );
  test
    .run(&["run", "job.yaml", "-j", "4", "--report", "report.json", "--trace", "trace.json"])
    .code(1);
  let trace = json(&test, "trace.json");
  assert_eq!(trace["displayTimeUnit"], "ms");
  let events = trace["traceEvents"].as_array().unwrap();
  let slices: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
  assert!(events.iter().all(|e| e["ph"] == "X" || e["ph"] == "M"));
  // One slice per attempt and per item, as the report counts them.
  let report = json(&test, "report.json");
  let mut expected: Vec<String> = Vec::new();
  for task in report["tasks"].as_array().unwrap() {
    for attempt in task["attempts"].as_array().unwrap() {
      expected.push(format!("task {}#{}", task["name"].as_str().unwrap(), attempt["attempt"]));
    }
  }
  for item in report["queues"][0]["items"].as_array().unwrap() {
    expected.push(format!("item {}", item["item"].as_str().unwrap()));
  }
  let mut found: Vec<String> = slices
    .iter()
    .map(|s| match s["cat"].as_str().unwrap() {
      "task" => format!("task {}#{}", s["name"].as_str().unwrap(), s["args"]["attempt"]),
      _ => format!("item {}", s["args"]["item"].as_str().unwrap()),
    })
    .collect();
  expected.sort();
  found.sort();
  assert_eq!(found, expected);
  assert_eq!(found.iter().filter(|s| s.starts_with("task d#")).count(), 3);
  assert_eq!(found.iter().filter(|s| s.starts_with("item ")).count(), 7);
  // Per track, slices never overlap; every track is named.
  let mut tracks: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
  for s in &slices {
    assert_eq!(s["pid"], 1);
    let (ts, dur) = (s["ts"].as_u64().unwrap(), s["dur"].as_u64().unwrap());
    tracks.entry(s["tid"].as_u64().unwrap()).or_default().push((ts, ts + dur));
    assert!(s["args"]["status"].is_string());
  }
  assert!(tracks.len() >= 3, "concurrent work needs several tracks: {tracks:?}");
  for (tid, spans) in &mut tracks {
    spans.sort();
    for pair in spans.windows(2) {
      assert!(pair[0].1 <= pair[1].0, "track {tid}: {:?} overlaps {:?}", pair[0], pair[1]);
    }
    let named = events.iter().any(|e| e["name"] == "thread_name" && e["tid"] == *tid);
    assert!(named, "track {tid} has no name");
  }
}

// ---------------------------------------------------------------------------------------------
// Errors and limits

#[test]
fn an_unwritable_log_dir_is_an_error_before_anything_runs() {
  let test = Test::with_job("tasks:\n  a: {run: touch ran}\n");
  test.write("file", "");
  let run = test.run(&["run", "job.yaml", "--log-dir", "file/logs"]);
  run.code(2);
  assert!(run.stderr.contains("cannot write `file/logs`"), "{}", run.stderr);
  assert!(!test.path("ran").exists());
  let run = test.run(&["run", "job.yaml", "--junit", "missing/junit.xml"]);
  run.code(2);
  assert!(run.stderr.contains("cannot write `missing/junit.xml`"), "{}", run.stderr);
}

#[test]
fn a_file_that_cannot_be_written_at_the_end_fails_the_run() {
  assert!(Path::new("/dev/full").exists(), "this test needs /dev/full");
  let test = Test::with_job("tasks:\n  a: {run: echo hi}\n");
  let run = test.run(&["run", "job.yaml", "--output", "plain", "--report", "/dev/full"]);
  run.code(1);
  assert!(run.stderr.contains("cannot write `/dev/full`"), "{}", run.stderr);
}

#[test]
fn three_hundred_megabytes_to_the_log_dir_in_bounded_memory() {
  if !require("/usr/bin/time") {
    return;
  }
  let test = Test::with_job(
    r#"
    tasks:
      big:
        run: head -c 300000000 /dev/zero | tr '\0' 'x' | fold -w 1000
    "#,
  );
  let args: Vec<&str> =
    ["run", "job.yaml", "--output", "plain"].into_iter().chain(FLAGS.iter().copied()).collect();
  let run = test.measure(&args, Duration::from_secs(120));
  assert!(run.status.success(), "exit {:?}\n{}", run.status, run.report);
  let size = std::fs::metadata(test.path("logs/big/attempt-1.stdout")).unwrap().len();
  // Exactly what `fold` wrote: 300,000 lines, the last one without a line end.
  assert_eq!(size, 300_299_999);
  let kb = run.peak_kb;
  assert!(kb < 200 * 1024, "peak RSS {kb} kB");
  // The report keeps a tail, not the output.
  let report = json(&test, "report.json");
  let lines = report["tasks"][0]["output"]["stdout"]["lines"].as_array().unwrap();
  assert!(lines.len() <= 100);
  assert_eq!(report["tasks"][0]["output"]["stdout"]["omitted"], 300_000 - lines.len() as u64);
  let _ = std::fs::remove_dir_all(test.path("logs"));
}
