//! A submission's job file, read and compiled on the daemon's side: the path is the client's,
//! joined to the client's folder, and read with the daemon's rights. Errors come back as
//! `runner validate` would print them, for the client to print.

use super::daemon::Refusal;
use crate::compile;
use crate::diagnostic::{self, Style};
use crate::graph::{Graph, NodeId};
use crate::source::{ReadError, Source};
use std::path::Path;

/// The compiled graph of `path` and the ids of `targets`. `cwd`: the client's folder, taken out
/// of the paths the diagnostics name when the client named the file relative to it, so they
/// read as `runner validate` run there would print them.
pub(crate) fn load(
  path: &Path,
  cwd: &Path,
  targets: &[String],
  color: bool,
  width: u16,
) -> Result<(Graph, Vec<NodeId>), Refusal> {
  as_client_sees(loaded(path, targets, color, width), cwd)
}

fn as_client_sees<T>(result: Result<T, Refusal>, cwd: &Path) -> Result<T, Refusal> {
  let prefix = format!("{}/", cwd.display());
  match result {
    Err(Refusal::Invalid { message, diagnostics }) if prefix.len() > 1 => Err(Refusal::Invalid {
      message: message.replace(&prefix, ""),
      diagnostics: diagnostics.replace(&prefix, ""),
    }),
    other => other,
  }
}

fn loaded(
  path: &Path,
  targets: &[String],
  color: bool,
  width: u16,
) -> Result<(Graph, Vec<NodeId>), Refusal> {
  let source = match Source::read(path) {
    Ok(source) => source,
    Err(ReadError::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {
      return Err(Refusal::NotFound(format!(
        "no job file `{}` on the daemon's side",
        path.display()
      )));
    }
    Err(err) => {
      let message = format!("cannot read `{}`: {err}", path.display());
      return Err(Refusal::Invalid { diagnostics: format!("error: {message}\n"), message });
    }
  };
  let (result, files) = compile::compile_files(&source);
  let graph = match result {
    Ok((graph, _warnings)) => graph,
    Err(errors) => {
      let style = Style { color, width: usize::from(width.clamp(40, 400)) };
      let count = errors.0.len();
      let diagnostics: String = files
        .split(errors)
        .into_iter()
        .map(|(source, errors)| diagnostic::render(source, &errors, style))
        .collect();
      let noun = if count == 1 { "error" } else { "errors" };
      let message = format!("`{}` has {count} {noun}", path.display());
      return Err(Refusal::Invalid { message, diagnostics });
    }
  };
  let mut ids = Vec::with_capacity(targets.len());
  let mut diagnostics = String::new();
  for name in targets {
    match graph.find(name) {
      Some(id) => ids.push(id),
      None => {
        diagnostics += &format!("error: `{}` has no task or group `{name}`\n", path.display());
        if let Some(s) = crate::suggest::closest(name, graph.nodes.iter().map(|n| n.name.as_str()))
        {
          diagnostics += &format!("  help: did you mean `{s}`?\n");
        }
      }
    }
  }
  if !diagnostics.is_empty() {
    let message = format!("`{}` lacks a target asked for", path.display());
    return Err(Refusal::Invalid { message, diagnostics });
  }
  Ok((graph, ids))
}
