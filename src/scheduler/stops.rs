//! Every stop the run knows, decided here: timeouts, cancellation, the run's stop (fail-fast,
//! `--timeout`, signals) and its escalation, the kill grace, and callbacks, which a signal or
//! `--timeout` halts.

use super::{Action, Proc, Running, Scheduler, StopReason, Timer};
use crate::graph::NodeId;
use crate::status::Status;

impl Scheduler<'_> {
  /// A stopping signal (or `runner cancel RUN`): the first stops the run; any later one kills
  /// what is left, now. Either way, what is stopped is said first.
  pub(super) fn halt(&mut self, reason: StopReason, out: &mut Vec<Action>) {
    self.signals += 1;
    let killed = self.signals > 1;
    self.announce(reason, killed, out);
    if killed {
      out.push(Action::KillAll);
    }
    self.stop(reason, out);
  }

  /// Says what a stop stops, unless the run is over already.
  fn announce(&self, reason: StopReason, killed: bool, out: &mut Vec<Action>) {
    if self.remaining != usize::MAX {
      out.push(Action::Stopping { reason, running: self.running_now(), killed });
    }
  }

  /// The processes running now. O(nodes), as a stop is.
  fn running_now(&self) -> Running {
    let mut running = Running::default();
    let tasks = (0..self.graph.nodes.len()).filter(|&id| self.selected[id]);
    for id in tasks.filter(|&id| self.graph.task(id).is_some()) {
      running.tasks += usize::from(self.running_seq(Proc::Task(id)).is_some());
      running.callbacks += usize::from(self.running_seq(Proc::Callback(id)).is_some());
    }
    for (&id, consumer) in &self.consumers {
      let items =
        (0..consumer.workers()).filter(|&w| self.running_seq(Proc::Item(id, w)).is_some());
      running.items += items.count();
    }
    running
  }

  /// Stops the run: nothing new starts, everything unfinished is cancelled. After a signal or
  /// `--timeout`, running callbacks are terminated too and no other one starts.
  pub(super) fn stop(&mut self, reason: StopReason, out: &mut Vec<Action>) {
    if self.stopped.is_some() && !matches!(reason, StopReason::Signal(_) | StopReason::Cancelled) {
      return;
    }
    // A signal says itself; fail-fast says what it stops, if anything still runs.
    let busy = || {
      let running = self.running_now();
      running.tasks + running.items + running.callbacks > 0
    };
    if reason == StopReason::Timeout
      || (matches!(reason, StopReason::FailFast | StopReason::Changed) && busy())
    {
      self.announce(reason, false, out);
    }
    self.stopped = Some(reason);
    // Fail-fast stops because something failed, whoever asked (a task or a queue item).
    self.failed |= reason == StopReason::FailFast;
    self.ready.clear();
    for id in 0..self.graph.nodes.len() {
      if !self.selected[id] {
        continue;
      }
      if self.callbacks_halted() && self.running_seq(Proc::Callback(id)).is_some() {
        self.terminate(Proc::Callback(id), out);
      }
      self.cancel(id, out);
    }
  }

  /// A task's cancel asked from outside the run (`runner cancel RUN TASK`): a task not selected
  /// or already final is left as it is.
  pub(super) fn cancel_asked(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let final_or_unselected = !self.selected[id] || self.nodes[id].status.is_final();
    if self.graph.task(id).is_none() || final_or_unselected || self.nodes[id].in_callbacks {
      return;
    }
    self.cancel(id, out);
  }

  /// Cancels one node: a running task is terminated (a consumer's running items), one not
  /// started is settled as cancelled.
  pub(super) fn cancel(&mut self, id: NodeId, out: &mut Vec<Action>) {
    let node = &mut self.nodes[id];
    match node.status {
      // A task in its up-to-date check runs nothing yet: it is settled, and the answer of
      // the check is ignored.
      Status::Running if self.graph.task(id).is_some() && !node.checking => {
        if std::mem::replace(&mut node.cancel_requested, true) {
          return;
        }
        if self.consumers.contains_key(&id) {
          self.cancel_consumer(id, out);
        } else {
          self.terminate(Proc::Task(id), out);
        }
      }
      _ => self.settle(id, Status::Cancelled, out),
    }
  }

  /// SIGTERM to a running process now, SIGKILL when the kill grace is over; once per process
  /// (an item's [`ConsumerState`](crate::consumer::ConsumerState) keeps that count itself).
  pub(super) fn terminate(&mut self, proc: Proc, out: &mut Vec<Action>) {
    let Some(seq) = self.running_seq(proc) else { return };
    if let Proc::Task(id) | Proc::Callback(id) = proc {
      if std::mem::replace(&mut self.nodes[id].stopping, true) {
        return;
      }
    }
    out.push(Action::Terminate { proc, seq });
    out.push(Action::StartTimer { after: self.policy.kill_grace, timer: Timer::Grace(proc, seq) });
  }

  /// A task's or item's own `timeout` expired: the attempt ends timed out.
  pub(super) fn timeout_expired(&mut self, proc: Proc, seq: u64, out: &mut Vec<Action>) {
    if self.running_seq(proc) != Some(seq) {
      return;
    }
    match proc {
      Proc::Task(id) => {
        self.nodes[id].timed_out = true;
        self.terminate(proc, out);
      }
      Proc::Item(id, worker) => {
        let consumer = self.consumers.get_mut(&id).expect("items run under consumers");
        if consumer.timed_out(worker, seq) {
          self.terminate(proc, out);
        }
      }
      Proc::Callback(_) => {}
    }
  }

  /// The start number of `proc` while it runs.
  pub(super) fn running_seq(&self, proc: Proc) -> Option<u64> {
    match proc {
      Proc::Task(id) => {
        let node = &self.nodes[id];
        let runs = node.status == Status::Running && !self.consumers.contains_key(&id);
        runs.then_some(node.seq)
      }
      Proc::Item(id, worker) => self.consumers.get(&id).and_then(|c| c.running(worker)),
      Proc::Callback(id) => self.nodes[id].in_callbacks.then_some(self.nodes[id].seq),
    }
  }

  /// Whether callbacks are halted: after a signal or `--timeout` none starts.
  pub(super) fn callbacks_halted(&self) -> bool {
    matches!(
      self.stopped,
      Some(StopReason::Signal(_) | StopReason::Cancelled | StopReason::Timeout)
    )
  }

  /// Starts callback `index` of a node in its callbacks, or completes the node when there is
  /// none left or callbacks are halted.
  pub(super) fn next_callback(&mut self, id: NodeId, index: usize, out: &mut Vec<Action>) {
    let status = self.nodes[id].status;
    let count = self.graph.nodes[id].callbacks.for_status(status).count();
    if index < count && !self.callbacks_halted() {
      let seq = self.next_seq();
      let node = &mut self.nodes[id];
      (node.callback, node.seq, node.stopping) = (index, seq, false);
      out.push(Action::RunCallback { id, status, index });
      return;
    }
    let node = &mut self.nodes[id];
    node.in_callbacks = false;
    if !node.callbacks_ok {
      self.callbacks_failed.push(id);
    }
    self.release(id);
    self.complete(id, out);
  }

  pub(super) fn callback_exited(&mut self, id: NodeId, success: bool, out: &mut Vec<Action>) {
    if !self.nodes[id].in_callbacks {
      return;
    }
    self.nodes[id].callbacks_ok &= success;
    let next = self.nodes[id].callback + 1;
    self.next_callback(id, next, out);
  }
}
