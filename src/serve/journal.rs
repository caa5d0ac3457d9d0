//! The daemon's journal: `journal.jsonl` in the state dir, one JSON line per change of a run's
//! state, appended and synced before the change is acted on or answered. Read back at start:
//! the last line of each run is its state; a line torn by a kill is skipped, and cut off so
//! that the next line appended starts on a line of its own. Rewritten whole (temporary file,
//! then rename) to drop the runs past `--keep`, after a line with the next run's number.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A run's state, as the journal and `status` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
  Queued,
  Running,
  Succeeded,
  Failed,
  /// Stopped by `runner cancel`, or cancelled before it started.
  Cancelled,
  /// Running or queued when the daemon died; it was not finished.
  Interrupted,
}

impl State {
  pub(crate) fn is_final(self) -> bool {
    !matches!(self, State::Queued | State::Running)
  }

  pub(crate) fn name(self) -> &'static str {
    match self {
      State::Queued => "queued",
      State::Running => "running",
      State::Succeeded => "succeeded",
      State::Failed => "failed",
      State::Cancelled => "cancelled",
      State::Interrupted => "interrupted",
    }
  }
}

/// One line of the journal: what is known of run `run` at one change. Later lines of a run
/// repeat what earlier ones said, so the last is enough.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
  pub run: String,
  pub state: State,
  pub file: String,
  #[serde(default)]
  pub targets: Vec<String>,
  /// Milliseconds since the Unix epoch.
  pub submitted_ms: u64,
  #[serde(default)]
  pub started_ms: Option<u64>,
  #[serde(default)]
  pub finished_ms: Option<u64>,
  #[serde(default)]
  pub exit_code: Option<i32>,
  /// The tag its processes carry, and when it started in clock ticks since boot: after a
  /// restart, only processes with the tag that started since are killed.
  #[serde(default)]
  pub tag: Option<String>,
  #[serde(default)]
  pub start_tick: Option<u64>,
  #[serde(default)]
  pub cause: Option<String>,
}

/// The first line of a rewritten journal: the number the next run takes, which the runs kept
/// may not tell (with `--keep 0`, none is kept).
#[derive(Serialize, Deserialize)]
struct Next {
  next_run: u64,
}

impl Entry {
  /// A run just submitted: queued, nothing known of its start or end yet.
  pub(crate) fn queued(run: String, file: String, targets: Vec<String>, submitted_ms: u64) -> Self {
    Entry {
      run,
      state: State::Queued,
      file,
      targets,
      submitted_ms,
      started_ms: None,
      finished_ms: None,
      exit_code: None,
      tag: None,
      start_tick: None,
      cause: None,
    }
  }
}

pub(crate) struct Journal {
  path: PathBuf,
  file: File,
  /// Lines written since the last rewrite, to know when one is due.
  pub lines: usize,
  /// The least number the next run may take, as a rewrite left it (0: no rewrite said).
  pub next_run: u64,
}

impl Journal {
  /// Opens the journal in `dir` for appending, and reads what it holds: each run's last entry,
  /// in the order the runs were first written, and how many lines were torn.
  pub(crate) fn open(dir: &Path) -> io::Result<(Journal, Vec<Entry>, usize)> {
    let path = dir.join("journal.jsonl");
    let text = match std::fs::read(&path) {
      Ok(bytes) => bytes,
      Err(err) if err.kind() == io::ErrorKind::NotFound => Vec::new(),
      Err(err) => return Err(err),
    };
    let (entries, torn, lines, next_run) = read(&text);
    let file = OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
    // A last line torn by a kill goes, or the next entry appended would run on from it.
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |end| end + 1);
    if whole < text.len() {
      file.set_len(whole as u64)?;
    }
    Ok((Journal { path, file, lines, next_run }, entries, torn))
  }

  /// Appends `entry` and syncs it.
  pub(crate) fn append(&mut self, entry: &Entry) -> io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
    line.push(b'\n');
    self.file.write_all(&line)?;
    self.file.sync_data()?;
    self.lines += 1;
    Ok(())
  }

  /// Replaces the journal with one line per run of `entries`, whole, after a line that says
  /// the next run's number is `next_run`.
  pub(crate) fn rewrite(&mut self, entries: &[&Entry], next_run: u64) -> io::Result<()> {
    let mut text = serde_json::to_vec(&Next { next_run }).map_err(io::Error::other)?;
    text.push(b'\n');
    for entry in entries {
      serde_json::to_writer(&mut text, entry).map_err(io::Error::other)?;
      text.push(b'\n');
    }
    super::place::write_whole(&self.path, &text, 0o600)?;
    self.file = OpenOptions::new().append(true).open(&self.path)?;
    self.lines = entries.len() + 1;
    self.next_run = next_run;
    Ok(())
  }
}

/// Each run's last entry, in the order runs first appear; the lines that do not parse (a torn
/// last line); the lines read; the next run's number a rewrite said (0 if none).
fn read(text: &[u8]) -> (Vec<Entry>, usize, usize, u64) {
  let mut order: Vec<String> = Vec::new();
  let mut last: HashMap<String, Entry> = HashMap::new();
  let (mut torn, mut lines, mut next_run) = (0, 0, 0);
  for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
    lines += 1;
    match serde_json::from_slice::<Entry>(line) {
      Ok(entry) => {
        if !last.contains_key(&entry.run) {
          order.push(entry.run.clone());
        }
        last.insert(entry.run.clone(), entry);
      }
      Err(_) => match serde_json::from_slice::<Next>(line) {
        Ok(next) => next_run = next_run.max(next.next_run),
        Err(_) => torn += 1,
      },
    }
  }
  let entries = order.into_iter().filter_map(|run| last.remove(&run)).collect();
  (entries, torn, lines, next_run)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn entry(run: &str, state: State) -> Entry {
    Entry { state, ..Entry::queued(run.into(), "/w/a.yaml".into(), vec![], 1) }
  }

  #[test]
  fn the_last_line_of_each_run_is_its_state_and_a_torn_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, entries, _) = Journal::open(dir.path()).unwrap();
    assert!(entries.is_empty());
    journal.append(&entry("r1", State::Queued)).unwrap();
    journal.append(&entry("r2", State::Queued)).unwrap();
    journal.append(&entry("r1", State::Running)).unwrap();
    journal.append(&entry("r1", State::Succeeded)).unwrap();
    drop(journal);
    let path = dir.path().join("journal.jsonl");
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(br#"{"run":"r2","state":"runn"#).unwrap();
    let (mut journal, entries, torn) = Journal::open(dir.path()).unwrap();
    let states: Vec<_> = entries.iter().map(|e| (e.run.as_str(), e.state)).collect();
    assert_eq!(states, [("r1", State::Succeeded), ("r2", State::Queued)]);
    assert_eq!(torn, 1);
    // The torn line is cut off: what is appended next reads back.
    journal.append(&entry("r2", State::Interrupted)).unwrap();
    let (_, entries, torn) = Journal::open(dir.path()).unwrap();
    let states: Vec<_> = entries.iter().map(|e| (e.run.as_str(), e.state)).collect();
    assert_eq!((states, torn), (vec![("r1", State::Succeeded), ("r2", State::Interrupted)], 0));
  }

  #[test]
  fn a_rewrite_keeps_one_line_per_run_and_appends_go_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _, _) = Journal::open(dir.path()).unwrap();
    for n in 0..5 {
      journal.append(&entry(&format!("r{n}"), State::Queued)).unwrap();
      journal.append(&entry(&format!("r{n}"), State::Failed)).unwrap();
    }
    let kept = [entry("r3", State::Failed), entry("r4", State::Failed)];
    journal.rewrite(&kept.iter().collect::<Vec<_>>(), 5).unwrap();
    journal.append(&entry("r5", State::Queued)).unwrap();
    let (journal, entries, torn) = Journal::open(dir.path()).unwrap();
    let runs: Vec<_> = entries.iter().map(|e| e.run.as_str()).collect();
    assert_eq!((runs, torn, journal.lines), (vec!["r3", "r4", "r5"], 0, 4));
  }

  #[test]
  fn a_rewrite_that_keeps_no_run_still_says_the_next_run_s_number() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _, _) = Journal::open(dir.path()).unwrap();
    assert_eq!(journal.next_run, 0);
    journal.append(&entry("r6", State::Succeeded)).unwrap();
    journal.rewrite(&[], 7).unwrap();
    let (journal, entries, torn) = Journal::open(dir.path()).unwrap();
    assert_eq!((entries.len(), torn, journal.next_run), (0, 0, 7));
  }
}
