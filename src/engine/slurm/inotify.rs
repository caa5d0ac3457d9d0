//! Files written into a directory, as inotify tells: how the jobs path sees an exit file as it
//! is renamed into the run directory.

use crate::engine::reactor::Source;
use std::path::Path;

/// An inotify descriptor on one directory, for files renamed into it or closed after writing.
pub(super) struct Inotify {
  pub fd: Source,
}

impl Inotify {
  pub(super) fn new(dir: &Path) -> Option<Self> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain syscalls; the fd is owned at once.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
      return None;
    }
    let owned = crate::engine::reactor::owned(fd).ok()?;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `path` is NUL-terminated; `fd` is a live inotify descriptor.
    let wd = unsafe {
      libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE)
    };
    if wd < 0 {
      return None;
    }
    Some(Self { fd: Source::new(owned).ok()? })
  }
}

/// The file names in a buffer of inotify events.
pub(super) fn inotify_names(mut buf: &[u8]) -> Vec<String> {
  const HEAD: usize = std::mem::size_of::<libc::inotify_event>();
  let mut names = Vec::new();
  while buf.len() >= HEAD {
    let len = u32::from_ne_bytes(buf[12..16].try_into().expect("4 bytes")) as usize;
    let Some(name) = buf.get(HEAD..HEAD + len) else { break };
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    names.push(String::from_utf8_lossy(name).into_owned());
    buf = &buf[HEAD + len..];
  }
  names
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn inotify_names_are_read_from_events() {
    let mut buf = Vec::new();
    for name in ["1.exit", "22.exit.tmp"] {
      let len = name.len().div_ceil(16) * 16;
      buf.extend_from_slice(&1i32.to_ne_bytes());
      buf.extend_from_slice(&libc::IN_MOVED_TO.to_ne_bytes());
      buf.extend_from_slice(&0u32.to_ne_bytes());
      buf.extend_from_slice(&(len as u32).to_ne_bytes());
      let mut padded = name.as_bytes().to_vec();
      padded.resize(len, 0);
      buf.extend_from_slice(&padded);
    }
    assert_eq!(inotify_names(&buf), ["1.exit", "22.exit.tmp"]);
  }
}
