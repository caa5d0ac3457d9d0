//! `runner serve`: a daemon that takes job files over a socket and runs them on one loop, with
//! the engine of `runner run`, sharing its `-j` slots among runs (`docs/protocol.md`). This
//! file sets it up (state dir, lock, journal and what interrupted runs left, the socket or
//! port) and runs the loop to the end of a shutdown; `serve/` holds the parts, and with
//! `conn`, `listen` and `execute` the only runtime calls besides the engine's.

mod conn;
mod daemon;
mod execute;
mod feed;
mod journal;
mod leftovers;
mod listen;
mod load;
pub(crate) mod place;
pub(crate) mod protocol;

use crate::cli::ServeArgs;
use crate::engine;
use crate::error::ExitCode;
use daemon::{Daemon, Limits};
use std::cell::RefCell;
use std::rc::Rc;

pub(crate) fn serve(args: &ServeArgs) -> ExitCode {
  if let Some(addr) = args.listen.filter(|addr| !addr.ip().is_loopback()) {
    eprintln!("error: --listen {addr}: only a loopback address (127.0.0.1, ::1) is served");
    return ExitCode::Invalid;
  }
  let dir = args.state_dir.clone().unwrap_or_else(place::default_state_dir);
  let dir = std::path::absolute(&dir).unwrap_or(dir);
  if let Err(err) = place::make_state_dir(&dir) {
    eprintln!("error: cannot make the state dir `{}`: {err}", dir.display());
    return ExitCode::Invalid;
  }
  let started = match start(args, &dir) {
    Ok(started) => started,
    Err(line) => {
      eprintln!("error: {line}");
      return ExitCode::RunFailed;
    }
  };
  let Started { lock, daemon, listener, gate } = started;
  let address = listener.address();
  let address_file = dir.join("address");
  if let Err(err) = place::write_whole(&address_file, address.to_line().as_bytes(), 0o600) {
    eprintln!("error: cannot write `{}`: {err}", address_file.display());
    return ExitCode::RunFailed;
  }
  let jobs = daemon.limits.jobs;
  eprintln!("runner serve: listening on {address} (state in {}, -j {jobs})", dir.display());
  engine::signal::block();
  let daemon = Rc::new(RefCell::new(daemon));
  engine::reactor::block_on(run(daemon, listener, Rc::new(gate)));
  let _ = std::fs::remove_file(&address_file);
  if let place::Address::Unix(path) = &address {
    let _ = std::fs::remove_file(path);
  }
  eprintln!("runner serve: stopped");
  drop(lock);
  ExitCode::Ok
}

struct Started {
  lock: place::Lock,
  daemon: Daemon,
  listener: listen::Listener,
  gate: conn::Gate,
}

/// Everything before the loop: the lock, the journal read back (and what its interrupted runs
/// left killed), the token, the socket or port.
fn start(args: &ServeArgs, dir: &std::path::Path) -> Result<Started, String> {
  let lock = place::lock(dir)?;
  let jobs = args.jobs.map_or_else(crate::options::cpus, |j| j as usize);
  let limits = Limits {
    jobs,
    max_runs: args.max_runs as usize,
    backlog: args.backlog as usize,
    keep: args.keep as usize,
    kill_grace: args.kill_grace,
    attempt_logs: args.attempt_logs,
  };
  let (daemon, interrupted) = Daemon::open(dir, limits)
    .map_err(|e| format!("cannot read or write the journal in `{}`: {e}", dir.display()))?;
  if !interrupted.is_empty() {
    let left: Vec<leftovers::Left> = interrupted
      .iter()
      .filter_map(|e| Some(leftovers::Left { tag: e.tag.as_deref()?, start_tick: e.start_tick? }))
      .collect();
    let killed = leftovers::kill(&left);
    let runs: Vec<&str> = interrupted.iter().map(|e| e.run.as_str()).collect();
    eprintln!(
      "runner serve: {} interrupted when the last daemon ended ({killed} processes of theirs killed): {}",
      crate::counted(runs.len(), "run"),
      runs.join(", ")
    );
  }
  let (listener, token) = match args.listen {
    Some(addr) => (listen::tcp(addr)?, Some(place::token(dir)?)),
    None => {
      let socket =
        args.socket.clone().unwrap_or_else(|| place::default_socket(args.state_dir.as_deref()));
      (listen::unix(&std::path::absolute(&socket).unwrap_or(socket))?, None)
    }
  };
  let gate = conn::Gate {
    token,
    handshake: args.handshake_timeout,
    refuse_delay: std::time::Duration::from_millis(500),
  };
  Ok(Started { lock, daemon, listener, gate })
}

/// The loop: signals (the first shuts down, a second stops the runs too), connections, runs;
/// over once a shutdown left nothing running and its replies went out.
async fn run(daemon: Rc<RefCell<Daemon>>, listener: listen::Listener, gate: Rc<conn::Gate>) {
  let (tx, signals) = async_channel::unbounded::<i32>();
  engine::signal::forward(tx, |signal| signal);
  let signalled = daemon.clone();
  engine::reactor::spawn_local(async move {
    let mut count = 0;
    while let Ok(signal) = signals.recv().await {
      if signal == engine::signal::SUSPEND {
        continue;
      }
      count += 1;
      signalled.borrow_mut().shutdown(count > 1);
    }
  });
  listen::accept(listener, daemon.clone(), gate);
  let over = daemon.borrow().over.clone();
  while !daemon.borrow().may_exit() {
    over.changed(over.version()).await;
  }
  // The clients that asked for the shutdown hear that it is done.
  let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
  while daemon.borrow().waiters > 0 && std::time::Instant::now() < deadline {
    let wait = over.changed(over.version());
    let _ = async_std::future::timeout(std::time::Duration::from_millis(100), wait).await;
  }
}
