use super::queues::ITEMS_KEPT;
use super::*;
use crate::report::fixtures::{exit, graph, group_finished, placed, run_finished, task_finished};

/// The job the files' tests run: a retried task, a plain one, a consumer, a group, a queue.
pub(crate) const JOB: &str = "name: demo\ntasks:\n  a:\n    run: echo a\n    retries: 1\n  b:\n    run: \
                       echo b\n  c:\n    consumes: q\n    run: echo c\n    workers: 2\ngroups:\n  \
                       g:\n    gather: [a, b]\nqueues:\n  q:\n    items: [x, y]\n";

#[test]
fn attempts_and_retries() {
  let mut record = Record::new(&graph(JOB));
  record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 10);
  let retry = Event::TaskRetrying { task: "a", attempt: 1, status: Status::Failed, exit: exit(1) };
  record.event(&retry, 20);
  record.event(&Event::TaskStarted { task: "a", attempt: 2 }, 30);
  record.event(&task_finished("a", Status::Succeeded, 2, 0, exit(0)), 45);
  let a = &record.nodes[0];
  assert!(a.seen && !record.nodes[1].seen);
  assert_eq!(a.status, Some(Status::Succeeded));
  assert_eq!(
    a.attempts,
    [
      Attempt {
        number: 1,
        start_us: 10,
        end_us: Some(20),
        status: Some(Status::Failed),
        exit: Some(exit(1)),
        placed: None,
      },
      Attempt {
        number: 2,
        start_us: 30,
        end_us: Some(45),
        status: Some(Status::Succeeded),
        exit: Some(exit(0)),
        placed: None,
      },
    ]
  );
  assert_eq!(record.nodes[1].line, 6);
}

#[test]
fn a_callback_line_ends_the_attempt() {
  let mut record = Record::new(&graph(JOB));
  record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 10);
  let line =
    Event::Output { task: "b", stream: Stream::Callback, line: "cb", item: None, raw: None };
  record.event(&line, 50);
  record.event(&task_finished("b", Status::Failed, 1, 0, exit(2)), 90);
  let b = &record.nodes[1];
  assert_eq!(b.attempts[0].end_us, Some(50));
  assert_eq!(b.attempts[0].status, Some(Status::Failed));
  assert_eq!(b.callbacks.lines().collect::<Vec<_>>(), ["cb"]);
}

#[test]
fn each_attempt_keeps_where_it_ran_and_each_item_where_its_last_attempt_did() {
  let mut record = Record::new(&graph(JOB));
  record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 10);
  record.event(&placed("a", 1, None, "12", "n1"), 11);
  let retry = Event::TaskRetrying { task: "a", attempt: 1, status: Status::Failed, exit: exit(1) };
  record.event(&retry, 20);
  record.event(&Event::TaskStarted { task: "a", attempt: 2 }, 30);
  record.event(&task_finished("a", Status::Cancelled, 2, 0, exit(0)), 45);
  let places: Vec<_> = record.nodes[0].attempts.iter().map(|a| a.placed.clone()).collect();
  let n1 = Placed { slurm_id: "12".into(), node: "n1".into() };
  assert_eq!(places, [Some(n1), None]);
  record.event(&Event::TaskStarted { task: "c", attempt: 1 }, 50);
  record.event(&placed("c", 1, Some("x"), "13.0", "n2"), 51);
  record.event(&placed("c", 1, Some("y"), "13.1", "n3"), 52);
  record.event(&placed("c", 2, Some("y"), "13.2", "n1"), 53);
  record.event(&item_finished("x", 0, Status::Succeeded), 60);
  // `y` ran twice; the fixture says once, so its last attempt is not the one placed last.
  record.event(&item_finished("y", 1, Status::Succeeded), 61);
  let items: Vec<_> = record.queues[0].items.iter().map(|i| i.placed.clone()).collect();
  assert_eq!(items, [Some(Placed { slurm_id: "13.0".into(), node: "n2".into() }), None]);
  assert!(record.nodes[2].placed_items.is_empty(), "forgotten once the items ended");
  assert!(record.nodes[2].attempts[0].placed.is_none(), "the consumer was not placed itself");
}

/// An item of `c` from `q` that ran once.
pub(crate) fn item_finished(item: &str, worker: u32, status: Status) -> Event<'_> {
  let (consumer, queue, attempts, exit) = ("c", "q", 1, exit(0));
  Event::ItemFinished { consumer, queue, item, worker, status, attempts, exit }
}

#[test]
fn items_get_an_index_and_a_start() {
  let mut record = Record::new(&graph(JOB));
  record.event(&Event::TaskStarted { task: "c", attempt: 1 }, 5);
  let out =
    Event::Output { task: "c", stream: Stream::Stdout, line: "hi", item: Some("y"), raw: None };
  assert_eq!(record.event(&out, 7), Some(1));
  assert_eq!(record.event(&out, 8), Some(1));
  assert_eq!(record.event(&item_finished("x", 0, Status::Succeeded), 10), Some(2));
  assert_eq!(record.event(&item_finished("y", 1, Status::Succeeded), 12), Some(1));
  assert_eq!(record.event(&item_finished("y", 0, Status::Succeeded), 20), Some(3));
  let items = &record.queues[0].items;
  let spans: Vec<_> = items.iter().map(|i| (i.index, i.start_us, i.end_us)).collect();
  assert_eq!(spans, [(2, 5, 10), (1, 5, 12), (3, 10, 20)]);
  let tail: Vec<_> = record.nodes[2].stdout.lines().collect();
  assert_eq!(tail, ["[y] hi", "[y] hi"]);
}

#[test]
fn item_outcomes_past_a_bound_go_to_a_file_and_are_all_read_back() {
  let mut record = Record::new(&graph(JOB));
  let items: Vec<String> = (0..ITEMS_KEPT + 5).map(|i| i.to_string()).collect();
  record.event(&placed("c", 1, items.last().map(String::as_str), "9.4", "n3"), 0);
  for (i, item) in items.iter().enumerate() {
    let status = if i % 2 == 0 { Status::Failed } else { Status::Succeeded };
    assert_eq!(record.event(&item_finished(item, 0, status), i as u64), Some(i as u64 + 1));
  }
  assert_eq!(record.queues[0].items.len(), ITEMS_KEPT);
  assert_eq!(record.queues[0].items_omitted, 0);
  assert_eq!(record.nodes[2].failed_items, (ITEMS_KEPT as u64 + 6) / 2);
  record.flush_spills();
  let spill = record.queues[0].spill.as_ref().expect("spilled");
  let spilled: Vec<_> = spill.read().unwrap().map(Result::unwrap).collect();
  let names: Vec<&str> = spilled.iter().map(|r| r.item.as_str()).collect();
  assert_eq!(names, items[ITEMS_KEPT..].iter().map(String::as_str).collect::<Vec<_>>());
  let last = spilled.last().unwrap();
  assert_eq!(
    (last.index, last.status, last.end_us),
    (ITEMS_KEPT as u64 + 5, Status::Failed, 10_004)
  );
  assert_eq!(last.placed, Some(Placed { slurm_id: "9.4".into(), node: "n3".into() }));
  assert_eq!(spilled[0].placed, None);
}

#[test]
fn groups_queues_and_the_end() {
  let mut record = Record::new(&graph(JOB));
  record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 100);
  record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 200);
  record.event(&group_finished("g", Status::Failed, &["b"], &["a"]), 5100);
  let g = &record.nodes[3];
  assert!(g.is_group);
  let outcome = g.group.as_ref().unwrap();
  assert_eq!((outcome.start_us, outcome.end_us, g.duration_ms), (Some(100), 5100, 5));
  let finished = Event::QueueFinished {
    queue: "q",
    put: 2,
    taken: 1,
    done: 1,
    failed: 0,
    cancelled: 0,
    left: vec!["y"],
    left_total: 1,
  };
  record.event(&finished, 6000);
  assert_eq!(record.queues[0].left, ["y"]);
  record.event(&run_finished("failed", 1, 7), 7000);
  assert_eq!(record.nodes[0].attempts[0].end_us, Some(7000));
  assert_eq!(record.end.as_ref().unwrap().exit_code, 1);
}
