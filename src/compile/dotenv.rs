//! Reads the `dotenv` files of the job file and of its tasks: the file's variables go under
//! its `env`, and each entry keeps its file's variables (shared, read once) for the task's
//! environment, under the task's `env`. Paths are relative to the job file's folder, at both levels. A missing file is
//! an error at its entry unless the entry is `optional`; a malformed line is an error in that
//! file, at its line and column.

use crate::compile_error::{CompileError, ErrorKind};
use crate::dotenv;
use crate::schema::{Dotenv, JobFile, Name, Spanned};
use crate::source::{ReadError, Source};
use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Vars = Vec<(Name, Spanned<String>)>;

/// Reads every `dotenv` file; the file-level ones' variables go before the file's `env`.
pub(super) fn load(source: &Source, file: &mut JobFile, errors: &mut Vec<CompileError>) {
  let mut reader = Reader { source, read: HashMap::new(), errors };
  reader.all(&mut file.dotenv);
  let mut vars: Vars = Vec::new();
  for entry in &file.dotenv {
    let named = |(k, v): &(String, String)| {
      (Spanned::new(k.clone(), entry.span), Spanned::new(v.clone(), entry.span))
    };
    vars.extend(entry.value.vars.iter().map(named));
  }
  if !vars.is_empty() {
    vars.append(&mut file.env);
    file.env = vars;
  }
  for task in &mut file.tasks {
    reader.all(&mut task.dotenv);
  }
}

struct Reader<'a> {
  source: &'a Source,
  /// The variables of each file read, so that a file every task lists is read once.
  read: HashMap<PathBuf, Arc<Vec<(String, String)>>>,
  errors: &'a mut Vec<CompileError>,
}

impl Reader<'_> {
  /// Fills each entry's variables.
  fn all(&mut self, entries: &mut [Spanned<Dotenv>]) {
    for entry in entries {
      let path = self.resolve(&entry.value.path.value);
      if let Some(vars) = self.read.get(&path) {
        entry.value.vars = vars.clone();
      } else if let Some(vars) = self.read(&path, entry) {
        let vars = Arc::new(vars);
        self.read.insert(path, vars.clone());
        entry.value.vars = vars;
      }
    }
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
