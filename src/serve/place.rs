//! Where a daemon lives and how a client finds it: the state dir (0700), its lock, the socket,
//! the token file (0600), and the `address` file that tells clients of the state dir where the
//! daemon listens. Files are written whole (a temporary file, synced, then renamed).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The token's length in hex digits (32 random bytes).
pub(crate) const TOKEN_LEN: usize = 64;

/// The state dir when none is given: `$XDG_STATE_HOME/runner/serve`, else
/// `~/.local/state/runner/serve`.
pub(crate) fn default_state_dir() -> PathBuf {
  let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
  match (var("XDG_STATE_HOME"), var("HOME")) {
    (Some(state), _) => state.join("runner").join("serve"),
    (None, Some(home)) => home.join(".local/state/runner/serve"),
    (None, None) => PathBuf::from(".runner/serve"),
  }
}

/// The socket when none is given: in `$XDG_RUNTIME_DIR` for the default state dir, else in the
/// state dir given.
pub(crate) fn default_socket(state_dir: Option<&Path>) -> PathBuf {
  let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
  match (state_dir, runtime) {
    (Some(dir), _) => dir.join("serve.sock"),
    (None, Some(runtime)) => runtime.join("runner-serve.sock"),
    (None, None) => default_state_dir().join("serve.sock"),
  }
}

/// Creates the state dir (and its `runs` folder), private to the user.
pub(crate) fn make_state_dir(dir: &Path) -> io::Result<()> {
  std::fs::create_dir_all(dir.join("runs"))?;
  std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Holds the state dir's lock while the daemon lives; a second daemon on the same state dir
/// fails to take it.
pub(crate) struct Lock {
  _file: File,
}

pub(crate) fn lock(dir: &Path) -> Result<Lock, String> {
  let path = dir.join("lock");
  let file = OpenOptions::new()
    .create(true)
    .truncate(false)
    .write(true)
    .mode(0o600)
    .open(&path)
    .map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
  // SAFETY: flock on a descriptor this function owns; no memory is passed.
  if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
    return Err(format!("another runner serve uses the state dir `{}`", dir.display()));
  }
  Ok(Lock { _file: file })
}

/// The daemon's token: read from `token` in the state dir, or made (32 random bytes, hex) and
/// written there 0600 on the first start.
pub(crate) fn token(dir: &Path) -> Result<String, String> {
  let path = dir.join("token");
  if let Ok(token) = read_token(&path) {
    return Ok(token);
  }
  let mut bytes = [0u8; TOKEN_LEN / 2];
  File::open("/dev/urandom")
    .and_then(|mut random| io::Read::read_exact(&mut random, &mut bytes))
    .map_err(|e| format!("cannot read /dev/urandom for a token: {e}"))?;
  let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
  write_whole(&path, token.as_bytes(), 0o600)
    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
  Ok(token)
}

/// A token file's token: its first line, which must be [`TOKEN_LEN`] hex digits.
pub(crate) fn read_token(path: &Path) -> Result<String, String> {
  let text =
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
  let token = text.lines().next().unwrap_or("").trim().to_string();
  if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
    return Err(format!("`{}` holds no token ({TOKEN_LEN} hex digits)", path.display()));
  }
  Ok(token)
}

/// Writes `bytes` to `path` whole, with `mode`: a temporary file beside it, synced, renamed.
pub(crate) fn write_whole(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
  let mut temp = path.as_os_str().to_owned();
  temp.push(format!(".tmp{}", std::process::id()));
  let temp = PathBuf::from(temp);
  let written = (|| {
    let mut file =
      OpenOptions::new().create(true).truncate(true).write(true).mode(mode).open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
  })();
  if written.is_err() {
    let _ = std::fs::remove_file(&temp);
  }
  written?;
  if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
    let _ = File::open(dir).and_then(|d| d.sync_all());
  }
  Ok(())
}

/// Where a daemon listens, as its `address` file says it: `unix PATH` or `tcp ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
  Unix(PathBuf),
  Tcp(std::net::SocketAddr),
}

impl Address {
  pub(crate) fn to_line(&self) -> String {
    match self {
      Address::Unix(path) => format!("unix {}\n", path.display()),
      Address::Tcp(addr) => format!("tcp {addr}\n"),
    }
  }

  pub(crate) fn parse(text: &str) -> Option<Self> {
    let line = text.lines().next()?;
    match line.split_once(' ')? {
      ("unix", path) => Some(Address::Unix(PathBuf::from(path))),
      ("tcp", addr) => addr.parse().ok().map(Address::Tcp),
      _ => None,
    }
  }
}

impl std::fmt::Display for Address {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      Address::Unix(path) => write!(f, "{}", path.display()),
      Address::Tcp(addr) => write!(f, "{addr}"),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_token_is_made_once_private_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path()).unwrap();
    assert_eq!(token.len(), TOKEN_LEN);
    let mode = std::fs::metadata(dir.path().join("token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(super::token(dir.path()).unwrap(), token);
    std::fs::write(dir.path().join("bad"), "short\n").unwrap();
    assert!(read_token(&dir.path().join("bad")).unwrap_err().contains("holds no token"));
  }

  #[test]
  fn a_second_lock_on_the_state_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    let first = lock(dir.path()).unwrap();
    let err = lock(dir.path()).err().unwrap();
    assert!(err.starts_with("another runner serve uses the state dir"), "{err}");
    drop(first);
    // A child another test is starting meanwhile holds a copy of every descriptor until its
    // exec closes them: the lock is free once that copy is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while lock(dir.path()).is_err() {
      assert!(std::time::Instant::now() < deadline, "the lock is free once dropped");
      std::thread::yield_now();
    }
  }

  #[test]
  fn addresses_read_back_as_written() {
    for address in
      [Address::Unix("/run/u/r.sock".into()), Address::Tcp("127.0.0.1:7000".parse().unwrap())]
    {
      assert_eq!(Address::parse(&address.to_line()), Some(address));
    }
    assert_eq!(Address::parse("udp 1"), None);
  }
}
