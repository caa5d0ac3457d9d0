//! The rules that tie `sources` and `generates` to the rest of a task: the up-to-date check
//! skips a command, so a task needs one, and a queue's producer or consumer has none to skip
//! (its items are its work).

use super::Compiler;
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema;

impl Compiler<'_> {
  pub(super) fn check_sources(&mut self, task: &schema::Task) {
    let name = &task.name.value;
    if let (Some(glob), []) = (task.generates.first(), task.sources.as_slice()) {
      let message = format!("task `{name}` has `generates` but no `sources`");
      let help = "a task without `sources` runs every time; add `sources` or remove `generates`";
      self.push_source_error(message, glob.span, "without `sources`", help);
    }
    let Some(glob) = task.sources.first() else {
      return;
    };
    if task.run.is_none() {
      let message = format!("task `{name}` has `sources` but no `run`");
      let help = "the up-to-date check decides whether `run` runs; add `run` or remove `sources`";
      self.push_source_error(message, glob.span, "nothing to skip", help);
    }
    if task.produces.is_some() || task.consumes.is_some() {
      let message = format!("task `{name}` has `sources` but works through a queue");
      let help = "a producer's or consumer's items are its work and are never up to date; \
                  remove `sources`";
      self.push_source_error(message, glob.span, "not for a queue's task", help);
    }
  }

  fn push_source_error(
    &mut self,
    message: String,
    span: miette::SourceSpan,
    label: &str,
    help: &str,
  ) {
    let err = CompileError::new(ErrorKind::BadValue, message, span, label).with_help(help);
    self.errors.push(err);
  }
}
