//! From the YAML tree to the schema types, collecting every error on the way: unknown keys
//! (with a did-you-mean), duplicate keys, wrong types, bad names, durations and enum values.
//!
//! Cross-references (needs, members, queues) are the compiler's business, not this module's.

use crate::compile_error::{CompileError, ErrorKind};
use crate::duration::{self, DurationError};
use crate::names;
use crate::schema::{
  Callbacks, Command, DurationValue, Group, JobFile, Name, Pending, Queue, ReturnWhen, Spanned,
  Task, keys,
};
use crate::source::Source;
use crate::suggest;
use crate::yaml::{Key, Node, Value};
use foldhash::{HashMap, HashMapExt};

/// Decodes a parsed document. Returns the file as far as it could be read, and every error.
pub fn decode(source: &Source, root: &Node) -> (JobFile, Vec<CompileError>) {
  let mut decoder = Decoder { source, errors: Vec::new() };
  let file = decoder.job_file(root);
  (file, decoder.errors)
}

struct Decoder<'a> {
  source: &'a Source,
  errors: Vec<CompileError>,
}

impl Decoder<'_> {
  fn job_file(&mut self, node: &Node) -> JobFile {
    let mut file = JobFile::default();
    for (key, value) in self.entries(node, &|| "the job file".into(), keys::JOB_FILE) {
      match key.name.as_str() {
        "version" => file.version = self.version(value),
        "name" => file.name = self.string(value),
        "env" => file.env = self.env(value),
        "concurrency" => file.concurrency = self.positive(value, "concurrency"),
        "shell" => file.shell = self.argv(value, "shell"),
        "tasks" => file.tasks = self.named(value, "tasks", "task", Self::task),
        "groups" => file.groups = self.named(value, "groups", "group", Self::group),
        "queues" => file.queues = self.named(value, "queues", "queue", Self::queue),
        _ => unreachable!("entries() yields known keys only"),
      }
    }
    file
  }

  fn task(&mut self, name: Name, node: &Node) -> Task {
    let mut task = Task { name, ..Task::default() };
    let name = task.name.value.clone();
    let what = move || format!("task `{name}`");
    for (key, value) in self.entries(node, &what, keys::TASK) {
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
        "workers" => task.workers = self.positive(value, "workers").map(narrow),
        key => self.callback(&mut task.callbacks, key, value),
      }
    }
    task
  }

  fn group(&mut self, name: Name, node: &Node) -> Group {
    let mut group = Group { name, ..Group::default() };
    let name = group.name.value.clone();
    let what = move || format!("group `{name}`");
    for (key, value) in self.entries(node, &what, keys::GROUP) {
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
    }
    group
  }

  fn queue(&mut self, name: Name, node: &Node) -> Queue {
    let mut queue = Queue { name, ..Queue::default() };
    let name = queue.name.value.clone();
    let what = move || format!("queue `{name}`");
    for (key, value) in self.entries(node, &what, keys::QUEUE) {
      match key.name.as_str() {
        "description" => queue.description = self.string(value),
        "maxsize" => queue.maxsize = self.unsigned(value, "maxsize"),
        "items" => queue.items = self.strings(value, "items"),
        _ => unreachable!("entries() yields known keys only"),
      }
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
    for (i, (key, value)) in entries.iter().enumerate() {
      if let Some(first) = earlier_key(entries, i) {
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
      out.push(decode(self, Spanned::new(key.name.clone(), key.span), value));
    }
    out
  }

  /// Any scalar read as text, the way it is written (`run: true` is the command `true`).
  fn scalar_text(&self, node: &Node) -> Option<String> {
    match &node.value {
      Value::Str(s) => Some(s.clone()),
      Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
        Some(self.source.slice(node.span).to_string())
      }
      Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
  }

  fn string(&mut self, node: &Node) -> Option<Spanned<String>> {
    match self.scalar_text(node) {
      Some(text) if text.contains('\0') => {
        self.errors.push(nul_byte(node));
        None
      }
      Some(text) => Some(Spanned::new(text, node.span)),
      None => {
        let message = format!("expected a string, found {}", node.value.kind());
        self.errors.push(wrong_type(node, message, "expected a string"));
        None
      }
    }
  }

  fn boolean(&mut self, node: &Node) -> Option<Spanned<bool>> {
    match node.value {
      Value::Bool(b) => Some(Spanned::new(b, node.span)),
      _ => {
        let message = format!("expected `true` or `false`, found {}", node.value.kind());
        self.errors.push(wrong_type(node, message, "expected a boolean"));
        None
      }
    }
  }

  fn unsigned(&mut self, node: &Node, key: &str) -> Option<Spanned<u64>> {
    match node.value {
      Value::Int(i) if i >= 0 => Some(Spanned::new(i as u64, node.span)),
      Value::Int(_) => {
        let message = format!("`{key}` must not be negative");
        let err = CompileError::new(ErrorKind::BadValue, message, node.span, "negative");
        self.errors.push(err);
        None
      }
      _ => {
        let err = type_error(node, key, "a whole number");
        self.errors.push(err.with_help(format!("write a number, e.g. `{key}: 2`")));
        None
      }
    }
  }

  fn count(&mut self, node: &Node, key: &str) -> Option<Spanned<u32>> {
    let value = self.unsigned(node, key)?;
    if value.value > u64::from(u32::MAX) {
      let message = format!("`{key}` is too large");
      self.errors.push(CompileError::new(ErrorKind::BadValue, message, node.span, "too large"));
      return None;
    }
    Some(narrow(value))
  }

  fn positive(&mut self, node: &Node, key: &str) -> Option<Spanned<u64>> {
    let value = self.unsigned(node, key)?;
    if value.value == 0 || value.value > u64::from(u32::MAX) {
      let message = format!("`{key}` must be at least 1");
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "out of range");
      self.errors.push(err.with_help(format!("remove `{key}` to use the default")));
      return None;
    }
    Some(value)
  }

  fn version(&mut self, node: &Node) -> Option<Spanned<u64>> {
    let text = self.scalar_text(node).unwrap_or_default();
    if text.trim() == "1" {
      return Some(Spanned::new(1, node.span));
    }
    let message = format!("unsupported version `{}`", self.source.slice(node.span));
    let err = CompileError::new(ErrorKind::BadVersion, message, node.span, "only version 1 exists");
    self.errors.push(err.with_help("write `version: 1` or leave the key out"));
    None
  }

  fn duration(&mut self, node: &Node) -> Option<Spanned<DurationValue>> {
    let parsed = match &node.value {
      Value::Int(i) => duration::from_seconds(*i as f64),
      Value::Float(f) => duration::from_seconds(*f),
      Value::Str(s) => duration::parse(s),
      _ => {
        let message = format!("expected a duration, found {}", node.value.kind());
        self.errors.push(wrong_type(node, message, "expected a duration"));
        return None;
      }
    };
    match parsed {
      Ok(d) => Some(Spanned::new(DurationValue(d), node.span)),
      Err(err) => {
        let written = self.source.slice(node.span);
        let (message, label) = match err {
          DurationError::Negative => (format!("negative duration `{written}`"), "negative"),
          DurationError::Invalid => (format!("invalid duration `{written}`"), "not a duration"),
        };
        let error = CompileError::new(ErrorKind::BadDuration, message, node.span, label).with_help(
          "write a duration such as `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, or seconds: `3`",
        );
        self.errors.push(error);
        None
      }
    }
  }

  fn seq<'n>(&mut self, node: &'n Node, key: &str, expected: &str) -> Option<&'n [Node]> {
    match &node.value {
      Value::Seq(items) => Some(items),
      Value::Str(s) => {
        let err = type_error(node, key, expected);
        self.errors.push(err.with_help(format!("write `{key}: [{s}]`")));
        None
      }
      _ => {
        self.errors.push(type_error(node, key, expected));
        None
      }
    }
  }

  fn strings(&mut self, node: &Node, key: &str) -> Vec<Spanned<String>> {
    let Some(items) = self.seq(node, key, "a list of strings") else {
      return Vec::new();
    };
    items.iter().filter_map(|item| self.string(item)).collect()
  }

  fn names(&mut self, node: &Node, key: &str) -> Option<Spanned<Vec<Name>>> {
    let items = self.seq(node, key, "a list of names")?;
    let names = items.iter().filter_map(|item| self.string(item)).collect();
    Some(Spanned::new(names, node.span))
  }

  fn argv(&mut self, node: &Node, key: &str) -> Option<Spanned<Vec<Spanned<String>>>> {
    let items = self.seq(node, key, "a list of strings")?;
    if items.is_empty() {
      let message = format!("`{key}` must not be empty");
      self.errors.push(CompileError::new(ErrorKind::BadValue, message, node.span, "empty list"));
      return None;
    }
    let argv = items.iter().filter_map(|item| self.string(item)).collect();
    Some(Spanned::new(argv, node.span))
  }

  fn command(&mut self, node: &Node) -> Option<Spanned<Command>> {
    if let Value::Seq(_) = node.value {
      let argv = self.argv(node, "run")?;
      let argv = argv.value.into_iter().map(|a| a.value).collect();
      return Some(Spanned::new(Command::Argv(argv), node.span));
    }
    match self.scalar_text(node) {
      Some(text) if text.contains('\0') => {
        self.errors.push(nul_byte(node));
        None
      }
      Some(text) => Some(Spanned::new(Command::Shell(text), node.span)),
      None => {
        self.errors.push(type_error(node, "run", "a command string or an argv list"));
        None
      }
    }
  }

  /// A callback: one command, or a list of commands (each a string or an argv list).
  fn commands(&mut self, node: &Node) -> Vec<Spanned<Command>> {
    match &node.value {
      Value::Seq(items) => items.iter().filter_map(|item| self.command(item)).collect(),
      _ => self.command(node).into_iter().collect(),
    }
  }

  fn env(&mut self, node: &Node) -> Vec<(Name, Spanned<String>)> {
    let Some(entries) = self.map(node, &|| "`env`".into()) else {
      return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for (i, (key, value)) in entries.iter().enumerate() {
      if let Some(first) = earlier_key(entries, i) {
        self.errors.push(duplicate_key(key, first, "`env`"));
        continue;
      }
      if key.name.is_empty() || key.name.contains(['=', '\0']) {
        let message = format!("invalid environment variable name `{}`", key.name);
        let err = CompileError::new(ErrorKind::BadName, message, key.span, "invalid name");
        self.errors.push(err);
        continue;
      }
      if let Some(value) = self.string(value) {
        out.push((Spanned::new(key.name.clone(), key.span), value));
      }
    }
    out
  }

  fn return_when(&mut self, node: &Node) -> Option<Spanned<ReturnWhen>> {
    let text = self.string(node)?;
    if let Some(rule) = ReturnWhen::parse(&text.value) {
      return Some(Spanned::new(rule, node.span));
    }
    let upper = text.value.to_ascii_uppercase();
    let message = format!("unknown `return_when` value `{}`", text.value);
    let err = CompileError::new(ErrorKind::BadReturnWhen, message, node.span, "not a rule")
      .with_help(choices_help(&upper, &ReturnWhen::NAMES));
    self.errors.push(err);
    None
  }

  fn pending(&mut self, node: &Node) -> Option<Spanned<Pending>> {
    let text = self.string(node)?;
    if let Some(p) = Pending::parse(&text.value) {
      return Some(Spanned::new(p, node.span));
    }
    let message = format!("unknown `pending` value `{}`", text.value);
    let err = CompileError::new(ErrorKind::BadPending, message, node.span, "not a choice")
      .with_help(choices_help(&text.value, &Pending::NAMES));
    self.errors.push(err);
    None
  }
}

/// Commands, arguments, directories and environment values reach the kernel as C strings,
/// which end at a NUL byte.
fn nul_byte(node: &Node) -> CompileError {
  let message = "a NUL byte (`\\0`) cannot be part of a string here";
  CompileError::new(ErrorKind::BadValue, message.to_string(), node.span, "holds a NUL byte")
    .with_help("programs receive their arguments, environment and paths as C strings, which end at the first NUL")
}

fn wrong_type(node: &Node, message: String, label: &str) -> CompileError {
  CompileError::new(ErrorKind::WrongType, message, node.span, label)
}

fn type_error(node: &Node, key: &str, expected: &str) -> CompileError {
  let message = format!("`{key}` must be {expected}, found {}", node.value.kind());
  wrong_type(node, message, &format!("expected {expected}"))
}

/// The first key before entry `i` with the same name as it. Mappings here have a handful of
/// keys: a scan beats hashing.
fn earlier_key(entries: &[(Key, Node)], i: usize) -> Option<&Key> {
  let name = &entries[i].0.name;
  entries[..i].iter().map(|(k, _)| k).find(|k| k.name == *name)
}

fn narrow(value: Spanned<u64>) -> Spanned<u32> {
  Spanned::new(u32::try_from(value.value).unwrap_or(u32::MAX), value.span)
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

fn choices_help(value: &str, choices: &[&str]) -> String {
  did_you_mean_or(value, choices, || {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    format!("choose one of {}", quoted.join(", "))
  })
}

/// "did you mean `x`?" for the closest of `known`, or else what `otherwise` says.
fn did_you_mean_or(word: &str, known: &[&str], otherwise: impl FnOnce() -> String) -> String {
  suggest::closest(word, known.iter().copied()).map_or_else(otherwise, suggest::did_you_mean)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::yaml;

  fn decode_text(text: &str) -> (JobFile, Vec<CompileError>) {
    let source = Source::new("t.yaml", text);
    let root = yaml::parse(&source).expect("valid yaml");
    decode(&source, &root)
  }

  fn kinds(text: &str) -> Vec<ErrorKind> {
    decode_text(text).1.iter().map(|e| e.kind).collect()
  }

  #[test]
  fn reads_a_task() {
    let (file, errors) = decode_text(
      "tasks:\n  a:\n    run: echo hi\n    needs: [b]\n    delay: 2s\n    retries: 2\n    on_done: [x, [y, z]]\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    let task = &file.tasks[0];
    assert_eq!(task.name.value, "a");
    assert_eq!(task.run.as_ref().unwrap().value, Command::Shell("echo hi".into()));
    assert_eq!(task.needs[0].value, "b");
    assert_eq!(task.retries.as_ref().unwrap().value, 2);
    assert_eq!(task.callbacks.on_done.len(), 2);
  }

  #[test]
  fn collects_every_error() {
    let text = "tasks:\n  a: {nedds: [b], delay: -1}\n  1bad: {run: x}\n  a: {}\nversion: 2\n";
    assert_eq!(
      kinds(text),
      [
        ErrorKind::UnknownKey,
        ErrorKind::BadDuration,
        ErrorKind::BadName,
        ErrorKind::DuplicateKey,
        ErrorKind::BadVersion
      ]
    );
  }

  #[test]
  fn suggests_keys() {
    let (_, errors) = decode_text("tasks:\n  a: {nedds: [b]}\n");
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `needs`?"));
  }

  #[test]
  fn scalars_are_commands() {
    let (file, errors) = decode_text("tasks:\n  a: {run: true}\n");
    assert!(errors.is_empty());
    assert_eq!(file.tasks[0].run.as_ref().unwrap().value, Command::Shell("true".into()));
  }

  #[test]
  fn wrong_types() {
    assert_eq!(kinds("tasks: [a]\n"), [ErrorKind::WrongType]);
    assert_eq!(kinds("tasks:\n  a: {needs: b}\n"), [ErrorKind::WrongType]);
    assert_eq!(kinds("tasks:\n  a: {retries: two}\n"), [ErrorKind::WrongType]);
    assert_eq!(kinds("tasks:\n  a: {allow_failure: 1}\n"), [ErrorKind::WrongType]);
  }

  #[test]
  fn enum_values() {
    let text = "groups:\n  g: {wait: [a], return_when: first_completed, pending: keep}\n";
    assert_eq!(kinds(text), [ErrorKind::BadPending]);
    let (file, _) = decode_text(text);
    assert_eq!(file.groups[0].return_when.as_ref().unwrap().value, ReturnWhen::FirstCompleted);
  }
}
