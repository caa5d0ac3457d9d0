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
  pub message: String,
  pub span: SourceSpan,
}

/// How many nodes aliases may copy in all: enough for any real file, and a cap on the
/// "billion laughs", where a few nested aliases would otherwise expand without bound.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses a whole document. An empty document is an empty mapping.
pub fn parse(source: &Source) -> Result<Node, SyntaxError> {
  Builder::new(source).document().map_err(|fail| fail.into_error(&source.text))
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
  text: &'a str,
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
    let text: &str = &source.text;
    let mut options = Options::default();
    options.set_emit_comments(false);
    Builder {
      source,
      text,
      parser: Parser::new_from_str_with_options(text, options),
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
    let invalid =
      || Fail::new(format!("invalid {} value `{text}`", tag_name(self.text, tag, span)), at);
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
    let message = format!("unsupported tag `{}` on {what}", tag_name(self.text, tag, span));
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
      let name = self.text.get(at.offset()..at.offset() + at.len()).unwrap_or("*");
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

  /// The error, its span inside the text (an empty one widened to the character there) and its
  /// message ending in the line and column.
  fn into_error(self, text: &str) -> SyntaxError {
    let mut offset = self.span.offset().min(text.len());
    while !text.is_char_boundary(offset) {
      offset -= 1;
    }
    let len = match self.span.len() {
      0 => text[offset..].chars().next().map_or(0, char::len_utf8),
      len => len.min(text.len() - offset),
    };
    let (line, column) = line_col(text, offset);
    SyntaxError {
      message: format!("{} at line {line}, column {column}", self.message),
      span: SourceSpan::from((offset, len)),
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

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
  let before = &text[..offset];
  let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
  let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
  (line, before[line_start..].chars().count() + 1)
}

fn first_line(message: &str) -> String {
  let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid YAML");
  line.trim().trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parse_text(text: &str) -> Result<Node, SyntaxError> {
    parse(&Source::new("t.yaml", text))
  }

  #[test]
  fn spans_point_at_scalars_and_keys() {
    let text = "tasks:\n  a: {run: \"echo hi\", needs: [b]}\n";
    let node = parse_text(text).unwrap();
    let Value::Map(top) = &node.value else { panic!("not a map") };
    let (key, tasks) = &top[0];
    assert_eq!(&text[key.span.offset()..key.span.offset() + key.span.len()], "tasks");
    let Value::Map(tasks) = &tasks.value else { panic!() };
    let Value::Map(a) = &tasks[0].1.value else { panic!() };
    let run = &a[0].1;
    assert_eq!(run.value, Value::Str("echo hi".into()));
    assert_eq!(&text[run.span.offset()..run.span.offset() + run.span.len()], "\"echo hi\"");
  }

  #[test]
  fn duplicate_keys_reach_the_decoder() {
    let node = parse_text("a: 1\na: 2\n").unwrap();
    let Value::Map(entries) = node.value else { panic!() };
    assert_eq!(entries.len(), 2);
  }

  #[test]
  fn y_and_no_are_strings() {
    let node = parse_text("[y, no, true]").unwrap();
    let Value::Seq(items) = node.value else { panic!() };
    assert_eq!(items[0].value, Value::Str("y".into()));
    assert_eq!(items[1].value, Value::Str("no".into()));
    assert_eq!(items[2].value, Value::Bool(true));
  }

  #[test]
  fn syntax_errors_have_a_span_inside_the_text() {
    let text = "tasks:\n  a: {run: x\n  b: [\n";
    let err = parse_text(text).unwrap_err();
    assert!(err.span.offset() + err.span.len() <= text.len());
    assert!(!err.message.is_empty());
  }

  #[test]
  fn empty_document_is_an_empty_map() {
    assert_eq!(parse_text("").unwrap().value, Value::Map(vec![]));
    assert_eq!(parse_text("# just a comment\n").unwrap().value, Value::Map(vec![]));
  }

  fn text_at(text: &str, span: SourceSpan) -> &str {
    &text[span.offset()..span.offset() + span.len()]
  }

  fn entries(node: &Node) -> &[(Key, Node)] {
    match &node.value {
      Value::Map(entries) => entries,
      other => panic!("not a mapping: {other:?}"),
    }
  }

  fn items(node: &Node) -> &[Node] {
    match &node.value {
      Value::Seq(items) => items,
      other => panic!("not a list: {other:?}"),
    }
  }

  fn value_of(text: &str) -> Value {
    parse_text(text).unwrap().value
  }

  /// The value of `text` as the only item of a flow list.
  fn first_item(text: &str) -> Value {
    let node = parse_text(&format!("[{text}]")).unwrap();
    items(&node)[0].value.clone()
  }

  /// A node's values without spans, as `{key: [1, "s"]}`.
  fn shape(node: &Node) -> String {
    match &node.value {
      Value::Seq(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(", ")),
      Value::Map(entries) => {
        let entries: Vec<String> =
          entries.iter().map(|(k, v)| format!("{}: {}", k.name, shape(v))).collect();
        format!("{{{}}}", entries.join(", "))
      }
      Value::Str(s) => format!("{s:?}"),
      Value::Int(i) => i.to_string(),
      other => format!("{other:?}"),
    }
  }

  #[test]
  fn plain_scalars_resolve_by_the_core_schema() {
    let cases = [
      ("~", Value::Null),
      ("Null", Value::Null),
      ("NULL", Value::Null),
      ("True", Value::Bool(true)),
      ("FALSE", Value::Bool(false)),
      ("0", Value::Int(0)),
      ("-17", Value::Int(-17)),
      ("+3", Value::Int(3)),
      ("012", Value::Int(12)),
      ("0x1f", Value::Int(31)),
      ("-0x10", Value::Int(-16)),
      ("0o17", Value::Int(15)),
      ("0b101", Value::Int(5)),
      ("1_000", Value::Int(1000)),
      ("-9223372036854775808", Value::Int(i64::MIN)),
      ("1.5", Value::Float(1.5)),
      ("-.5", Value::Float(-0.5)),
      ("1.", Value::Float(1.0)),
      ("1e3", Value::Float(1000.0)),
      ("2.5E-1", Value::Float(0.25)),
      (".inf", Value::Float(f64::INFINITY)),
      ("-.Inf", Value::Float(f64::NEG_INFINITY)),
    ];
    for (text, expected) in cases {
      assert_eq!(first_item(text), expected, "{text}");
    }
    assert!(matches!(first_item(".NaN"), Value::Float(f) if f.is_nan()));
    let strings = [
      "nUll",
      "tRue",
      "yes",
      "off",
      "0x",
      "0O17",
      "1__0",
      "_1",
      "1_",
      "1_0.5",
      "1e",
      ".",
      "-.",
      "+.nan",
      ".nAn",
      "inf",
      "1.2.3",
      "12:30",
      "2001-12-14",
      "0x1.8p1",
      "1 2",
    ];
    for text in strings {
      assert_eq!(first_item(text), Value::Str(text.into()), "{text}");
    }
  }

  #[test]
  fn integers_beyond_64_bits_are_errors_at_the_number() {
    let text = "a: 9223372036854775808\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "integer out of range at line 1, column 4");
    assert_eq!(text_at(text, err.span), "9223372036854775808");
  }

  #[test]
  fn quoted_and_block_scalars_are_strings_spanned_with_their_quotes() {
    let text = "a: \"1\"\nb: 'true'\nc: |\n  line\nd: >-\n  folded\n  text\ne: plain\n  more\n";
    let node = parse_text(text).unwrap();
    let got: Vec<(&str, &Value, &str)> = entries(&node)
      .iter()
      .map(|(k, v)| (k.name.as_str(), &v.value, text_at(text, v.span)))
      .collect();
    assert_eq!(
      got,
      [
        ("a", &Value::Str("1".into()), "\"1\""),
        ("b", &Value::Str("true".into()), "'true'"),
        ("c", &Value::Str("line\n".into()), "line\n"),
        ("d", &Value::Str("folded text".into()), "folded\n  text\n"),
        ("e", &Value::Str("plain more".into()), "plain\n  more"),
      ]
    );
  }

  #[test]
  fn flow_collections_span_their_opening_bracket_and_block_ones_start_empty() {
    let text = "list:\n  - a\n  - [b, {c: d}]\n";
    let root = parse_text(text).unwrap();
    assert_eq!(root.span, SourceSpan::from((0, 0)));
    let list = &entries(&root)[0].1;
    assert_eq!(list.span, SourceSpan::from((8, 0)));
    let inner = &items(list)[1];
    assert_eq!(text_at(text, inner.span), "[");
    assert_eq!(shape(inner), r#"["b", {c: "d"}]"#);
    assert_eq!(text_at(text, items(inner)[1].span), "{");
  }

  #[test]
  fn keys_are_text_and_collections_cannot_be_keys() {
    let node = parse_text("1: a\ntrue: b\n~: c\n\"2\": d\n").unwrap();
    let names: Vec<&str> = entries(&node).iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(names, ["1", "true", "", "2"]);
    let text = "? [a, b]\n: value\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "a mapping key must be a plain string at line 1, column 3");
    assert_eq!(text_at(text, err.span), "[");
  }

  #[test]
  fn duplicate_keys_keep_both_places() {
    let text = "a: 1\nb: 2\na: 3\n";
    let node = parse_text(text).unwrap();
    let spans: Vec<usize> = entries(&node).iter().map(|(k, _)| k.span.offset()).collect();
    assert_eq!(spans, [0, 5, 10]);
  }

  #[test]
  fn an_alias_copies_its_anchor_spanned_at_the_alias() {
    let text = "a: &x {k: [1, 2]}\nb: *x\nc: &s 7\nd: *s\n";
    let node = parse_text(text).unwrap();
    assert_eq!(shape(&node), "{a: {k: [1, 2]}, b: {k: [1, 2]}, c: 7, d: 7}");
    let e = entries(&node);
    let copy = &e[1].1;
    assert_eq!(text_at(text, copy.span), "*x");
    let (key, list) = &entries(copy)[0];
    assert_eq!(text_at(text, key.span), "*x");
    assert!(items(list).iter().all(|n| text_at(text, n.span) == "*x"));
    assert_eq!(text_at(text, e[0].1.span), "{");
  }

  #[test]
  fn an_alias_can_name_a_key() {
    let node = parse_text("x: &k key\n*k : 2\n").unwrap();
    assert_eq!(shape(&node), r#"{x: "key", key: 2}"#);
  }

  #[test]
  fn alias_errors_point_at_the_alias() {
    let text = "a: &a\n  b: *a\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "alias `*a` refers to the node that contains it at line 2, column 6");
    assert_eq!(text_at(text, err.span), "*a");
    let text = "a: *nope\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "alias references unknown anchor `nope` at line 1, column 4");
    assert_eq!(text_at(text, err.span), "*nope");
  }

  #[test]
  fn alias_expansion_is_capped() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g"];
    for pair in names.windows(2) {
      let alias = format!("*{}", pair[0]);
      let list = [alias.as_str(); 10].join(", ");
      text += &format!("{0}: &{0} [{list}]\n", pair[1]);
    }
    let err = parse_text(&text).unwrap_err();
    assert!(
      err.message.starts_with("aliases expand to more than 1000000 nodes"),
      "{}",
      err.message
    );
    assert!(text_at(&text, err.span).starts_with('*'));
  }

  #[test]
  fn merge_keys_fold_mappings_in_with_explicit_keys_winning() {
    let text = "\
base: &b {x: 1, y: 2}
other: &o {x: 9, z: 5}
one:
  y: 3
  <<: *b
list:
  <<: [*b, *o]
  w: 0
inline:
  <<: {p: 1}
quoted:
  \"<<\": {p: 1}
";
    let node = parse_text(text).unwrap();
    let e = entries(&node);
    assert_eq!(shape(&e[2].1), "{y: 3, x: 1}");
    assert_eq!(shape(&e[3].1), "{w: 0, x: 1, y: 2, z: 5}");
    let (key, value) = &entries(&e[4].1)[0];
    assert_eq!((text_at(text, key.span), text_at(text, value.span)), ("p", "1"));
    assert_eq!(entries(&e[5].1)[0].0.name, "<<");
  }

  #[test]
  fn a_merge_value_must_be_mappings() {
    let text = "a: &s 1\nm:\n  <<: *s\n";
    let err = parse_text(text).unwrap_err();
    assert!(err.message.starts_with("YAML merge value must be mapping or sequence of mappings"));
    assert_eq!(text_at(text, err.span), "*s");
    let text = "m:\n  <<: [{a: 1}, 2]\n";
    assert_eq!(text_at(text, parse_text(text).unwrap_err().span), "2");
  }

  #[test]
  fn core_tags_convert_scalars_and_other_tags_are_ignored() {
    let text = "[!!str 1, !!int \"3\", !!float 1, !!bool \"true\", !!null x, ! 5, !x 5, !str ~]";
    let node = parse_text(text).unwrap();
    let values: Vec<&Value> = items(&node).iter().map(|n| &n.value).collect();
    assert_eq!(
      values,
      [
        &Value::Str("1".into()),
        &Value::Int(3),
        &Value::Float(1.0),
        &Value::Bool(true),
        &Value::Null,
        &Value::Str("5".into()),
        &Value::Int(5),
        &Value::Str("~".into()),
      ]
    );
    let text = "a: !!int x\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "invalid !!int value `x` at line 1, column 10");
    let text = "a: !!str [1]\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "unsupported tag `!!str` on a list at line 1, column 4");
    assert_eq!(text_at(text, err.span), "!!str");
  }

  #[test]
  fn a_second_document_is_rejected_at_its_start() {
    let text = "a: 1\n---\nb: 2\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(
      err.message,
      "expected a single YAML document, found a second one at line 2, column 1"
    );
    assert_eq!(text_at(text, err.span), "---");
    assert_eq!(
      shape(
        &parse_text(
          "---
a: 1
...
"
        )
        .unwrap()
      ),
      "{a: 1}"
    );
  }

  #[test]
  fn syntax_errors_end_with_the_place_and_span_one_character() {
    let text = "tasks:\n  a: [x, y\n";
    let err = parse_text(text).unwrap_err();
    assert_eq!(err.message, "unclosed bracket '[' at line 2, column 6");
    assert_eq!(text_at(text, err.span), "[");
    let text = "é: \"ü\n";
    let err = parse_text(text).unwrap_err();
    assert!(!err.message.ends_with('.'));
    assert!(err.span.offset() + err.span.len() <= text.len());
    assert!(text.is_char_boundary(err.span.offset() + err.span.len()));
  }

  #[test]
  fn a_null_document_is_an_empty_map_but_other_scalars_stay() {
    for text in ["~", "null", "---\n", "--- # nothing\n...\n"] {
      assert_eq!(value_of(text), Value::Map(vec![]), "{text:?}");
    }
    assert_eq!(value_of("just text"), Value::Str("just text".into()));
    assert_eq!(value_of("\"\""), Value::Str(String::new()));
  }
}
