//! From the YAML tree to the schema types, collecting every error on the way: unknown keys
//! (with a did-you-mean), duplicate keys, wrong types, bad names, durations and enum values.
//!
//! This file reads the structure (the file, its tasks, groups and queues, their keys and names);
//! `values` reads what the keys hold. Cross-references (needs, members, queues) are the
//! compiler's business, not this module's.

use crate::compile_error::{CompileError, ErrorKind};
use crate::names;
use crate::schema::{Callbacks, Group, JobFile, Name, Queue, Spanned, Task, keys};
use crate::source::Source;
use crate::suggest;
use crate::yaml::{Key, Node, Value};
pub(crate) use comment::without_comment;
use foldhash::{HashMap, HashMapExt};
use std::collections::hash_map::Entry;

/// Decodes a parsed document. Returns the file as far as it could be read, and every error.
pub(crate) fn decode(source: &Source, root: &Node) -> (JobFile, Vec<CompileError>) {
  let mut decoder = Decoder { source, errors: Vec::new(), path: Vec::new() };
  let file = decoder.job_file(root);
  decoder.errors.extend(no_tasks(root));
  (file, decoder.errors)
}

struct Decoder<'a> {
  source: &'a Source,
  errors: Vec<CompileError>,
  /// The keys (and `[i]` list indexes) leading to the value being read, for messages.
  path: Vec<String>,
}

impl Decoder<'_> {
  fn job_file(&mut self, node: &Node) -> JobFile {
    let mut file = JobFile::default();
    for (key, value) in self.entries(node, &|| "the job file".into(), keys::JOB_FILE) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "version" => file.version = self.version(value),
        "name" => file.name = self.string(value),
        "env" => file.env = self.env(value),
        "concurrency" => file.concurrency = self.parallelism(value, "concurrency"),
        "shell" => file.shell = self.argv(value, "shell"),
        "tasks" => file.tasks = self.named(value, "tasks", "task", Self::task),
        "groups" => file.groups = self.named(value, "groups", "group", Self::group),
        "queues" => file.queues = self.named(value, "queues", "queue", Self::queue),
        "includes" => file.includes = self.includes(value),
        "dotenv" => file.dotenv = self.dotenv(value),
        "slurm" => file.slurm = self.slurm(value, &|| "the file's `slurm` block".into()),
        _ => unreachable!("entries() yields known keys only"),
      }
      self.path.pop();
    }
    file
  }

  fn task(&mut self, name: Name, node: &Node) -> Task {
    let mut task = Task { name, ..Task::default() };
    let name = task.name.value.clone();
    let what = move || format!("task `{name}`");
    for (key, value) in self.entries(node, &what, keys::TASK) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "run" => task.run = self.command(value),
        "description" => task.description = self.string(value),
        "shell" => task.shell = self.argv(value, "shell"),
        "needs" => task.needs = self.names(value, "needs").map_or_else(Vec::new, |n| n.value),
        "delay" => task.delay = self.duration(value),
        "timeout" => task.timeout = self.duration(value),
        "retries" => task.retries = self.count(value, "retries"),
        "retry_delay" => task.retry_delay = self.duration(value),
        "allow_failure" => task.allow_failure = self.boolean(value),
        "env" => task.env = self.env(value),
        "cwd" => task.cwd = self.string(value),
        "produces" => task.produces = self.string(value),
        "consumes" => task.consumes = self.string(value),
        "workers" => task.workers = self.parallelism(value, "workers"),
        "sources" => task.sources = self.globs(value, "sources"),
        "generates" => task.generates = self.globs(value, "generates"),
        "dotenv" => task.dotenv = self.dotenv(value),
        "matrix" => task.matrix = self.matrix(value),
        "slurm" => task.slurm = self.slurm(value, &|| format!("the `slurm` block of {}", what())),
        key => self.callback(&mut task.callbacks, key, value),
      }
      self.path.pop();
    }
    task
  }

  fn group(&mut self, name: Name, node: &Node) -> Group {
    let mut group = Group { name, ..Group::default() };
    let name = group.name.value.clone();
    let what = move || format!("group `{name}`");
    for (key, value) in self.entries(node, &what, keys::GROUP) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "description" => group.description = self.string(value),
        "gather" => group.gather = self.names(value, "gather"),
        "wait" => group.wait = self.names(value, "wait"),
        "return_when" => group.return_when = self.return_when(value),
        "timeout" => group.timeout = self.duration(value),
        "pending" => group.pending = self.pending(value),
        "allow_failure" => group.allow_failure = self.boolean(value),
        key => self.callback(&mut group.callbacks, key, value),
      }
      self.path.pop();
    }
    group
  }

  fn queue(&mut self, name: Name, node: &Node) -> Queue {
    let mut queue = Queue { name, ..Queue::default() };
    let name = queue.name.value.clone();
    let what = move || format!("queue `{name}`");
    for (key, value) in self.entries(node, &what, keys::QUEUE) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "description" => queue.description = self.string(value),
        "maxsize" => queue.maxsize = self.maxsize(value),
        "items" => queue.items = self.strings(value, "items"),
        _ => unreachable!("entries() yields known keys only"),
      }
      self.path.pop();
    }
    queue
  }

  fn callback(&mut self, callbacks: &mut Callbacks, key: &str, value: &Node) {
    let commands = self.commands(value);
    match key {
      "on_success" => callbacks.on_success = commands,
      "on_failure" => callbacks.on_failure = commands,
      "on_done" => callbacks.on_done = commands,
      _ => unreachable!("entries() yields known keys only"),
    }
  }

  /// The entries of a mapping whose keys are known, each once. Reports a non-mapping, unknown
  /// keys (with a suggestion) and duplicate keys. `what` names the mapping in messages.
  fn entries<'n>(
    &mut self,
    node: &'n Node,
    what: &dyn Fn() -> String,
    known: &[&str],
  ) -> Vec<(&'n Key, &'n Node)> {
    let Some(entries) = self.map(node, what) else {
      return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for ((key, value), earlier) in entries.iter().zip(earlier_keys(entries)) {
      if let Some(first) = earlier {
        self.errors.push(duplicate_key(key, first, &what()));
        continue;
      }
      if known.contains(&key.name.as_str()) {
        out.push((key, value));
      } else {
        self.errors.push(
          CompileError::new(
            ErrorKind::UnknownKey,
            format!("unknown key `{}` in {}", key.name, what()),
            key.span,
            "not a key here",
          )
          .with_help(unknown_key_help(&key.name, known)),
        );
      }
    }
    out
  }

  fn map<'n>(&mut self, node: &'n Node, what: &dyn Fn() -> String) -> Option<&'n [(Key, Node)]> {
    match &node.value {
      Value::Map(entries) => Some(entries),
      Value::Null => Some(&[]),
      other => {
        let message = format!("{} must be a mapping, found {}", what(), other.kind());
        self.errors.push(wrong_type(node, message, "expected a mapping"));
        None
      }
    }
  }

  /// A mapping from names to entries of one kind (`noun`), with every name checked.
  fn named<T>(
    &mut self,
    node: &Node,
    what: &str,
    noun: &str,
    decode: fn(&mut Self, Name, &Node) -> T,
  ) -> Vec<T> {
    let Some(entries) = self.map(node, &|| format!("`{what}`")) else {
      return Vec::new();
    };
    let mut seen: HashMap<&str, &Key> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
      if let Some(first) = seen.get(key.name.as_str()) {
        self.errors.push(duplicate_name(key, first, noun));
        continue;
      }
      seen.insert(&key.name, key);
      if !names::is_valid(&key.name) {
        self.errors.push(bad_name(key));
      }
      self.path.push(key.name.clone());
      out.push(decode(self, Spanned::new(key.name.clone(), key.span), value));
      self.path.pop();
    }
    out
  }
}

impl Decoder<'_> {
  /// Where the value being read is, e.g. `tasks.build.needs[0]`.
  fn path(&self) -> String {
    let mut out = String::new();
    for segment in &self.path {
      if !out.is_empty() && !segment.starts_with('[') {
        out.push('.');
      }
      out.push_str(segment);
    }
    out
  }

  /// Reads each item of a list, its index on the path.
  fn items<T>(
    &mut self,
    items: &[Node],
    mut read: impl FnMut(&mut Self, &Node) -> Option<T>,
  ) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
      self.path.push(format!("[{i}]"));
      out.extend(read(self, item));
      self.path.pop();
    }
    out
  }

  /// `path` must be `expected`, found something else.
  fn type_error(&self, node: &Node, expected: &str) -> CompileError {
    let message = format!("`{}` must be {expected}, found {}", self.path(), node.value.kind());
    wrong_type(node, message, &format!("expected {expected}"))
  }
}

/// A file without tasks would run nothing and report success, which hides a wrong or empty
/// file: like `just` and `task`, that is an error. Not reported when a top-level key is
/// unknown (a misspelled `tasks`, reported as such) or `tasks` is not a mapping.
fn no_tasks(root: &Node) -> Option<CompileError> {
  const HELP: &str =
    "a job file needs at least one task, e.g.\n\ntasks:\n  hello:\n    run: echo hello";
  let Value::Map(entries) = &root.value else {
    return None;
  };
  if entries.iter().any(|(k, _)| !keys::JOB_FILE.contains(&k.name.as_str())) {
    return None;
  }
  let (message, span, label) = match entries.iter().find(|(k, _)| k.name == "tasks") {
    Some((key, value)) => match &value.value {
      Value::Null => ("no tasks under `tasks`", key.span, "no tasks here"),
      Value::Map(tasks) if tasks.is_empty() => {
        ("no tasks under `tasks`", key.span, "no tasks here")
      }
      _ => return None,
    },
    None => match entries.first() {
      Some((first, _)) => ("the job file has no `tasks`", first.span, "no `tasks` in this file"),
      None => ("the job file is empty", root.span, "nothing here"),
    },
  };
  Some(CompileError::new(ErrorKind::NoTasks, message, span, label).with_help(HELP))
}

fn wrong_type(node: &Node, message: String, label: &str) -> CompileError {
  CompileError::new(ErrorKind::WrongType, message, node.span, label)
}

/// For each entry of a mapping, the first earlier key with the same name, if any. The handful
/// of keys of a task are scanned; a large mapping (an `env` of thousands of variables) is
/// hashed, so that its check stays linear.
fn earlier_keys(entries: &[(Key, Node)]) -> Vec<Option<&Key>> {
  if entries.len() <= 16 {
    let earlier =
      |i: usize| entries[..i].iter().map(|(k, _)| k).find(|k| k.name == entries[i].0.name);
    return (0..entries.len()).map(earlier).collect();
  }
  let mut first: HashMap<&str, &Key> = HashMap::with_capacity(entries.len());
  entries
    .iter()
    .map(|(key, _)| match first.entry(&key.name) {
      Entry::Occupied(seen) => Some(*seen.get()),
      Entry::Vacant(slot) => {
        slot.insert(key);
        None
      }
    })
    .collect()
}

fn duplicate_key(key: &Key, first: &Key, what: &str) -> CompileError {
  let message = format!("duplicate key `{}` in {what}", key.name);
  CompileError::new(ErrorKind::DuplicateKey, message, key.span, "defined again here")
    .with_label(first.span, "first defined here")
    .with_help("a key may appear only once; remove or rename one of them")
}

fn duplicate_name(key: &Key, first: &Key, noun: &str) -> CompileError {
  let message = format!("{noun} `{}` is defined twice", key.name);
  CompileError::new(ErrorKind::DuplicateKey, message, key.span, "defined again here")
    .with_label(first.span, "first defined here")
    .with_help(format!("each {noun} needs its own name; rename or remove one of them"))
}

fn bad_name(key: &Key) -> CompileError {
  let message = format!("invalid name `{}`", key.name);
  CompileError::new(ErrorKind::BadName, message, key.span, "invalid name")
    .with_help("names start with a letter or `_`, then letters, digits, `_`, `.` or `-`")
}

fn unknown_key_help(key: &str, known: &[&str]) -> String {
  did_you_mean_or(key, known, || format!("known keys: {}", known.join(", ")))
}

/// "did you mean `x`?" for the closest of `known`, or else what `otherwise` says.
fn did_you_mean_or(word: &str, known: &[&str], otherwise: impl FnOnce() -> String) -> String {
  suggest::closest(word, known.iter().copied()).map_or_else(otherwise, suggest::did_you_mean)
}

mod comment;
mod dotenv;
mod env;
mod globs;
mod includes;
mod matrix;
mod slurm;
mod values;

#[cfg(test)]
mod tests;
