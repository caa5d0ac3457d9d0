//! The consumer state machine driven by hand: takes, items, attempts, retries, timeouts,
//! cancellation.

use super::*;

fn consumer(retries: u32, delay_ms: u64, workers: u32) -> ConsumerState {
  ConsumerState::new(ItemRules { retries, retry_delay: Duration::from_millis(delay_ms) }, workers)
}

fn finished(item: &str, status: Status, attempts: u32) -> Step {
  Step::Finished { item: item.into(), status, attempts }
}

/// The next take, which must be worker `w`'s, and `item` taken by it.
fn take(c: &mut ConsumerState, w: u32, item: &str) -> Step {
  assert_eq!(c.next_take(), Some(w));
  c.taken(w, Some(item.into()))
}

#[test]
fn each_item_runs_once_and_a_worker_takes_the_next() {
  let mut c = consumer(0, 0, 1);
  assert_eq!(take(&mut c, 0, "a"), Step::Run { attempt: 1 });
  assert_eq!(c.next_take(), None, "the one worker holds an item");
  c.started(0, 7);
  assert_eq!(c.running(0), Some(7));
  assert_eq!(c.item(0), Some("a"));
  assert_eq!(c.exited(0, true, false), finished("a", Status::Succeeded, 1));
  assert_eq!(c.next_take(), Some(0));
  assert!(!c.is_over());
  assert_eq!(c.taken(0, None), Step::Idle);
  assert_eq!(c.next_take(), None, "the queue is drained");
  assert!(c.is_over());
  assert_eq!(c.outcome(), (Status::Succeeded, r#"{"done":1,"failed":[]}"#.into()));
}

#[test]
fn one_worker_takes_at_a_time_and_workers_exist_only_once_needed() {
  let mut c = consumer(0, 0, 4096);
  assert_eq!(c.workers(), 0);
  assert_eq!(c.next_take(), Some(0));
  assert_eq!(c.next_take(), None, "one take at a time");
  assert_eq!(c.taken(0, Some("a".into())), Step::Run { attempt: 1 });
  assert_eq!(take(&mut c, 1, "b"), Step::Run { attempt: 1 });
  assert_eq!(c.next_take(), Some(2));
  assert_eq!(c.workers(), 3, "two hold items, one takes");
  // A worker that finished is reused before a new one is made.
  assert_eq!(c.exited(0, true, false), finished("a", Status::Succeeded, 1));
  assert_eq!(c.taken(2, Some("c".into())), Step::Run { attempt: 1 });
  assert_eq!(c.next_take(), Some(0));
  assert_eq!(c.workers(), 3);
}

#[test]
fn no_more_than_workers_items_are_held_at_once() {
  let mut c = consumer(1, 100, 2);
  let _ = take(&mut c, 0, "a");
  let _ = take(&mut c, 1, "b");
  assert_eq!(c.next_take(), None);
  // Between two attempts the item is still held.
  assert_eq!(c.exited(1, false, false), Step::Wait(Duration::from_millis(100)));
  assert_eq!(c.next_take(), None);
  assert_eq!(c.exited(0, true, false), finished("a", Status::Succeeded, 1));
  assert_eq!(c.next_take(), Some(0));
}

#[test]
fn a_failed_item_is_retried_after_the_delay_then_listed_as_failed() {
  let mut c = consumer(1, 50, 1);
  assert_eq!(take(&mut c, 0, "a"), Step::Run { attempt: 1 });
  assert_eq!(c.exited(0, false, false), Step::Wait(Duration::from_millis(50)));
  assert_eq!(c.running(0), None);
  assert_eq!(c.retry_due(0), Step::Run { attempt: 2 });
  assert_eq!(c.exited(0, false, false), finished("a", Status::Failed, 2));
  assert_eq!(c.next_take(), Some(0));
  assert_eq!(c.taken(0, None), Step::Idle);
  assert_eq!(c.outcome(), (Status::Failed, r#"{"done":0,"failed":["a"]}"#.into()));
}

#[test]
fn without_a_delay_the_retry_starts_at_once() {
  let mut c = consumer(2, 0, 1);
  let _ = take(&mut c, 0, "a");
  assert_eq!(c.exited(0, false, false), Step::Run { attempt: 2 });
  assert_eq!(c.exited(0, true, false), finished("a", Status::Succeeded, 2));
}

#[test]
fn a_stopped_run_retries_nothing() {
  let mut c = consumer(3, 0, 1);
  let _ = take(&mut c, 0, "a");
  assert_eq!(c.exited(0, false, true), finished("a", Status::Failed, 1));
}

#[test]
fn a_timeout_terminates_the_attempt_once_and_it_ends_timed_out() {
  let mut c = consumer(0, 0, 1);
  let _ = take(&mut c, 0, "a");
  c.started(0, 3);
  assert!(!c.timed_out(0, 2), "a stale timer");
  assert!(c.timed_out(0, 3));
  assert!(!c.timed_out(0, 3), "terminated once");
  assert_eq!(c.exited(0, true, false), finished("a", Status::TimedOut, 1));
}

#[test]
fn a_timed_out_item_is_retried_like_a_failed_one() {
  let mut c = consumer(1, 0, 1);
  let _ = take(&mut c, 0, "a");
  c.started(0, 1);
  assert!(c.timed_out(0, 1));
  assert_eq!(c.exited(0, false, false), Step::Run { attempt: 2 });
  c.started(0, 2);
  assert!(!c.timed_out(0, 1), "the first attempt's timer is stale");
}

#[test]
fn cancelling_terminates_running_items_and_cancels_waiting_ones() {
  let mut c = consumer(1, 100, 3);
  let _ = take(&mut c, 0, "run");
  c.started(0, 1);
  let _ = take(&mut c, 1, "wait");
  assert_eq!(c.exited(1, false, false), Step::Wait(Duration::from_millis(100)));
  assert_eq!(c.next_take(), Some(2));
  let cancelled = c.cancel();
  assert_eq!(cancelled.terminate, [0]);
  assert_eq!(cancelled.finished, [(1, "wait".to_string(), 1)]);
  assert_eq!(c.cancel(), Cancelled::default(), "cancelled once");
  assert_eq!(c.retry_due(1), Step::Idle, "the retry timer finds nothing");
  assert_eq!(c.exited(0, true, false), finished("run", Status::Cancelled, 1));
  assert_eq!(c.next_take(), None, "a cancelled consumer takes nothing");
  assert!(!c.is_over(), "worker 2 still waits for an item");
  // Taken as the consumer was cancelled: never run.
  assert_eq!(c.taken(2, Some("late".into())), finished("late", Status::Cancelled, 0));
  assert!(c.is_over());
  assert_eq!(c.outcome().0, Status::Cancelled);
}

#[test]
fn a_cancelled_consumer_with_no_take_waiting_is_over_once_its_items_end() {
  let mut c = consumer(0, 0, 1);
  let _ = take(&mut c, 0, "a");
  assert!(c.cancel().terminate == [0] && !c.is_over());
  assert_eq!(c.exited(0, false, false), finished("a", Status::Cancelled, 1));
  assert!(c.is_over());
}

#[test]
fn a_cancelled_attempt_that_timed_out_is_not_terminated_twice() {
  let mut c = consumer(0, 0, 1);
  let _ = take(&mut c, 0, "a");
  c.started(0, 1);
  assert!(c.timed_out(0, 1));
  assert!(c.cancel().terminate.is_empty());
}

#[test]
fn stale_inputs_change_nothing() {
  let mut c = consumer(0, 0, 2);
  assert_eq!(c.exited(0, true, false), Step::Idle, "no worker yet");
  assert_eq!(c.retry_due(0), Step::Idle);
  assert_eq!(c.taken(0, Some("a".into())), Step::Idle, "no take was asked for");
  let _ = take(&mut c, 0, "a");
  assert_eq!(c.taken(0, Some("b".into())), Step::Idle, "a running worker takes nothing");
  assert_eq!(c.taken(1, None), Step::Idle);
  assert!(!c.is_over());
  assert_eq!((c.running(9), c.item(9)), (None, None));
  assert!(!c.timed_out(9, 0));
}
