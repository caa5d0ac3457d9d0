//! The one module that knows the YAML crate: text in, a tree of spanned nodes out.
//!
//! Everything after this works on [`Node`]; swapping the YAML parser touches only this module
//! (this file, and `fail` for the parser's errors; `scalar` holds the core schema's rules and
//! `tree` what merges and aliases do to built nodes).
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
use fail::Fail;
use miette::SourceSpan;
use scalar::{boolean, float, integer, resolve_plain};
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span, StrInput, Tag};
use std::borrow::Cow;
use std::collections::HashSet;
use tree::{key, merge_entries, respan, size};

pub(crate) use scalar::quoted;

/// A YAML value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
  pub span: SourceSpan,
  pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
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
pub(crate) struct Key {
  pub span: SourceSpan,
  pub name: String,
}

/// A syntax error with the place it was found.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
  /// The parser's message, ending in ` at line L, column C`.
  pub message: String,
  /// Inside the text, over whole characters.
  pub span: SourceSpan,
}

/// How many nodes aliases may copy in all: enough for any real file, and a cap on the
/// "billion laughs", where a few nested aliases would otherwise expand without bound.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses a whole document. An empty document is an empty mapping.
pub(crate) fn parse(source: &Source) -> Result<Node, SyntaxError> {
  Builder::new(source).document().map_err(|fail| fail.into_error(source))
}

impl Value {
  /// What the value is, as a user would name it in an error message.
  pub(crate) fn kind(&self) -> &'static str {
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

mod fail;
mod scalar;
mod tree;

#[cfg(test)]
mod tests;
