//! Where the daemon listens: a unix socket made 0600 (a stale one, with no daemon behind it,
//! replaced; a live one a clear error), or a TCP port on a loopback address only; and the
//! accept loop, which serves each connection on the loop, refuses those past the limit, and
//! goes on after an accept that failed.

use super::conn::{self, Gate};
use super::daemon::Daemon;
use super::place::Address;
use super::protocol::{self, Fault};
use crate::engine::reactor::spawn_local;
use std::cell::{Cell, RefCell};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Connections served at once; one more is told `busy` and closed.
const MAX_CONNECTIONS: usize = 512;
/// How long the accept loop pauses after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// How often failed accepts are said, at most.
const ACCEPT_NOTICE: Duration = Duration::from_secs(60);

pub(crate) enum Listener {
  Unix(std::os::unix::net::UnixListener, PathBuf),
  Tcp(std::net::TcpListener, std::net::SocketAddr),
}

impl Listener {
  pub(crate) fn address(&self) -> Address {
    match self {
      Listener::Unix(_, path) => Address::Unix(path.clone()),
      Listener::Tcp(_, addr) => Address::Tcp(*addr),
    }
  }
}

/// Binds the unix socket at `path`, 0600.
pub(crate) fn unix(path: &Path) -> Result<Listener, String> {
  use std::os::unix::net::{UnixListener, UnixStream};
  if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
  }
  match std::fs::symlink_metadata(path) {
    Ok(meta) if std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) => {
      match UnixStream::connect(path) {
        Ok(_) => return Err(format!("another runner serve is listening on `{}`", path.display())),
        // No one behind it: a daemon that died. Replaced.
        Err(_) => std::fs::remove_file(path)
          .map_err(|e| format!("cannot remove the stale socket `{}`: {e}", path.display()))?,
      }
    }
    Ok(_) => return Err(format!("`{}` exists and is not a socket", path.display())),
    Err(_) => {}
  }
  // The socket is created with the umask's mode: none for group and others from the start.
  // SAFETY: umask only swaps the process's file mode mask.
  let old = unsafe { libc::umask(0o177) };
  let bound = UnixListener::bind(path);
  // SAFETY: as above, putting the mask back.
  unsafe { libc::umask(old) };
  let listener = bound.map_err(|e| format!("cannot listen on `{}`: {e}", path.display()))?;
  std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    .map_err(|e| format!("cannot make `{}` private: {e}", path.display()))?;
  Ok(Listener::Unix(listener, path.to_path_buf()))
}

/// Binds `addr`, which must be a loopback address.
pub(crate) fn tcp(addr: std::net::SocketAddr) -> Result<Listener, String> {
  if !addr.ip().is_loopback() {
    return Err(format!("--listen {addr}: only a loopback address (127.0.0.1, ::1) is served"));
  }
  let listener = std::net::TcpListener::bind(addr).map_err(|e| match e.kind() {
    std::io::ErrorKind::AddrInUse => {
      format!("cannot listen on {addr}: the port is taken (another runner serve?)")
    }
    _ => format!("cannot listen on {addr}: {e}"),
  })?;
  let addr = listener.local_addr().unwrap_or(addr);
  Ok(Listener::Tcp(listener, addr))
}

/// Accepts connections until the process ends, each served on the loop.
pub(crate) fn accept(listener: Listener, daemon: Rc<RefCell<Daemon>>, gate: Rc<Gate>) {
  let open = Rc::new(Cell::new(0usize));
  match listener {
    Listener::Unix(listener, _) => spawn_local(async move {
      let listener = async_std::os::unix::net::UnixListener::from(listener);
      let mut said = None;
      loop {
        match listener.accept().await {
          Ok((stream, _)) => served(stream, &open, &daemon, &gate),
          Err(err) => failed(&err, &mut said).await,
        }
      }
    }),
    Listener::Tcp(listener, _) => spawn_local(async move {
      let listener = async_std::net::TcpListener::from(listener);
      let mut said = None;
      loop {
        match listener.accept().await {
          Ok((stream, _)) => {
            let _ = stream.set_nodelay(true);
            served(stream, &open, &daemon, &gate);
          }
          Err(err) => failed(&err, &mut said).await,
        }
      }
    }),
  }
}

/// A failed accept (out of file descriptors, most often) is not the end of the daemon: it is
/// said at most once a minute (`said`: when it last was), and tried again after a pause, by
/// when connections that ended may have given their descriptors back. The connection waits in
/// the kernel's queue meanwhile.
async fn failed(err: &std::io::Error, said: &mut Option<Instant>) {
  if said.is_none_or(|at| at.elapsed() >= ACCEPT_NOTICE) {
    eprintln!("runner serve: cannot accept a connection: {err} (trying again)");
    *said = Some(Instant::now());
  }
  async_std::task::sleep(ACCEPT_PAUSE).await;
}

fn served<S>(stream: S, open: &Rc<Cell<usize>>, daemon: &Rc<RefCell<Daemon>>, gate: &Rc<Gate>)
where
  S: async_std::io::Read + async_std::io::Write + Unpin + 'static,
{
  let (open, daemon, gate) = (open.clone(), daemon.clone(), gate.clone());
  spawn_local(async move {
    let mut stream = stream;
    if open.get() >= MAX_CONNECTIONS {
      let message = format!("busy: {MAX_CONNECTIONS} clients are connected");
      let reply = protocol::line(&protocol::error(Fault::Busy, &message, serde_json::json!({})));
      let _ = async_std::io::WriteExt::write_all(&mut stream, &reply).await;
      return;
    }
    open.set(open.get() + 1);
    conn::serve(stream, daemon, gate).await;
    open.set(open.get() - 1);
  });
}
