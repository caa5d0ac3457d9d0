//! Writing a report file whole or not at all: the text goes to a temporary file beside it, is
//! synced, and is renamed over the path, so a reader (or a runner killed with SIGKILL half-way)
//! never sees a truncated file: the path holds the earlier version, or nothing, until the new
//! one is complete. A path that is not a regular file (`/dev/stdout`, a FIFO, a device) is
//! written in place, as renaming over it would replace it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Where a report goes.
pub(super) enum Target {
  /// A regular file (or none yet), replaced by a rename: the real path, behind symlinks.
  Replace(PathBuf),
  /// Anything else, written in place.
  InPlace(PathBuf),
}

impl Target {
  /// Checks that `path` can be written, without touching what is there.
  pub(super) fn new(path: &Path) -> io::Result<Self> {
    let target = match std::fs::metadata(path) {
      Ok(meta) if meta.is_file() => Target::Replace(std::fs::canonicalize(path)?),
      Ok(_) => Target::InPlace(path.to_path_buf()),
      Err(err) if err.kind() == io::ErrorKind::NotFound => Target::Replace(path.to_path_buf()),
      Err(err) => return Err(err),
    };
    if let Target::Replace(path) = &target {
      let temp = temp_path(path);
      create(&temp)?;
      std::fs::remove_file(temp)?;
    }
    Ok(target)
  }

  /// Writes what `render` writes, whole: on an error the path keeps what it had, and no
  /// temporary file is left.
  pub(super) fn write(&self, render: impl Fn(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    match self {
      Target::InPlace(path) => {
        let mut out = BufWriter::new(OpenOptions::new().write(true).truncate(true).open(path)?);
        render(&mut out)?;
        out.flush()
      }
      Target::Replace(path) => {
        let temp = temp_path(path);
        let written = write_synced(&temp, render).and_then(|()| std::fs::rename(&temp, path));
        if written.is_err() {
          let _ = std::fs::remove_file(&temp);
        }
        written?;
        // The rename itself is made durable with its folder.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
          let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
      }
    }
  }
}

/// The temporary file beside `path`: hidden, and named after this process, so that two runners
/// writing the same report never share one.
fn temp_path(path: &Path) -> PathBuf {
  let name = path.file_name().map_or_else(|| "report".into(), |n| n.to_string_lossy());
  path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn create(path: &Path) -> io::Result<File> {
  OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

fn write_synced(path: &Path, render: impl Fn(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
  let mut out = BufWriter::new(create(path)?);
  render(&mut out)?;
  out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn replaces_a_file_whole_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, "old").unwrap();
    let target = Target::new(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "untouched until written");
    target.write(|out| out.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
  }

  #[test]
  fn a_failed_write_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, "old").unwrap();
    let target = Target::new(&path).unwrap();
    // Where the temporary file would go, nothing can be created.
    std::fs::create_dir(temp_path(&std::fs::canonicalize(&path).unwrap())).unwrap();
    assert!(target.write(|out| out.write_all(b"new")).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
  }

  #[test]
  fn a_device_is_written_in_place() {
    let target = Target::new(Path::new("/dev/null")).unwrap();
    assert!(matches!(target, Target::InPlace(_)));
    target.write(|out| out.write_all(b"gone")).unwrap();
  }
}
