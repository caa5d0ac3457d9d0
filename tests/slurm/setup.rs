//! What `--backend slurm` needs before it runs anything: Slurm's commands on PATH, and for the
//! steps path an allocation (`--slurm-alloc`, or one the runner is inside). Without them the
//! run is refused with one line on stderr and exit 2, and no task runs.

use crate::support::{Run, Test, require_slurm};
use std::path::Path;

const JOB: &str = "tasks:\n  task:\n    run: touch task.ran\n";

/// A folder of links to the few programs a shell needs, and none of Slurm's.
fn path_without_slurm(test: &Test) -> String {
  let bin = test.path("bin");
  std::fs::create_dir(&bin).expect("create bin/");
  for program in ["sh", "env", "cat", "echo", "touch", "sleep", "true", "false", "printf"] {
    let target = ["/usr/bin", "/bin"]
      .iter()
      .map(|dir| Path::new(dir).join(program))
      .find(|p| p.exists())
      .unwrap_or_else(|| panic!("no {program} in /usr/bin or /bin"));
    std::os::unix::fs::symlink(target, bin.join(program)).expect("link a program");
  }
  assert!(!bin.join("sbatch").exists() && !bin.join("srun").exists());
  bin.display().to_string()
}

/// Asserts the run was refused: exit 2, one line on stderr holding `words`, nothing run.
#[track_caller]
fn assert_refused(test: &Test, run: &Run, words: &[&str]) {
  run.code(2);
  let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
  assert_eq!(lines.len(), 1, "one line on stderr\n{}", run.stderr);
  for word in words {
    assert!(lines[0].contains(word), "{word:?} not in {:?}", lines[0]);
  }
  assert!(!test.path("task.ran").exists(), "the task ran");
}

#[test]
fn slurm_s_commands_missing_from_path_is_one_line_and_exit_2() {
  if !require_slurm() {
    return;
  }
  let test = Test::with_job(JOB);
  let path = path_without_slurm(&test);
  let cases: [(&[&str], &str); 2] = [
    (&["--slurm-launch", "jobs"], "`sbatch`"),
    (&["--slurm-launch", "steps", "--slurm-alloc", "1"], "`srun`"),
  ];
  for (launch, missing) in cases {
    let mut args = vec!["run", "job.yaml", "--backend", "slurm"];
    args.extend(launch);
    let run = Run::from(test.command(&args).env("PATH", &path).output().expect("run runner"));
    assert_refused(&test, &run, &[missing, "PATH"]);
  }
}

#[test]
fn steps_outside_an_allocation_without_slurm_alloc_is_one_line_and_exit_2() {
  if !require_slurm() {
    return;
  }
  let test = Test::with_job(JOB);
  let args = ["run", "job.yaml", "--backend", "slurm", "--slurm-launch", "steps"];
  let run = Run::from(test.command(&args).env_remove("SLURM_JOB_ID").output().expect("run runner"));
  assert_refused(&test, &run, &["allocation", "--slurm-alloc"]);
}
