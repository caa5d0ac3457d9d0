//! The values of decode: strings, numbers, booleans, durations, names, commands, environments
//! and the wait-group choices, each checked for its type and range where it is read.

use super::{Decoder, did_you_mean_or, duplicate_key, earlier_keys, wrong_type};
use crate::compile_error::{CompileError, ErrorKind};
use crate::duration::{self, DurationError};
use crate::limits::{MAX_PARALLEL, MAX_QUEUE_SIZE};
use crate::schema::{Command, DurationValue, Name, Pending, ReturnWhen, Spanned};
use crate::suggest;
use crate::yaml::{Node, Value};

impl Decoder<'_> {
  /// Any scalar read as text, the way it is written (`run: true` is the command `true`).
  pub(super) fn scalar_text(&self, node: &Node) -> Option<String> {
    match &node.value {
      Value::Str(s) => Some(s.clone()),
      Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
        Some(self.source.slice(node.span).to_string())
      }
      Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
  }

  pub(super) fn string(&mut self, node: &Node) -> Option<Spanned<String>> {
    match self.scalar_text(node) {
      Some(text) if text.contains('\0') => {
        self.errors.push(nul_byte(node));
        None
      }
      Some(text) => Some(Spanned::new(text, node.span)),
      None => {
        self.errors.push(self.type_error(node, "a string"));
        None
      }
    }
  }

  pub(super) fn boolean(&mut self, node: &Node) -> Option<Spanned<bool>> {
    match node.value {
      Value::Bool(b) => Some(Spanned::new(b, node.span)),
      _ => {
        let message =
          format!("`{}` must be `true` or `false`, found {}", self.path(), node.value.kind());
        self.errors.push(wrong_type(node, message, "expected a boolean"));
        None
      }
    }
  }

  pub(super) fn unsigned(&mut self, node: &Node, key: &str) -> Option<Spanned<u64>> {
    match node.value {
      Value::Int(i) if i >= 0 => Some(Spanned::new(i as u64, node.span)),
      Value::Int(_) => {
        let message = format!("`{}` must not be negative", self.path());
        let err = CompileError::new(ErrorKind::BadValue, message, node.span, "negative");
        self.errors.push(err);
        None
      }
      _ => {
        let err = self.type_error(node, "a whole number");
        self.errors.push(err.with_help(format!("write a number, e.g. `{key}: 2`")));
        None
      }
    }
  }

  pub(super) fn count(&mut self, node: &Node, key: &str) -> Option<Spanned<u32>> {
    let value = self.unsigned(node, key)?;
    if value.value > u64::from(u32::MAX) {
      let message = format!("`{}` is too large", self.path());
      self.errors.push(CompileError::new(ErrorKind::BadValue, message, node.span, "too large"));
      return None;
    }
    Some(narrow(value))
  }

  /// How many processes run at once (`concurrency`, `workers`): at least 1, and at most
  /// [`MAX_PARALLEL`], so that a typo like `workers: 1000000000` is an error at validate time
  /// rather than a run that starts processes until the machine gives out.
  pub(super) fn parallelism(&mut self, node: &Node, key: &str) -> Option<Spanned<u32>> {
    let value = self.unsigned(node, key)?;
    let (message, label) = match value.value {
      0 => (format!("`{}` must be at least 1", self.path()), "out of range"),
      n if n > MAX_PARALLEL as u64 => {
        (format!("`{}` must be at most {MAX_PARALLEL}, found {n}", self.path()), "above the limit")
      }
      _ => return Some(narrow(value)),
    };
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, label);
    let help = match value.value {
      0 => format!("remove `{key}` to use the default"),
      _ => format!("runner runs at most {MAX_PARALLEL} processes at once; write a smaller number"),
    };
    self.errors.push(err.with_help(help));
    None
  }

  /// A queue's capacity: 0 (unbounded) up to [`MAX_QUEUE_SIZE`].
  pub(super) fn maxsize(&mut self, node: &Node) -> Option<Spanned<u64>> {
    let value = self.unsigned(node, "maxsize")?;
    if value.value <= MAX_QUEUE_SIZE as u64 {
      return Some(value);
    }
    let message =
      format!("`{}` must be at most {MAX_QUEUE_SIZE}, found {}", self.path(), value.value);
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, "above the limit");
    self.errors.push(err.with_help(
      "a bounded queue takes room for all its items from the start; write a smaller number, or 0 for no bound",
    ));
    None
  }

  pub(super) fn version(&mut self, node: &Node) -> Option<Spanned<u64>> {
    match &node.value {
      Value::Int(1) => return Some(Spanned::new(1, node.span)),
      Value::Str(s) if s.trim_matches([' ', '\t']) == "1" => {
        return Some(Spanned::new(1, node.span));
      }
      _ => {}
    }
    let message = format!("unsupported version `{}`", self.source.slice(node.span));
    let err = CompileError::new(ErrorKind::BadVersion, message, node.span, "only version 1 exists");
    self.errors.push(err.with_help("write `version: 1` or leave the key out"));
    None
  }

  pub(super) fn duration(&mut self, node: &Node) -> Option<Spanned<DurationValue>> {
    let parsed = match &node.value {
      Value::Int(i) => duration::from_seconds(*i as f64),
      Value::Float(f) => duration::from_seconds(*f),
      Value::Str(s) => duration::parse(s),
      _ => {
        self.errors.push(self.type_error(node, "a duration"));
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

  pub(super) fn seq<'n>(
    &mut self,
    node: &'n Node,
    key: &str,
    expected: &str,
  ) -> Option<&'n [Node]> {
    match &node.value {
      Value::Seq(items) => Some(items),
      Value::Str(s) => {
        let err = self.type_error(node, expected);
        self.errors.push(err.with_help(format!("write `{key}: [{s}]`")));
        None
      }
      _ => {
        self.errors.push(self.type_error(node, expected));
        None
      }
    }
  }

  pub(super) fn strings(&mut self, node: &Node, key: &str) -> Vec<Spanned<String>> {
    let Some(items) = self.seq(node, key, "a list of strings") else {
      return Vec::new();
    };
    self.items(items, Self::string)
  }

  pub(super) fn names(&mut self, node: &Node, key: &str) -> Option<Spanned<Vec<Name>>> {
    let items = self.seq(node, key, "a list of names")?;
    let names = self.items(items, Self::string);
    Some(Spanned::new(names, node.span))
  }

  pub(super) fn argv(&mut self, node: &Node, key: &str) -> Option<Spanned<Vec<Spanned<String>>>> {
    let items = self.seq(node, key, "a list of strings")?;
    if items.is_empty() {
      let message = format!("`{}` must not be empty", self.path());
      self.errors.push(CompileError::new(ErrorKind::BadValue, message, node.span, "empty list"));
      return None;
    }
    let argv = self.items(items, Self::string);
    Some(Spanned::new(argv, node.span))
  }

  pub(super) fn command(&mut self, node: &Node) -> Option<Spanned<Command>> {
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
      Some(text) => {
        self.check_cut_command(node, &text);
        Some(Spanned::new(Command::Shell(text), node.span))
      }
      None => {
        let err = self.type_error(node, "a command string or an argv list");
        let help = "`: ` in an unquoted command makes it a mapping: quote the whole command";
        let err = if let Value::Map(_) = node.value { err.with_help(help) } else { err };
        self.errors.push(err);
        None
      }
    }
  }

  /// A callback: one command, or a list of commands (each a string or an argv list).
  pub(super) fn commands(&mut self, node: &Node) -> Vec<Spanned<Command>> {
    match &node.value {
      Value::Seq(items) => self.items(items, Self::command),
      _ => self.command(node).into_iter().collect(),
    }
  }

  pub(super) fn env(&mut self, node: &Node) -> Vec<(Name, Spanned<String>)> {
    let Some(entries) = self.map(node, &|| "`env`".into()) else {
      return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for ((key, value), earlier) in entries.iter().zip(earlier_keys(entries)) {
      if let Some(first) = earlier {
        self.errors.push(duplicate_key(key, first, "`env`"));
        continue;
      }
      if key.name.is_empty() || key.name.contains(['=', '\0']) {
        let message = format!("invalid environment variable name `{}`", key.name);
        let err = CompileError::new(ErrorKind::BadName, message, key.span, "invalid name");
        self.errors.push(err);
        continue;
      }
      self.path.push(key.name.clone());
      if let Some(value) = self.env_value(&key.name, value) {
        out.push((Spanned::new(key.name.clone(), key.span), value));
      }
      self.path.pop();
    }
    out
  }

  pub(super) fn return_when(&mut self, node: &Node) -> Option<Spanned<ReturnWhen>> {
    let text = self.string(node)?;
    if let Some(rule) = ReturnWhen::parse(&text.value) {
      return Some(Spanned::new(rule, node.span));
    }
    let upper = text.value.to_ascii_uppercase();
    let message = format!("unknown `return_when` value `{}`", text.value);
    // Mixed case names a rule, but is not one of its two spellings.
    let help = match ReturnWhen::parse(&upper) {
      Some(_) => suggest::did_you_mean(&upper),
      None => choices_help(&upper, &ReturnWhen::NAMES),
    };
    let err =
      CompileError::new(ErrorKind::BadReturnWhen, message, node.span, "not a rule").with_help(help);
    self.errors.push(err);
    None
  }

  pub(super) fn pending(&mut self, node: &Node) -> Option<Spanned<Pending>> {
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

pub(super) fn narrow(value: Spanned<u64>) -> Spanned<u32> {
  Spanned::new(u32::try_from(value.value).unwrap_or(u32::MAX), value.span)
}

fn choices_help(value: &str, choices: &[&str]) -> String {
  did_you_mean_or(value, choices, || {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    format!("choose one of {}", quoted.join(", "))
  })
}
