//! Consumers: the scheduler's side of queue items. Each consumer's workers are a
//! [`ConsumerState`](crate::consumer::ConsumerState); this turns its steps into actions and ends
//! the consumer when its last worker has finished.

use super::{Action, Proc, Scheduler, StopReason, Timer};
use crate::consumer::Step;
use crate::graph::NodeId;
use crate::status::Status;

impl Scheduler<'_> {
  pub(super) fn taken(
    &mut self,
    id: NodeId,
    worker: u32,
    item: Option<String>,
    out: &mut Vec<Action>,
  ) {
    let Some(consumer) = self.consumers.get_mut(&id) else { return };
    let step = consumer.taken(worker, item);
    self.item_step(id, worker, step, out);
  }

  pub(super) fn item_exited(
    &mut self,
    id: NodeId,
    worker: u32,
    success: bool,
    out: &mut Vec<Action>,
  ) {
    let stopped = self.stopped.is_some();
    let Some(consumer) = self.consumers.get_mut(&id) else { return };
    let step = consumer.exited(worker, success, stopped);
    self.item_step(id, worker, step, out);
  }

  pub(super) fn item_retry_due(&mut self, id: NodeId, worker: u32, out: &mut Vec<Action>) {
    let Some(consumer) = self.consumers.get_mut(&id) else { return };
    let step = consumer.retry_due(worker);
    self.item_step(id, worker, step, out);
  }

  /// A worker of consumer `id` takes the next item, if one is to (see
  /// [`ConsumerState::next_take`](crate::consumer::ConsumerState::next_take)).
  pub(super) fn next_take(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let Some(consumer) = self.consumers.get_mut(&id) else { return };
    if let Some(worker) = consumer.next_take() {
      out.push(Action::Take { id, worker });
    }
  }

  fn item_step(&mut self, id: NodeId, worker: u32, step: Step, out: &mut Vec<Action>) {
    match step {
      Step::Run { attempt } => {
        let seq = self.next_seq();
        self.consumers.get_mut(&id).expect("a consumer").started(worker, seq);
        out.push(Action::SpawnItem { id, worker, attempt });
        if let Some(after) = self.graph.task(id).and_then(|t| t.timeout) {
          let timer = Timer::Timeout(Proc::Item(id, worker), seq);
          out.push(Action::StartTimer { after, timer });
        }
        // The item runs: the next worker takes.
        self.next_take(id, out);
      }
      Step::Wait(after) => {
        out.push(Action::StartTimer { after, timer: Timer::ItemRetry(id, worker) })
      }
      Step::Finished { item, status, attempts } => {
        out.push(Action::ItemFinished { id, worker, item, status, attempts });
        self.next_take(id, out);
        // With --fail-fast a failed item stops the run like a failed task.
        if self.policy.fail_fast && status.is_failure() {
          self.stop(StopReason::FailFast, out);
        }
        self.consumer_over(id, out);
      }
      Step::Idle => self.consumer_over(id, out),
    }
  }

  /// A running consumer is cancelled: its workers take nothing more, running items are
  /// terminated, items waiting to run again are cancelled.
  pub(super) fn cancel_consumer(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let cancelled = self.consumers.get_mut(&id).expect("a consumer").cancel();
    out.push(Action::StopTaking { id });
    for worker in cancelled.terminate {
      self.terminate(Proc::Item(id, worker), out);
    }
    for (worker, item, attempts) in cancelled.finished {
      out.push(Action::ItemFinished { id, worker, item, status: Status::Cancelled, attempts });
    }
    self.consumer_over(id, out);
  }

  /// Ends a running consumer once every worker has finished.
  pub(super) fn consumer_over(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let Some(consumer) = self.consumers.get(&id) else { return };
    if self.nodes[id].status != Status::Running || !consumer.is_over() {
      return;
    }
    let (status, result) = consumer.outcome();
    self.results.set(id, result);
    let status = if self.nodes[id].cancel_requested { Status::Cancelled } else { status };
    self.finish(id, status, out);
  }
}
