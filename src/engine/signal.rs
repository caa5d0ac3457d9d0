//! SIGINT, SIGTERM, SIGHUP and SIGQUIT, and Ctrl-Z's SIGTSTP, become messages in the run's
//! inbox, read from a signalfd in the loop's own reactor; SIGCHLD is kept from waking anyone. No thread and no handler: the
//! signals are blocked in every thread of the runner, and children start with an empty mask and
//! default dispositions.

use super::reactor::{Source, owned, spawn_local};
use async_channel::Sender;

/// The signals that stop a run: Ctrl-C, `kill`, a closed terminal or ssh session, Ctrl-\.
pub(crate) const STOPPING: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Ctrl-Z: the runner stops with its tasks, and continues with them.
pub(crate) const SUSPEND: i32 = libc::SIGTSTP;

/// The stopping signals, SIGTSTP and SIGCHLD.
fn blocked() -> libc::sigset_t {
  // SAFETY: a sigset_t is plain data, valid when zeroed; the calls only write to `set`.
  unsafe {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    for signal in STOPPING.into_iter().chain([SUSPEND, libc::SIGCHLD]) {
      libc::sigaddset(&mut set, signal);
    }
    set
  }
}

/// Blocks the stopping signals, SIGTSTP and SIGCHLD in the calling thread, and so in every thread it
/// starts from now on: to be called before the run starts any thread (the live view's ticker,
/// the timers' thread). A stopping signal then waits for [`forward`] to read it, whichever
/// thread it was sent to. Exits are seen through pidfds; left unblocked, each SIGCHLD would wake
/// a thread only to be discarded, a context switch per task on a machine whose cores the tasks
/// need. Children start with an empty signal mask, so none of them inherits this.
pub(crate) fn block() {
  let set = blocked();
  // SAFETY: changes only the calling thread's signal mask, from a set on the stack.
  unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Forwards every stopping signal and SIGTSTP from now on as `wrap(signal)` to `tx`, from the loop of the
/// enclosing `block_on`. Without it the runner would die at once and leave its tasks' process
/// groups behind.
pub(crate) fn forward<M: 'static>(tx: Sender<M>, wrap: fn(i32) -> M) {
  let mut set = blocked();
  // SAFETY: `set` is a valid signal set; SIGCHLD leaves it so the signalfd reads only stops.
  let fd = unsafe {
    libc::sigdelset(&mut set, libc::SIGCHLD);
    libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
  };
  let Ok(source) = owned(fd).and_then(Source::new) else {
    eprintln!("warning: cannot read signals; Ctrl-C will not stop tasks cleanly");
    return;
  };
  spawn_local(async move {
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    // Each read is one whole `signalfd_siginfo`, whose first field is the signal's number.
    while let Ok(n) = source.read(&mut info).await {
      if n < info.len() {
        break;
      }
      let signal = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as i32;
      if tx.send(wrap(signal)).await.is_err() {
        break;
      }
    }
  });
}

/// Stops the runner itself, as SIGTSTP would have without its handling, and returns once it is
/// continued (SIGCONT: `fg`, `bg`).
pub(crate) fn stop_self() {
  // SAFETY: kill has no memory-safety preconditions; SIGSTOP cannot be caught or blocked.
  unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
}

/// Waits up to `timeout` for a stopping signal, while no run reads them (between the runs of
/// a watch); the signals must be blocked ([`block`]).
pub(crate) fn wait(timeout: std::time::Duration) -> Option<i32> {
  let mut set = blocked();
  let time = libc::timespec {
    tv_sec: timeout.as_secs() as libc::time_t,
    tv_nsec: timeout.subsec_nanos() as libc::c_long,
  };
  // SAFETY: `set` and `time` are valid for the call; SIGCHLD and SIGTSTP leave the set, so
  // only stopping signals are taken.
  let signal = unsafe {
    libc::sigdelset(&mut set, libc::SIGCHLD);
    libc::sigdelset(&mut set, SUSPEND);
    libc::sigtimedwait(&set, std::ptr::null_mut(), &time)
  };
  (signal > 0).then_some(signal)
}
