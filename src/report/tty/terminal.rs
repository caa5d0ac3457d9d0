//! The terminal on standard output: its size, read from the kernel each frame so a resized
//! window is followed, and its echo, off while the live view is on the screen.

/// Rows and columns of the terminal on standard output, if it is one.
pub(super) fn size() -> Option<(usize, usize)> {
  // SAFETY: a winsize is plain data, valid when zeroed.
  let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
  // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we pass, and nothing else.
  let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
  (ok && ws.ws_row > 0).then_some((usize::from(ws.ws_row), usize::from(ws.ws_col)))
}

/// Keeps the terminal from echoing what is typed while the rows are on the screen. An echo
/// (`^C` from a Ctrl-C, a newline from Enter) moves the cursor behind the view's back, and
/// the rows would then be redrawn and cleared a line off, leaving one behind. Only a run in the
/// terminal's foreground changes its modes; they are put back on drop, unless something else
/// has changed them meanwhile.
pub(super) struct EchoOff {
  /// The modes found, and the ones set.
  modes: Option<(libc::termios, libc::termios)>,
}

impl EchoOff {
  pub(super) fn new() -> Self {
    let fd = libc::STDOUT_FILENO;
    // SAFETY: both calls only read the terminal's state on a descriptor we hold.
    let foreground = unsafe { libc::tcgetpgrp(fd) == libc::getpgrp() };
    let Some(found) = modes().filter(|m| foreground && m.c_lflag & libc::ECHO != 0) else {
      return Self { modes: None };
    };
    let mut quiet = found;
    quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
    let set = set_modes(&quiet);
    Self { modes: set.then_some((found, quiet)) }
  }
}

impl Drop for EchoOff {
  fn drop(&mut self) {
    let Some((found, quiet)) = self.modes.take() else { return };
    if modes().is_some_and(|now| now.c_lflag == quiet.c_lflag) {
      set_modes(&found);
    }
  }
}

/// The modes of the terminal on standard output, if it is one.
fn modes() -> Option<libc::termios> {
  // SAFETY: a termios is plain data, valid when zeroed.
  let mut modes: libc::termios = unsafe { std::mem::zeroed() };
  // SAFETY: tcgetattr writes a `termios` into the struct we pass, and nothing else.
  (unsafe { libc::tcgetattr(libc::STDOUT_FILENO, &mut modes) } == 0).then_some(modes)
}

/// Sets the terminal's modes at once. SIGTTOU is blocked meanwhile: a run moved to the
/// background (Ctrl-Z, `bg`) since would otherwise be stopped by it instead.
fn set_modes(modes: &libc::termios) -> bool {
  // SAFETY: the signal sets are initialised by sigemptyset before use; the old mask is
  // restored before returning; tcsetattr reads `modes` only.
  unsafe {
    let (mut block, mut old) = (std::mem::zeroed(), std::mem::zeroed());
    libc::sigemptyset(&mut block);
    libc::sigaddset(&mut block, libc::SIGTTOU);
    libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
    let ok = libc::tcsetattr(libc::STDOUT_FILENO, libc::TCSANOW, modes) == 0;
    libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    ok
  }
}
