//! Reading a job file within bounds: a regular file only (a FIFO, a terminal or `/dev/zero`
//! could block forever or never end), at most `MAX_FILE_BYTES`, checked by its size before
//! reading and again while reading (a file can grow), and UTF-8 text.

use crate::limits::MAX_FILE_BYTES;
use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a job file was not read.
#[derive(Debug)]
pub(crate) enum ReadError {
  Io(std::io::Error),
  /// Not a regular file: what it is instead, e.g. "a FIFO (named pipe)".
  NotAFile(&'static str),
  /// Larger than `MAX_FILE_BYTES`: its size when known before reading.
  TooLarge(Option<u64>),
  /// Not UTF-8: the 1-based line and column of the first bad byte.
  NotUtf8 {
    line: usize,
    column: usize,
  },
}

impl fmt::Display for ReadError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let limit = format!("the limit of {MAX_FILE_BYTES} bytes ({} MiB)", MAX_FILE_BYTES >> 20);
    match self {
      Self::Io(err) => write!(f, "{err}"),
      Self::NotAFile(what) => write!(f, "it is {what}; a job file must be a regular file"),
      Self::TooLarge(Some(size)) => write!(f, "it holds {size} bytes, over {limit}"),
      Self::TooLarge(None) => write!(f, "it grew past {limit} while it was read"),
      Self::NotUtf8 { line, column } => {
        write!(f, "it is not UTF-8 text (invalid byte at line {line}, column {column})")
      }
    }
  }
}

impl From<std::io::Error> for ReadError {
  fn from(err: std::io::Error) -> Self {
    Self::Io(err)
  }
}

/// The text of the job file at `path`.
pub(super) fn read_text(path: &Path) -> Result<String, ReadError> {
  // The type is checked before opening, so that a FIFO is not opened (which would block until
  // a writer comes) and a device is not touched, and again on the open file, which is the one
  // read whatever happened to the path in between.
  check(&std::fs::metadata(path)?)?;
  // Non-blocking, so that a FIFO put in its place after the check cannot block the open.
  let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
  check(&file.metadata()?)?;
  let bytes = read_bounded(file)?;
  String::from_utf8(bytes).map_err(|err| not_utf8(err.as_bytes(), err.utf8_error().valid_up_to()))
}

/// A regular file no larger than the limit.
fn check(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
  if let Some(what) = not_regular(metadata.file_type()) {
    return Err(ReadError::NotAFile(what));
  }
  if metadata.len() > MAX_FILE_BYTES {
    return Err(ReadError::TooLarge(Some(metadata.len())));
  }
  Ok(())
}

/// What a file that is not a regular file is, in words.
fn not_regular(kind: FileType) -> Option<&'static str> {
  match () {
    () if kind.is_file() => None,
    () if kind.is_dir() => Some("a directory"),
    () if kind.is_fifo() => Some("a FIFO (named pipe)"),
    () if kind.is_char_device() => Some("a character device"),
    () if kind.is_block_device() => Some("a block device"),
    () if kind.is_socket() => Some("a socket"),
    () => Some("not a regular file"),
  }
}

/// Reads at most one byte past the limit: enough to know the file is over it.
fn read_bounded(file: File) -> Result<Vec<u8>, ReadError> {
  let mut bytes = Vec::new();
  file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
  if bytes.len() as u64 > MAX_FILE_BYTES {
    return Err(ReadError::TooLarge(None));
  }
  Ok(bytes)
}

/// The place of the first byte that is not UTF-8, after `valid` good bytes.
fn not_utf8(bytes: &[u8], valid: usize) -> ReadError {
  // The bytes before `valid` are UTF-8 by definition.
  let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
  let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
  let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
  ReadError::NotUtf8 { line, column: before[line_start..].chars().count() + 1 }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn refuses_what_is_not_a_regular_file() {
    let err = read_text(Path::new("/dev/zero")).unwrap_err();
    assert!(matches!(err, ReadError::NotAFile("a character device")), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = read_text(dir.path()).unwrap_err();
    assert_eq!(err.to_string(), "it is a directory; a job file must be a regular file");
  }

  /// A file that grows past the limit after its size was checked (`/dev/zero` never ends).
  #[test]
  fn the_read_itself_is_bounded() {
    let endless = File::open("/dev/zero").unwrap();
    assert!(matches!(read_bounded(endless), Err(ReadError::TooLarge(None))));
  }

  #[test]
  fn places_the_first_byte_that_is_not_utf8() {
    let bytes = [b"a: 1\nb: \xc3\xa9".as_slice(), &[0xff], b"\n"].concat();
    let err = not_utf8(&bytes, std::str::from_utf8(&bytes).unwrap_err().valid_up_to());
    assert_eq!(err.to_string(), "it is not UTF-8 text (invalid byte at line 2, column 5)");
  }
}
