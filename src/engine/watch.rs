//! The watcher: a notify thread that reports changes to the files some selected task's
//! `sources` match, and nothing under `.runner/` or the log dir.

use crate::graph::{Graph, NodeId};
use notify::{RecursiveMode, Watcher as _};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

/// What a watch looks at: each selected task's source globs made absolute, and the
/// directories to watch for them.
pub(crate) struct Patterns {
  globs: Vec<glob::Pattern>,
  dirs: Vec<(PathBuf, RecursiveMode)>,
  ignored: Vec<PathBuf>,
}

impl Patterns {
  /// The globs of the selected tasks' `sources`, relative to their cwds; `ignored` are
  /// directories (`.runner/`, the log dir) whose changes never count.
  pub(crate) fn new(graph: &Graph, selected: &[NodeId], ignored: Vec<PathBuf>) -> Self {
    let mut patterns = Patterns { globs: Vec::new(), dirs: Vec::new(), ignored };
    for task in selected.iter().filter_map(|&id| graph.task(id)) {
      let cwd = std::path::absolute(&task.cwd).unwrap_or_else(|_| task.cwd.clone());
      for source in &task.sources {
        let full = cwd.join(source);
        if let Ok(glob) = glob::Pattern::new(&full.to_string_lossy()) {
          patterns.globs.push(glob);
        }
        let dir = patterns.dir_of(&cwd, source);
        if !patterns.dirs.contains(&dir) {
          patterns.dirs.push(dir);
        }
      }
    }
    patterns
  }

  /// How many globs are watched.
  pub(crate) fn len(&self) -> usize {
    self.globs.len()
  }

  /// The directory a glob's files are under (its literal part), and whether its files may be
  /// deeper (a `**` or a wildcard directory part).
  fn dir_of(&self, cwd: &Path, source: &str) -> (PathBuf, RecursiveMode) {
    let mut dir = cwd.to_path_buf();
    let parts: Vec<_> = Path::new(source).components().collect();
    let mut rest = parts.len();
    for (i, part) in parts.iter().enumerate() {
      let Component::Normal(name) = part else { continue };
      if i + 1 == parts.len() || name.to_string_lossy().contains(['*', '?', '[']) {
        rest = parts.len() - i;
        break;
      }
      dir.push(name);
    }
    let mode = if rest > 1 { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
    (dir, mode)
  }

  /// Whether a change to `path` counts.
  pub(crate) fn matches(&self, path: &Path) -> bool {
    if self.ignored.iter().any(|dir| path.starts_with(dir)) {
      return false;
    }
    let options = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
    self.globs.iter().any(|g| g.matches_path_with(path, options))
  }
}

/// A running watcher: changes come on `changes` until it is dropped.
pub(crate) struct Watch {
  _watcher: notify::RecommendedWatcher,
  pub(crate) changes: Receiver<PathBuf>,
  /// The same changes, for a run in progress: it stops to start again.
  pub(crate) during_run: async_channel::Receiver<()>,
}

/// Starts watching; each matching change is sent on `changes`, once per path touched.
pub(crate) fn start(mut patterns: Patterns) -> Result<Watch, notify::Error> {
  let (tx, changes) = channel::<PathBuf>();
  let (wake, during_run) = async_channel::unbounded();
  let dirs = std::mem::take(&mut patterns.dirs);
  let handler = move |event: notify::Result<notify::Event>| {
    let Ok(event) = event else { return };
    if event.kind.is_access() {
      return;
    }
    for path in event.paths.into_iter().filter(|p| patterns.matches(p)) {
      let _ = wake.try_send(());
      let _ = tx.send(path);
    }
  };
  let mut watcher = notify::recommended_watcher(handler)?;
  for (dir, mode) in dirs {
    // A directory that does not exist yet has no sources to change.
    if dir.is_dir() {
      watcher.watch(&dir, mode)?;
    }
  }
  Ok(Watch { _watcher: watcher, changes, during_run })
}

impl Watch {
  /// Forgets the changes a run has not seen yet: they were before it started.
  pub(crate) fn drain(&self) {
    while self.during_run.try_recv().is_ok() {}
  }
}

/// Posts a change during the run to its inbox, once per change.
pub(super) fn forward(changes: async_channel::Receiver<()>, inbox: super::inbox::Inbox) {
  super::reactor::spawn_local(async move {
    while changes.recv().await.is_ok() {
      inbox.send(super::inbox::Msg::Changed).await;
    }
  });
}
