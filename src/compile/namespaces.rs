//! The files of a job merged into one, each name under its file's namespace: `clippy` of the file
//! included as `lint` becomes `lint:clippy`, and the names it refers to are resolved the same
//! way (`:setup`, with a leading `:`, is the root's `setup`). An included file's `shell` and
//! `env` go into its tasks; its `name` and `concurrency` are ignored with a warning. Each
//! file's `slurm` block goes into its own tasks only, under theirs.

use super::files::Files;
use super::includes::Loaded;
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema::{Group, JobFile, Name, Queue, Slurm, Spanned, Task};

pub(super) type Shell = Spanned<Vec<Spanned<String>>>;
type EnvList = Vec<(Name, Spanned<String>)>;

/// The merged file, and the shell of each of its groups' callbacks (their file's, by group).
pub(super) struct Merged {
  pub file: JobFile,
  pub group_shells: Vec<Option<Shell>>,
  pub files: Files,
}

/// Merges the files into the root's (which keeps every file-level key of its own).
pub(super) fn merge(loaded: Loaded, errors: &mut Vec<CompileError>) -> Merged {
  let Loaded { files, decoded } = loaded;
  let mut merged: Option<JobFile> = None;
  let mut group_shells = Vec::new();
  // What each file's tasks inherit: the shell and `env` of the files on the way from the root
  // (the root's `env` is the graph's, applied to every task already).
  let mut shells: Vec<Option<Shell>> = Vec::with_capacity(files.units.len());
  let mut envs: Vec<EnvList> = Vec::with_capacity(files.units.len());
  for (unit, file) in files.units.iter().zip(decoded) {
    let inherited = unit.parent.map(|p| (shells[p].clone(), envs[p].clone()));
    let Some(mut file) = file else {
      let (shell, env) = inherited.unwrap_or_default();
      shells.push(shell);
      envs.push(env);
      continue;
    };
    clashes(&file, errors);
    let (shell, env) = match inherited {
      None => (file.shell.clone(), Vec::new()),
      Some((shell, mut env)) => {
        ignored(&file, errors);
        env.extend(std::mem::take(&mut file.env));
        (file.shell.take().or(shell), env)
      }
    };
    let dir = unit.dir.to_string_lossy();
    let slurm = std::mem::take(&mut file.slurm);
    let scope = Scope { prefix: &unit.prefix, dir: &dir, shell: &shell, env: &env, slurm: &slurm };
    let tasks = std::mem::take(&mut file.tasks).into_iter().map(|t| scope.task(t));
    let groups = std::mem::take(&mut file.groups);
    group_shells.extend(groups.iter().map(|_| shell.clone()));
    let groups = groups.into_iter().map(|g| scope.group(g));
    let queues = std::mem::take(&mut file.queues).into_iter().map(|q| scope.queue(q));
    let into = merged.get_or_insert(file);
    into.tasks.extend(tasks);
    into.groups.extend(groups);
    into.queues.extend(queues);
    shells.push(shell);
    envs.push(env);
  }
  Merged { file: merged.unwrap_or_default(), group_shells, files }
}

/// One file's place among the others: its namespace, folder, and what its tasks inherit.
struct Scope<'a> {
  prefix: &'a str,
  dir: &'a str,
  shell: &'a Option<Shell>,
  env: &'a EnvList,
  /// The file's own `slurm` block, under each of its tasks'.
  slurm: &'a Slurm,
}

impl Scope<'_> {
  /// A name defined in this file.
  fn define(&self, name: &mut Name) {
    name.value.insert_str(0, self.prefix);
  }

  /// A name this file refers to: its own, or the root's after a leading `:`.
  fn resolve(&self, name: &mut Name) {
    match name.value.strip_prefix(':') {
      Some(root) => name.value = root.to_string(),
      None => self.define(name),
    }
  }

  fn task(&self, mut task: Task) -> Task {
    self.define(&mut task.name);
    task.needs.iter_mut().for_each(|n| self.resolve(n));
    task.produces.iter_mut().chain(&mut task.consumes).for_each(|q| self.resolve(q));
    task.slurm = super::slurm::over(self.slurm, std::mem::take(&mut task.slurm));
    if self.prefix.is_empty() {
      return task;
    }
    task.shell = task.shell.or_else(|| self.shell.clone());
    let own = std::mem::take(&mut task.env);
    task.env = self.env.iter().cloned().chain(own).collect();
    let cwd = task.cwd.take().map_or_else(
      || Spanned::new(self.dir.to_string(), miette::SourceSpan::from((0, 0))),
      |c| {
        Spanned::new(std::path::Path::new(self.dir).join(&c.value).to_string_lossy().into(), c.span)
      },
    );
    task.cwd = (!cwd.value.is_empty()).then_some(cwd);
    // Its environment files are relative to its own file's folder too.
    for dotenv in &mut task.dotenv {
      let path = &mut dotenv.value.path.value;
      *path = std::path::Path::new(self.dir).join(&*path).to_string_lossy().into();
    }
    task
  }

  fn group(&self, mut group: Group) -> Group {
    self.define(&mut group.name);
    for members in group.gather.iter_mut().chain(&mut group.wait) {
      members.value.iter_mut().for_each(|n| self.resolve(n));
    }
    group
  }

  fn queue(&self, mut queue: Queue) -> Queue {
    self.define(&mut queue.name);
    queue
  }
}

/// A namespace named as a task or group of the same file: `lint` and `lint:x` would read as
/// one thing, so that is an error at the include.
fn clashes(file: &JobFile, errors: &mut Vec<CompileError>) {
  for include in &file.includes {
    let task = file.tasks.iter().map(|t| (&t.name, "task"));
    let mut nodes = task.chain(file.groups.iter().map(|g| (&g.name, "group")));
    if let Some((name, what)) = nodes.find(|(n, _)| n.value == include.name.value) {
      let message = format!("`{}` is both an include and a {what}", name.value);
      let err =
        CompileError::new(ErrorKind::NameClash, message, include.name.span, "namespace named here")
          .with_label(name.span, format!("{what} defined here"))
          .with_help(format!("a namespace and a {what} of one file need different names"));
      errors.push(err);
    }
  }
}

/// The file-level keys an included file may hold but that only the root's count for.
fn ignored(file: &JobFile, errors: &mut Vec<CompileError>) {
  let keys = [
    (file.name.as_ref().map(|n| n.span), "name", "only the root file's `name` is shown"),
    (
      file.concurrency.as_ref().map(|c| c.span),
      "concurrency",
      "only the root file's `concurrency` applies (and `-j N` over it)",
    ),
  ];
  for (span, key, help) in keys {
    if let Some(span) = span {
      let message = format!("`{key}` of an included file is ignored");
      let err = CompileError::new(ErrorKind::IgnoredInInclude, message, span, "ignored");
      errors.push(err.with_help(help).into_warning());
    }
  }
}
