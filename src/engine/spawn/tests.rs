//! Tests of spawning, each run both ways: with the runner's clone and with `posix_spawn`. A
//! failure reads the same both ways: the error of the spawn, or the one the child left.

use super::*;
use std::io::Read;

const WAYS: [Via; 2] = [Via::Clone, Via::PosixSpawn];

fn pipe() -> (OwnedFd, OwnedFd) {
  crate::engine::pipes::pipe().unwrap()
}

fn exec<'a>(argv: &'a [&'a [u8]], cwd: &'a Path, fds: [RawFd; 2]) -> Exec<'a> {
  let (stdout, stderr) = (fds[0], fds[1]);
  Exec {
    path: Path::new("/bin/sh"),
    argv,
    fallback: None,
    env: &[],
    cwd,
    stdout,
    stderr,
    dies_with_runner: true,
  }
}

/// What a child came to, once reaped.
#[derive(Debug)]
struct Ran {
  code: i32,
  out: String,
  err: String,
  pid: i32,
  /// Its process group, asked as soon as the spawn returned.
  group: i32,
  pidfd: bool,
}

/// Spawns what `make` gives, with pipes of its own for stdout and stderr, reads them to their
/// end and reaps the child: what it came to, or why its program could not run.
fn ran<'a>(spawner: &mut Spawner, make: impl FnOnce([RawFd; 2]) -> Exec<'a>) -> io::Result<Ran> {
  let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
  let child = spawner.spawn(&make([out_w.as_raw_fd(), err_w.as_raw_fd()]))?;
  // SAFETY: no memory is involved.
  let group = unsafe { libc::getpgid(child.pid) };
  drop((out_w, err_w));
  let read = |fd: OwnedFd| {
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text).unwrap();
    text
  };
  let (out, err) = (read(out_r), read(err_r));
  let mut status = 0;
  // SAFETY: waits for our own child; only `status` is written.
  unsafe { libc::waitpid(child.pid, &mut status, 0) };
  let code = libc::WEXITSTATUS(status);
  if let Some(error) = child.failed.error() {
    assert_eq!(code, 127, "a child that could not exec exits with 127");
    return Err(error);
  }
  let pidfd = child.pidfd.is_some();
  Ok(Ran { code, out, err, pid: child.pid, group, pidfd })
}

fn shell(via: Via, script: &str, env: &[(&str, &[u8])], cwd: &Path) -> Ran {
  let argv: &[&[u8]] = &[b"sh", b"-c", script.as_bytes()];
  ran(&mut Spawner::with(via), |fds| Exec { env, ..exec(argv, cwd, fds) }).expect("ran")
}

#[test]
fn the_way_is_the_one_named_else_the_clone_where_it_runs_beside() {
  let default = if child::RUNS_BESIDE { Via::Clone } else { Via::PosixSpawn };
  assert_eq!(Via::choose(None), default);
  assert_eq!(Via::choose(Some(OsStr::new("posix-spawn"))), Via::PosixSpawn);
  assert_eq!(Via::choose(Some(OsStr::new("clone"))), Via::Clone);
  assert_eq!(Via::choose(Some(OsStr::new("vfork"))), default);
  assert_eq!(Via::choose(Some(OsStr::new(""))), default);
  for via in WAYS {
    assert_eq!(Spawner::with(via).via(), via);
    assert_eq!(Via::choose(Some(OsStr::new(via.name()))), via);
  }
}

#[test]
fn the_child_gets_its_pipes_directory_environment_and_own_group() {
  let dir = std::env::temp_dir();
  let script =
    "echo out; echo err >&2; pwd; echo $X; echo $HOME; ps -o pgid= -p $$; read l; echo r=$?";
  for via in WAYS {
    let ran = shell(via, script, &[("X", b"x y")], &dir);
    let lines: Vec<&str> = ran.out.lines().collect();
    assert_eq!((ran.code, ran.err.as_str(), lines.len()), (0, "err\n", 6), "{via:?}: {ran:?}");
    assert_eq!(lines[0], "out");
    assert_eq!(Path::new(lines[1]), dir.canonicalize().unwrap(), "{via:?}");
    assert_eq!(lines[2], "x y", "{via:?}");
    assert_eq!(lines[3], std::env::var("HOME").unwrap_or_default(), "{via:?}");
    assert_eq!(lines[4].trim(), ran.pid.to_string(), "{via:?}: leads its own process group");
    assert_eq!(ran.group, ran.pid, "{via:?}: a group leader once the spawn returns");
    assert_eq!(lines[5], "r=1", "{via:?}: stdin is /dev/null");
    assert!(ran.pidfd, "{via:?}");
  }
}

#[test]
fn an_exit_code_is_the_childs() {
  for via in WAYS {
    assert_eq!(shell(via, "exit 3", &[], Path::new("/")).code, 3, "{via:?}");
  }
}

/// `/proc/<pid>/<file>` of a child once it has exec'd `sleep`.
fn once_execed(pid: i32, file: &str) -> String {
  let comm = format!("/proc/{pid}/comm");
  let start = std::time::Instant::now();
  while std::fs::read_to_string(&comm).unwrap() != "sleep\n" {
    assert!(start.elapsed().as_secs() < 10, "the child never exec'd");
    std::thread::sleep(std::time::Duration::from_millis(1));
  }
  std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap()
}

/// The hex mask on the line of `status` that starts with `name`.
fn mask(status: &str, name: &str) -> u64 {
  let line = status.lines().find(|l| l.starts_with(name)).expect("a mask line");
  u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn a_sleeping_child_blocks_no_signal_takes_sigpipe_and_has_the_limit_and_no_terminal() {
  // SAFETY: all zeroes is a valid rlimit, which getrlimit then writes.
  let found = unsafe {
    let mut found: libc::rlimit = std::mem::zeroed();
    assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut found), 0);
    found
  };
  // As if the runner had found a lower soft limit than its own: the child gets it back.
  let soft = found.rlim_cur.min(found.rlim_max).min(1000) - 1;
  let given: &'static libc::rlimit =
    Box::leak(Box::new(libc::rlimit { rlim_cur: soft, rlim_max: found.rlim_max }));
  let (_r, w) = pipe();
  let argv: &[&[u8]] = &[b"sleep", b"30"];
  for via in WAYS {
    let mut spawner = Spawner::with(via);
    spawner.nofile = Some(given);
    let sleep =
      Exec { path: Path::new("/bin/sleep"), ..exec(argv, Path::new("/"), [w.as_raw_fd(); 2]) };
    let child = spawner.spawn(&sleep).expect("spawned");
    let status = once_execed(child.pid, "status");
    let limits = once_execed(child.pid, "limits");
    let stat = once_execed(child.pid, "stat");
    // SAFETY: no memory is involved.
    let (group, session) = unsafe { (libc::getpgid(child.pid), libc::getsid(child.pid)) };
    crate::engine::kill::signal_group(child.pid, libc::SIGKILL);
    // SAFETY: waits for our own child; a null status pointer is allowed.
    unsafe { libc::waitpid(child.pid, ptr::null_mut(), 0) };
    assert_eq!(mask(&status, "SigBlk:"), 0, "{via:?}: no signal blocked");
    assert_eq!(mask(&status, "SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "{via:?}: SIGPIPE");
    let ignored = mask(&std::fs::read_to_string("/proc/self/status").unwrap(), "SigIgn:");
    let kept = ignored & !(1 << (libc::SIGPIPE - 1));
    assert_eq!(mask(&status, "SigIgn:"), kept, "{via:?}: ignored as in the runner but SIGPIPE");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let soft_seen: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    let hard = if found.rlim_max == libc::RLIM_INFINITY {
      "unlimited".to_string()
    } else {
      found.rlim_max.to_string()
    };
    assert_eq!(soft_seen, [soft.to_string(), hard], "{via:?}: the open-files limit found");
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let tty: i32 = after_name.split(' ').nth(4).unwrap().parse().unwrap();
    assert_eq!(tty, 0, "{via:?}: no controlling terminal");
    assert_eq!(group, child.pid, "{via:?}: leads its own group");
    if via == Via::PosixSpawn {
      assert_eq!(session, child.pid, "a session of its own");
    }
  }
}

#[test]
fn each_spawn_has_its_own_arguments_and_environment() {
  for via in WAYS {
    let mut spawner = Spawner::with(via);
    let script: &[u8] = b"echo \"$1 ${X-unset} ${HOME:+home}\"";
    let mut seen = Vec::new();
    type Run<'a> = (&'a [&'a [u8]], &'a [(&'a str, &'a [u8])]);
    let runs: [Run; 3] = [
      (&[b"sh", b"-c", script, b"sh", b"first"], &[("X", b"one"), ("HOME", b"")]),
      (&[b"sh", b"-c", b"echo never\0", b"sh"], &[]),
      (&[b"sh", b"-c", script, b"sh", b"second"], &[]),
    ];
    for (argv, env) in runs {
      match ran(&mut spawner, |fds| Exec { env, ..exec(argv, Path::new("/"), fds) }) {
        Ok(ran) => seen.push(ran.out),
        Err(err) => seen.push(err.kind().to_string()),
      }
    }
    let home = if std::env::var_os("HOME").is_some() { "home" } else { "" };
    let expected = ["first one \n", "invalid input parameter", &format!("second unset {home}\n")];
    assert_eq!(seen, expected, "{via:?}");
  }
}

#[test]
fn a_missing_program_or_directory_is_an_error_that_says_which() {
  let argv: &[&[u8]] = &[b"sh", b"-c", b"true"];
  let shell: &[&[u8]] = &[b"sh", b"-c", b"true"];
  let fallback = Some((Path::new("/bin/sh"), shell));
  let file = tempfile::NamedTempFile::new().unwrap();
  for via in WAYS {
    let mut spawner = Spawner::with(via);
    let missing = |fds: [RawFd; 2]| Exec {
      path: Path::new("/no/such/program"),
      ..exec(argv, Path::new("/"), fds)
    };
    let error = ran(&mut spawner, missing).expect_err("no such program");
    assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{via:?}: {error}");
    // Not one the fallback could run either: the directory is the same for it.
    for (cwd, kind) in
      [(Path::new("/no/dir"), io::ErrorKind::NotFound), (file.path(), io::ErrorKind::NotADirectory)]
    {
      let error = ran(&mut spawner, |fds| Exec { fallback, ..exec(argv, cwd, fds) })
        .expect_err("cannot enter the directory");
      assert_eq!(error.kind(), kind, "{via:?}: {error}");
      let text = error.to_string();
      assert!(text.starts_with("cannot enter its working directory: "), "{via:?}: {text}");
    }
    assert_eq!(ran(&mut spawner, |fds| exec(argv, Path::new("/"), fds)).unwrap().code, 0);
  }
}

#[test]
fn what_cannot_be_execed_falls_back_on_the_shell() {
  use std::os::unix::fs::PermissionsExt;
  let dir = tempfile::tempdir().unwrap();
  let script = dir.path().join("no-shebang");
  std::fs::write(&script, "echo from the script\n").unwrap();
  std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
  let argv: &[&[u8]] = &[script.as_os_str().as_bytes()];
  let shell: &[&[u8]] = &[b"sh", b"-c", script.as_os_str().as_bytes()];
  let fallback = Some((Path::new("/bin/sh"), shell));
  for via in WAYS {
    let mut spawner = Spawner::with(via);
    let make = |fds: [RawFd; 2]| Exec { path: &script, fallback, ..exec(argv, dir.path(), fds) };
    let ran = ran(&mut spawner, make).expect("ran");
    assert_eq!((ran.code, ran.out.as_str()), (0, "from the script\n"), "{via:?}");
    let error = ran_without_fallback(&mut spawner, &script, dir.path());
    assert_eq!(error.raw_os_error(), Some(libc::ENOEXEC), "{via:?}: {error}");
  }
}

fn ran_without_fallback(spawner: &mut Spawner, script: &Path, dir: &Path) -> io::Error {
  let argv: &[&[u8]] = &[script.as_os_str().as_bytes()];
  ran(spawner, |fds| Exec { path: script, ..exec(argv, dir, fds) }).expect_err("not execed")
}

#[test]
fn the_group_can_be_signalled_as_soon_as_the_spawn_returns() {
  let (_r, w) = pipe();
  let argv: &[&[u8]] = &[b"sh", b"-c", b"sleep 30"];
  for via in WAYS {
    let mut spawner = Spawner::with(via);
    for _ in 0..20 {
      let child = spawner.spawn(&exec(argv, Path::new("/"), [w.as_raw_fd(); 2])).expect("spawned");
      crate::engine::kill::signal_group(child.pid, libc::SIGKILL);
      let mut status = 0;
      // SAFETY: waits for our own child; only `status` is written.
      unsafe { libc::waitpid(child.pid, &mut status, 0) };
      assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL, "{via:?}");
    }
  }
}

#[test]
fn a_slot_serves_again_once_its_child_has_execed() {
  let mut spawner = Spawner::with(Via::Clone);
  let argv: &[&[u8]] = &[b"sh", b"-c", b"true"];
  for _ in 0..10 {
    assert_eq!(ran(&mut spawner, |fds| exec(argv, Path::new("/"), fds)).unwrap().code, 0);
  }
  let Route::Clone { slots, .. } = &spawner.route else { unreachable!("a clone spawner") };
  assert_eq!(slots.len(), 1);
}

#[test]
fn a_descriptor_among_0_to_2_is_copied_above_them_for_posix_spawn() {
  let same_file = |a: RawFd, b: RawFd| {
    // SAFETY: fstat writes only the structs passed.
    unsafe {
      let (mut x, mut y): (libc::stat, libc::stat) = (std::mem::zeroed(), std::mem::zeroed());
      libc::fstat(a, &mut x) == 0
        && libc::fstat(b, &mut y) == 0
        && (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino)
    }
  };
  for fd in 0..=2 {
    let copy = posix::above_stdio(fd).unwrap().expect("a copy");
    assert!(copy.as_raw_fd() > 2 && same_file(fd, copy.as_raw_fd()), "{fd}");
  }
  let (r, _w) = pipe();
  assert!(posix::above_stdio(r.as_raw_fd()).unwrap().is_none());
}
