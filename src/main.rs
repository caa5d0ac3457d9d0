//! The `runner` binary: everything is in the library; this only exits with its code, after
//! telling it what the Rust runtime would hide: whether stdout was closed at the start.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether fd 1 was closed when the process started (`runner run job.yaml >&-`). Read before
/// the Rust runtime's start-up, which opens /dev/null on a closed standard descriptor: after it,
/// a closed stdout cannot be told from a `/dev/null` opened by whoever started the runner.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

#[used]
#[unsafe(link_section = ".init_array")]
static SEE_STDOUT: extern "C" fn() = see_stdout;

extern "C" fn see_stdout() {
  // SAFETY: F_GETFD only reads fd 1's descriptor flags; -1 (EBADF) means it is not open.
  if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
  }
}

fn main() {
  if STDOUT_CLOSED.load(Ordering::Relaxed) {
    runner::stdout_was_closed();
  }
  std::process::exit(runner::main(std::env::args_os()));
}
