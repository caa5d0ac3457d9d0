//! A served run's output files (`output.txt`, its plain output, and `events.jsonl`, its JSON
//! events) as its reporter writes them, and the news that they grew or that the run ended,
//! for the clients that follow it. Followers read the files, never a buffer of the run's: a
//! slow or gone follower costs the run nothing.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// What followers of a run wait on: a count of changes, bumped when its files grow and when it
/// ends.
#[derive(Default)]
pub(crate) struct News {
  version: Cell<u64>,
  ended: Cell<bool>,
  waiters: RefCell<Vec<Waker>>,
  /// What the run's entry said at its end, for those who waited: the run itself may be gone
  /// from the daemon's table by the time they read it (`--keep`).
  last: RefCell<Option<serde_json::Value>>,
}

impl News {
  pub(crate) fn version(&self) -> u64 {
    self.version.get()
  }

  pub(crate) fn ended(&self) -> bool {
    self.ended.get()
  }

  pub(crate) fn bump(&self) {
    self.version.set(self.version.get() + 1);
    for waker in self.waiters.borrow_mut().drain(..) {
      waker.wake();
    }
  }

  pub(crate) fn end(&self) {
    self.ended.set(true);
    self.bump();
  }

  /// Ends with the run's last entry.
  pub(crate) fn end_with(&self, entry: serde_json::Value) {
    *self.last.borrow_mut() = Some(entry);
    self.end();
  }

  /// The entry the run ended with, if it ended here.
  pub(crate) fn last(&self) -> Option<serde_json::Value> {
    self.last.borrow().clone()
  }

  /// Waits until something changed since `seen`.
  pub(crate) async fn changed(&self, seen: u64) {
    std::future::poll_fn(|cx| {
      if self.version.get() != seen {
        return Poll::Ready(());
      }
      self.waiters.borrow_mut().push(cx.waker().clone());
      Poll::Pending
    })
    .await
  }
}

/// A file a reporter writes; each flush tells the followers.
pub(crate) struct Fed {
  file: File,
  news: Rc<News>,
}

impl Fed {
  pub(crate) fn create(path: &Path, news: Rc<News>) -> io::Result<Self> {
    Ok(Fed { file: File::create(path)?, news })
  }
}

impl Write for Fed {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    self.file.write(buf)
  }

  fn flush(&mut self) -> io::Result<()> {
    self.news.bump();
    Ok(())
  }
}

/// Reads what `path` holds past `offset`, up to 64 KiB and to the last whole line (all of it
/// once `ended`); returns the text and the new offset.
pub(crate) fn read_from(path: &Path, offset: u64, ended: bool) -> io::Result<(String, u64)> {
  use std::io::{Read, Seek, SeekFrom};
  let mut file = File::open(path)?;
  file.seek(SeekFrom::Start(offset))?;
  let mut buf = Vec::with_capacity(8192);
  file.take(64 * 1024).read_to_end(&mut buf)?;
  let whole = match buf.iter().rposition(|&b| b == b'\n') {
    Some(end) => end + 1,
    None if ended || buf.len() == 64 * 1024 => buf.len(),
    None => 0,
  };
  buf.truncate(whole);
  Ok((String::from_utf8_lossy(&buf).into_owned(), offset + whole as u64))
}

/// The lines of `text` that task `task` printed, or that say its start and end: plain output
/// begins each of them with `[task]` (`[task item]` for a queue item's output, `[task#worker]`
/// for its end).
pub(crate) fn task_lines(text: &str, task: &str) -> String {
  let prefixes = [format!("[{task}]"), format!("[{task} "), format!("[{task}#")];
  text
    .split_inclusive('\n')
    .filter(|line| prefixes.iter().any(|p| line.starts_with(p.as_str())))
    .collect()
}

/// The JSON events of `text` that are about task `task`.
pub(crate) fn task_events(text: &str, task: &str) -> String {
  let about = |line: &str| {
    serde_json::from_str::<serde_json::Value>(line)
      .is_ok_and(|event| event.get("task").and_then(|t| t.as_str()) == Some(task))
  };
  text.split_inclusive('\n').filter(|line| about(line)).collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_stop_at_the_last_whole_line_until_the_run_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    std::fs::write(&path, "one\ntwo\nthr").unwrap();
    assert_eq!(read_from(&path, 0, false).unwrap(), ("one\ntwo\n".to_string(), 8));
    assert_eq!(read_from(&path, 8, false).unwrap(), (String::new(), 8));
    assert_eq!(read_from(&path, 8, true).unwrap(), ("thr".to_string(), 11));
  }

  #[test]
  fn a_task_s_lines_are_those_it_begins() {
    let text =
      "[build] started\n[build-x] started\n[build] hi\n[work item-1] x\n[work#0] item\nsummary:\n";
    assert_eq!(task_lines(text, "build"), "[build] started\n[build] hi\n");
    assert_eq!(task_lines(text, "work"), "[work item-1] x\n[work#0] item\n");
  }

  #[test]
  fn news_wakes_a_waiter_once_it_changed() {
    let news = Rc::new(News::default());
    let seen = news.version();
    let waiting = news.clone();
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    crate::engine::reactor::block_on(async move {
      crate::engine::reactor::spawn_local(async move {
        waiting.changed(seen).await;
        flag.set(true);
      });
      futures_lite::future::yield_now().await;
      news.end();
      futures_lite::future::yield_now().await;
      futures_lite::future::yield_now().await;
    });
    assert!(done.get());
  }
}
