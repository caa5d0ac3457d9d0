//! A small builder: write a job file into a temp dir, run the real binary, look at the result.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_runner");

/// The repository root (where `jobs/` lives).
pub(crate) fn repo() -> PathBuf {
  PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) struct Test {
  pub dir: tempfile::TempDir,
}

impl Test {
  pub(crate) fn new() -> Self {
    Self { dir: tempfile::tempdir().expect("temp dir") }
  }

  /// A test with `job.yaml` holding `yaml` (dedented).
  pub(crate) fn with_job(yaml: &str) -> Self {
    let test = Self::new();
    test.write("job.yaml", &dedent(yaml));
    test
  }

  pub(crate) fn path(&self, name: &str) -> PathBuf {
    self.dir.path().join(name)
  }

  pub(crate) fn write(&self, name: &str, text: &str) {
    std::fs::write(self.path(name), text).expect("write file");
  }

  pub(crate) fn read(&self, name: &str) -> String {
    std::fs::read_to_string(self.path(name)).unwrap_or_default()
  }

  /// `runner ARGS...` run in the temp dir, with a plain, colourless environment.
  pub(crate) fn command(&self, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(self.dir.path());
    cmd
      .env("NO_COLOR", "1")
      .env_remove("CI")
      .env_remove("GITHUB_ACTIONS")
      .env_remove("GITHUB_STEP_SUMMARY")
      .env("COLUMNS", "100");
    cmd
  }

  pub(crate) fn run(&self, args: &[&str]) -> Run {
    Run::from(self.command(args).output().expect("run runner"))
  }
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub(crate) struct Run {
  pub code: i32,
  pub stdout: String,
  pub stderr: String,
}

impl From<Output> for Run {
  fn from(out: Output) -> Self {
    Self {
      code: code_of(out.status),
      stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
      stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
  }
}

impl Run {
  #[track_caller]
  pub(crate) fn code(&self, expected: i32) -> &Self {
    assert_eq!(
      self.code, expected,
      "exit code\n--- stdout\n{}\n--- stderr\n{}",
      self.stdout, self.stderr
    );
    self
  }
}

/// Removes the common leading indentation, so tests can indent their YAML.
pub(crate) fn dedent(text: &str) -> String {
  let text = text.strip_prefix('\n').unwrap_or(text);
  let indent = text
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| l.len() - l.trim_start().len())
    .min()
    .unwrap_or(0);
  text.lines().map(|l| l.get(indent..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
    + "\n"
}

/// The example job files in `jobs/`, sorted; never empty, so a test looping over them checks
/// something.
pub(crate) fn jobs() -> Vec<PathBuf> {
  let mut files: Vec<_> = std::fs::read_dir(repo().join("jobs"))
    .expect("jobs/")
    .map(|e| e.expect("entry").path())
    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    .collect();
  files.sort();
  assert!(!files.is_empty(), "no job files in jobs/");
  files
}

pub(crate) fn relative(path: &Path) -> String {
  path.strip_prefix(repo()).unwrap_or(path).display().to_string()
}

/// The exit code of a finished process, 128 + N when a signal N ended it.
pub(crate) fn code_of(status: ExitStatus) -> i32 {
  use std::os::unix::process::ExitStatusExt;
  status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// A file's text, or "" when it cannot be read.
pub(crate) fn read(path: &Path) -> String {
  std::fs::read_to_string(path).unwrap_or_default()
}

/// The lines of a file the tasks appended to, trimmed.
pub(crate) fn lines_of(test: &Test, name: &str) -> Vec<String> {
  test.read(name).lines().map(|l| l.trim().to_string()).collect()
}

/// Polls `attempt` until it gives `Ok`, failing after `deadline` with what the last `Err` said
/// about the state seen: tests never sleep for a fixed time to wait for something they can
/// observe.
#[track_caller]
pub(crate) fn wait_for<T>(
  what: &str,
  deadline: Duration,
  mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
  let start = Instant::now();
  loop {
    match attempt() {
      Ok(value) => return value,
      Err(seen) => assert!(
        start.elapsed() < deadline,
        "timed out after {:?} waiting until {what}{}{seen}",
        start.elapsed(),
        if seen.is_empty() { "" } else { ":\n" }
      ),
    }
    std::thread::sleep(Duration::from_millis(20));
  }
}

/// Polls `condition` until it holds, failing after `deadline`.
#[track_caller]
pub(crate) fn wait_until(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
  wait_for(what, deadline, || if condition() { Ok(()) } else { Err(String::new()) })
}

/// Polls until `child` exits, for at most `deadline`: None when it is still running then.
pub(crate) fn wait_child(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
  let start = Instant::now();
  loop {
    if let Some(status) = child.try_wait().expect("try_wait") {
      return Some(status);
    }
    if start.elapsed() > deadline {
      return None;
    }
    std::thread::sleep(Duration::from_millis(10));
  }
}

/// Whether `tool`, a program outside Rust that a test needs (a name looked up on PATH, or a path
/// such as `/usr/bin/time`), is installed. Every test that runs such a program asks first:
///
/// ```ignore
/// if !require("dot") {
///   return;
/// }
/// ```
///
/// When the tool is missing outside CI (`CI` unset or empty), this prints one line to stderr
/// (skipped: TEST: `TOOL` is not installed), and the test returns and passes. In CI (`CI` set),
/// where `.ci/run` installs every tool, a missing tool fails the test instead.
#[track_caller]
pub(crate) fn require(tool: &str) -> bool {
  if installed(tool) {
    return true;
  }
  let thread = std::thread::current();
  let test = thread.name().filter(|name| *name != "main").unwrap_or("a test");
  if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) {
    panic!("{test} needs `{tool}`, which is not installed (.ci/run installs it)");
  }
  // Straight to stderr in one write, not through `eprintln!`, which the test harness captures and
  // shows only for a failing test.
  use std::io::Write;
  let line = format!("skipped: {test}: `{tool}` is not installed\n");
  let _ = std::io::stderr().write_all(line.as_bytes());
  false
}

/// Whether a Slurm cluster answers: `sinfo` is on PATH and `sinfo -h` succeeds within 10 s
/// (with `SLURM_CONF`, or Slurm's default configuration). Every Slurm test asks first, as with
/// `require`. The answer is found once per test binary: a cluster that does not answer costs
/// `sinfo` about 9 s of retries.
///
/// Outside CI this prints one line to stderr and the test returns and passes; in CI (`CI` set),
/// where `.ci/run` starts a cluster with `scripts/slurm-cluster.sh`, it fails the test instead.
#[track_caller]
pub(crate) fn require_slurm() -> bool {
  static ANSWERS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
  let answers = *ANSWERS.get_or_init(|| {
    let probe = Command::new("sinfo")
      .arg("-h")
      .stdin(Stdio::null())
      .stdout(Stdio::null())
      .stderr(Stdio::null())
      .spawn();
    // It fails to spawn when `sinfo` is not on PATH.
    let Ok(mut sinfo) = probe else {
      return false;
    };
    let status = wait_child(&mut sinfo, Duration::from_secs(10));
    if status.is_none() {
      let _ = sinfo.kill();
      let _ = sinfo.wait();
    }
    status.is_some_and(|s| s.success())
  });
  if answers {
    return true;
  }
  let thread = std::thread::current();
  let test = thread.name().filter(|name| *name != "main").unwrap_or("a test");
  if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) {
    panic!(
      "{test} needs a Slurm cluster: `sinfo` is not on PATH or `sinfo -h` did not succeed within \
       10 s (SLURM_CONF={:?}); Slurm tests must run in CI, where .ci/run starts a cluster with \
       scripts/slurm-cluster.sh start DIR",
      std::env::var_os("SLURM_CONF").unwrap_or_default()
    );
  }
  use std::io::Write;
  let line =
    "skipped: Slurm is not installed or no cluster answers (scripts/slurm-cluster.sh start DIR)\n";
  let _ = std::io::stderr().write_all(line.as_bytes());
  false
}

/// Whether `tool` is an executable file: at its path when it has a `/`, else in a PATH folder.
fn installed(tool: &str) -> bool {
  use std::os::unix::fs::PermissionsExt;
  let executable =
    |path: &Path| path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
  if tool.contains('/') {
    return executable(Path::new(tool));
  }
  let path = std::env::var_os("PATH").unwrap_or_default();
  std::env::split_paths(&path).any(|dir| executable(&dir.join(tool)))
}

/// The variable that tags a runner and, through inheritance, every process of its tasks.
pub(crate) const TAG: &str = "RUNNER_TEST_TAG";

/// A tag value no other process on the machine has in its environment.
pub(crate) fn unique_tag(prefix: &str) -> String {
  static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
  let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
  format!("{prefix}-{}-{n}", std::process::id())
}

/// Live (non-zombie) processes whose environment holds `TAG=tag`, as pid -> command line.
pub(crate) fn tagged_processes(tag: &str) -> std::collections::BTreeMap<i32, String> {
  let wanted = format!("{TAG}={tag}");
  let mut found = std::collections::BTreeMap::new();
  let Ok(entries) = std::fs::read_dir("/proc") else {
    return found;
  };
  for entry in entries.flatten() {
    let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
      continue;
    };
    let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
      continue;
    };
    if !environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes()) {
      continue;
    }
    // `pid (comm) S ...`: skip zombies, which are dead and only wait to be reaped.
    let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
    let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
    if matches!(state, Some('Z' | 'X') | None) {
      continue;
    }
    let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    found.insert(pid, cmdline.trim_end().to_string());
  }
  found
}

/// How many tagged processes are `sleep ARG` itself (exec'd, so a signal to the group reaches
/// it: one that lands between fork and exec could be lost).
pub(crate) fn sleeping(tag: &str, arg: &str) -> usize {
  let wanted = format!("sleep {arg}");
  tagged_processes(tag).values().filter(|cmd| **cmd == wanted).count()
}

/// How long a test waits for something that should take a few seconds: long enough not to be
/// flaky on a loaded 2-core machine, short enough that a hang fails the test instead of the CI.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// Kills (SIGKILL) whatever still carries the tag when dropped, so a failing (or hanging) test
/// leaves nothing behind.
pub(crate) struct Reaper(pub String);

impl Reaper {
  /// A reaper of a new tag (see `unique_tag`).
  pub(crate) fn new(prefix: &str) -> Self {
    Self(unique_tag(prefix))
  }

  pub(crate) fn tag(&self) -> &str {
    &self.0
  }
}

impl Drop for Reaper {
  fn drop(&mut self) {
    // A few rounds: a shell killed half-way may have forked one more child.
    for _ in 0..50 {
      let left = tagged_processes(&self.0);
      if left.is_empty() {
        return;
      }
      for pid in left.keys() {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
          libc::kill(*pid, libc::SIGKILL);
        }
      }
      std::thread::sleep(Duration::from_millis(20));
    }
  }
}

/// Waits until no live process carries the tag, failing with what is left after `deadline`.
#[track_caller]
pub(crate) fn assert_all_gone(tag: &str, deadline: Duration) {
  wait_for("no process of the run is left after the runner exited", deadline, || {
    let left = tagged_processes(tag);
    if left.is_empty() {
      return Ok(());
    }
    Err(left.iter().map(|(pid, cmd)| format!("{pid}: {cmd}")).collect::<Vec<_>>().join("\n"))
  })
}

/// A runner started in the background with `TAG=tag` in its environment (inherited by every
/// process of its tasks), its stdout and stderr going to files in the temp dir.
pub(crate) struct Background {
  child: Child,
  started: Instant,
  out: PathBuf,
  err: PathBuf,
}

impl Background {
  pub(crate) fn spawn(test: &Test, tag: &str, args: &[&str]) -> Self {
    let out = test.path("runner.stdout");
    let err = test.path("runner.stderr");
    let mut cmd = test.command(args);
    cmd
      .env(TAG, tag)
      .stdin(Stdio::null())
      .stdout(std::fs::File::create(&out).expect("stdout file"))
      .stderr(std::fs::File::create(&err).expect("stderr file"));
    Self { child: cmd.spawn().expect("spawn runner"), started: Instant::now(), out, err }
  }

  pub(crate) fn pid(&self) -> i32 {
    self.child.id() as i32
  }

  /// The time since the runner was spawned.
  pub(crate) fn elapsed(&self) -> Duration {
    self.started.elapsed()
  }

  /// Where the runner's stderr goes.
  pub(crate) fn stderr_path(&self) -> &Path {
    &self.err
  }

  /// What the runner has printed to stdout so far.
  pub(crate) fn stdout(&self) -> String {
    read(&self.out)
  }

  pub(crate) fn signal(&self, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; the child is not reaped yet.
    let rc = unsafe { libc::kill(self.pid(), signal) };
    assert_eq!(rc, 0, "kill({}, {signal})", self.pid());
  }

  /// The runner's exit status, if it has exited.
  pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
    self.child.try_wait().expect("try_wait")
  }

  /// Kills the runner and fails: it did not exit within `deadline`.
  #[track_caller]
  pub(crate) fn fail_hung(&mut self, deadline: Duration) -> ! {
    let _ = self.child.kill();
    let _ = self.child.wait();
    panic!(
      "the runner did not exit within {deadline:?} (killed)\n--- stdout\n{}\n--- stderr\n{}",
      tail(&self.stdout(), 60),
      read(&self.err)
    );
  }

  /// What the runner that exited with `status` printed, and how long it ran.
  pub(crate) fn finish(&self, status: ExitStatus) -> (Run, Duration) {
    let took = self.started.elapsed();
    (Run { code: code_of(status), stdout: self.stdout(), stderr: read(&self.err) }, took)
  }

  /// Waits for the runner to exit; kills it and fails after `deadline`.
  #[track_caller]
  pub(crate) fn wait(mut self, deadline: Duration) -> (Run, Duration) {
    match wait_child(&mut self.child, deadline) {
      Some(status) => self.finish(status),
      None => self.fail_hung(deadline),
    }
  }
}

/// A test that fails half-way does not leave its runner behind.
impl Drop for Background {
  fn drop(&mut self) {
    if let Ok(None) = self.child.try_wait() {
      let _ = self.child.kill();
      let _ = self.child.wait();
    }
  }
}

/// Runs the runner in the background with a tag of its own until it exits, which must be with
/// `code` and within `within`; then no process of its tasks may be left after `gone`.
#[track_caller]
pub(crate) fn run_to_its_end(
  test: &Test,
  args: &[&str],
  code: i32,
  within: Duration,
  gone: Duration,
) -> Run {
  let reaper = Reaper::new("run");
  let (run, took) = Background::spawn(test, reaper.tag(), args).wait(PATIENCE);
  run.code(code);
  assert!(took < within, "took {took:?}");
  assert_all_gone(reaper.tag(), gone);
  run
}

/// The last `n` lines of `text`, so a failure message with thousands of lines stays short.
pub(crate) fn tail(text: &str, n: usize) -> String {
  let lines: Vec<&str> = text.lines().collect();
  let skip = lines.len().saturating_sub(n);
  let head = if skip > 0 { format!("[... {skip} lines ...]\n") } else { String::new() };
  head + &lines[skip..].join("\n")
}

/// Whether the run printed `line` (the whole line).
#[track_caller]
pub(crate) fn assert_line(run: &Run, line: &str) {
  assert!(
    run.stdout.lines().any(|l| l == line),
    "no line {line:?}\n--- stdout\n{}\n--- stderr\n{}",
    tail(&run.stdout, 80),
    run.stderr
  );
}

fn has_line_starting(run: &Run, prefix: &str) -> bool {
  run.stdout.lines().any(|l| l.starts_with(prefix))
}

#[track_caller]
pub(crate) fn assert_line_starting(run: &Run, prefix: &str) {
  assert!(
    has_line_starting(run, prefix),
    "no line starting with {prefix:?}\n--- stdout\n{}\n--- stderr\n{}",
    tail(&run.stdout, 80),
    run.stderr
  );
}

#[track_caller]
pub(crate) fn assert_no_line_starting(run: &Run, prefix: &str) {
  assert!(
    !has_line_starting(run, prefix),
    "unexpected line starting with {prefix:?}\n--- stdout\n{}\n--- stderr\n{}",
    tail(&run.stdout, 80),
    run.stderr
  );
}

/// `text` (trimmed) parsed as JSON.
#[track_caller]
pub(crate) fn parse(text: &str) -> Value {
  serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// Every stdout line parsed as JSON (for `--output json`).
#[track_caller]
pub(crate) fn events(run: &Run) -> Vec<Value> {
  run
    .stdout
    .lines()
    .map(|l| {
      serde_json::from_str(l)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}\n{}", tail(&run.stdout, 40)))
    })
    .collect()
}

/// The `task_finished` event of `task`.
#[track_caller]
pub(crate) fn finished<'a>(events: &'a [Value], task: &str) -> &'a Value {
  events
    .iter()
    .find(|e| e["event"] == "task_finished" && e["task"] == task)
    .unwrap_or_else(|| panic!("no task_finished for {task}: {events:#?}"))
}

/// A run of the binary under GNU `time -v`, stdout discarded.
pub(crate) struct Measured {
  pub status: ExitStatus,
  /// Peak resident set size, in kB.
  pub peak_kb: u64,
  /// What `time -v` printed.
  pub report: String,
}

impl Test {
  /// `/usr/bin/time -v runner ARGS` in the temp dir, stdin closed and what `time` reports going
  /// to `time.txt` (see `timed`). The test asks `require("/usr/bin/time")` first.
  #[track_caller]
  pub(crate) fn time_command(&self, args: &[&str]) -> Command {
    assert!(installed("/usr/bin/time"), "call `require(\"/usr/bin/time\")` first");
    let mut cmd = Command::new("/usr/bin/time");
    cmd
      .arg("-v")
      .arg(BIN)
      .args(args)
      .current_dir(self.dir.path())
      .env("NO_COLOR", "1")
      .stdin(Stdio::null())
      .stderr(std::fs::File::create(self.path("time.txt")).expect("create time.txt"));
    cmd
  }

  /// What `time_command` reported for the run that ended with `status`.
  #[track_caller]
  pub(crate) fn timed(&self, status: ExitStatus) -> Measured {
    let report = self.read("time.txt");
    Measured { status, peak_kb: peak_rss_kb(&report), report }
  }

  /// Runs `runner ARGS` in the temp dir under `/usr/bin/time -v`, failing after `deadline`.
  #[track_caller]
  pub(crate) fn measure(&self, args: &[&str], deadline: Duration) -> Measured {
    let mut child =
      self.time_command(args).stdout(Stdio::null()).spawn().expect("spawn /usr/bin/time");
    let Some(status) = wait_child(&mut child, deadline) else {
      let _ = child.kill();
      let _ = child.wait();
      panic!("`runner {}` took over {deadline:?}", args.join(" "));
    };
    self.timed(status)
  }
}

impl Measured {
  /// User plus system CPU time of the run and everything it waited for, in seconds.
  #[track_caller]
  pub(crate) fn cpu_seconds(&self) -> f64 {
    let field = |name: &str| -> f64 {
      self
        .report
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{}", self.report))
    };
    field("User time (seconds):") + field("System time (seconds):")
  }
}

/// The peak RSS (kB) in the output of GNU `time -v`.
#[track_caller]
pub(crate) fn peak_rss_kb(report: &str) -> u64 {
  report
    .lines()
    .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
    .and_then(|v| v.trim().parse().ok())
    .unwrap_or_else(|| panic!("no peak RSS in\n{report}"))
}
