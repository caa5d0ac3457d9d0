//! Which job file a command works on: the one `-f FILE` names, a first word of `runner run` that
//! names one, or else `runner.yaml` (or `runner.yml`) in the current folder or its nearest
//! parent, as `just` and `task` find theirs. It reads folders only; loading is `compile`'s.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The names looked for in each folder, in this order.
pub(crate) const NAMES: [&str; 2] = ["runner.yaml", "runner.yml"];

/// Why no job file was found, or why the command line is ambiguous about it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
  /// Neither name in `start` or any folder above it.
  NotFound { start: PathBuf },
  /// Both names in one folder: which one is meant is not ours to guess.
  Both { dir: PathBuf },
  /// A first word that names an existing file, while a job file was also found.
  Ambiguous { word: String, found: PathBuf },
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      Self::NotFound { start } => write!(
        f,
        "error: no job file found: looked for `runner.yaml` and `runner.yml` in `{}` and every \
         folder above it\n  help: name one with `-f FILE`, or create `runner.yaml`",
        start.display()
      ),
      Self::Both { dir } => write!(
        f,
        "error: `{0}` holds both `runner.yaml` and `runner.yml`\n  help: remove or rename one, or \
         name one with `-f {0}/runner.yaml`",
        dir.display()
      ),
      Self::Ambiguous { word, found } => write!(
        f,
        "error: `{word}` could be the job file or a target of `{found}`\n  help: write `-f {word}` \
         (or `./{word}`) for the file, or `-f {found} {word}` for the target",
        found = found.display()
      ),
    }
  }
}

/// The job file found from `cwd` up: `runner.yaml` when it is here, else its absolute path, so
/// that diagnostics name it plainly and its folder (its tasks' working directory, `$PWD`) has no
/// `..` in it.
pub(crate) fn find(cwd: &Path) -> Result<PathBuf, Error> {
  for (level, dir) in cwd.ancestors().enumerate() {
    let found: Vec<&str> = NAMES.into_iter().filter(|name| dir.join(name).is_file()).collect();
    let at = |name: &str| if level == 0 { PathBuf::from(name) } else { dir.join(name) };
    match found[..] {
      [] => {}
      [name] => return Ok(at(name)),
      _ => return Err(Error::Both { dir: if level == 0 { ".".into() } else { dir.into() } }),
    }
  }
  Err(Error::NotFound { start: cwd.to_path_buf() })
}

/// The job file of a command that takes one FILE: the one given, or the one found.
pub(crate) fn file(given: Option<&Path>, cwd: &Path) -> Result<PathBuf, Error> {
  match given {
    Some(path) => Ok(path.to_path_buf()),
    None => find(cwd),
  }
}

/// Whether a word of `runner run` is written as a path: it ends in `.yaml` or `.yml`, or holds a
/// `/`, which no task or group name does.
pub(crate) fn looks_like_file(word: &str) -> bool {
  word.ends_with(".yaml") || word.ends_with(".yml") || word.contains('/')
}

/// `runner run [-f FILE] [FILE] [TARGET...]`: the job file and the targets. With `-f`, every
/// word is a target. Else the first word is the file when it is written as a path, or when it
/// names an existing file and no job file is found (both at once is ambiguous: an error).
pub(crate) fn run_words(
  flag: Option<&Path>,
  words: &[OsString],
  cwd: &Path,
) -> Result<(PathBuf, Vec<String>), Error> {
  let targets =
    |words: &[OsString]| words.iter().map(|w| w.to_string_lossy().into_owned()).collect();
  if let Some(path) = flag {
    return Ok((path.to_path_buf(), targets(words)));
  }
  let Some((first, rest)) = words.split_first() else { return Ok((find(cwd)?, Vec::new())) };
  let word = first.to_string_lossy();
  if looks_like_file(&word) {
    return Ok((PathBuf::from(first), targets(rest)));
  }
  let existing = cwd.join(first).is_file();
  match (find(cwd), existing) {
    (Ok(found), false) => Ok((found, targets(words))),
    (Ok(found), true) => Err(Error::Ambiguous { word: word.into_owned(), found }),
    (Err(Error::NotFound { .. }), true) => Ok((PathBuf::from(first), targets(rest))),
    (Err(err), _) => Err(err),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn words(line: &str) -> Vec<OsString> {
    line.split_whitespace().map(OsString::from).collect()
  }

  #[test]
  fn finds_the_nearest_job_file_above() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(dir.path().join("runner.yml"), "").unwrap();
    assert_eq!(find(&deep), Ok(dir.path().join("runner.yml")));
    std::fs::write(dir.path().join("a/runner.yaml"), "").unwrap();
    assert_eq!(find(&deep), Ok(dir.path().join("a/runner.yaml")));
    std::fs::write(deep.join("runner.yaml"), "").unwrap();
    assert_eq!(find(&deep), Ok(PathBuf::from("runner.yaml")));
    std::fs::write(deep.join("runner.yml"), "").unwrap();
    assert_eq!(find(&deep), Err(Error::Both { dir: PathBuf::from(".") }));
  }

  #[test]
  fn tells_the_file_from_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let run = |line: &str| run_words(None, &words(line), cwd);
    std::fs::write(cwd.join("jobs"), "").unwrap();
    // No runner.yaml: a word written as a path, or an existing file, is the file.
    assert_eq!(run("ci.yaml build"), Ok(("ci.yaml".into(), vec!["build".into()])));
    assert_eq!(run("jobs/x b"), Ok(("jobs/x".into(), vec!["b".into()])));
    assert_eq!(run("jobs b"), Ok(("jobs".into(), vec!["b".into()])));
    assert!(matches!(run("build"), Err(Error::NotFound { .. })));
    std::fs::write(cwd.join("runner.yaml"), "").unwrap();
    assert_eq!(run("build test"), Ok(("runner.yaml".into(), vec!["build".into(), "test".into()])));
    assert_eq!(run(""), Ok(("runner.yaml".into(), vec![])));
    assert!(matches!(run("jobs"), Err(Error::Ambiguous { .. })));
    let flag = run_words(Some(Path::new("x.yml")), &words("jobs b"), cwd);
    assert_eq!(flag, Ok(("x.yml".into(), vec!["jobs".into(), "b".into()])));
  }
}
