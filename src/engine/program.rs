//! Which program a task's command execs. A shell string made of plain words (no quotes,
//! variables, globs or operators) under the default `sh -c` is exec'd directly, as `make` does:
//! the shell would exec the same program with the same arguments. Shell builtins (other than
//! `true`/`false` without arguments), words that need expanding, and programs not found on PATH
//! go through the shell, so their behaviour and messages are the shell's.

use crate::graph::Program;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::path::PathBuf;

/// Remembers where programs were found on PATH, so each name is searched once per run.
pub(super) struct PathCache {
  found: HashMap<String, Option<PathBuf>>,
  path: Option<std::ffi::OsString>,
}

impl PathCache {
  pub(super) fn new() -> Self {
    Self { found: HashMap::new(), path: std::env::var_os("PATH") }
  }

  fn lookup(&mut self, name: &str) -> Option<PathBuf> {
    if let Some(found) = self.found.get(name) {
      return found.clone();
    }
    let found = self.path.as_deref().and_then(|path| search(path, name));
    self.found.insert(name.to_string(), found.clone());
    found
  }
}

/// The executable file `name` in the first folder of `path` that has one.
pub(super) fn search(path: &OsStr, name: &str) -> Option<PathBuf> {
  use std::os::unix::fs::PermissionsExt;
  std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| {
    std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
  })
}

/// Where `name` is: itself when it has a slash, else found on PATH (the task's own PATH when it
/// sets one), as `execvp` would.
pub(super) fn program_path(
  name: &str,
  env: &[(String, String)],
  paths: &mut PathCache,
) -> io::Result<PathBuf> {
  let not_found = || io::Error::from_raw_os_error(libc::ENOENT);
  if name.contains('/') {
    return Ok(PathBuf::from(name));
  }
  if name.is_empty() {
    return Err(not_found());
  }
  match env.iter().rev().find(|(k, _)| k == "PATH") {
    Some((_, path)) => search(OsStr::new(path), name).ok_or_else(not_found),
    None => paths.lookup(name).ok_or_else(not_found),
  }
}

/// Shell builtins and keywords of POSIX sh: a script naming one of them needs the shell.
const SHELL_WORDS: &[&str] = &[
  ".", ":", "[", "alias", "bg", "break", "case", "cd", "chdir", "command", "continue", "do",
  "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg",
  "fi", "for", "getopts", "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd", "read",
  "readonly", "return", "set", "shift", "test", "then", "times", "trap", "true", "type", "ulimit",
  "umask", "unalias", "unset", "until", "wait", "while", "{", "}", "!",
];

/// The program's path and the argv to exec it with directly, for a plain-word script under the
/// default shell, if any: `[path, word, args...]`. The program is looked up as the shell would,
/// on the task's own PATH when it sets one; its argv[0] is the word as written, as a shell gives
/// it (what `ps` shows, and what a multi-call program such as busybox goes by).
pub(super) fn direct_argv(
  program: &Program,
  env: &[(String, String)],
  paths: &mut PathCache,
) -> Option<Vec<PathBuf>> {
  let words = plain_words(program)?;
  let program = program_path(&words[0], env, paths).ok()?;
  Some(std::iter::once(program).chain(words.into_iter().map(PathBuf::from)).collect())
}

/// The words of a plain-word script under the default shell (see [`direct_argv`]), to be exec'd
/// as they are where the program is looked up elsewhere (on a Slurm node, by `exec "$@"`).
pub(super) fn plain_words(program: &Program) -> Option<Vec<String>> {
  let script = program.script.as_deref().filter(|_| program.default_shell)?;
  let plain = |c: char| {
    c.is_ascii_alphanumeric()
      || matches!(c, '_' | '.' | '/' | ':' | ',' | '+' | '@' | '%' | '-' | ' ')
  };
  if !script.chars().all(plain) {
    return None;
  }
  let words: Vec<&str> = script.split(' ').filter(|w| !w.is_empty()).collect();
  let (&first, args) = words.split_first()?;
  let exact = matches!(first, "true" | "false") && args.is_empty();
  if first.contains('=') || (SHELL_WORDS.contains(&first) && !exact) {
    return None;
  }
  Some(words.iter().map(|w| w.to_string()).collect())
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::path::Path;

  fn shell(script: &str) -> Program {
    Program {
      argv: vec!["sh".into(), "-c".into(), script.into()],
      script: Some(script.into()),
      default_shell: true,
    }
  }

  fn direct(script: &str) -> Option<Vec<String>> {
    direct_argv(&shell(script), &[], &mut PathCache::new())
      .map(|v| v.iter().map(|p| p.display().to_string()).collect())
  }

  #[test]
  fn plain_words_are_execed() {
    let argv = direct("sleep  0.1").expect("direct");
    assert!(argv[0].ends_with("/sleep"));
    assert_eq!(argv[1..], ["sleep", "0.1"], "argv[0] as written");
    assert!(direct("true").unwrap()[0].ends_with("/true"));
  }

  #[test]
  fn anything_shell_goes_through_the_shell() {
    for script in [
      "echo hi",
      "true --help",
      "exit 3",
      "cd /tmp",
      "sleep 1 && true",
      "echo $HOME",
      "ls *",
      "A=1 env",
      "cat 'x'",
      "no-such-program-here",
      "sleep 1; true",
      "~/bin/x",
      "false x",
    ] {
      assert_eq!(direct(script), None, "{script}");
    }
  }

  #[test]
  fn a_program_is_found_on_the_tasks_own_path_when_it_sets_one() {
    let mut paths = PathCache::new();
    let env = |path: &str| vec![("PATH".to_string(), path.to_string())];
    let found = program_path("sh", &env("/nonexistent:/bin"), &mut paths).expect("found");
    assert_eq!(found, Path::new("/bin/sh"));
    let missing = program_path("sh", &env("/nonexistent"), &mut paths).expect_err("not found");
    assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(program_path("./x.sh", &[], &mut paths).unwrap(), Path::new("./x.sh"));
    assert!(program_path("sh", &[], &mut paths).unwrap().ends_with("sh"));
  }

  #[test]
  fn other_shells_are_never_bypassed() {
    let mut program = shell("true");
    program.default_shell = false;
    assert_eq!(direct_argv(&program, &[], &mut PathCache::new()), None);
  }

  #[test]
  fn a_plain_word_is_looked_up_on_the_tasks_own_path() {
    let mut paths = PathCache::new();
    let env = |path: &str| vec![("PATH".to_string(), path.to_string())];
    let found = direct_argv(&shell("sh -c x"), &env("/nonexistent:/bin"), &mut paths);
    assert_eq!(found.expect("found")[0], Path::new("/bin/sh"));
    // Not on the task's PATH: the shell runs it, and says it is not found.
    assert_eq!(direct_argv(&shell("sh -c x"), &env("/nonexistent"), &mut paths), None);
  }
}
