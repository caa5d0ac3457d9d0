//! An exec's strings as execve takes them: the program's path, the fallback's path, the working
//! directory, argv, the fallback's argv and envp, laid out in buffers reused from one spawn to
//! the next. Both ways of spawning use them.

use super::Exec;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

/// A C string, as the exec takes it.
pub(super) type RawStr = *const libc::c_char;

/// Where an exec's strings are: valid while the [`Strings`] that laid them out is left alone.
#[derive(Clone, Copy)]
pub(super) struct ExecStrs {
  pub path: RawStr,
  pub argv: *const RawStr,
  /// Exec'd when `path` cannot be (null when there is nothing to fall back on).
  pub fallback: RawStr,
  pub fallback_argv: *const RawStr,
  pub envp: *const RawStr,
  pub cwd: RawStr,
}

impl ExecStrs {
  pub(super) const fn empty() -> Self {
    Self {
      path: ptr::null(),
      argv: ptr::null(),
      fallback: ptr::null(),
      fallback_argv: ptr::null(),
      envp: ptr::null(),
      cwd: ptr::null(),
    }
  }
}

/// The strings of one exec, each ended by a NUL, and where each starts; then the argv arrays and
/// envp, each ended by a null pointer. Reused, so a spawn allocates nothing once they have grown.
#[derive(Default)]
pub(super) struct Strings {
  bytes: Vec<u8>,
  starts: Vec<usize>,
  pointers: Vec<RawStr>,
}

impl Strings {
  /// Lays out the exec's strings, then argv, the fallback's argv and envp (the runner's
  /// `environ` without the keys `exec.env` sets, then `exec.env`) pointing into them.
  pub(super) fn lay_out(&mut self, exec: &Exec, environ: &[CString]) -> io::Result<ExecStrs> {
    self.bytes.clear();
    self.starts.clear();
    let (fallback, fallback_argv) = exec.fallback.unwrap_or((Path::new(""), &[]));
    self.push(&[exec.path.as_os_str().as_bytes()])?;
    self.push(&[fallback.as_os_str().as_bytes()])?;
    self.push(&[exec.cwd.as_os_str().as_bytes()])?;
    for arg in exec.argv.iter().chain(fallback_argv) {
      self.push(&[arg])?;
    }
    for (key, value) in exec.env {
      self.push(&[key.as_bytes(), b"=", value])?;
    }
    // Every string is in place: `bytes` does not move any more.
    let base = self.bytes.as_ptr().cast::<libc::c_char>();
    // SAFETY: each start is an offset inside `bytes`.
    let at = |start: usize| unsafe { base.add(start) };
    let overridden = |pair: &CString| {
      let key = pair.as_bytes().split(|&b| b == b'=').next().unwrap_or_default();
      exec.env.iter().any(|(k, _)| k.as_bytes() == key)
    };
    let (argc, fallback_argc) = (exec.argv.len(), fallback_argv.len());
    let args = &self.starts[3..];
    self.pointers.clear();
    self.pointers.extend(args[..argc].iter().map(|&start| at(start)));
    self.pointers.push(ptr::null());
    self.pointers.extend(args[argc..argc + fallback_argc].iter().map(|&start| at(start)));
    self.pointers.push(ptr::null());
    self.pointers.extend(environ.iter().filter(|p| !overridden(p)).map(|p| p.as_ptr()));
    self.pointers.extend(args[argc + fallback_argc..].iter().map(|&start| at(start)));
    self.pointers.push(ptr::null());
    let pointers = self.pointers.as_ptr();
    // SAFETY: the three arrays follow each other inside `pointers`.
    let (fallback_args, envp) =
      unsafe { (pointers.add(argc + 1), pointers.add(argc + fallback_argc + 2)) };
    Ok(ExecStrs {
      path: at(self.starts[0]),
      argv: pointers,
      fallback: if exec.fallback.is_some() { at(self.starts[1]) } else { ptr::null() },
      fallback_argv: fallback_args,
      envp,
      cwd: at(self.starts[2]),
    })
  }

  /// Adds the concatenation of `parts` to the exec's strings, ended by a NUL.
  fn push(&mut self, parts: &[&[u8]]) -> io::Result<()> {
    self.starts.push(self.bytes.len());
    for part in parts {
      if part.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"));
      }
      self.bytes.extend_from_slice(part);
    }
    self.bytes.push(0);
    Ok(())
  }
}
