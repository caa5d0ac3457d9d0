//! The names of compile: `needs`, member lists and queues resolved to ids, with an error (and a
//! did-you-mean, within a budget) for every unknown, repeated or clashing one.

use super::{Compiler, MAX_SUGGESTIONS, SUGGESTION_COMPARISONS};
use crate::compile_error::{CompileError, ErrorKind};
use crate::graph::{NodeId, QueueId};
use crate::names;
use crate::schema::Name;
use crate::suggest;
use foldhash::{HashMap, HashMapExt};
use miette::SourceSpan;
use std::borrow::Cow;
use std::collections::hash_map::Entry;

impl Compiler<'_> {
  /// Resolves names in `needs` or a member list; reports unknown and repeated names.
  pub(super) fn references(&mut self, names: &[Name], owner: &Name, key: &str) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity(names.len());
    // A set, not a scan: a fan-in may list thousands of names.
    let mut seen: HashMap<&str, &Name> = HashMap::with_capacity(names.len());
    for name in names {
      match seen.entry(&name.value) {
        Entry::Occupied(first) => {
          let message = format!("`{}` is listed twice in `{key}` of `{}`", name.value, owner.value);
          let err =
            CompileError::new(ErrorKind::DuplicateReference, message, name.span, "listed again")
              .with_label(first.get().span, "first listed here");
          self.errors.push(err);
          continue;
        }
        Entry::Vacant(slot) => {
          slot.insert(name);
        }
      }
      match self.ids.get(name.value.as_str()) {
        Some(&id) => ids.push(id),
        None => {
          let (owner, written) = (self.written(owner), self.written(name));
          let message = if key == "needs" {
            format!("`{owner}` needs unknown task or group `{written}`")
          } else {
            format!("group `{owner}` has unknown member `{written}`")
          };
          let suggestion = self.suggest(&written, name.span, NameSpace::Nodes);
          let err = CompileError::new(
            ErrorKind::UnknownReference,
            message,
            name.span,
            "no such task or group",
          )
          .with_suggestion(suggestion.as_deref());
          self.errors.push(err);
        }
      }
    }
    ids
  }

  /// Two needs whose names give the same `RUNNER_RESULT_<N>` variable would hide one result.
  /// Known names use their node's variable; only unknown ones are converted here.
  pub(super) fn check_result_names(&mut self, needs: &[Name]) {
    let mut seen: HashMap<Cow<str>, &Name> = HashMap::with_capacity(needs.len());
    for name in needs {
      let var: Cow<str> = Cow::Owned(self.need_var(name));
      match seen.get(&var) {
        Some(first) if first.value != name.value => {
          let message =
            format!("`{}` and `{}` both reach the command as `{var}`", first.value, name.value);
          let err = CompileError::new(ErrorKind::NameClash, message, name.span, "same variable")
            .with_label(first.span, "as this one")
            .with_help("rename one of the two tasks so their results stay apart");
          self.errors.push(err);
        }
        Some(_) => {}
        None => {
          seen.insert(var, name);
        }
      }
    }
  }

  pub(super) fn queue_ref(&mut self, name: &Name) -> Option<QueueId> {
    if let Some(&id) = self.queue_ids.get(name.value.as_str()) {
      return Some(id);
    }
    let written = self.written(name);
    let message = format!("unknown queue `{written}`");
    let suggestion = self.suggest(&written, name.span, NameSpace::Queues);
    let help = suggestion.as_deref().map_or_else(
      || format!("declare it under `queues:`, e.g. `queues: {{{written}: {{maxsize: 10}}}}`"),
      suggest::did_you_mean,
    );
    let err =
      CompileError::new(ErrorKind::UnknownQueue, message, name.span, "not declared under `queues`");
    self.errors.push(err.with_help(help));
    None
  }

  /// A resolved name as the file it is written in writes it.
  fn written(&self, name: &Name) -> String {
    self.files.written(&name.value, name.span)
  }

  /// The `RUNNER_RESULT_<N>` variable of a need: N as its file writes it, without the `:` that
  /// marks a name of the root.
  fn need_var(&self, name: &Name) -> String {
    let written = self.written(name);
    names::result_var(written.strip_prefix(':').unwrap_or(&written))
  }

  /// The variable of each known need, in the order `references` resolves them (each name once).
  pub(super) fn need_vars(&self, needs: &[Name]) -> Vec<String> {
    let mut seen: HashMap<&str, ()> = HashMap::with_capacity(needs.len());
    let known = needs.iter().filter(|n| self.ids.contains_key(n.value.as_str()));
    known.filter(|n| seen.insert(&n.value, ()).is_none()).map(|n| self.need_var(n)).collect()
  }

  /// The closest known name to `word`, as the file holding `span` would write it.
  fn suggest(&mut self, word: &str, span: SourceSpan, space: NameSpace) -> Option<String> {
    let names = match space {
      NameSpace::Nodes => self.ids.len(),
      NameSpace::Queues => self.queue_ids.len(),
    };
    if self.suggestions >= MAX_SUGGESTIONS || self.compared + names > SUGGESTION_COMPARISONS {
      return None;
    }
    self.suggestions += 1;
    self.compared += names;
    let known: Vec<String> = match space {
      NameSpace::Nodes => self.ids.keys().map(|k| self.files.written(k, span)).collect(),
      NameSpace::Queues => self.queue_ids.keys().map(|k| self.files.written(k, span)).collect(),
    };
    suggest::closest(word, known.iter().map(String::as_str)).map(str::to_string)
  }
}

enum NameSpace {
  Nodes,
  Queues,
}
