//! The one module that knows the YAML crate: text in, a tree of spanned nodes out.
//!
//! Everything after this works on [`Node`]; swapping the YAML parser touches only this file.
//! It drives the crate's event parser directly and builds the tree from the events and their
//! byte spans, owning the YAML rules above the events:
//! - plain scalars resolve by the YAML 1.2 core schema (`y`/`no` stay strings), plus `0b`
//!   integers and `_` between digits; quoted and block scalars are strings; the core tags
//!   `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` (or `!str`...) convert, others are ignored;
//! - an alias copies its anchored node, spanned at the alias, up to `MAX_ALIAS_NODES` in all;
//! - a merge key `<<` folds a mapping (or a list of them) in, explicit keys winning;
//! - a file holds one document; an empty one is an empty mapping.
//!
//! Duplicate keys are passed through (not rejected here) so that the decoder can report each
//! of them, with both places, next to every other error in the file.

use crate::source::Source;
use miette::SourceSpan;
use serde_saphyr::granit_parser::{
  ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, Span, StrInput, Tag,
};
use std::borrow::Cow;
use std::collections::HashSet;

/// A YAML value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
  pub span: SourceSpan,
  pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
  Null,
  Bool(bool),
  Int(i64),
  Float(f64),
  Str(String),
  Seq(Vec<Node>),
  Map(Vec<(Key, Node)>),
}

/// A mapping key. Keys are always read as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
  pub span: SourceSpan,
  pub name: String,
}

/// A syntax error with the place it was found.
#[derive(Debug, Clone)]
pub struct SyntaxError {
  /// The parser's message, ending in ` at line L, column C`.
  pub message: String,
  /// Inside the text, over whole characters.
  pub span: SourceSpan,
}

/// How many nodes aliases may copy in all: enough for any real file, and a cap on the
/// "billion laughs", where a few nested aliases would otherwise expand without bound.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses a whole document. An empty document is an empty mapping.
pub fn parse(source: &Source) -> Result<Node, SyntaxError> {
  Builder::new(source).document().map_err(|fail| fail.into_error(source))
}

impl Value {
  /// What the value is, as a user would name it in an error message.
  pub fn kind(&self) -> &'static str {
    match self {
      Value::Null => "null",
      Value::Bool(_) => "a boolean",
      Value::Int(_) => "an integer",
      Value::Float(_) => "a number",
      Value::Str(_) => "a string",
      Value::Seq(_) => "a list",
      Value::Map(_) => "a mapping",
    }
  }
}

/// Builds the tree bottom-up from parser events: open collections wait on `frames`, and their
/// finished children on the shared `items` and `entries` stacks, so that each list and mapping
/// is allocated once, at its exact size, when it closes.
struct Builder<'a> {
  source: &'a Source,
  parser: Parser<'a, StrInput<'a>>,
  frames: Vec<Frame>,
  items: Vec<Node>,
  entries: Vec<(Key, Node)>,
  /// Anchored nodes by the parser's anchor id; missing while the node is still open.
  anchors: Vec<Option<Anchored>>,
  alias_nodes: usize,
}

/// An open list or mapping.
struct Frame {
  span: SourceSpan,
  anchor: usize,
  /// Where this collection's children start on `items` or `entries`.
  start: usize,
  next: Next,
  /// Values of `<<` keys, merged in when the mapping closes.
  merges: Vec<Node>,
}

/// What an open collection takes next.
enum Next {
  Item,
  Key,
  Value(Key),
  Merge,
}

struct Anchored {
  node: Node,
  size: usize,
}

impl<'a> Builder<'a> {
  fn new(source: &'a Source) -> Self {
    let mut options = Options::default();
    options.set_emit_comments(false);
    Builder {
      source,
      parser: Parser::new_from_str_with_options(&source.text, options),
      frames: Vec::new(),
      items: Vec::new(),
      entries: Vec::new(),
      anchors: Vec::new(),
      alias_nodes: 0,
    }
  }

  /// Reads the whole stream: one document, or none.
  fn document(mut self) -> Result<Node, Fail> {
    let mut root = None;
    let mut documents = 0;
    while let Some(next) = self.parser.next_event() {
      let (event, span) = next.map_err(|err| Fail::scan(self.source, &err))?;
      if let Event::DocumentStart(..) = event {
        documents += 1;
        if documents > 1 {
          let message = "expected a single YAML document, found a second one";
          return Err(Fail::new(message, to_span(&span)));
        }
      }
      if let Some(node) = self.event(event, &span)? {
        root = Some(node);
      }
    }
    Ok(match root {
      Some(node) if !matches!(node.value, Value::Null) => node,
      _ => Node { span: SourceSpan::from((0, 0)), value: Value::Map(Vec::new()) },
    })
  }

  /// Handles one event; returns the root node once it is complete.
  fn event(&mut self, event: Event<'a>, span: &Span) -> Result<Option<Node>, Fail> {
    let (node, merge_key) = match event {
      Event::Scalar(text, style, anchor, tag) => {
        let merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
        let node = self.scalar(text, style, tag.as_deref(), span)?;
        self.anchor(anchor, &node);
        (node, merge_key)
      }
      Event::SequenceStart(_, anchor, tag) => {
        self.open(Next::Item, anchor, tag.as_deref(), span)?;
        return Ok(None);
      }
      Event::MappingStart(_, anchor, tag) => {
        self.open(Next::Key, anchor, tag.as_deref(), span)?;
        return Ok(None);
      }
      Event::SequenceEnd | Event::MappingEnd => (self.close()?, false),
      Event::Alias(id) => (self.alias(id, span)?, false),
      _ => return Ok(None),
    };
    self.deliver(node, merge_key)
  }

  fn open(
    &mut self,
    next: Next,
    anchor: usize,
    tag: Option<&Tag>,
    span: &Span,
  ) -> Result<(), Fail> {
    let (core, what, start) = match next {
      Next::Item => ("seq", "a list", self.items.len()),
      _ => ("map", "a mapping", self.entries.len()),
    };
    if let Some(tag) = tag.filter(|tag| core_type(tag).is_some_and(|t| t != core)) {
      return Err(self.unsupported_tag(tag, span, what));
    }
    self.frames.push(Frame { span: to_span(span), anchor, start, next, merges: Vec::new() });
    Ok(())
  }

  fn close(&mut self) -> Result<Node, Fail> {
    let frame = self.frames.pop().expect("the parser balances collections");
    let value = match frame.next {
      Next::Item => Value::Seq(split_off_exact(&mut self.items, frame.start)),
      _ => Value::Map(self.close_map(frame.start, frame.merges)?),
    };
    let node = Node { span: frame.span, value };
    self.anchor(frame.anchor, &node);
    Ok(node)
  }

  /// Hands a finished node to the open collection, or returns it when it is the root.
  fn deliver(&mut self, node: Node, merge_key: bool) -> Result<Option<Node>, Fail> {
    let Some(frame) = self.frames.last_mut() else {
      return Ok(Some(node));
    };
    match std::mem::replace(&mut frame.next, Next::Key) {
      Next::Item => {
        frame.next = Next::Item;
        self.items.push(node);
      }
      Next::Key if merge_key => frame.next = Next::Merge,
      Next::Key => frame.next = Next::Value(key(node)?),
      Next::Value(key) => self.entries.push((key, node)),
      Next::Merge => frame.merges.push(node),
    }
    Ok(None)
  }

  /// The mapping's own entries, then those merged in under keys it does not have yet.
  fn close_map(&mut self, start: usize, merges: Vec<Node>) -> Result<Vec<(Key, Node)>, Fail> {
    let mut entries = split_off_exact(&mut self.entries, start);
    if merges.is_empty() {
      return Ok(entries);
    }
    let mut seen: HashSet<String> = entries.iter().map(|(k, _)| k.name.clone()).collect();
    let mut merged = Vec::new();
    for source in merges {
      for (key, node) in merge_entries(source)? {
        if seen.insert(key.name.clone()) {
          merged.push((key, node));
        }
      }
    }
    entries.reserve_exact(merged.len());
    entries.extend(merged);
    Ok(entries)
  }

  fn scalar(
    &self,
    text: Cow<'a, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
  ) -> Result<Node, Fail> {
    let at = to_span(span);
    let value = match tag {
      None if style == ScalarStyle::Plain => resolve_plain(text).map_err(|m| Fail::new(m, at))?,
      None => Value::Str(text.into_owned()),
      Some(tag) => self.tagged(text, style, tag, span)?,
    };
    Ok(Node { span: at, value })
  }

  /// A scalar with an explicit tag: the core tags convert (quoted text too, blanks around it
  /// ignored), `!` keeps text, others are ignored.
  fn tagged(
    &self,
    text: Cow<'a, str>,
    style: ScalarStyle,
    tag: &Tag,
    span: &Span,
  ) -> Result<Value, Fail> {
    let at = to_span(span);
    let invalid = || {
      Fail::new(format!("invalid {} value `{text}`", tag_name(&self.source.text, tag, span)), at)
    };
    match core_type(tag) {
      Some("str") => Ok(Value::Str(text.into_owned())),
      Some("null") => Ok(Value::Null),
      Some("bool") => boolean(text.trim()).map(Value::Bool).ok_or_else(invalid),
      Some("int") => match integer(text.trim()) {
        Some(int) => int.map(Value::Int).map_err(|m| Fail::new(m, at)),
        None => Err(invalid()),
      },
      Some("float") => float(text.trim()).map(Value::Float).ok_or_else(invalid),
      Some(_) => Err(self.unsupported_tag(tag, span, "a scalar")),
      None if tag.handle().is_empty() && tag.suffix() == "!" => Ok(Value::Str(text.into_owned())),
      None => self.scalar(text, style, None, span).map(|node| node.value),
    }
  }

  fn unsupported_tag(&self, tag: &Tag, span: &Span, what: &str) -> Fail {
    let at = span.tag_span().map_or_else(|| to_span(span), |t| to_span(&t));
    let message = format!("unsupported tag `{}` on {what}", tag_name(&self.source.text, tag, span));
    Fail::new(message, at)
  }

  /// Keeps a copy of an anchored node for the aliases that follow.
  fn anchor(&mut self, id: usize, node: &Node) {
    if id != 0 {
      if self.anchors.len() <= id {
        self.anchors.resize_with(id + 1, || None);
      }
      self.anchors[id] = Some(Anchored { node: node.clone(), size: size(node) });
    }
  }

  /// A copy of the anchored node, every part of it spanned at the alias.
  fn alias(&mut self, id: usize, span: &Span) -> Result<Node, Fail> {
    let at = to_span(span);
    let Some(Some(anchored)) = self.anchors.get(id) else {
      let name = self.source.text.get(at.offset()..at.offset() + at.len()).unwrap_or("*");
      return Err(Fail::new(format!("alias `{name}` refers to the node that contains it"), at));
    };
    self.alias_nodes += anchored.size;
    if self.alias_nodes > MAX_ALIAS_NODES {
      let message = format!("aliases expand to more than {MAX_ALIAS_NODES} nodes");
      return Err(Fail::new(message, at));
    }
    Ok(respan(&anchored.node, at))
  }
}

/// The children from `start` on, in a vector of their exact size. A large collection that fills
/// the whole stack takes its buffer, shrunk in place, rather than a copy.
fn split_off_exact<T>(stack: &mut Vec<T>, start: usize) -> Vec<T> {
  if start == 0 && stack.len() >= 4096 {
    let mut all = std::mem::take(stack);
    all.shrink_to_fit();
    all
  } else {
    stack.drain(start..).collect()
  }
}

/// The entries a `<<` value brings in: a mapping's, each mapping's of a list, or none for null.
fn merge_entries(source: Node) -> Result<Vec<(Key, Node)>, Fail> {
  let merge_error =
    |span| Fail::new("YAML merge value must be mapping or sequence of mappings", span);
  match source.value {
    Value::Map(entries) => Ok(entries),
    Value::Null => Ok(Vec::new()),
    Value::Seq(items) => {
      let mut all = Vec::new();
      for item in items {
        match item.value {
          Value::Map(entries) => all.extend(entries),
          _ => return Err(merge_error(item.span)),
        }
      }
      Ok(all)
    }
    _ => Err(merge_error(source.span)),
  }
}

/// A mapping key: a scalar, read as text.
fn key(node: Node) -> Result<Key, Fail> {
  let name = match node.value {
    Value::Str(s) => s,
    Value::Null => String::new(),
    Value::Bool(b) => b.to_string(),
    Value::Int(i) => i.to_string(),
    Value::Float(f) => f.to_string(),
    Value::Seq(_) | Value::Map(_) => {
      return Err(Fail::new("a mapping key must be a plain string", node.span));
    }
  };
  Ok(Key { span: node.span, name })
}

/// The number of nodes in a tree.
fn size(node: &Node) -> usize {
  1 + match &node.value {
    Value::Seq(items) => items.iter().map(size).sum(),
    Value::Map(entries) => entries.iter().map(|(_, n)| size(n)).sum(),
    _ => 0,
  }
}

/// A deep copy of a node with every node and key spanned at `span`.
fn respan(node: &Node, span: SourceSpan) -> Node {
  let value = match &node.value {
    Value::Seq(items) => Value::Seq(items.iter().map(|n| respan(n, span)).collect()),
    Value::Map(entries) => Value::Map(
      entries
        .iter()
        .map(|(k, n)| {
          let key = Key { span, name: k.name.clone() };
          (key, respan(n, span))
        })
        .collect(),
    ),
    scalar => scalar.clone(),
  };
  Node { span, value }
}

/// A plain scalar by the YAML 1.2 core schema: null, boolean, integer, float, else a string.
fn resolve_plain(text: Cow<'_, str>) -> Result<Value, &'static str> {
  match &*text {
    "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
    _ => {}
  }
  if let Some(b) = boolean(&text) {
    return Ok(Value::Bool(b));
  }
  let first = text.as_bytes()[0];
  if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
    if let Some(int) = integer(&text) {
      return int.map(Value::Int);
    }
    if let Some(f) = float(&text) {
      return Ok(Value::Float(f));
    }
  }
  Ok(Value::Str(text.into_owned()))
}

fn boolean(text: &str) -> Option<bool> {
  match text {
    "true" | "True" | "TRUE" => Some(true),
    "false" | "False" | "FALSE" => Some(false),
    _ => None,
  }
}

/// An integer: decimal, `0x` hex, `0o` octal or `0b` binary, signed, with single `_` between
/// digits. `None` when the text is not one; an error when it does not fit 64 bits.
fn integer(text: &str) -> Option<Result<i64, &'static str>> {
  let (negative, unsigned) = match text.as_bytes().first()? {
    b'-' => (true, &text[1..]),
    b'+' => (false, &text[1..]),
    _ => (false, text),
  };
  let (radix, digits) = match unsigned.get(..2) {
    Some("0x") => (16, &unsigned[2..]),
    Some("0o") => (8, &unsigned[2..]),
    Some("0b") => (2, &unsigned[2..]),
    _ => (10, unsigned),
  };
  let magnitude = magnitude(digits, radix)?;
  let value = magnitude
    .and_then(|m| if negative { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() });
  Some(value.ok_or("integer out of range"))
}

/// The value of digits in `radix`; `None` when they are not digits, `Some(None)` on overflow.
fn magnitude(digits: &str, radix: u32) -> Option<Option<u64>> {
  let mut value = Some(0u64);
  let mut previous_digit = false;
  for c in digits.chars() {
    if c == '_' && previous_digit {
      previous_digit = false;
      continue;
    }
    let d = c.to_digit(radix)?;
    value = value.and_then(|v| v.checked_mul(u64::from(radix))?.checked_add(u64::from(d)));
    previous_digit = true;
  }
  previous_digit.then_some(value)
}

/// A float by the core schema: `1.5`, `.5`, `1.`, `1e3`, `-.inf`, `.nan`, or plain digits.
fn float(text: &str) -> Option<f64> {
  let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
  match unsigned {
    ".inf" | ".Inf" | ".INF" if text.starts_with('-') => Some(f64::NEG_INFINITY),
    ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
    ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => Some(f64::NAN),
    _ if is_decimal(unsigned) => text.parse().ok(),
    _ => None,
  }
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_decimal(text: &str) -> bool {
  let bytes = text.as_bytes();
  let digits_from =
    |i: usize| bytes[i.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
  let whole = digits_from(0);
  let mut i = whole;
  if bytes.get(i) == Some(&b'.') {
    let fraction = digits_from(i + 1);
    if whole == 0 && fraction == 0 {
      return false;
    }
    i += 1 + fraction;
  } else if whole == 0 {
    return false;
  }
  if matches!(bytes.get(i), Some(b'e' | b'E')) {
    i += 1;
    if matches!(bytes.get(i), Some(b'+' | b'-')) {
      i += 1;
    }
    let exponent = digits_from(i);
    if exponent == 0 {
      return false;
    }
    i += exponent;
  }
  i == bytes.len()
}

/// The core-schema type a tag names: `!!int`, or the local `!int`, read the same way.
fn core_type(tag: &Tag) -> Option<&str> {
  const CORE_TYPES: [&str; 7] = ["bool", "float", "int", "map", "null", "seq", "str"];
  tag.core_suffix().or_else(|| {
    let suffix = tag.suffix();
    (tag.handle() == "!" && CORE_TYPES.contains(&suffix)).then_some(suffix)
  })
}

/// A tag as written, such as `!!int`.
fn tag_name(text: &str, tag: &Tag, span: &Span) -> String {
  span.tag_span().and_then(|t| t.slice(text)).map_or_else(|| tag.to_string(), str::to_owned)
}

fn to_span(span: &Span) -> SourceSpan {
  let range = span.byte_range().unwrap_or(0..0);
  SourceSpan::from((range.start, range.end.saturating_sub(range.start)))
}

/// An error before it is placed in the text.
struct Fail {
  message: String,
  span: SourceSpan,
}

impl Fail {
  fn new(message: impl Into<String>, span: SourceSpan) -> Self {
    Fail { message: message.into(), span }
  }

  /// A parser error, placed by its byte offset or else by its line and column.
  fn scan(source: &Source, err: &ScanError) -> Self {
    let text: &str = &source.text;
    let mark = err.marker();
    let offset =
      mark.byte_offset().unwrap_or_else(|| source.offset_of(mark.line(), mark.col() + 1));
    if let ErrorKind::UnknownAnchor = err.kind() {
      let name = alias_name(text, offset);
      let span = SourceSpan::from((offset, name.len() + 1));
      return Fail::new(format!("alias references unknown anchor `{name}`"), span);
    }
    Fail::new(first_line(&err.info()), SourceSpan::from((offset, 0)))
  }

  /// The error, its span inside the text and over whole characters (an empty one widened to
  /// the character there) and its message ending in the line and column.
  fn into_error(self, source: &Source) -> SyntaxError {
    let text: &str = &source.text;
    let mut start = self.span.offset().min(text.len());
    while !text.is_char_boundary(start) {
      start -= 1;
    }
    let mut end = match self.span.len() {
      0 => start + text[start..].chars().next().map_or(0, char::len_utf8),
      len => (start + len).min(text.len()),
    };
    while !text.is_char_boundary(end) {
      end += 1;
    }
    let (line, column) = source.line_col(start);
    SyntaxError {
      message: format!("{} at line {line}, column {column}", self.message),
      span: SourceSpan::from((start, end - start)),
    }
  }
}

/// The name of the alias `*name` at `offset`.
fn alias_name(text: &str, offset: usize) -> &str {
  let rest = text.get(offset..).unwrap_or("");
  let name = rest.strip_prefix('*').unwrap_or(rest);
  let end = name.find(|c: char| c.is_whitespace() || ",[]{}".contains(c)).unwrap_or(name.len());
  &name[..end]
}

fn first_line(message: &str) -> String {
  let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid YAML");
  line.trim().trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests;
