//! The state of up-to-date checks: one small JSON file per task, `.runner/<job file>/<task>`
//! next to the job file, holding the hash of the inputs of the task's last success and its
//! result. Written to a temporary file and renamed, so that two runs racing leave one whole
//! record or the other; a file that is not a record of this version is ignored with a warning.

use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The version of the records; a record of another is ignored (and rewritten on success).
const VERSION: u32 = 1;

/// What the last success of a task recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
  pub hash: u128,
  pub result: String,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
  version: u32,
  hash: String,
  result: String,
}

/// The records of one job file's tasks.
#[derive(Debug)]
pub(crate) struct Store {
  dir: PathBuf,
  /// What the file is called in warnings, e.g. `.runner/job.yaml/`.
  shown: String,
}

/// Numbers temporary files, so that no two writes of one run share one.
static WRITES: AtomicU64 = AtomicU64::new(0);

impl Store {
  /// The records of the job file at `job_file`, in `.runner/` in its folder.
  pub(crate) fn new(job_file: &Path, dir: &Path) -> Self {
    let file = job_file.file_name().map_or_else(|| "job".into(), |n| n.to_string_lossy());
    let shown = format!(".runner/{file}/");
    Self { dir: dir.join(".runner").join(file.as_ref()), shown }
  }

  fn path(&self, task: &str) -> PathBuf {
    self.dir.join(task)
  }

  /// The record of `task`: None if it has none; a warning if its file is not a record.
  pub(crate) fn read(&self, task: &str) -> Result<Option<Record>, String> {
    let bytes = match std::fs::read(self.path(task)) {
      Ok(bytes) => bytes,
      Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
      Err(err) => return Err(self.warning(task, &err.to_string())),
    };
    let parsed: Result<OnDisk, _> = serde_json::from_slice(&bytes);
    match parsed {
      Ok(disk) if disk.version != VERSION => {
        Err(self.warning(task, &format!("its version is {}, not {VERSION}", disk.version)))
      }
      Ok(disk) => match u128::from_str_radix(&disk.hash, 16) {
        Ok(hash) if disk.hash.len() == 32 => Ok(Some(Record { hash, result: disk.result })),
        _ => Err(self.warning(task, "its hash is not 32 hex digits")),
      },
      Err(err) => Err(self.warning(task, &format!("it is not a state record ({err})"))),
    }
  }

  fn warning(&self, task: &str, why: &str) -> String {
    format!("warning: ignoring {}{task}: {why}; the task runs", self.shown)
  }

  /// Records a success of `task`: written whole to a temporary file, then renamed over the old
  /// record.
  pub(crate) fn write(&self, task: &str, record: &Record) -> Result<(), String> {
    let disk = OnDisk {
      version: VERSION,
      hash: format!("{:032x}", record.hash),
      result: record.result.clone(),
    };
    let text = serde_json::to_vec(&disk).expect("a record is always JSON");
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let temp = self.dir.join(format!(".{task}.{}.{n}.tmp", std::process::id()));
    let written = self.make_dir().and_then(|()| {
      std::fs::write(&temp, &text)?;
      std::fs::rename(&temp, self.path(task))
    });
    written.map_err(|err| {
      let _ = std::fs::remove_file(&temp);
      format!("warning: cannot record {}{task}: {err}; the next run runs it again", self.shown)
    })
  }

  /// Forgets `task`'s record: it ran and did not succeed, so the next run runs it.
  pub(crate) fn remove(&self, task: &str) -> Result<(), String> {
    match std::fs::remove_file(self.path(task)) {
      Err(err) if err.kind() != ErrorKind::NotFound => {
        Err(format!("warning: cannot remove {}{task}: {err}", self.shown))
      }
      _ => Ok(()),
    }
  }

  /// The folder, and a `.gitignore` in `.runner/` that keeps it out of version control.
  fn make_dir(&self) -> std::io::Result<()> {
    if self.dir.is_dir() {
      return Ok(());
    }
    std::fs::create_dir_all(&self.dir)?;
    if let Some(root) = self.dir.parent() {
      let _ = std::fs::write(root.join(".gitignore"), "*\n");
    }
    Ok(())
  }
}
