//! SIGINT, SIGTERM, SIGHUP and SIGQUIT become messages in the run's inbox; SIGCHLD is kept
//! from waking anyone.

use async_channel::Sender;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/// The signals that stop a run: Ctrl-C, `kill`, a closed terminal or ssh session, Ctrl-\.
pub(crate) const STOPPING: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// Forwards every stopping signal from now on as `wrap(signal)` to `tx`. Without a handler the
/// runner would die at once and leave its tasks' process groups behind.
pub(crate) fn forward<M: Send + 'static>(tx: Sender<M>, wrap: fn(i32) -> M) {
  let Ok(mut signals) = signal_hook::iterator::Signals::new(STOPPING) else {
    eprintln!("warning: cannot install signal handlers; Ctrl-C will not stop tasks cleanly");
    return;
  };
  std::thread::spawn(move || {
    for signal in signals.forever() {
      if tx.send_blocking(wrap(signal)).is_err() {
        break;
      }
    }
  });
}

/// Blocks SIGCHLD in the calling thread and so in every thread it starts from now on. Exits are
/// seen through pidfds; left unblocked, each SIGCHLD arriving while the loop thread has signals
/// blocked for a spawn would wake another thread of the runner only to be discarded there, a
/// context switch per task on a machine whose cores the tasks need. Children start with an empty
/// signal mask, so none of them inherits this.
pub(crate) fn block_child_exits() {
  // SAFETY: changes only the calling thread's signal mask, from a set built on the stack.
  unsafe {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigaddset(&mut set, libc::SIGCHLD);
    libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
  }
}
