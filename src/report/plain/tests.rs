//! Plain output fed by hand with the events of a Slurm run: where each attempt and item ran, in
//! every layout, and the closing `slurm:` line; a local run's lines stay as they were.

use super::*;
use crate::event::SlurmCalls;
use crate::report::fixtures::{Shared, exit, graph, placed, run_finished, task_finished};

const JOB: &str = "
name: demo
tasks:
  build: {run: make, retries: 1}
  lint: {run: lint}
  c: {consumes: q, run: work}
queues:
  q: {items: [x, y]}
";

/// The calls of a run on the steps path, in one allocation.
fn steps() -> SlurmCalls {
  SlurmCalls { launch: "steps", steps: 4, allocs: 1, ..SlurmCalls::default() }
}

/// `item` of `c` from `q` on worker 0, after one attempt.
fn item(item: &str, status: Status) -> Event<'_> {
  let exit = exit(if status == Status::Succeeded { 0 } else { 1 });
  Event::ItemFinished { consumer: "c", queue: "q", item, worker: 0, status, attempts: 1, exit }
}

/// `build` fails on n1 and succeeds on n2; `lint` fails on n1; `c`'s item `x` runs on n3 and `y`
/// fails without a node, and `c` itself is not placed. `placed_too`: with the `placed` and
/// `slurm` events.
fn events(calls: &SlurmCalls, placed_too: bool) -> Vec<Event<'_>> {
  let started = |task, attempt| Event::TaskStarted { task, attempt };
  let line = Event::Output {
    task: "build",
    stream: Stream::Stdout,
    line: "compiling",
    item: None,
    raw: None,
  };
  let retrying =
    Event::TaskRetrying { task: "build", attempt: 1, status: Status::Failed, exit: exit(2) };
  let run = vec![
    Event::RunStarted { name: Some("demo"), file: "job.yaml", tasks: 3, jobs: 2 },
    started("build", 1),
    placed("build", 1, None, "12.0", "n1"),
    line,
    retrying,
    started("build", 2),
    placed("build", 2, None, "12.1", "n2"),
    task_finished("build", Status::Succeeded, 2, 1200, exit(0)),
    started("lint", 1),
    placed("lint", 1, None, "12.3", "n1"),
    task_finished("lint", Status::Failed, 1, 30, exit(1)),
    started("c", 1),
    placed("c", 1, Some("x"), "12.2", "n3"),
    item("x", Status::Succeeded),
    item("y", Status::Failed),
    task_finished("c", Status::Failed, 1, 500, Exit::default()),
    Event::Slurm(calls.clone()),
    run_finished("failed", 1, 2000),
  ];
  run
    .into_iter()
    .filter(|e| placed_too || !matches!(e, Event::Placed { .. } | Event::Slurm(_)))
    .collect()
}

/// What plain output with `options` prints for `events`.
fn output(options: PlainOptions, events: &[Event]) -> String {
  let out = Shared::default();
  let mut plain = Plain::new(&graph(JOB), Box::new(out.clone()), options);
  for event in events {
    plain.event(event);
  }
  plain.flush().unwrap();
  out.text()
}

/// GitLab's timestamps vary; its escapes and carriage returns are shown.
fn snapshot(name: &str, text: &str) {
  let filters =
    vec![(r"section_(start|end):\d+:", "section_$1:[ts]:"), (r"\x1b", "<ESC>"), (r"\r", "<CR>")];
  insta::with_settings!({ filters => filters, omit_expression => true }, {
    insta::assert_snapshot!(name, text);
  });
}

#[test]
fn lines_say_where_attempts_and_items_ran() {
  let calls = steps();
  snapshot("slurm_interleaved", &output(PlainOptions::default(), &events(&calls, true)));
}

#[test]
fn grouped_blocks_say_where_attempts_ran() {
  let calls = steps();
  let grouped = PlainOptions { grouped: true, ..PlainOptions::default() };
  snapshot("slurm_grouped", &output(grouped, &events(&calls, true)));
}

#[test]
fn ci_folds_and_annotations_say_where_attempts_ran() {
  let calls = steps();
  let github = PlainOptions { github: true, ..PlainOptions::default() };
  snapshot("slurm_github", &output(github, &events(&calls, true)));
  let gitlab = PlainOptions { gitlab: true, ..PlainOptions::default() };
  snapshot("slurm_gitlab", &output(gitlab, &events(&calls, true)));
}

#[test]
fn the_node_is_not_coloured() {
  let calls = steps();
  let color = PlainOptions { color: true, ..PlainOptions::default() };
  let text = output(color, &events(&calls, true));
  let succeeded = "[build] \x1b[32msucceeded\x1b[0m after 2 attempts in 1.20s on n2\n";
  assert!(text.contains(succeeded), "{text}");
}

#[test]
fn a_local_run_names_no_node_and_no_slurm() {
  let calls = steps();
  let text = output(PlainOptions::default(), &events(&calls, false));
  assert!(text.contains("[build] succeeded after 2 attempts in 1.20s\n"), "{text}");
  assert!(text.contains("[build] failed (exit 2), retrying (attempt 2 next)\n"), "{text}");
  assert!(!text.contains(" on n") && !text.contains("slurm:"), "{text}");
}
