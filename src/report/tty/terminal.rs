//! The terminal's size, read from the kernel each frame so a resized window is followed.

/// Rows and columns of the terminal on standard output, if it is one.
pub(super) fn size() -> Option<(usize, usize)> {
  // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we pass, and nothing else.
  let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
  let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
  (ok && ws.ws_row > 0).then_some((usize::from(ws.ws_row), usize::from(ws.ws_col)))
}
