//! Reads the `dotenv` files of the job file and of its tasks, and puts their variables under
//! the `env` of the same level: the file's `dotenv` < the file's `env` < a task's `dotenv` <
//! its `env`. Paths are relative to the job file's folder, at both levels. A missing file is
//! an error at its entry unless the entry is `optional`; a malformed line is an error in that
//! file, at its line and column.

use crate::compile_error::{CompileError, ErrorKind};
use crate::dotenv;
use crate::schema::{Dotenv, JobFile, Name, Spanned};
use crate::source::{ReadError, Source};
use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};

type Vars = Vec<(Name, Spanned<String>)>;

/// Puts the variables of every `dotenv` file before the `env` they belong with.
pub(super) fn load(source: &Source, file: &mut JobFile, errors: &mut Vec<CompileError>) {
  let mut reader = Reader { source, read: HashMap::new(), errors };
  let vars = reader.all(&file.dotenv);
  prepend(&mut file.env, vars);
  for task in &mut file.tasks {
    let vars = reader.all(&task.dotenv);
    prepend(&mut task.env, vars);
  }
}

fn prepend(env: &mut Vars, mut vars: Vars) {
  if !vars.is_empty() {
    vars.append(env);
    *env = vars;
  }
}

struct Reader<'a> {
  source: &'a Source,
  /// The variables of each file read, so that a file every task lists is read once.
  read: HashMap<PathBuf, Vec<(String, String)>>,
  errors: &'a mut Vec<CompileError>,
}

impl Reader<'_> {
  fn all(&mut self, entries: &[Spanned<Dotenv>]) -> Vars {
    let mut out = Vars::new();
    for entry in entries {
      let path = self.resolve(&entry.value.path.value);
      if !self.read.contains_key(&path) {
        match self.read(&path, entry) {
          Some(vars) => self.read.insert(path.clone(), vars),
          None => continue,
        };
      }
      let named = |(k, v): &(String, String)| {
        (Spanned::new(k.clone(), entry.span), Spanned::new(v.clone(), entry.span))
      };
      out.extend(self.read[&path].iter().map(named));
    }
    out
  }

  /// A path as written, relative to the job file's folder, and shown as such.
  fn resolve(&self, path: &str) -> PathBuf {
    match self.source.path.parent() {
      Some(dir) if !dir.as_os_str().is_empty() && Path::new(path).is_relative() => dir.join(path),
      _ => PathBuf::from(path),
    }
  }

  /// The variables of one file: none for a missing optional one; `None` after an error.
  fn read(&mut self, path: &Path, entry: &Spanned<Dotenv>) -> Option<Vec<(String, String)>> {
    let span = entry.value.path.span;
    let file = match Source::read(path) {
      Ok(file) => file,
      Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
        if entry.value.optional {
          return Some(Vec::new());
        }
        let message = format!("environment file `{}` not found", path.display());
        let help = format!(
          "create it, or mark it optional: `{{path: {}, optional: true}}`; paths are relative \
           to the job file's folder",
          entry.value.path.value
        );
        let err = CompileError::new(ErrorKind::Dotenv, message, span, "no such file");
        self.errors.push(err.with_help(help));
        return None;
      }
      Err(e) => {
        let message = format!("cannot read environment file `{}`: {e}", path.display());
        self.errors.push(CompileError::new(ErrorKind::Dotenv, message, span, "cannot be read"));
        return None;
      }
    };
    let (vars, faults) = dotenv::parse(&file.text);
    if faults.is_empty() {
      return Some(vars);
    }
    let (line, column) = self.source.line_col(span.offset());
    for fault in faults {
      let help = format!(
        "{}\n(listed under `dotenv` at {}:{line}:{column})",
        fault.help,
        self.source.name()
      );
      let err = CompileError::new(ErrorKind::Dotenv, fault.message, fault.span, fault.label)
        .with_help(help)
        .in_file(file.clone());
      self.errors.push(err);
    }
    None
  }
}
