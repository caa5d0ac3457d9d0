//! The groups of compile: each group's rule and members, and the errors of a group that gathers
//! and waits at once, neither, over nothing, or has wait options on a gather list.

use super::{Compiler, callbacks, duration};
use crate::compile_error::{CompileError, ErrorKind};
use crate::graph::{self, GroupRule, NodeId, NodeKind};
use crate::schema::{self, Name};
use miette::SourceSpan;

impl Compiler<'_> {
  pub(super) fn group(&mut self, id: NodeId, group: &schema::Group) -> graph::Node {
    let rule = self.group_rule(group);
    let members = match (&group.gather, &group.wait) {
      (Some(members), None) | (None, Some(members)) => {
        let key = if group.gather.is_some() { "gather" } else { "wait" };
        if members.value.is_empty() {
          let message = format!("group `{}` has no members", group.name.value);
          let err = CompileError::new(ErrorKind::EmptyGroup, message, members.span, "empty list")
            .with_help(format!(
              "list the tasks or groups to {}, e.g. `{key}: [a, b]`",
              if key == "wait" { "wait for" } else { key }
            ));
          self.errors.push(err);
        }
        self.references(&members.value, &group.name, key)
      }
      _ => Vec::new(),
    };
    graph::Node {
      name: group.name.value.clone(),
      span: group.name.span,
      description: group.description.as_ref().map(|d| d.value.clone()),
      needs: Vec::new(),
      dependents: Vec::new(),
      groups: Vec::new(),
      member_index: Vec::new(),
      allow_failure: group.allow_failure.as_ref().is_some_and(|a| a.value),
      callbacks: callbacks(
        &group.callbacks,
        self.group_shells[id - self.file.tasks.len()].as_ref(),
      ),
      kind: NodeKind::Group(graph::Group { rule, members }),
      need_vars: Vec::new(),
    }
  }

  /// The group's rule; reports a group with both or neither of `gather` and `wait`, and wait
  /// options on a gather group.
  fn group_rule(&mut self, group: &schema::Group) -> GroupRule {
    let name = &group.name;
    if group.matrix {
      return GroupRule::Matrix;
    }
    match (&group.gather, &group.wait) {
      (Some(gather), Some(wait)) => {
        let message = format!("group `{}` has both `gather` and `wait`", name.value);
        let err = CompileError::new(ErrorKind::BadGroup, message, wait.span, "`wait` list")
          .with_label(gather.span, "`gather` list")
          .with_help("a group either gathers or waits: keep one list, or split it into two groups");
        self.errors.push(err);
      }
      (None, None) => {
        let message = format!("group `{}` has neither `gather` nor `wait`", name.value);
        let err = CompileError::new(ErrorKind::BadGroup, message, name.span, "no members")
          .with_help("add `gather: [a, b]` or `wait: [a, b]`");
        self.errors.push(err);
      }
      (Some(_), None) => {
        self.wait_only(name, group.return_when.as_ref().map(|r| r.span), "return_when");
        self.wait_only(name, group.timeout.as_ref().map(|r| r.span), "timeout");
        self.wait_only(name, group.pending.as_ref().map(|r| r.span), "pending");
        return GroupRule::Gather;
      }
      (None, Some(_)) => {}
    }
    GroupRule::Wait {
      return_when: group
        .return_when
        .as_ref()
        .map_or(graph::ReturnWhen::AllCompleted, |r| return_when(r.value)),
      timeout: duration(&group.timeout),
      pending: group.pending.as_ref().map_or(graph::Pending::Cancel, |p| pending(p.value)),
    }
  }

  fn wait_only(&mut self, group: &Name, span: Option<SourceSpan>, key: &str) {
    let Some(span) = span else { return };
    let message =
      format!("`{key}` applies to wait groups, but `{}` is a gather group", group.value);
    let err = CompileError::new(ErrorKind::BadGroup, message, span, "only for `wait`")
      .with_help(format!("use `wait:` instead of `gather:`, or remove `{key}`"));
    self.errors.push(err);
  }
}

fn return_when(rule: schema::ReturnWhen) -> graph::ReturnWhen {
  match rule {
    schema::ReturnWhen::AllCompleted => graph::ReturnWhen::AllCompleted,
    schema::ReturnWhen::FirstCompleted => graph::ReturnWhen::FirstCompleted,
    schema::ReturnWhen::FirstException => graph::ReturnWhen::FirstException,
  }
}

fn pending(choice: schema::Pending) -> graph::Pending {
  match choice {
    schema::Pending::Cancel => graph::Pending::Cancel,
    schema::Pending::Continue => graph::Pending::Continue,
  }
}
