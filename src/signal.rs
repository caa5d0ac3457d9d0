//! SIGINT and SIGTERM become messages in the run's inbox.

use async_channel::Sender;
use signal_hook::consts::{SIGINT, SIGTERM};

/// Forwards every SIGINT and SIGTERM from now on as `wrap(signal)` to `tx`. Without a handler
/// the runner would die at once and leave its tasks' process groups behind.
pub fn forward<M: Send + 'static>(tx: Sender<M>, wrap: fn(i32) -> M) {
  let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
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
