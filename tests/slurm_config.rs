//! The `slurm:` block of a job file through `runner validate`: a full block at both levels is
//! valid, and each bad value is a located error (snapshotted whole, with its primary place and
//! label checked explicitly), all of a file's at once.

use crate::diagnostics::harness::Diagnosed;
use crate::support::{Test, dedent};

/// Runs `runner validate` on `yaml` written as `NAME.yaml`, expects exit code 2 and snapshots
/// stderr as `NAME`.
#[track_caller]
fn validate(name: &str, yaml: &str) -> Diagnosed {
  let file = format!("{name}.yaml");
  let test = Test::new();
  test.write(&file, &dedent(yaml));
  let path = test.path(&file);
  let run = test.run(&["validate", path.to_str().expect("utf-8 temp path")]);
  run.code(2);
  assert_eq!(run.stdout, "", "validate printed to stdout");
  let dir = test.dir.path().display().to_string();
  let stderr = run.stderr.replace(&dir, "[TMP]");
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(name, stderr);
  });
  Diagnosed { name: file, stderr }
}

/// A task `t` whose block holds one `key: value`, written as YAML.
fn task_block(entry: &str) -> String {
  format!("tasks:\n  t:\n    run: make\n    slurm:\n      {entry}\n")
}

const FULL: &str = "
  slurm:
    partition: debug
    cpus: 2
    mem: 2G
    time: 1h30m
    nodes: 1
    extra: [--gres=gpu:1, --exclusive]
  tasks:
    build:
      run: echo built
      slurm:
        partition: gpu.a100
        cpus: 1024
        mem: 512
        time: 90s
        nodes: 1000
        extra: [--constraint=avx2, --comment=two words]
    test:
      run: echo tested
      needs: [build]
      slurm: {mem: 64K, time: 10m}
";

#[test]
fn a_full_block_at_both_levels_is_valid() {
  let test = Test::with_job(FULL);
  let run = test.run(&["validate", "job.yaml"]);
  run.code(0);
  assert_eq!(run.stdout, "job.yaml: ok (2 tasks, 0 groups, 0 queues)\n");
  assert_eq!(run.stderr, "");
}

#[test]
fn the_local_backend_runs_a_task_with_a_block_as_without_one() {
  let test = Test::with_job(FULL);
  let run = test.run(&["run", "--output", "plain", "job.yaml", "test"]);
  run.code(0);
  assert!(run.stdout.contains("[build] built\n"), "{}", run.stdout);
  assert!(run.stdout.contains("[test] tested\n"), "{}", run.stdout);
}

#[test]
fn unknown_key() {
  validate("unknown_key", &task_block("cpu: 4"))
    .error("runner::unknown_key", "unknown key `cpu` in the `slurm` block of task `t`")
    .at(5, 7, "not a key here")
    .help("did you mean `cpus`?")
    .count(1);
}

#[test]
fn unknown_key_at_file_level() {
  let yaml = "slurm:\n  partitoin: debug\ntasks:\n  t: {run: make}\n";
  validate("unknown_key_at_file_level", yaml)
    .error("runner::unknown_key", "unknown key `partitoin` in the file's `slurm` block")
    .at(2, 3, "not a key here")
    .help("did you mean `partition`?")
    .count(1);
}

#[test]
fn not_a_mapping() {
  validate("not_a_mapping", "tasks:\n  t: {run: make, slurm: debug}\n")
    .error("runner::wrong_type", "the `slurm` block of task `t` must be a mapping, found a string")
    .at(2, 25, "expected a mapping")
    .help("the block's keys go under it, e.g. `slurm: {partition: debug}`")
    .count(1);
}

#[test]
fn partition() {
  validate("partition", &task_block("partition: gpu nodes"))
    .error("runner::bad_value", "invalid partition name `gpu nodes`")
    .at(5, 18, "not a partition name")
    .help("a partition name holds letters, digits, `_`, `-` and `.`; `sinfo` lists the cluster's")
    .count(1);
}

#[test]
fn cpus_zero() {
  validate("cpus_zero", &task_block("cpus: 0"))
    .error("runner::bad_value", "`tasks.t.slurm.cpus` must be at least 1")
    .at(5, 13, "out of range")
    .help("`cpus` is the `--cpus-per-task` of each attempt: 1 to 1024")
    .count(1);
}

#[test]
fn cpus_as_text() {
  validate("cpus_as_text", &task_block("cpus: four"))
    .error("runner::wrong_type", "`tasks.t.slurm.cpus` must be a whole number, found a string")
    .at(5, 13, "expected a whole number")
    .help("write a number, e.g. `cpus: 2`")
    .count(1);
}

#[test]
fn nodes_over_the_limit() {
  validate("nodes_over_the_limit", "slurm: {nodes: 1001}\ntasks:\n  t: {run: make}\n")
    .error("runner::bad_value", "`slurm.nodes` must be at most 1000, found 1001")
    .at(1, 16, "above the limit")
    .help("`nodes` is the `--nodes` of each attempt: 1 to 1000")
    .count(1);
}

#[test]
fn mem_with_a_wrong_unit() {
  validate("mem_with_a_wrong_unit", &task_block("mem: 2GB"))
    .error("runner::bad_value", "invalid memory size `2GB`")
    .at(5, 12, "not a memory size")
    .help(
      "did you mean `2G`? sbatch's `--mem` takes a number with an optional unit `K`, `M`, `G` \
       or `T`: `512M`, `2G`, `1T`; a plain number is megabytes: `512`",
    )
    .count(1);
}

#[test]
fn mem_negative() {
  validate("mem_negative", &task_block("mem: -1"))
    .error("runner::bad_value", "invalid memory size `-1`")
    .at(5, 12, "not a memory size")
    .count(1);
}

#[test]
fn mem_zero() {
  validate("mem_zero", &task_block("mem: 0"))
    .error("runner::bad_value", "invalid memory size `0`")
    .at(5, 12, "not a memory size")
    .count(1);
}

#[test]
fn time_zero() {
  validate("time_zero", &task_block("time: 0s"))
    .error("runner::bad_duration", "`tasks.t.slurm.time` must be more than zero")
    .at(5, 13, "zero")
    .help(
      "write a time limit such as `90s`, `10m` or `1h30m`, or leave `time` out for the \
       partition's default",
    )
    .count(1);
}

#[test]
fn time_not_a_duration() {
  validate("time_not_a_duration", &task_block("time: 2 hours"))
    .error("runner::bad_duration", "invalid duration `2 hours`")
    .at(5, 13, "not a duration")
    .count(1);
}

#[test]
fn extra_not_an_option() {
  validate("extra_not_an_option", &task_block("extra: [--gres=gpu:1, gpu]"))
    .error("runner::bad_value", "`tasks.t.slurm.extra[1]` is not an option: `gpu`")
    .at(5, 29, "not an option")
    .count(1);
}

#[test]
fn extra_not_a_list() {
  validate("extra_not_a_list", &task_block("extra: --gres=gpu:1"))
    .error("runner::wrong_type", "`tasks.t.slurm.extra` must be a list of options, found a string")
    .at(5, 14, "expected a list of options")
    .help("write `extra: [--gres=gpu:1]`")
    .count(1);
}

#[test]
fn extra_sets_the_output() {
  validate("extra_sets_the_output", &task_block("extra: [--output=t.log]"))
    .error(
      "runner::bad_value",
      "`tasks.t.slurm.extra[0]` sets `--output`, which the runner sets itself",
    )
    .at(5, 15, "the runner sets `--output`: it reads each attempt's output from files of its own")
    .help("remove it from `extra`")
    .count(1);
}

#[test]
fn extra_abbreviates_an_option_the_runner_sets() {
  validate("extra_abbreviates_an_option_the_runner_sets", &task_block("extra: [--out=t.log]"))
    .error(
      "runner::bad_value",
      "`tasks.t.slurm.extra[0]` sets `--out`, which the runner sets itself",
    )
    .at(5, 15, "the runner sets `--output`: it reads each attempt's output from files of its own")
    .help(
      "sbatch and srun read an abbreviation as the whole option, and `--out` abbreviates \
       `--output`; write options in full",
    )
    .count(1);
}

#[test]
fn extra_sets_the_job_name_with_a_short_option() {
  validate(
    "extra_sets_the_job_name_with_a_short_option",
    "slurm: {extra: [-Jmine]}\ntasks:\n  t: {run: make}\n",
  )
  .error("runner::bad_value", "`slurm.extra[0]` sets `-J`, which the runner sets itself")
  .at(
    1,
    17,
    "the runner sets `--job-name`: it names each job after the run, to find and cancel the run's jobs",
  )
  .count(1);
}

#[test]
fn extra_sets_the_working_directory() {
  validate("extra_sets_the_working_directory", &task_block("extra: [--chdir=/scratch]"))
    .error(
      "runner::bad_value",
      "`tasks.t.slurm.extra[0]` sets `--chdir`, which the runner sets itself",
    )
    .at(5, 15, "the runner sets `--chdir`: each attempt starts in its task's `cwd`")
    .help("set the task's `cwd` instead")
    .count(1);
}

#[test]
fn extra_sets_an_array() {
  validate("extra_sets_an_array", &task_block("extra: [--array=1-10]"))
    .error(
      "runner::bad_value",
      "`tasks.t.slurm.extra[0]` sets `--array`, which the runner sets itself",
    )
    .at(5, 15, "the runner sets `--array`: each attempt is one job")
    .help("give the task a `matrix` for many instances")
    .count(1);
}

#[test]
fn extra_with_an_option_and_its_value_as_two_words() {
  validate(
    "extra_with_an_option_and_its_value_as_two_words",
    &task_block("extra: ['--gres gpu:1']"),
  )
  .error(
    "runner::bad_value",
    "`tasks.t.slurm.extra[0]` holds an option and its value as two words: `--gres gpu:1`",
  )
  .at(5, 15, "one argument")
  .help("each item is one argument: write the value after `=`, e.g. `--gres=gpu:1`")
  .count(1);
}

#[test]
fn every_bad_value_is_reported_at_once() {
  let yaml = "
    slurm:
      cpus: 0
      mem: 2GB
    tasks:
      a:
        run: make
        slurm:
          partition: 'a,b'
          time: 0
          nodes: 1001
          extra: [--wait, gres]
          gpus: 1
  ";
  let out = validate("every_bad_value_is_reported_at_once", yaml);
  out
    .error("runner::bad_value", "`slurm.cpus` must be at least 1")
    .at(2, 9, "out of range")
    .error("runner::bad_value", "invalid memory size `2GB`")
    .at(3, 8, "not a memory size")
    .error("runner::bad_value", "invalid partition name `a,b`")
    .at(8, 18, "not a partition name")
    .error("runner::bad_duration", "`tasks.a.slurm.time` must be more than zero")
    .at(9, 13, "zero")
    .error("runner::bad_value", "`tasks.a.slurm.nodes` must be at most 1000, found 1001")
    .at(10, 14, "above the limit")
    .error(
      "runner::bad_value",
      "`tasks.a.slurm.extra[0]` sets `--wait`, which the runner sets itself",
    )
    .at(
      11,
      15,
      "the runner sets `--wait`: it follows each job itself, so that `-j` and timeouts hold",
    )
    .error("runner::bad_value", "`tasks.a.slurm.extra[1]` is not an option: `gres`")
    .at(11, 23, "not an option")
    .error("runner::unknown_key", "unknown key `gpus` in the `slurm` block of task `a`")
    .at(12, 7, "not a key here")
    .count(8);
  assert_eq!(
    out.headers(),
    [(2, 9), (3, 8), (8, 18), (9, 13), (10, 14), (11, 15), (11, 23), (12, 7)]
  );
}
