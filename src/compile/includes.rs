//! Reading a job file and every file it includes, and decoding each of them.
//!
//! All files share one span space: each file's bytes start at its own `base` offset, so that a
//! span alone tells which file it points into, and compile, which sees one merged file, reports
//! every error at the right place of the right file (`files::Files` splits them back). Files are
//! read first (the YAML of each, for its `includes`), so that the text of the whole span space is
//! laid out once before anything is decoded.
//!
//! An include cycle, a file that cannot be read and too many files are errors at the include's
//! value, in the file that holds it.

use super::files::{Files, Unit};
use super::syntax;
use crate::compile_error::{CompileError, ErrorKind};
use crate::decode;
use crate::names;
use crate::schema::JobFile;
use crate::source::Source;
use crate::yaml::{self, Node, Value};
use miette::SourceSpan;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many files one job may read, the root among them: a file that includes another twice,
/// which includes the next twice, and so on, would otherwise read 2^n files.
const MAX_FILES: usize = 256;

/// Every file of the job, decoded, with the errors of reading and decoding them.
pub(super) struct Loaded {
  pub files: Files,
  /// The decoded file of each unit, by unit; `None` when its YAML did not parse.
  pub decoded: Vec<Option<JobFile>>,
}

/// Reads the root's includes, recursively, then decodes every file.
pub(super) fn load(root: &Source, errors: &mut Vec<CompileError>) -> Loaded {
  let mut loader = Loader { units: Vec::new(), trees: Vec::new(), next_base: 0, errors };
  loader.add(root.clone(), None);
  loader.visit(0, &mut vec![0]);
  let Loader { units, trees, .. } = loader;
  let mut text =
    String::with_capacity(units.last().map_or(0, |u| u.base + u.source.text.len() + 1));
  for unit in &units {
    text.push_str(&unit.source.text);
    text.push('\n');
  }
  let text: Arc<str> = text.into();
  let mut decoded = Vec::with_capacity(units.len());
  for (unit, tree) in units.iter().zip(trees) {
    decoded.push(tree.map(|mut tree| {
      shift(&mut tree, unit.base);
      let (file, found) = decode::decode(&Source::new(&unit.source.path, text.clone()), &tree);
      errors.extend(found);
      file
    }));
  }
  Loaded { files: Files { units }, decoded }
}

struct Loader<'e> {
  units: Vec<Unit>,
  /// The YAML of each unit, with spans inside its own text.
  trees: Vec<Option<Node>>,
  next_base: usize,
  errors: &'e mut Vec<CompileError>,
}

impl Loader<'_> {
  /// Adds a file as the next unit, parsing its YAML; `parent` is the including unit, the
  /// include's namespace and the path as written there.
  fn add(&mut self, source: Source, parent: Option<(usize, &str, &str)>) -> usize {
    let base = self.next_base;
    self.next_base += source.text.len() + 1;
    let tree = match yaml::parse(&source) {
      Ok(tree) => Some(tree),
      Err(err) => {
        self.errors.push(shifted(syntax::syntax_error(&source, &err), base));
        None
      }
    };
    let (prefix, dir) = match parent {
      None => (String::new(), PathBuf::new()),
      Some((parent, name, written)) => {
        let parent = &self.units[parent];
        let folder = Path::new(written).parent().unwrap_or(Path::new(""));
        (format!("{}{name}:", parent.prefix), parent.dir.join(folder))
      }
    };
    let canonical = std::fs::canonicalize(&source.path).ok();
    self.units.push(Unit { source, base, prefix, dir, canonical, parent: parent.map(|p| p.0) });
    self.trees.push(tree);
    self.units.len() - 1
  }

  /// Reads the files `unit` includes, and theirs; `chain` is the units being included, from the
  /// root to `unit`.
  fn visit(&mut self, unit: usize, chain: &mut Vec<usize>) {
    let found = includes(&self.units[unit].source, self.trees[unit].as_ref());
    for (name, written, span) in found {
      let at = shift_span(span, self.units[unit].base);
      let full = file_beside(&self.units[unit].source.path, &written);
      if self.units.len() >= MAX_FILES {
        let message = format!("more than {MAX_FILES} files are included in all");
        let err = CompileError::new(ErrorKind::BadInclude, message, at, "one too many")
          .with_help("a file included twice is read twice; include shared files once");
        self.errors.push(err);
        return;
      }
      if let Some(err) = self.cycle(chain, &full, at) {
        self.errors.push(err);
        continue;
      }
      match Source::read(&full) {
        Ok(source) => {
          let child = self.add(source, Some((unit, &name, &written)));
          chain.push(child);
          self.visit(child, chain);
          chain.pop();
        }
        Err(err) => {
          let message = format!("cannot read included file `{}`: {err}", full.display());
          let help =
            format!("the path is relative to the folder of `{}`", self.units[unit].source.name());
          let err = CompileError::new(ErrorKind::BadInclude, message, at, "included here");
          self.errors.push(err.with_help(help));
        }
      }
    }
  }

  /// An include of a file that is already being included, on the way from the root to here.
  fn cycle(&self, chain: &[usize], path: &Path, at: SourceSpan) -> Option<CompileError> {
    let canonical = std::fs::canonicalize(path).ok()?;
    let first = chain.iter().position(|&u| self.units[u].canonical.as_ref() == Some(&canonical))?;
    let mut names: Vec<String> =
      chain[first..].iter().map(|&u| format!("`{}`", self.units[u].source.name())).collect();
    names.push(format!("`{}`", self.units[chain[first]].source.name()));
    let message = format!("include cycle: {}", names.join(" → "));
    let label = "included again here";
    let err = CompileError::new(ErrorKind::IncludeCycle, message, at, label).with_help(
      "a file cannot include itself, directly or through other files; remove this include",
    );
    Some(err)
  }
}

/// The namespaces of a file's `includes` that name a file, each once, with the path and its
/// place; what is not well-formed is left to the decoder, which reports it.
fn includes(source: &Source, tree: Option<&Node>) -> Vec<(String, String, SourceSpan)> {
  let Some(Value::Map(entries)) = tree.map(|t| &t.value) else { return Vec::new() };
  let Some((_, node)) = entries.iter().find(|(k, _)| k.name == "includes") else {
    return Vec::new();
  };
  let Value::Map(entries) = &node.value else { return Vec::new() };
  let mut out: Vec<(String, String, SourceSpan)> = Vec::new();
  for (key, value) in entries {
    // Any scalar is read as text, as the decoder reads it (`2024: 2024.yaml`, or `v: 1`).
    let path = match &value.value {
      Value::Str(path) => path.clone(),
      Value::Int(_) | Value::Float(_) | Value::Bool(_) => source.slice(value.span).to_string(),
      _ => continue,
    };
    let fresh = !out.iter().any(|(name, ..)| *name == key.name);
    if names::is_valid(&key.name) && !path.is_empty() && !path.contains('\0') && fresh {
      out.push((key.name.clone(), path, value.span));
    }
  }
  out
}

/// The path of a file written in the file at `including`: relative to its folder.
fn file_beside(including: &Path, written: &str) -> PathBuf {
  match including.parent() {
    Some(dir) if !dir.as_os_str().is_empty() => dir.join(written),
    _ => PathBuf::from(written),
  }
}

fn shift_span(span: SourceSpan, base: usize) -> SourceSpan {
  SourceSpan::from((span.offset() + base, span.len()))
}

/// An error made with the spans of one file's own text, moved to its place in the job.
pub(super) fn shifted(mut err: CompileError, base: usize) -> CompileError {
  for (span, _) in &mut err.labels {
    *span = shift_span(*span, base);
  }
  err
}

/// Moves every span of a tree by `base`.
fn shift(node: &mut Node, base: usize) {
  node.span = shift_span(node.span, base);
  match &mut node.value {
    Value::Seq(items) => items.iter_mut().for_each(|item| shift(item, base)),
    Value::Map(entries) => {
      for (key, value) in entries {
        key.span = shift_span(key.span, base);
        shift(value, base);
      }
    }
    _ => {}
  }
}
