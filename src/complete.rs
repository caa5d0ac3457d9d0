//! Shell completion and man pages: the scripts `runner completions SHELL` prints, the answer to
//! the requests they make at each TAB, and the roff of `runner manpage`. The candidates for job
//! files and targets live in `candidates`.
//!
//! The scripts call back into `runner` (clap_complete's dynamic completion), so task names are
//! always those of the file on disk.

mod man;

use crate::cli::Cli;
use clap::CommandFactory;

/// The environment variable the scripts set when they ask for candidates.
const VAR: &str = "COMPLETE";

/// Answers a completion request and exits, if this process is one; otherwise returns.
pub(crate) fn answer_if_asked() {
  clap_complete::CompleteEnv::with_factory(Cli::command).var(VAR).complete();
}

/// The registration script for `shell`.
pub(crate) fn script(shell: clap_complete::Shell) -> String {
  let name = shell.to_string();
  let shells = clap_complete::env::Shells::builtins();
  let mut out = Vec::new();
  if let Some(completer) = shells.completer(&name) {
    let _ = completer.write_registration(VAR, "runner", "runner", "runner", &mut out);
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// The man page of `runner`, or of one of its subcommands (`runner-run(1)`...), as roff.
pub(crate) fn manpage(subcommand: Option<&str>) -> Option<String> {
  let mut command = Cli::command();
  command.build();
  let page = match subcommand {
    None => command,
    Some(name) => {
      let sub = command.find_subcommand(name)?.clone();
      sub.name(format!("runner-{name}")).version(env!("CARGO_PKG_VERSION"))
    }
  };
  let out = man::render(page).ok()?;
  Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn scripts_exist_for_every_shell() {
    for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish]
    {
      assert!(script(shell).contains("COMPLETE"), "{shell}");
    }
  }
}
