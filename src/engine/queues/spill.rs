//! The tail of an unbounded queue, kept on disk: items put while the queue's memory is past its
//! threshold are appended to an unlinked temp file (in `$TMPDIR`) and read back, in order, as
//! the queue drains. Writes and reads go through one buffer each, so an item costs no system
//! call of its own.

use async_channel::Sender;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// How much is written or read at once.
const CHUNK: usize = 1 << 20;

/// Items on disk, oldest first; each is its length (4 bytes, little-endian) and its bytes.
pub(super) struct Spill {
  file: File,
  /// Bytes written to the file; the write buffer holds what follows them.
  written: u64,
  write_buf: Vec<u8>,
  /// A write failed: what is put stays in the write buffer, in memory, rather than be lost.
  unwritable: bool,
  /// The file offset up to which bytes were read into the read buffer.
  read: u64,
  read_buf: Vec<u8>,
  /// Where the next item starts in the read buffer.
  next: usize,
  /// Items put and not popped yet.
  pub(super) items: u64,
  /// Keeps the queue's channel open while items wait here, after its producers have ended.
  pub(super) tx: Sender<String>,
}

impl Spill {
  /// A spill over a new unlinked temp file; None if none can be made.
  pub(super) fn new(tx: Sender<String>) -> Option<Self> {
    let file = unlinked_temp_file().ok()?;
    Some(Self {
      file,
      written: 0,
      write_buf: Vec::new(),
      unwritable: false,
      read: 0,
      read_buf: Vec::new(),
      next: 0,
      items: 0,
      tx,
    })
  }

  pub(super) fn push(&mut self, item: &str) {
    let len = u32::try_from(item.len()).expect("an item is a line of at most 64 KiB");
    self.write_buf.extend_from_slice(&len.to_le_bytes());
    self.write_buf.extend_from_slice(item.as_bytes());
    self.items += 1;
    if self.write_buf.len() >= CHUNK && !self.unwritable {
      match self.file.write_all_at(&self.write_buf, self.written) {
        Ok(()) => {
          self.written += self.write_buf.len() as u64;
          self.write_buf.clear();
        }
        Err(_) => self.unwritable = true,
      }
    }
  }

  /// The oldest item; None when there is none. An error: the file could not be read back.
  pub(super) fn pop(&mut self) -> io::Result<Option<String>> {
    if self.items == 0 {
      return Ok(None);
    }
    loop {
      if let Some(item) = self.parse() {
        self.items -= 1;
        return Ok(Some(item));
      }
      self.fill()?;
    }
  }

  /// The next whole item in the read buffer, if it holds one.
  fn parse(&mut self) -> Option<String> {
    let rest = &self.read_buf[self.next..];
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let bytes = rest.get(4..4 + len)?;
    let item = String::from_utf8_lossy(bytes).into_owned();
    self.next += 4 + len;
    Some(item)
  }

  /// Reads more into the read buffer: from the file while it has unread bytes, then what the
  /// write buffer holds (moved over, not written first).
  fn fill(&mut self) -> io::Result<()> {
    self.read_buf.drain(..self.next);
    self.next = 0;
    if self.read < self.written {
      let want = CHUNK.min((self.written - self.read) as usize);
      let start = self.read_buf.len();
      self.read_buf.resize(start + want, 0);
      self.file.read_exact_at(&mut self.read_buf[start..], self.read)?;
      self.read += want as u64;
      return Ok(());
    }
    if self.write_buf.is_empty() {
      return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "queue spill file cut short"));
    }
    self.read_buf.append(&mut self.write_buf);
    // What was buffered is read: later writes go where the next read will look.
    self.read = self.written;
    Ok(())
  }
}

/// A new file in `$TMPDIR` that no name leads to: it goes when it is closed, however the runner
/// ends. `O_TMPFILE` where the file system has it, else a fresh name removed at once.
fn unlinked_temp_file() -> io::Result<File> {
  use std::os::unix::fs::OpenOptionsExt;
  let dir = std::env::temp_dir();
  let mut options = std::fs::OpenOptions::new();
  options.read(true).write(true).mode(0o600);
  if let Ok(file) = options.clone().custom_flags(libc::O_TMPFILE).open(&dir) {
    return Ok(file);
  }
  let mut tries = 0;
  loop {
    let name = dir.join(format!("runner-queue-{}-{tries}", std::process::id()));
    match options.clone().create_new(true).open(&name) {
      Ok(file) => {
        std::fs::remove_file(&name)?;
        return Ok(file);
      }
      Err(err) if err.kind() == io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
      Err(err) => return Err(err),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn items_come_back_in_order_across_chunks_and_the_write_buffer() {
    let (tx, _rx) = async_channel::unbounded();
    let mut spill = Spill::new(tx).expect("a temp file");
    let item = |i: usize| format!("{i}:{}", "x".repeat(i % 5000));
    let mut popped = 0;
    for i in 0..3000 {
      spill.push(&item(i));
      // Pops now and then, so reads meet both the file and the write buffer.
      if i % 7 == 0 {
        assert_eq!(spill.pop().unwrap(), Some(item(popped)));
        popped += 1;
      }
    }
    assert!(spill.written > 0, "some of it went to the file");
    while let Some(got) = spill.pop().unwrap() {
      assert_eq!(got, item(popped));
      popped += 1;
    }
    assert_eq!((popped, spill.items), (3000, 0));
    spill.push("");
    spill.push("after");
    assert_eq!(spill.pop().unwrap().as_deref(), Some(""));
    assert_eq!(spill.pop().unwrap().as_deref(), Some("after"));
    assert_eq!(spill.pop().unwrap(), None);
  }
}
