//! The hash of a task's inputs, and the expansion of its globs. Every part goes in with its
//! length first, so that no two different lists of inputs can run together into the same bytes.

use crate::env;
use crate::graph::{Graph, NodeId};
use glob::{MatchOptions, Pattern};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::Xxh3;

/// Changes whenever what goes into the hash changes, so that an old record never matches.
const FORMAT: &[u8] = b"runner up-to-date 1";

/// `*` stops at `/`, as in a shell; a leading dot needs no literal dot (`**/*` takes
/// `.config`).
const OPTIONS: MatchOptions = MatchOptions {
  case_sensitive: true,
  require_literal_separator: true,
  require_literal_leading_dot: false,
};

/// The folder of the state files, which a glob such as `**/*` must not take in: the records
/// would change the hash they record.
const STATE_DIR: &str = ".runner";

struct Hasher(Xxh3);

impl Hasher {
  fn put(&mut self, bytes: &[u8]) {
    self.0.update(&(bytes.len() as u64).to_le_bytes());
    self.0.update(bytes);
  }
}

/// The hash of task `id`'s inputs, its needs' results as `result` gives them.
pub(super) fn inputs<'r>(
  graph: &Graph,
  id: NodeId,
  cwd: &Path,
  result: impl Fn(NodeId) -> &'r str,
) -> u128 {
  let task = graph.task(id).expect("a task");
  let mut h = Hasher(Xxh3::new());
  h.put(FORMAT);
  let program = task.run.as_ref().map_or(&[][..], |p| &p.argv[..]);
  h.put(b"argv");
  program.iter().for_each(|arg| h.put(arg.as_bytes()));
  // The environment as the task would get it at its first attempt, and each need's whole
  // result (a variable holds a result cut to fit).
  h.put(b"env");
  let (vars, _) = env::task(graph, id, 1, &result);
  for (name, value) in &vars {
    h.put(name.as_bytes());
    h.put(value.as_bytes());
  }
  h.put(b"needs");
  graph.nodes[id].needs.iter().for_each(|&need| h.put(result(need).as_bytes()));
  // Relative to the job file's folder: the same wherever the runner is started from.
  h.put(b"cwd");
  let dir = task.cwd.strip_prefix(&graph.dir).unwrap_or(&task.cwd);
  h.put(dir.as_os_str().as_encoded_bytes());
  h.put(b"generates");
  task.generates.iter().for_each(|g| h.put(g.as_bytes()));
  h.put(b"sources");
  for (name, path) in expand(&task.sources, cwd) {
    h.put(name.as_bytes());
    contents(&mut h, &path);
  }
  h.0.digest128()
}

/// A file's contents, or a mark that it could not be read (a literal source that is missing):
/// creating it changes the hash.
fn contents(h: &mut Hasher, path: &Path) {
  let Ok(mut file) = std::fs::File::open(path) else {
    return h.put(b"missing");
  };
  let mut buffer = Vec::new();
  match file.read_to_end(&mut buffer) {
    Ok(_) => h.put(&buffer),
    Err(_) => h.put(b"unreadable"),
  }
}

/// The files the globs name, by their path relative to `cwd`, sorted and each once. A literal
/// path is taken as it is (a folder stands for every file under it), without listing a folder:
/// 10,000 tasks with one source each cost 10,000 reads, not 10,000 listings.
fn expand(globs: &[String], cwd: &Path) -> BTreeMap<String, PathBuf> {
  let mut files = BTreeMap::new();
  for glob in globs {
    if is_literal(glob) && !cwd.join(glob).is_dir() {
      files.insert(glob.clone(), cwd.join(glob));
      continue;
    }
    let glob =
      if is_literal(glob) { format!("{}/**/*", Pattern::escape(glob)) } else { glob.clone() };
    for path in matches(&glob, cwd) {
      if !path.is_file() {
        continue;
      }
      let name = path.strip_prefix(cwd).unwrap_or(&path);
      if name.components().any(|c| c.as_os_str() == STATE_DIR) {
        continue;
      }
      files.insert(name.to_string_lossy().into_owned(), path.clone());
    }
  }
  files
}

/// The paths `glob` (relative to `cwd`) matches; an unreadable folder is passed over.
fn matches(glob: &str, cwd: &Path) -> impl Iterator<Item = PathBuf> {
  let base = Pattern::escape(&cwd.to_string_lossy());
  let full = format!("{}/{glob}", base.trim_end_matches('/'));
  glob::glob_with(&full, OPTIONS).into_iter().flatten().flatten()
}

fn is_literal(glob: &str) -> bool {
  !glob.contains(['*', '?', '['])
}

/// Whether every `generates` glob names something that exists: a literal path, or at least one
/// match.
pub(super) fn all_exist(globs: &[String], cwd: &Path) -> bool {
  globs.iter().all(|glob| match is_literal(glob) {
    true => cwd.join(glob).exists(),
    false => matches(glob, cwd).next().is_some(),
  })
}
