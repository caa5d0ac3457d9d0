//! The live view as a person sees it: a tmux server of our own runs the runner in a real
//! terminal, and its screen is read back as text (see `require("tmux")`).

use crate::support::{PATIENCE, unique_tag, wait_for};
use std::process::Command;

/// A tmux server of our own (its own socket), killed when the test ends.
pub(crate) struct Tmux {
  socket: String,
}

impl Tmux {
  /// A 120x30 session running `command` (see `require("tmux")`).
  pub(crate) fn start(command: &str) -> Self {
    // A socket per session: the tests that use tmux run at the same time.
    let tmux = Self { socket: unique_tag("runner-output") };
    let status = tmux
      .cmd(&["new-session", "-d", "-x", "120", "-y", "30", "-s", "main", command])
      .env_remove("CI")
      .env_remove("GITHUB_ACTIONS")
      .env_remove("NO_COLOR")
      .env("TERM", "xterm-256color")
      .status()
      .expect("start tmux");
    assert!(status.success(), "tmux new-session failed");
    tmux
  }

  pub(crate) fn cmd(&self, args: &[&str]) -> Command {
    let mut cmd = Command::new("tmux");
    cmd.args(["-u", "-L", &self.socket]).args(args);
    cmd
  }

  /// The screen as text.
  pub(crate) fn screen(&self) -> String {
    let out = self.cmd(&["capture-pane", "-p", "-t", "main"]).output().expect("capture-pane");
    String::from_utf8_lossy(&out.stdout).into_owned()
  }

  /// The screen and every line scrolled off it, as text.
  pub(crate) fn history(&self) -> String {
    let out = self.cmd(&["capture-pane", "-p", "-S", "-", "-t", "main"]).output();
    String::from_utf8_lossy(&out.expect("capture-pane").stdout).into_owned()
  }

  /// Polls the screen until `done` holds, or panics with the last screen at the deadline.
  #[track_caller]
  pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
    wait_for(what, PATIENCE, || {
      let screen = self.screen();
      if done(&screen) { Ok(screen) } else { Err(format!("the screen:\n{screen}")) }
    })
  }
}

impl Drop for Tmux {
  fn drop(&mut self) {
    let _ = self.cmd(&["kill-server"]).output();
  }
}

/// A spinner frame (braille pattern) at the start of a line.
pub(crate) fn spinner_line(line: &str) -> bool {
  line.chars().next().is_some_and(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
}
