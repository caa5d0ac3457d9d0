//! The job-file language as Rust types, one field per key of the spec, with the span of every
//! name, reference and value. `runner schema` derives the JSON Schema from these same types.
//!
//! These types are filled by `decode` (from the YAML tree) and read by `compile`; they hold what
//! the user wrote, validated only as far as each value's own type goes.

use miette::SourceSpan;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;
use std::time::Duration;

/// A value and the bytes of the job file it was written at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned<T> {
  pub value: T,
  pub span: SourceSpan,
}

impl<T> Spanned<T> {
  pub(crate) fn new(value: T, span: SourceSpan) -> Self {
    Self { value, span }
  }
}

impl<T: Default> Default for Spanned<T> {
  fn default() -> Self {
    Self { value: T::default(), span: SourceSpan::from((0, 0)) }
  }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
  fn inline_schema() -> bool {
    true
  }

  fn schema_name() -> Cow<'static, str> {
    T::schema_name()
  }

  fn json_schema(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
  }
}

pub(crate) type Name = Spanned<String>;

/// A whole job file.
#[derive(Debug, Default, JsonSchema)]
#[schemars(title = "runner job file", deny_unknown_fields)]
#[serde(default)]
pub(crate) struct JobFile {
  /// Language version; only 1 is accepted.
  #[schemars(schema_with = "json::version")]
  pub version: Option<Spanned<u64>>,
  /// Shown in reports.
  pub name: Option<Spanned<String>>,
  /// Environment variables for every task.
  #[schemars(schema_with = "json::env_schema")]
  pub env: Vec<(Name, Spanned<String>)>,
  /// Default parallelism; `-j N` overrides it. Default: the number of CPUs.
  #[schemars(range(min = 1, max = crate::limits::MAX_PARALLEL))]
  pub concurrency: Option<Spanned<u32>>,
  /// The shell argv a string `run` is appended to. Default: `[sh, -c]`.
  #[schemars(length(min = 1))]
  pub shell: Option<Spanned<Vec<Spanned<String>>>>,
  /// Tasks by name.
  #[schemars(schema_with = "json::named_map::<Task>")]
  pub tasks: Vec<Task>,
  /// Gather and wait groups by name; they share the namespace of tasks.
  #[schemars(schema_with = "json::named_map::<Group>")]
  pub groups: Vec<Group>,
  /// Bounded queues between producer and consumer tasks, by name.
  #[schemars(schema_with = "json::named_map::<Queue>")]
  pub queues: Vec<Queue>,
  /// Environment files read for every task, under the file's `env`.
  #[schemars(schema_with = "json::dotenv_schema")]
  pub dotenv: Vec<Spanned<Dotenv>>,
  /// Other job files whose tasks, groups and queues come in under a namespace (`clippy` of the
  /// file included as `lint` is `lint:clippy`). Paths are relative to this file's folder.
  #[schemars(schema_with = "includes::schema")]
  pub includes: Vec<Include>,
  /// What each task of this file asks of a Slurm cluster (with `--backend slurm`); a task's
  /// own `slurm` overrides it key by key.
  pub slurm: Slurm,
}

/// One entry of `includes`: its namespace. The file it names is read by `compile`, from the
/// YAML itself, before anything is decoded.
#[derive(Debug, Default)]
pub(crate) struct Include {
  pub name: Name,
}

/// A task: a command to run, or a pure join point or timer when it has no `run`.
#[derive(Debug, Default, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(default)]
pub(crate) struct Task {
  #[schemars(skip)]
  pub name: Name,
  /// A string runs through the shell; a list runs that argv directly.
  pub run: Option<Spanned<Command>>,
  /// One line shown by `runner list` and in reports.
  pub description: Option<Spanned<String>>,
  /// The shell argv a string `run` is appended to (overrides the top-level `shell`).
  #[schemars(length(min = 1))]
  pub shell: Option<Spanned<Vec<Spanned<String>>>>,
  /// Tasks or groups that must finish successfully first.
  pub needs: Vec<Name>,
  /// Start this long after the task became ready.
  pub delay: Option<Spanned<DurationValue>>,
  /// Kill the task's process group after this long; status `timed_out`.
  pub timeout: Option<Spanned<DurationValue>>,
  /// Extra attempts after a failure or timeout.
  #[schemars(range(max = u32::MAX))]
  pub retries: Option<Spanned<u32>>,
  /// Wait this long between attempts.
  pub retry_delay: Option<Spanned<DurationValue>>,
  /// A failure is reported but does not fail the run or skip dependents.
  pub allow_failure: Option<Spanned<bool>>,
  /// Added to the environment, over the top-level `env`.
  #[schemars(schema_with = "json::env_schema")]
  pub env: Vec<(Name, Spanned<String>)>,
  /// Working directory, relative to the job file's folder.
  pub cwd: Option<Spanned<String>>,
  #[serde(flatten)]
  pub callbacks: Callbacks,
  /// Each stdout line of the task is put on this queue.
  pub produces: Option<Name>,
  /// Run the task once per item taken off this queue.
  pub consumes: Option<Name>,
  /// Consumers only: how many items are handled at once. Default 1.
  #[schemars(range(min = 1, max = crate::limits::MAX_PARALLEL))]
  pub workers: Option<Spanned<u32>>,
  /// Globs (relative to `cwd`, `**` for any depth) of the files the task reads: when their
  /// contents, the command, the environment and the needs' results are what its last success
  /// recorded, the task is `up_to_date` and does not run.
  #[schemars(schema_with = "json::globs")]
  pub sources: Vec<Spanned<String>>,
  /// Globs of the files the task makes: when one is missing, the task runs.
  #[schemars(schema_with = "json::globs")]
  pub generates: Vec<Spanned<String>>,
  /// Environment files read for this task, over the file's `env` and under its own.
  #[schemars(schema_with = "json::dotenv_schema")]
  pub dotenv: Vec<Spanned<Dotenv>>,
  /// One instance of the task per combination of these values.
  pub matrix: Option<Spanned<Matrix>>,
  /// What the task asks of a Slurm cluster (with `--backend slurm`), over the file's `slurm`.
  pub slurm: Slurm,
}

/// A `slurm:` block as written, at file level (the default of the file's tasks) or in a task
/// (over its file's, key by key). Only the Slurm backend reads it.
#[derive(Debug, Default, Clone, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(default)]
pub(crate) struct Slurm {
  /// `--partition`: letters, digits, `_`, `-` and `.`.
  #[schemars(schema_with = "slurm::partition")]
  pub partition: Option<Spanned<String>>,
  /// `--cpus-per-task` of each attempt.
  #[schemars(range(min = 1, max = slurm::MAX_CPUS))]
  pub cpus: Option<Spanned<u32>>,
  /// `--mem`: a number with an optional unit `K`, `M`, `G` or `T` (`512M`, `2G`); a plain
  /// number is megabytes.
  #[schemars(schema_with = "slurm::mem")]
  pub mem: Option<Spanned<String>>,
  /// `--time`: a duration above zero; Slurm counts whole minutes, so it is rounded up.
  #[schemars(schema_with = "slurm::time")]
  pub time: Option<Spanned<DurationValue>>,
  /// `--nodes` of each attempt.
  #[schemars(range(min = 1, max = slurm::MAX_NODES))]
  pub nodes: Option<Spanned<u32>>,
  /// More sbatch/srun arguments, one option each (`--gres=gpu:1`), after the file's; not
  /// the options the runner sets itself.
  #[schemars(schema_with = "slurm::extra")]
  pub extra: Vec<Spanned<String>>,
}

/// An environment file: its path, relative to the job file's folder, and whether it may be
/// missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dotenv {
  pub path: Spanned<String>,
  pub optional: bool,
  /// The file's variables once read, shared by every entry that lists the file, so that a
  /// large file listed by many tasks is held once.
  pub vars: std::sync::Arc<Vec<(String, String)>>,
}

/// A task's matrix as written: the keys with their values, in declared order, and the
/// combinations to drop and to add.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Matrix {
  pub axes: Vec<(Name, Spanned<Vec<Spanned<String>>>)>,
  pub exclude: Vec<Combination>,
  pub include: Vec<Combination>,
}

/// One entry of `exclude` or `include`: matrix keys and values.
pub(crate) type Combination = Spanned<Vec<(Name, Spanned<String>)>>;

/// Commands run after a task or group ends, in declared order.
#[derive(Debug, Default, Clone, JsonSchema)]
#[serde(default)]
pub(crate) struct Callbacks {
  /// Run when it succeeded.
  #[schemars(schema_with = "json::callback_schema")]
  pub on_success: Vec<Spanned<Command>>,
  /// Run when it failed or timed out.
  #[schemars(schema_with = "json::callback_schema")]
  pub on_failure: Vec<Spanned<Command>>,
  /// Always run, after the others.
  #[schemars(schema_with = "json::callback_schema")]
  pub on_done: Vec<Spanned<Command>>,
}

/// A command: a shell string or an argv list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
  /// Runs through the shell.
  Shell(String),
  /// Runs this argv directly, no shell.
  Argv(Vec<String>),
}

/// A group of tasks or groups: exactly one of `gather` or `wait`.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(default)]
pub(crate) struct Group {
  #[schemars(skip)]
  pub name: Name,
  /// One line shown by `runner list` and in reports.
  pub description: Option<Spanned<String>>,
  /// Finishes when all members finished; result: their results in declared order.
  #[schemars(length(min = 1))]
  pub gather: Option<Spanned<Vec<Name>>>,
  /// Returns when `return_when` (or `timeout`) says so.
  #[schemars(length(min = 1))]
  pub wait: Option<Spanned<Vec<Name>>>,
  /// Wait groups: when to return. Default `ALL_COMPLETED`.
  pub return_when: Option<Spanned<ReturnWhen>>,
  /// Wait groups: return after this long even if the rule is not met.
  pub timeout: Option<Spanned<DurationValue>>,
  /// Wait groups: what happens to members still running when it returns. Default `cancel`.
  pub pending: Option<Spanned<Pending>>,
  /// A failure is reported but does not fail the run or skip dependents.
  pub allow_failure: Option<Spanned<bool>>,
  #[serde(flatten)]
  pub callbacks: Callbacks,
  /// The instances of a matrix task, which this group stands for; never written by the user.
  #[schemars(skip)]
  pub matrix: bool,
}

/// A queue of text items.
#[derive(Debug, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(default)]
pub(crate) struct Queue {
  #[schemars(skip)]
  pub name: Name,
  /// One line shown by `runner list` and in reports.
  pub description: Option<Spanned<String>>,
  /// Capacity; 0 or absent means unbounded.
  #[schemars(range(max = crate::limits::MAX_QUEUE_SIZE))]
  pub maxsize: Option<Spanned<u64>>,
  /// Items present at the start.
  pub items: Vec<Spanned<String>>,
}

/// When a wait group returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ReturnWhen {
  AllCompleted,
  FirstCompleted,
  FirstException,
}

impl ReturnWhen {
  pub(crate) const NAMES: [&'static str; 3] =
    ["ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"];

  /// The rule named in upper case, or all in lower case, as the spec allows.
  pub(crate) fn parse(text: &str) -> Option<Self> {
    if text != text.to_ascii_uppercase() && text != text.to_ascii_lowercase() {
      return None;
    }
    match text.to_ascii_uppercase().as_str() {
      "ALL_COMPLETED" => Some(Self::AllCompleted),
      "FIRST_COMPLETED" => Some(Self::FirstCompleted),
      "FIRST_EXCEPTION" => Some(Self::FirstException),
      _ => None,
    }
  }
}

/// What a wait group does with members that have not finished when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Pending {
  Cancel,
  Continue,
}

impl Pending {
  pub(crate) const NAMES: [&'static str; 2] = ["cancel", "continue"];

  pub(crate) fn parse(text: &str) -> Option<Self> {
    match text {
      "cancel" => Some(Self::Cancel),
      "continue" => Some(Self::Continue),
      _ => None,
    }
  }
}

/// A duration as written in the file (`500ms`, `1m30s`, `2`), already parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DurationValue(pub Duration);

/// The keys each mapping accepts, in the order the spec lists them. The decoder uses them for
/// did-you-mean suggestions; a test checks them against the JSON Schema.
pub(crate) mod keys {
  pub(crate) const JOB_FILE: &[&str] = &[
    "version",
    "name",
    "env",
    "concurrency",
    "shell",
    "tasks",
    "groups",
    "queues",
    "includes",
    "dotenv",
    "slurm",
  ];
  pub(crate) const TASK: &[&str] = &[
    "run",
    "description",
    "shell",
    "needs",
    "delay",
    "timeout",
    "retries",
    "retry_delay",
    "allow_failure",
    "env",
    "cwd",
    "on_success",
    "on_failure",
    "on_done",
    "produces",
    "consumes",
    "workers",
    "sources",
    "generates",
    "dotenv",
    "matrix",
    "slurm",
  ];
  pub(crate) const DOTENV: &[&str] = &["path", "optional"];
  pub(crate) const GROUP: &[&str] = &[
    "description",
    "gather",
    "wait",
    "return_when",
    "timeout",
    "pending",
    "allow_failure",
    "on_success",
    "on_failure",
    "on_done",
  ];
  pub(crate) const QUEUE: &[&str] = &["description", "maxsize", "items"];
  pub(crate) const SLURM: &[&str] = &["partition", "cpus", "mem", "time", "nodes", "extra"];
}

pub(crate) use json::json_schema;

mod includes;
mod json;
pub(crate) mod slurm;

#[cfg(test)]
mod tests {
  use super::*;

  fn properties(schema: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> =
      schema["properties"].as_object().expect("properties").keys().cloned().collect();
    keys.sort();
    keys
  }

  fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
  }

  /// The decoder's key lists and the JSON Schema come from different places; they must agree.
  #[test]
  fn key_lists_match_the_json_schema() {
    let schema = json_schema();
    assert_eq!(properties(&schema), sorted(keys::JOB_FILE));
    assert_eq!(properties(&schema["$defs"]["Task"]), sorted(keys::TASK));
    assert_eq!(properties(&schema["$defs"]["Group"]), sorted(keys::GROUP));
    assert_eq!(properties(&schema["$defs"]["Queue"]), sorted(keys::QUEUE));
    assert_eq!(properties(&schema["$defs"]["Slurm"]), sorted(keys::SLURM));
  }

  #[test]
  fn the_json_schema_asks_for_a_task() {
    let schema = json_schema();
    assert_eq!(schema["required"], serde_json::json!(["tasks"]));
    assert_eq!(schema["properties"]["tasks"]["type"], "object");
    assert_eq!(schema["properties"]["tasks"]["minProperties"], 1);
  }
}
