//! JobFile -> Graph, or every error at once: name clashes, unknown references (with a
//! did-you-mean), group and queue rules, and cycles through needs, groups and queues. This file
//! holds the walk and the tasks; `references`, `groups` and `cycles` below hold the rest.

use crate::compile_error::{CompileError, CompileErrors, ErrorKind};
use crate::graph::{self, Graph, NodeId, NodeKind, Program, QueueId};
use crate::schema::{self, Command, JobFile, Name, Spanned};
use crate::source::Source;
pub(crate) use files::Files;
use foldhash::{HashMap, HashMapExt};
use namespaces::{Merged, Shell};
use std::time::Duration;

/// Reads, decodes and compiles a job file's text; for tests, which need no warnings.
#[cfg(test)]
pub(crate) fn compile_source(source: &Source) -> Result<Graph, CompileErrors> {
  compile_checked(source).map(|(graph, _)| graph)
}

/// Reads, decodes and compiles a job file's text: the graph and the warnings, or every error
/// (warnings among them); for tests, which look at one file.
#[cfg(test)]
pub(crate) fn compile_checked(source: &Source) -> Result<(Graph, CompileErrors), CompileErrors> {
  compile_files(source).0
}

/// Reads, decodes and compiles a job file and the files it includes, with the job's files (the root and what it includes), which place each
/// error in its own file: see [`Files::split`].
pub(crate) fn compile_files(
  source: &Source,
) -> (Result<(Graph, CompileErrors), CompileErrors>, Files) {
  let mut errors = Vec::new();
  let loaded = includes::load(source, &mut errors);
  let mut merged = namespaces::merge(loaded, &mut errors);
  dotenv::load(source, &mut merged.file, &mut errors);
  merged.file = matrix::expand(std::mem::take(&mut merged.file), &mut errors);
  // A matrix task's group is the last ones': its callbacks, none, need no file's shell.
  merged.group_shells.resize(merged.file.groups.len(), None);
  let graph = Compiler::new(source, &merged, &mut errors).compile();
  let errors = CompileErrors::sorted(errors);
  let result = if errors.errors() == 0 { Ok((graph, errors)) } else { Err(errors) };
  (result, merged.files)
}

/// The tasks and groups of a job file and the files it includes, with their descriptions, as
/// far as the files decode: what TAB completes.
pub(crate) fn target_names(source: &Source) -> Vec<(String, Option<String>)> {
  let merged = namespaces::merge(includes::load(source, &mut Vec::new()), &mut Vec::new());
  let description = |d: &Option<Spanned<String>>| d.as_ref().map(|d| d.value.clone());
  let file = merged.file;
  let tasks = file.tasks.iter().map(|t| (t.name.value.clone(), description(&t.description)));
  tasks
    .chain(file.groups.iter().map(|g| (g.name.value.clone(), description(&g.description))))
    .collect()
}

/// Suggestions for unknown names are computed for this many errors at most: each one scans
/// every name, and a file with thousands of bad references needs no more than a few hints.
const MAX_SUGGESTIONS: usize = 64;

/// And for this many names compared in all, so that a file of 100,000 names with as many bad
/// references stays linear: its first few errors get a hint, the others none.
const SUGGESTION_COMPARISONS: usize = 200_000;

struct Compiler<'a> {
  source: &'a Source,
  file: &'a JobFile,
  /// The job's files, for names as each file writes them.
  files: &'a Files,
  /// The shell of each group's callbacks: its file's.
  group_shells: &'a [Option<Shell>],
  errors: &'a mut Vec<CompileError>,
  ids: HashMap<&'a str, NodeId>,
  queue_ids: HashMap<&'a str, QueueId>,
  /// How many suggestions were made, and how many names they compared.
  suggestions: usize,
  compared: usize,
  /// The tasks' `slurm` blocks, each once.
  slurms: slurm::Shared,
}

impl<'a> Compiler<'a> {
  fn new(source: &'a Source, merged: &'a Merged, errors: &'a mut Vec<CompileError>) -> Self {
    Self {
      source,
      file: &merged.file,
      files: &merged.files,
      group_shells: &merged.group_shells,
      errors,
      ids: HashMap::new(),
      queue_ids: HashMap::new(),
      suggestions: 0,
      compared: 0,
      slurms: slurm::Shared::default(),
    }
  }

  fn compile(mut self) -> Graph {
    self.index_names();
    let mut nodes: Vec<graph::Node> =
      Vec::with_capacity(self.file.tasks.len() + self.file.groups.len());
    let mut queues = self.queues();
    for (id, task) in self.file.tasks.iter().enumerate() {
      nodes.push(self.task(id, task, &mut queues));
    }
    for (i, group) in self.file.groups.iter().enumerate() {
      nodes.push(self.group(self.file.tasks.len() + i, group));
    }
    link(&mut nodes);
    self.check_cycles(&nodes, &queues);
    Graph {
      source: self.source.clone(),
      name: self.file.name.as_ref().map(|n| n.value.clone()),
      dir: self.source.dir(),
      concurrency: self.file.concurrency.as_ref().map(|c| c.value as usize),
      env: env_pairs(&self.file.env),
      nodes,
      queues,
      overrides: Vec::new(),
    }
  }

  /// Builds the name tables; a name used by both a task and a group is an error.
  fn index_names(&mut self) {
    let file = self.file;
    let names = file.tasks.iter().map(|t| &t.name).chain(file.groups.iter().map(|g| &g.name));
    for (id, name) in names.enumerate() {
      if let Some(&first) = self.ids.get(name.value.as_str()) {
        let first_span = node_name(file, first).span;
        let message = format!("`{}` is both a task and a group", name.value);
        let err = CompileError::new(ErrorKind::NameClash, message, name.span, "group defined here")
          .with_label(first_span, "task defined here")
          .with_help("tasks and groups share one namespace; rename one of them");
        self.errors.push(err);
        continue;
      }
      self.ids.insert(&name.value, id);
    }
    for (id, queue) in file.queues.iter().enumerate() {
      self.queue_ids.insert(&queue.name.value, id);
    }
  }

  fn queues(&self) -> Vec<graph::Queue> {
    let queues = &self.file.queues;
    queues
      .iter()
      .map(|q| graph::Queue {
        name: q.name.value.clone(),
        span: q.name.span,
        description: q.description.as_ref().map(|d| d.value.clone()),
        maxsize: q.maxsize.as_ref().map_or(0, |m| m.value as usize),
        items: q.items.iter().map(|i| i.value.clone()).collect(),
        producers: Vec::new(),
        consumers: Vec::new(),
      })
      .collect()
  }

  fn task(&mut self, id: NodeId, task: &schema::Task, queues: &mut [graph::Queue]) -> graph::Node {
    let shell = task.shell.as_ref().or(self.file.shell.as_ref());
    let produces = task.produces.as_ref().and_then(|q| self.queue_ref(q));
    let consumes = task.consumes.as_ref().and_then(|q| self.queue_ref(q));
    if let (Some(workers), None) = (&task.workers, &task.consumes) {
      let message = format!("task `{}` sets `workers` but consumes no queue", task.name.value);
      let err = CompileError::new(
        ErrorKind::WorkersWithoutConsumes,
        message,
        workers.span,
        "only for consumers",
      )
      .with_help("add `consumes: QUEUE` or remove `workers`");
      self.errors.push(err);
    }
    if let Some(q) = produces {
      queues[q].producers.push(id);
    }
    if let Some(q) = consumes {
      queues[q].consumers.push(id);
    }
    let spec = graph::Task {
      run: task.run.as_ref().map(|r| program(&r.value, shell)),
      delay: duration(&task.delay),
      timeout: duration(&task.timeout),
      retries: task.retries.as_ref().map_or(0, |r| r.value),
      retry_delay: duration(&task.retry_delay).unwrap_or(Duration::ZERO),
      env: env_pairs(&task.env),
      cwd: task
        .cwd
        .as_ref()
        .map_or_else(|| self.source.dir(), |c| self.source.dir().join(&c.value)),
      produces,
      consumes,
      workers: task.workers.as_ref().map_or(1, |w| w.value),
      sources: globs(&task.sources),
      generates: globs(&task.generates),
      dotenv: task.dotenv.iter().map(|d| d.value.vars.clone()).collect(),
      slurm: self.slurms.get(&task.slurm),
    };
    self.check_sources(task);
    let needs = self.references(&task.needs, &task.name, "needs");
    let need_vars = self.need_vars(&task.needs);
    self.check_result_names(&task.needs);
    graph::Node {
      name: task.name.value.clone(),
      span: task.name.span,
      description: task.description.as_ref().map(|d| d.value.clone()),
      needs,
      dependents: Vec::new(),
      groups: Vec::new(),
      member_index: Vec::new(),
      allow_failure: task.allow_failure.as_ref().is_some_and(|a| a.value),
      callbacks: callbacks(&task.callbacks, shell),
      kind: NodeKind::Task(spec),
      need_vars,
    }
  }
}

fn node_name(file: &JobFile, id: NodeId) -> &Name {
  match file.tasks.get(id) {
    Some(task) => &task.name,
    None => &file.groups[id - file.tasks.len()].name,
  }
}

/// Fills each node's `dependents` and `groups` from the `needs` and member lists.
fn link(nodes: &mut [graph::Node]) {
  for id in 0..nodes.len() {
    for i in 0..nodes[id].needs.len() {
      let need = nodes[id].needs[i];
      nodes[need].dependents.push(id);
    }
    if let NodeKind::Group(group) = &nodes[id].kind {
      let members = group.members.clone();
      for (index, member) in members.into_iter().enumerate() {
        nodes[member].groups.push(id);
        nodes[member].member_index.push(index);
      }
    }
  }
}

fn program(command: &Command, shell: Option<&Spanned<Vec<Spanned<String>>>>) -> Program {
  match command {
    Command::Argv(argv) => Program { argv: argv.clone(), script: None, default_shell: false },
    Command::Shell(script) => {
      let mut argv: Vec<String> = match shell {
        Some(shell) => shell.value.iter().map(|s| s.value.clone()).collect(),
        None => vec!["sh".into(), "-c".into()],
      };
      argv.push(script.clone());
      Program { argv, script: Some(script.clone()), default_shell: shell.is_none() }
    }
  }
}

fn callbacks(
  callbacks: &schema::Callbacks,
  shell: Option<&Spanned<Vec<Spanned<String>>>>,
) -> graph::Callbacks {
  let convert = |list: &[Spanned<Command>]| list.iter().map(|c| program(&c.value, shell)).collect();
  graph::Callbacks {
    on_success: convert(&callbacks.on_success),
    on_failure: convert(&callbacks.on_failure),
    on_done: convert(&callbacks.on_done),
  }
}

fn duration(value: &Option<Spanned<schema::DurationValue>>) -> Option<Duration> {
  value.as_ref().map(|d| d.value.0)
}

fn globs(globs: &[Spanned<String>]) -> Vec<String> {
  globs.iter().map(|g| g.value.clone()).collect()
}

fn env_pairs(env: &[(Name, Spanned<String>)]) -> Vec<(String, String)> {
  env.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect()
}

mod cycles;
mod dotenv;
mod files;
mod groups;
mod includes;
mod matrix;
mod namespaces;
mod references;
mod slurm;
mod sources;
mod syntax;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod proptest;
#[cfg(test)]
mod tests;
