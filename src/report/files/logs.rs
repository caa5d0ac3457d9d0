//! `--log-dir DIR`: every line of output, written as it comes, under DIR:
//!
//! - `<task>/attempt-<n>.stdout` and `.stderr`: each attempt of a task (a producer's stdout goes
//!   to its queue, not here);
//! - `<consumer>/items/<nnnn>-<item>.stdout` and `.stderr`: each queue item a consumer ran,
//!   numbered in the order the items were first seen;
//! - `<node>/callbacks.log`: the output of a task's or group's callbacks.
//!
//! Files are buffered and closed when their attempt or item ends, so memory and open files stay
//! bounded by what runs at once. Names are made safe for any text: see [`safe_name`]. Existing
//! files of an earlier run are overwritten, never deleted.

use super::cannot;
use super::record::Record;
use crate::event::{Event, Stream};
use crate::graph::NodeId;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// At most this many callback logs are open at once; past that all are closed (and reopened
/// for appending when more lines come).
const OPEN_CALLBACK_LOGS: usize = 64;
/// Item text kept in a file name.
const ITEM_NAME: usize = 60;

/// `text` as one path component: ASCII letters, digits, `.`, `-` and `_` are kept, any other
/// character becomes `_`; at most `max` characters; never empty, never starting with `.`.
pub(super) fn safe_name(text: &str, max: usize) -> String {
  let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
  let mut name: String = text.chars().take(max).map(|c| if keep(c) { c } else { '_' }).collect();
  if name.starts_with('.') {
    name.replace_range(..1, "_");
  }
  if name.is_empty() {
    name.push('_');
  }
  name
}

/// A node's folder: its name when that is safe as it is, else the safe name and the node's id
/// (so two names never share a folder).
pub(super) fn node_dir(name: &str, id: NodeId) -> String {
  let safe = safe_name(name, 100);
  if safe == name { safe } else { format!("{safe}-{id}") }
}

/// The log of one attempt, relative to the log folder; `ext` is `stdout` or `stderr`.
pub(super) fn attempt_file(name: &str, id: NodeId, attempt: u32, ext: &str) -> String {
  format!("{}/attempt-{attempt}.{ext}", node_dir(name, id))
}

/// The log of one queue item, relative to the log folder; `ext` is `stdout` or `stderr`.
pub(super) fn item_file(consumer: &str, id: NodeId, index: u64, item: &str, ext: &str) -> String {
  format!("{}/items/{index:04}-{}.{ext}", node_dir(consumer, id), safe_name(item, ITEM_NAME))
}

pub(super) fn callbacks_file(name: &str, id: NodeId) -> String {
  format!("{}/callbacks.log", node_dir(name, id))
}

/// One open log file.
struct Writer {
  path: PathBuf,
  out: BufWriter<File>,
}

/// The stdout and stderr logs of one attempt or item.
struct Pair {
  stdout: Writer,
  stderr: Writer,
}

#[derive(Default)]
struct NodeLogs {
  /// The attempt whose logs were last opened (0: none yet).
  attempt: u32,
  pair: Option<Pair>,
  callbacks_opened: bool,
}

pub(super) struct Logs {
  dir: PathBuf,
  nodes: Vec<NodeLogs>,
  items: HashMap<(NodeId, u64), Pair>,
  callbacks: HashMap<NodeId, Writer>,
  /// The first error; later writes to a failed file are skipped.
  error: Option<String>,
}

impl Logs {
  /// Creates `dir` (and checks that files can be written in it).
  pub(super) fn new(dir: &Path, nodes: usize) -> Result<Self, String> {
    std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
    let probe = dir.join(".runner-write-test");
    File::create(&probe).map_err(|e| cannot(dir, e))?;
    let _ = std::fs::remove_file(probe);
    let nodes = (0..nodes).map(|_| NodeLogs::default()).collect();
    let (items, callbacks) = (HashMap::new(), HashMap::new());
    Ok(Self { dir: dir.to_path_buf(), nodes, items, callbacks, error: None })
  }

  /// Writes or closes what `event` concerns; `item` is the index of its queue item, if any.
  pub(super) fn event(&mut self, event: &Event, record: &Record, item: Option<u64>) {
    let id = |name: &str| record.id(name);
    match *event {
      Event::TaskStarted { task, attempt } => {
        let Some(id) = id(task) else { return };
        let open = self.nodes[id].pair.take();
        self.close_pair(open);
        let name = &record.nodes[id].name;
        self.nodes[id].pair = self.open_pair(|ext| attempt_file(name, id, attempt, ext), false);
        self.nodes[id].attempt = attempt;
      }
      Event::Output { task, stream, line, raw, .. } => {
        let Some(id) = id(task) else { return };
        let name = &record.nodes[id].name;
        let writer = match (stream, item) {
          (Stream::Callback, _) => self.callbacks_log(name, id),
          (_, Some(index)) => self.item_pair(name, id, index, event).map(|p| p.by(stream)),
          (_, None) => self.node_pair(name, id).map(|p| p.by(stream)),
        };
        // The bytes as written; the runner's own words as a line of text.
        let write = |out: &mut BufWriter<File>| match raw {
          Some(raw) => out.write_all(raw),
          None => writeln!(out, "{line}"),
        };
        let failed = writer.and_then(|w| write(&mut w.out).err().map(|e| cannot(&w.path, e)));
        if let Some(message) = failed {
          self.fail(message);
        }
      }
      Event::TaskRetrying { task, .. } | Event::TaskFinished { task, .. } => {
        if let Some(id) = id(task) {
          let pair = self.nodes[id].pair.take();
          self.close_pair(pair);
          let callbacks = self.callbacks.remove(&id);
          self.close(callbacks);
        }
      }
      Event::ItemFinished { consumer, attempts, .. } => {
        let (Some(id), Some(index)) = (id(consumer), item) else { return };
        // Every item that ran gets its files, even when it printed nothing.
        if attempts > 0 && !self.items.contains_key(&(id, index)) {
          self.item_pair(&record.nodes[id].name, id, index, event);
        }
        let pair = self.items.remove(&(id, index));
        self.close_pair(pair);
      }
      _ => {}
    }
  }

  /// Flushes and closes every file; the first error met, if any.
  pub(super) fn finish(&mut self) -> Result<(), String> {
    let pairs: Vec<_> = self.nodes.iter_mut().filter_map(|n| n.pair.take()).collect();
    let items: Vec<_> = self.items.drain().map(|(_, p)| p).collect();
    for pair in pairs.into_iter().chain(items) {
      self.close_pair(Some(pair));
    }
    self.close_callbacks();
    self.error.take().map_or(Ok(()), Err)
  }

  /// The first error met so far.
  pub(super) fn error(&self) -> Option<&str> {
    self.error.as_deref()
  }

  fn fail(&mut self, message: String) {
    self.error.get_or_insert(message);
  }

  fn open(&mut self, relative: &str, append: bool) -> Option<Writer> {
    let path = self.dir.join(relative);
    let opened = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
      OpenOptions::new().create(true).append(append).write(true).truncate(!append).open(&path)
    });
    match opened {
      Ok(file) => Some(Writer { path, out: BufWriter::new(file) }),
      Err(err) => {
        self.fail(cannot(&path, err));
        None
      }
    }
  }

  /// The stdout and stderr logs named by `file` of `stdout` and of `stderr`.
  fn open_pair(&mut self, file: impl Fn(&str) -> String, append: bool) -> Option<Pair> {
    let stdout = self.open(&file("stdout"), append)?;
    let stderr = self.open(&file("stderr"), append)?;
    Some(Pair { stdout, stderr })
  }

  /// The logs of a node's current attempt, reopened for appending if they were closed.
  fn node_pair(&mut self, name: &str, id: NodeId) -> Option<&mut Pair> {
    if self.nodes[id].pair.is_none() {
      let (append, attempt) = (self.nodes[id].attempt > 0, self.nodes[id].attempt.max(1));
      self.nodes[id].pair = self.open_pair(|ext| attempt_file(name, id, attempt, ext), append);
      self.nodes[id].attempt = attempt;
    }
    self.nodes[id].pair.as_mut()
  }

  fn item_pair(&mut self, name: &str, id: NodeId, index: u64, event: &Event) -> Option<&mut Pair> {
    if !self.items.contains_key(&(id, index)) {
      let item = match event {
        Event::Output { item: Some(item), .. } | Event::ItemFinished { item, .. } => item,
        _ => "",
      };
      let pair = self.open_pair(|ext| item_file(name, id, index, item, ext), false)?;
      self.items.insert((id, index), pair);
    }
    self.items.get_mut(&(id, index))
  }

  fn callbacks_log(&mut self, name: &str, id: NodeId) -> Option<&mut Writer> {
    if !self.callbacks.contains_key(&id) {
      if self.callbacks.len() >= OPEN_CALLBACK_LOGS {
        self.close_callbacks();
      }
      let append = std::mem::replace(&mut self.nodes[id].callbacks_opened, true);
      let writer = self.open(&callbacks_file(name, id), append)?;
      self.callbacks.insert(id, writer);
    }
    self.callbacks.get_mut(&id)
  }

  /// Closes every open callback log.
  fn close_callbacks(&mut self) {
    let open: Vec<_> = self.callbacks.drain().map(|(_, w)| w).collect();
    for writer in open {
      self.close(Some(writer));
    }
  }

  fn close(&mut self, writer: Option<Writer>) {
    let failed = writer.and_then(|mut w| w.out.flush().err().map(|e| cannot(&w.path, e)));
    if let Some(message) = failed {
      self.fail(message);
    }
  }

  fn close_pair(&mut self, pair: Option<Pair>) {
    if let Some(pair) = pair {
      self.close(Some(pair.stdout));
      self.close(Some(pair.stderr));
    }
  }
}

impl Pair {
  fn by(&mut self, stream: Stream) -> &mut Writer {
    match stream {
      Stream::Stderr => &mut self.stderr,
      Stream::Stdout | Stream::Callback => &mut self.stdout,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::Exit;
  use crate::report::files::record::tests::JOB;
  use crate::report::fixtures::graph;
  use crate::status::Status;

  #[test]
  fn safe_names() {
    assert_eq!(safe_name("build.release-1_x", 100), "build.release-1_x");
    assert_eq!(safe_name("../etc/passwd", 100), "_._etc_passwd");
    assert_eq!(safe_name("..", 100), "_.");
    assert_eq!(safe_name("", 100), "_");
    assert_eq!(safe_name("a b\n\u{1b}é/", 100), "a_b____");
    assert_eq!(safe_name(&"x".repeat(500), 60).len(), 60);
    assert_eq!(node_dir("build", 3), "build");
    assert_eq!(node_dir("a/b", 3), "a_b-3");
    assert_eq!(item_file("c", 2, 7, "a/b c", "stdout"), "c/items/0007-a_b_c.stdout");
  }

  fn feed(logs: &mut Logs, record: &mut Record, event: Event) {
    let item = record.event(&event, 0);
    logs.event(&event, record, item);
  }

  #[test]
  fn writes_attempts_items_and_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let g = graph(JOB);
    let mut record = Record::new(&g);
    let mut logs = Logs::new(&dir.path().join("logs"), g.nodes.len()).unwrap();
    let out = |task, stream, line: &'static str, item| {
      let raw = Some(line.as_bytes()).filter(|_| line.ends_with('\n'));
      Event::Output { task, stream, line: line.trim_end(), item, raw }
    };
    feed(&mut logs, &mut record, Event::TaskStarted { task: "a", attempt: 1 });
    feed(&mut logs, &mut record, out("a", Stream::Stdout, "one\r\n", None));
    feed(&mut logs, &mut record, out("a", Stream::Stderr, "oops", None));
    let exit = Exit { code: Some(1), signal: None };
    let retry = Event::TaskRetrying { task: "a", attempt: 1, status: Status::Failed, exit };
    feed(&mut logs, &mut record, retry);
    feed(&mut logs, &mut record, Event::TaskStarted { task: "a", attempt: 2 });
    feed(&mut logs, &mut record, out("a", Stream::Stdout, "two", None));
    feed(&mut logs, &mut record, out("a", Stream::Callback, "called", None));
    feed(&mut logs, &mut record, Event::TaskStarted { task: "c", attempt: 1 });
    feed(&mut logs, &mut record, out("c", Stream::Stdout, "x!", Some("x/1")));
    let item = Event::ItemFinished {
      consumer: "c",
      queue: "q",
      item: "x/1",
      worker: 0,
      status: Status::Succeeded,
      attempts: 1,
      exit: Exit::default(),
    };
    feed(&mut logs, &mut record, item);
    logs.finish().unwrap();
    let read = |p: &str| std::fs::read_to_string(dir.path().join("logs").join(p)).unwrap();
    assert_eq!(read("a/attempt-1.stdout"), "one\r\n", "as written");
    assert_eq!(read("a/attempt-1.stderr"), "oops\n");
    assert_eq!(read("a/attempt-2.stdout"), "two\n");
    assert_eq!(read("a/attempt-2.stderr"), "");
    assert_eq!(read("a/callbacks.log"), "called\n");
    assert_eq!(read("c/items/0001-x_1.stdout"), "x!\n");
    assert_eq!(read("c/items/0001-x_1.stderr"), "");
  }

  #[test]
  fn an_unwritable_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = Logs::new(&file.join("logs"), 1).err().unwrap();
    assert!(err.starts_with(&format!("cannot write `{}", file.join("logs").display())), "{err}");
  }
}
