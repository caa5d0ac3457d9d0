//! The compiled job: nodes (tasks and groups) with resolved edges, and queues. Pure data, built
//! once by `compile` and only read after that.

use crate::source::Source;
use miette::SourceSpan;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Index of a node in [`Graph::nodes`]; tasks come first in declared order, then groups.
pub(crate) type NodeId = usize;
/// Index of a queue in [`Graph::queues`].
pub(crate) type QueueId = usize;

#[derive(Debug)]
pub(crate) struct Graph {
  pub source: Source,
  pub name: Option<String>,
  /// The job file's folder: the working directory tasks start from.
  pub dir: PathBuf,
  pub concurrency: Option<usize>,
  /// The top-level `env`; each task adds its own over it.
  pub env: Vec<(String, String)>,
  pub nodes: Vec<Node>,
  pub queues: Vec<Queue>,
  /// `--env KEY=VALUE` of `runner run`, over every variable of the file; set by `run`.
  pub overrides: Vec<(String, String)>,
}

#[derive(Debug)]
pub(crate) struct Node {
  pub name: String,
  pub span: SourceSpan,
  pub description: Option<String>,
  /// What this node needs, in declared order.
  pub needs: Vec<NodeId>,
  /// The nodes that need this one, in declared order.
  pub dependents: Vec<NodeId>,
  /// The groups this node is a member of.
  pub groups: Vec<NodeId>,
  /// This node's place in the member list of each of `groups`, in the same order.
  pub member_index: Vec<usize>,
  pub allow_failure: bool,
  pub callbacks: Callbacks,
  pub kind: NodeKind,
  /// The variable each of `needs` reaches this node under, in the same order: its name as the
  /// node's file writes it (`clippy` in the file included as `lint`, `lint:clippy` in the root),
  /// so that an included file sees the same variables as when it is run alone.
  pub need_vars: Vec<String>,
}

#[derive(Debug)]
#[expect(
  clippy::large_enum_variant,
  reason = "most nodes are tasks: a box would cost each of them an allocation and a pointer"
)]
pub(crate) enum NodeKind {
  Task(Task),
  Group(Group),
}

/// The program a task or callback runs: the full argv, and whether it came from a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
  pub argv: Vec<String>,
  /// The script, when `argv` is the shell followed by a string `run`.
  pub script: Option<String>,
  /// Whether the shell is the default `sh -c` (so a simple script may be exec'd directly).
  pub default_shell: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Callbacks {
  pub on_success: Vec<Program>,
  pub on_failure: Vec<Program>,
  pub on_done: Vec<Program>,
}

impl Callbacks {
  /// The callbacks a node with final status `status` runs, in order: `on_success` or
  /// `on_failure`, then `on_done`.
  pub(crate) fn for_status(&self, status: crate::status::Status) -> impl Iterator<Item = &Program> {
    use crate::status::Status;
    let first: &[Program] = match status {
      Status::Succeeded => &self.on_success,
      Status::Failed | Status::TimedOut => &self.on_failure,
      _ => &[],
    };
    first.iter().chain(&self.on_done)
  }
}

#[derive(Debug)]
pub(crate) struct Task {
  pub run: Option<Program>,
  pub delay: Option<Duration>,
  pub timeout: Option<Duration>,
  pub retries: u32,
  pub retry_delay: Duration,
  /// The task's own `env`, applied over the file's.
  pub env: Vec<(String, String)>,
  pub cwd: PathBuf,
  pub produces: Option<QueueId>,
  pub consumes: Option<QueueId>,
  pub workers: u32,
  /// Globs of the files whose contents the up-to-date check hashes, relative to `cwd`; empty:
  /// the task always runs.
  pub sources: Vec<String>,
  /// Globs of the files that must exist for the task to be up to date.
  pub generates: Vec<String>,
  /// The variables of the task's `dotenv` files in order, under its `env`; shared with every
  /// task that lists the same file.
  pub dotenv: Vec<Arc<Vec<(String, String)>>>,
  /// What the task asks of a Slurm cluster (its `slurm:` block over the file's), used only with
  /// `--backend slurm`; shared by the tasks that ask the same.
  pub slurm: Arc<Slurm>,
}

/// A task's `slurm:` block, each key over the file's: what its attempts ask of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Slurm {
  /// `--partition`.
  pub partition: Option<String>,
  /// `--cpus-per-task`.
  pub cpus: Option<u32>,
  /// `--mem`, as sbatch takes it: a number with an optional unit (`K`, `M`, `G`, `T`).
  pub mem: Option<String>,
  /// `--time`: Slurm's limits are whole minutes, so it is rounded up to one.
  pub time: Option<Duration>,
  /// `--nodes`.
  pub nodes: Option<u32>,
  /// More sbatch/srun arguments, as written, after the file's.
  pub extra: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Group {
  pub rule: GroupRule,
  pub members: Vec<NodeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupRule {
  Gather,
  /// The instances of a matrix task: a gather whose result is keyed by instance name.
  Matrix,
  Wait {
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    pending: Pending,
  },
}

/// When a wait group returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReturnWhen {
  AllCompleted,
  FirstCompleted,
  FirstException,
}

impl ReturnWhen {
  pub(crate) fn as_str(self) -> &'static str {
    match self {
      Self::AllCompleted => "ALL_COMPLETED",
      Self::FirstCompleted => "FIRST_COMPLETED",
      Self::FirstException => "FIRST_EXCEPTION",
    }
  }
}

/// What a wait group does with members that have not finished when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
  Cancel,
  Continue,
}

impl Pending {
  pub(crate) fn as_str(self) -> &'static str {
    match self {
      Self::Cancel => "cancel",
      Self::Continue => "continue",
    }
  }
}

#[derive(Debug)]
pub(crate) struct Queue {
  pub name: String,
  pub span: SourceSpan,
  pub description: Option<String>,
  /// 0: unbounded.
  pub maxsize: usize,
  pub items: Vec<String>,
  pub producers: Vec<NodeId>,
  pub consumers: Vec<NodeId>,
}

impl Node {
  pub(crate) fn task(&self) -> Option<&Task> {
    match &self.kind {
      NodeKind::Task(task) => Some(task),
      NodeKind::Group(_) => None,
    }
  }
}

impl Graph {
  pub(crate) fn task(&self, id: NodeId) -> Option<&Task> {
    self.nodes[id].task()
  }

  pub(crate) fn group(&self, id: NodeId) -> Option<&Group> {
    match &self.nodes[id].kind {
      NodeKind::Group(group) => Some(group),
      NodeKind::Task(_) => None,
    }
  }

  pub(crate) fn find(&self, name: &str) -> Option<NodeId> {
    self.nodes.iter().position(|n| n.name == name)
  }

  pub(crate) fn task_count(&self) -> usize {
    self.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Task(_))).count()
  }
}
