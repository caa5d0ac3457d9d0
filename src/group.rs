//! The rules of gather and wait groups as a pure state machine: member outcomes in, at most one
//! group decision out. No processes, timers or graph here; the scheduler applies decisions.

use crate::graph::{GroupRule, Pending, ReturnWhen};
use crate::status::Status;

/// What a group decided when it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
  pub status: Status,
  /// Member indexes that had finished, in finishing order.
  pub done: Vec<usize>,
  /// Member indexes not finished, in declared order.
  pub pending: Vec<usize>,
  /// Whether the pending members are to be cancelled.
  pub cancel_pending: bool,
  /// Whether the group returned because its timeout expired.
  pub timed_out: bool,
}

#[derive(Debug)]
pub(crate) struct GroupState {
  rule: GroupRule,
  finished: Vec<bool>,
  /// (member index, status, failure allowed) in finishing order.
  done: Vec<(usize, Status, bool)>,
  returned: bool,
}

impl GroupState {
  pub(crate) fn new(rule: GroupRule, members: usize) -> Self {
    Self { rule, finished: vec![false; members], done: Vec::new(), returned: false }
  }

  /// Records that member `index` ended with `status`; `allowed` is the member's `allow_failure`.
  pub(crate) fn member_finished(
    &mut self,
    index: usize,
    status: Status,
    allowed: bool,
  ) -> Option<Decision> {
    if self.returned || self.finished[index] {
      return None;
    }
    self.finished[index] = true;
    self.done.push((index, status, allowed));
    let failed = status.is_failure() && !allowed;
    let all_done = self.done.len() == self.finished.len();
    match self.rule {
      GroupRule::Gather | GroupRule::Matrix => {
        let early = match status {
          _ if failed => Some(Status::Failed),
          Status::Skipped | Status::Cancelled => Some(status),
          _ => None,
        };
        match early {
          Some(status) => Some(self.decide(status, false, false)),
          None if all_done => Some(self.decide(Status::Succeeded, false, false)),
          None => None,
        }
      }
      GroupRule::Wait { return_when, pending, .. } => {
        let returns = match return_when {
          ReturnWhen::FirstCompleted => true,
          ReturnWhen::FirstException => failed || all_done,
          ReturnWhen::AllCompleted => all_done,
        };
        returns.then(|| self.wait_decision(pending, false))
      }
    }
  }

  /// The group's timeout expired: a wait group returns with what is done.
  pub(crate) fn timeout(&mut self) -> Option<Decision> {
    match self.rule {
      GroupRule::Wait { pending, .. } if !self.returned => Some(self.wait_decision(pending, true)),
      _ => None,
    }
  }

  /// The run stops while the group waits for members: a group that a member's failure failed
  /// returns failed with what is done (what is pending is cancelled). None: nothing failed, the
  /// group is cancelled with its members.
  pub(crate) fn stopped(&mut self) -> Option<Decision> {
    let failed = self.done.iter().any(|&(_, s, allowed)| s.is_failure() && !allowed);
    (failed && !self.returned).then(|| self.decide(Status::Failed, true, false))
  }

  fn wait_decision(&mut self, pending: Pending, timed_out: bool) -> Decision {
    let failed = self.done.iter().any(|&(_, s, allowed)| s.is_failure() && !allowed);
    let status = if failed { Status::Failed } else { Status::Succeeded };
    self.decide(status, pending == Pending::Cancel, timed_out)
  }

  fn decide(&mut self, status: Status, cancel_pending: bool, timed_out: bool) -> Decision {
    self.returned = true;
    Decision {
      status,
      done: self.done.iter().map(|&(i, _, _)| i).collect(),
      pending: (0..self.finished.len()).filter(|&i| !self.finished[i]).collect(),
      cancel_pending,
      timed_out,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use Status::{Cancelled, Failed, Skipped, Succeeded, TimedOut};
  use std::time::Duration;

  fn wait(return_when: ReturnWhen, pending: Pending) -> GroupRule {
    GroupRule::Wait { return_when, timeout: Some(Duration::from_secs(1)), pending }
  }

  /// Feeds (member, status) in order; returns the step at which the group decided and how.
  fn run(rule: GroupRule, members: usize, events: &[(usize, Status)]) -> Option<(usize, Decision)> {
    let mut group = GroupState::new(rule, members);
    for (step, &(member, status)) in events.iter().enumerate() {
      if let Some(decision) = group.member_finished(member, status, false) {
        assert!(group.member_finished(member, Succeeded, false).is_none(), "decides once");
        return Some((step, decision));
      }
    }
    None
  }

  fn decision(status: Status, done: &[usize], pending: &[usize], cancel: bool) -> Decision {
    Decision {
      status,
      done: done.to_vec(),
      pending: pending.to_vec(),
      cancel_pending: cancel,
      timed_out: false,
    }
  }

  #[test]
  fn gather_table() {
    type Case<'a> = (&'a [(usize, Status)], Option<(usize, Decision)>);
    let cases: &[Case] = &[
      (
        &[(2, Succeeded), (1, Succeeded), (0, Succeeded)],
        Some((2, decision(Succeeded, &[2, 1, 0], &[], false))),
      ),
      (&[(0, Succeeded), (1, Failed)], Some((1, decision(Failed, &[0, 1], &[2], false)))),
      (&[(1, TimedOut)], Some((0, decision(Failed, &[1], &[0, 2], false)))),
      (&[(0, Skipped)], Some((0, decision(Skipped, &[0], &[1, 2], false)))),
      (&[(2, Cancelled)], Some((0, decision(Cancelled, &[2], &[0, 1], false)))),
      (&[(0, Succeeded), (1, Succeeded)], None),
    ];
    for (events, expected) in cases {
      assert_eq!(&run(GroupRule::Gather, 3, events), expected, "{events:?}");
    }
  }

  #[test]
  fn wait_table() {
    use Pending::{Cancel, Continue};
    use ReturnWhen::{AllCompleted, FirstCompleted, FirstException};
    type Case<'a> = (ReturnWhen, Pending, &'a [(usize, Status)], Option<(usize, Decision)>);
    let cases: &[Case] = &[
      (
        FirstCompleted,
        Cancel,
        &[(2, Succeeded)],
        Some((0, decision(Succeeded, &[2], &[0, 1], true))),
      ),
      (FirstCompleted, Continue, &[(1, Failed)], Some((0, decision(Failed, &[1], &[0, 2], false)))),
      (
        FirstCompleted,
        Cancel,
        &[(0, Skipped)],
        Some((0, decision(Succeeded, &[0], &[1, 2], true))),
      ),
      (
        FirstException,
        Cancel,
        &[(0, Succeeded), (1, Failed)],
        Some((1, decision(Failed, &[0, 1], &[2], true))),
      ),
      (
        FirstException,
        Cancel,
        &[(0, Succeeded), (2, TimedOut)],
        Some((1, decision(Failed, &[0, 2], &[1], true))),
      ),
      (
        FirstException,
        Cancel,
        &[(0, Succeeded), (1, Succeeded), (2, Succeeded)],
        Some((2, decision(Succeeded, &[0, 1, 2], &[], true))),
      ),
      (FirstException, Cancel, &[(0, Cancelled), (1, Succeeded)], None),
      (
        AllCompleted,
        Continue,
        &[(1, Failed), (0, Succeeded), (2, Succeeded)],
        Some((2, decision(Failed, &[1, 0, 2], &[], false))),
      ),
      (AllCompleted, Cancel, &[(1, Succeeded), (0, Succeeded)], None),
    ];
    for (rule, pending, events, expected) in cases {
      assert_eq!(&run(wait(*rule, *pending), 3, events), expected, "{rule:?} {events:?}");
    }
  }

  #[test]
  fn allowed_failures_do_not_fail_groups() {
    let mut gather = GroupState::new(GroupRule::Gather, 2);
    assert_eq!(gather.member_finished(0, Failed, true), None);
    assert_eq!(gather.member_finished(1, Succeeded, false).unwrap().status, Succeeded);
    let mut first_exception = GroupState::new(wait(ReturnWhen::FirstException, Pending::Cancel), 2);
    assert_eq!(first_exception.member_finished(0, Failed, true), None);
  }

  #[test]
  fn a_stopped_group_fails_only_if_a_member_failed() {
    let mut group = GroupState::new(wait(ReturnWhen::AllCompleted, Pending::Continue), 3);
    group.member_finished(1, Failed, false);
    let decision = group.stopped().unwrap();
    assert_eq!((decision.status, decision.done, decision.pending), (Failed, vec![1], vec![0, 2]));
    assert!(decision.cancel_pending, "the run stops: nothing is left running");
    assert!(group.stopped().is_none(), "returns once");
    let mut allowed = GroupState::new(GroupRule::Gather, 2);
    allowed.member_finished(0, Failed, true);
    assert!(allowed.stopped().is_none());
    assert!(GroupState::new(GroupRule::Gather, 1).stopped().is_none());
  }

  #[test]
  fn timeouts() {
    let mut group = GroupState::new(wait(ReturnWhen::AllCompleted, Pending::Cancel), 2);
    group.member_finished(1, Succeeded, false);
    let decision = group.timeout().unwrap();
    assert_eq!((decision.status, decision.done, decision.pending), (Succeeded, vec![1], vec![0]));
    assert!(decision.timed_out && decision.cancel_pending);
    assert!(group.timeout().is_none(), "returns once");
    assert!(
      group.member_finished(0, Succeeded, false).is_none(),
      "ignores members after returning"
    );
    let mut failed = GroupState::new(wait(ReturnWhen::AllCompleted, Pending::Continue), 2);
    failed.member_finished(0, Failed, false);
    assert_eq!(failed.timeout().unwrap().status, Failed);
    assert!(GroupState::new(GroupRule::Gather, 1).timeout().is_none());
  }
}
