//! The model driven by hand with events: rows, waiting tasks, groups, queues and the lines
//! printed above, without a terminal.

use super::super::Model;
use crate::event::{Event, Stream};
use crate::report::fixtures::{exit, graph, group_finished, task_finished};
use crate::status::Status;
use std::time::{Duration, Instant};

const JOB: &str = "
tasks:
  a: {run: 'true'}
  b: {run: 'true'}
  c: {run: 'true'}
  d: {run: 'true', needs: [pair]}
  p: {run: 'true', produces: q}
  w: {run: 'true', consumes: q}
groups:
  pair:
    wait: [a, b]
    return_when: FIRST_COMPLETED
    timeout: 5s
queues:
  q: {}
";

fn start(m: &mut Model, task: &str, at: Instant) {
  m.event(&Event::TaskStarted { task, attempt: 1 }, at);
}

fn out(m: &mut Model, task: &str, line: &str, at: Instant) {
  m.event(&Event::Output { task, stream: Stream::Stdout, line, item: None, raw: None }, at);
}

fn finish(m: &mut Model, task: &str, status: Status, at: Instant) {
  let exit = exit(if status == Status::Succeeded { 0 } else { 2 });
  m.event(&task_finished(task, status, 1, 1500, exit), at);
}

#[test]
fn rows_are_sticky_and_bounded_by_the_terminal() {
  let g = graph(JOB);
  let mut m = Model::new(&g, false);
  let t0 = Instant::now();
  for task in ["a", "b", "c"] {
    start(&mut m, task, t0);
  }
  out(&mut m, "b", "compiling \x1b[1mfoo\x1b[0m", t0);
  // Room for one task row: a has it, b and c wait.
  let f = m.frame(t0 + Duration::from_millis(2500), 5);
  assert_eq!(f.tasks, ["a    2.5s  "]);
  assert_eq!(f.more.as_deref(), Some("... and 2 more running"));
  assert_eq!(f.groups, ["group pair: wait FIRST_COMPLETED, timeout 5s, 0/2 done"]);
  // More room: b and c get rows below a, in starting order.
  let f = m.frame(t0, 30);
  assert_eq!(f.tasks, ["a    0.0s  ", "b    0.0s  compiling foo", "c    0.0s  "]);
  assert_eq!(f.more, None);
  // a finishes: its row goes away, the others keep their order.
  finish(&mut m, "a", Status::Succeeded, t0);
  let f = m.frame(t0, 30);
  assert_eq!(f.print, "✓ a 1.50s\n");
  assert_eq!(f.tasks, ["b    0.0s  compiling foo", "c    0.0s  "]);
  assert_eq!((f.done, f.total, f.failures.as_str()), (1, 6, ""));
  assert_eq!(f.groups, ["group pair: wait FIRST_COMPLETED, timeout 5s, 1/2 done"]);
}

#[test]
fn a_failed_task_prints_its_tail_and_nothing_else() {
  let g = graph(JOB);
  let mut m = Model::new(&g, false);
  let t0 = Instant::now();
  start(&mut m, "c", t0);
  for i in 0..25 {
    out(&mut m, "c", &format!("line {i}"), t0);
  }
  let f = m.frame(t0, 30);
  assert_eq!(f.print, "");
  assert_eq!(f.tasks, ["c    0.0s  line 24"]);
  finish(&mut m, "c", Status::Failed, t0);
  let f = m.frame(t0, 30);
  let lines: Vec<&str> = f.print.lines().collect();
  assert_eq!(lines[0], "✗ c 1.50s failed (exit 2)");
  assert_eq!(lines[1], "  │ ... 5 earlier lines");
  assert_eq!(lines[2], "  │ line 5");
  assert_eq!(lines.last(), Some(&"  │ line 24"));
  assert_eq!(lines.len(), 22);
  assert!(f.tasks.is_empty());
  assert_eq!(f.failures, ", 1 failed");
}

#[test]
fn queues_and_groups_show_while_they_run() {
  let g = graph(JOB);
  let mut m = Model::new(&g, false);
  let t0 = Instant::now();
  start(&mut m, "p", t0);
  start(&mut m, "w", t0);
  let state = Event::QueueState {
    queue: "q",
    depth: 3,
    put: 7,
    taken: 4,
    in_progress: 2,
    done: 1,
    failed: 1,
  };
  m.event(&state, t0);
  let f = m.frame(t0, 30);
  assert_eq!(f.queues, ["queue q: 3 waiting, 2 in progress, 1 done, 1 failed (7 put)"]);
  finish(&mut m, "w", Status::Failed, t0);
  assert!(m.frame(t0, 30).queues.is_empty());
  start(&mut m, "a", t0);
  assert_eq!(m.frame(t0, 30).groups.len(), 1);
  m.event(&group_finished("pair", Status::Succeeded, &["a"], &["b"]), t0);
  let f = m.frame(t0, 30);
  assert!(f.groups.is_empty());
  assert_eq!(f.print, "✓ group pair returned: succeeded, done [a], pending [b]\n");
}

#[test]
fn rows_and_lines_of_placed_tasks_name_their_node() {
  use crate::event::SlurmCalls;
  use crate::report::fixtures::placed;
  let g = graph(JOB);
  let mut m = Model::new(&g, false);
  let t0 = Instant::now();
  for task in ["a", "b", "c", "w"] {
    start(&mut m, task, t0);
  }
  m.event(&placed("a", 1, None, "7", "n1"), t0);
  m.event(&placed("c", 1, None, "8", "n12"), t0);
  out(&mut m, "c", "compiling", t0);
  let mut screen = vec!["-- rows: b not placed yet --".to_string()];
  screen.extend(m.frame(t0 + Duration::from_millis(1200), 30).tasks);
  finish(&mut m, "a", Status::Succeeded, t0);
  let retry = Event::TaskRetrying { task: "c", attempt: 1, status: Status::Failed, exit: exit(2) };
  m.event(&retry, t0);
  m.event(&Event::TaskStarted { task: "c", attempt: 2 }, t0);
  m.event(&placed("b", 1, None, "9", "n2"), t0);
  m.event(&placed("w", 1, Some("x"), "10", "n3"), t0);
  let item = Event::ItemFinished {
    consumer: "w",
    queue: "q",
    item: "x",
    worker: 0,
    status: Status::Failed,
    attempts: 1,
    exit: exit(1),
  };
  m.event(&item, t0);
  let f = m.frame(t0, 30);
  screen.push("-- printed: a ended, c retried, an item of w failed --".into());
  screen.extend(f.print.lines().map(str::to_string));
  screen.push("-- rows: c's second attempt not placed yet --".into());
  screen.extend(f.tasks);
  for task in ["b", "w"] {
    finish(&mut m, task, Status::Succeeded, t0);
  }
  m.event(&placed("c", 2, None, "11", "n1"), t0);
  m.event(&task_finished("c", Status::Failed, 2, 1500, exit(2)), t0);
  let calls = SlurmCalls { launch: "jobs", submits: 5, polls: 3, ..SlurmCalls::default() };
  m.event(&Event::Slurm(calls), t0);
  m.event(&crate::report::fixtures::run_finished("failed", 1, 3000), t0);
  screen.push("-- printed, then the closing --".into());
  screen.extend(m.take_print().lines().map(str::to_string));
  screen.extend(m.closing().lines().map(str::to_string));
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!("placed_tasks", screen.join("\n"));
  });
}
