//! How tasks' stdout and stderr are read: hundreds of megabytes in bounded memory, both streams
//! at once, every line to its own task and stream, and lines from a process that left the group.

use crate::support::{Background, Reaper, Test, events, require};
use std::time::Duration;

#[test]
fn three_hundred_megabytes_of_output_in_bounded_memory() {
  if !require("/usr/bin/time") {
    return;
  }
  let test = Test::with_job(
    r#"
    tasks:
      big:
        run: head -c 300000000 /dev/zero | tr '\0' 'x' | fold -w 1000 && touch big.done
    "#,
  );
  let run = test.measure(&["run", "job.yaml"], Duration::from_secs(120));
  assert!(run.status.success(), "exit {:?}\n{}", run.status, run.report);
  assert!(test.path("big.done").exists(), "the task did not run to its end");
  let kb = run.peak_kb;
  assert!(kb < 200 * 1024, "peak RSS {kb} kB");
}

#[test]
fn lots_of_stdout_and_stderr_at_once_do_not_deadlock() {
  let test = Test::with_job(
    r#"
    tasks:
      err-first:
        run: |
          yes err | head -n 100000 >&2
          yes out | head -n 100000
      out-first:
        run: |
          yes out | head -n 100000
          yes err | head -n 100000 >&2
      both:
        run: |
          yes err | head -n 100000 >&2 &
          yes out | head -n 100000
          wait
    "#,
  );
  let reaper = Reaper::new("run");
  let (run, _) = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "3"])
    .wait(Duration::from_secs(90));
  run.code(0);
  for task in ["err-first", "out-first", "both"] {
    for word in ["out", "err"] {
      let line = format!("[{task}] {word}");
      let count = run.stdout.lines().filter(|l| *l == line).count();
      assert_eq!(count, 100000, "{line}");
    }
  }
}

/// Pipes are reused from process to process: every line still reaches its own task, on its own
/// stream, none lost, none twice, also when tasks end while others are printing.
#[test]
fn every_line_reaches_its_own_task_and_stream() {
  let mut yaml = String::from("tasks:\n");
  for i in 0..120 {
    let pause = if i % 7 == 0 { "sleep 0.01; " } else { "" };
    yaml.push_str(&format!(
      "  t{i}: {{run: 'for n in 1 2 3 4 5; do echo \"$RUNNER_TASK out $n\"; {pause}echo \"$RUNNER_TASK err $n\" >&2; done'}}\n"
    ));
  }
  let test = Test::with_job(&yaml);
  let run = test.run(&["run", "job.yaml", "-j", "6", "--output", "json"]);
  run.code(0);
  let mut seen = std::collections::BTreeMap::new();
  for event in events(&run) {
    if event["event"] != "output" {
      continue;
    }
    let (task, stream, text) = (&event["task"], &event["stream"], &event["line"]);
    let (task, stream, text) =
      (task.as_str().unwrap(), stream.as_str().unwrap(), text.as_str().unwrap());
    let short = if stream == "stdout" { "out" } else { "err" };
    let n = text
      .strip_prefix(&format!("{task} {short} "))
      .unwrap_or_else(|| panic!("{task} {stream}: {text}"));
    *seen.entry((task.to_string(), short, n.to_string())).or_insert(0) += 1;
  }
  assert_eq!(seen.len(), 120 * 2 * 5, "every line once");
  assert!(seen.values().all(|&count| count == 1), "no line twice");
}

#[test]
fn every_line_arrives_when_the_runner_keeps_the_pipes_until_the_exit() {
  // In a chain nothing else waits for a slot, so the runner keeps its own ends of each task's
  // pipes until the task has been reaped. A process that left the task's group and still holds
  // the pipes then is waited for, as it was before, and its lines still count as the task's.
  let test = Test::with_job(
    r#"
    tasks:
      first:
        run: for n in $(seq 1 300); do echo "out $n"; echo "err $n" >&2; done
      escaped:
        needs: [first]
        # The leader ends once the other process has left its group, which it must do before
        # the group is ended with the leader.
        run: >-
          setsid sh -c 'touch escaped; sleep 0.3; echo late' &
          while [ ! -e escaped ]; do sleep 0.01; done; echo early
      last:
        needs: [escaped]
        run: echo after
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "1", "--output", "json"]);
  run.code(0);
  let lines: Vec<(String, String, String)> = events(&run)
    .iter()
    .filter(|e| e["event"] == "output")
    .map(|e| {
      let text = |key: &str| e[key].as_str().unwrap().to_string();
      (text("task"), text("stream"), text("line"))
    })
    .collect();
  let of = |task: &str, stream: &str| -> Vec<String> {
    lines.iter().filter(|l| l.0 == task && l.1 == stream).map(|l| l.2.clone()).collect()
  };
  let numbered = |word: &str| (1..=300).map(|n| format!("{word} {n}")).collect::<Vec<_>>();
  assert_eq!(of("first", "stdout"), numbered("out"));
  assert_eq!(of("first", "stderr"), numbered("err"));
  assert_eq!(of("escaped", "stdout"), ["early", "late"]);
  let position = |task: &str| lines.iter().position(|l| l.0 == task).unwrap();
  assert!(position("escaped") < position("last"), "{lines:?}");
  assert_eq!(of("last", "stdout"), ["after"]);
}
