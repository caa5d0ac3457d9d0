//! JobFile -> Graph, or every error at once: name clashes, unknown references (with a
//! did-you-mean), group and queue rules, and cycles through needs, groups and queues.

use crate::compile_error::{CompileError, CompileErrors, ErrorKind};
use crate::cycle::{self, Edge, Via};
use crate::decode;
use crate::graph::{self, Graph, GroupRule, NodeId, NodeKind, Program, QueueId};
use crate::names;
use crate::schema::{self, Command, JobFile, Name, Spanned};
use crate::source::Source;
use crate::suggest;
use crate::yaml;
use foldhash::{HashMap, HashMapExt};
use miette::SourceSpan;
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::time::Duration;

/// Reads, decodes and compiles a job file's text.
pub fn compile_source(source: &Source) -> Result<Graph, CompileErrors> {
  let root = yaml::parse(source).map_err(|e| CompileErrors(vec![syntax_error(&e)]))?;
  let (file, mut errors) = decode::decode(source, &root);
  drop(root);
  let graph = Compiler::new(source, &file, &mut errors).compile();
  if errors.is_empty() { Ok(graph) } else { Err(CompileErrors::sorted(errors)) }
}

/// A YAML syntax error. The parser's message ends with the line and column, which the rendered
/// diagnostic already shows, so that part is dropped.
fn syntax_error(e: &yaml::SyntaxError) -> CompileError {
  let message = match e.message.rfind(" at line ") {
    Some(at) if e.message[at..].contains(", column ") => &e.message[..at],
    _ => e.message.as_str(),
  };
  let err = CompileError::new(
    ErrorKind::Syntax,
    format!("invalid YAML: {message}"),
    e.span,
    "the parser stopped here",
  );
  match syntax_help(message) {
    Some(help) => err.with_help(help),
    None => err,
  }
}

/// A hint for the syntax errors people make most, keyed on the parser's wording.
fn syntax_help(message: &str) -> Option<&'static str> {
  if message.contains("tab") {
    Some("indent with spaces: YAML does not allow tabs in indentation")
  } else if message.contains("flow") || message.contains("placement of ':'") {
    Some("is a `[` or `{` on an earlier line missing its closing bracket?")
  } else if message.contains("did not find expected key") || message.contains("'-' indicator") {
    Some("check the indentation of this line against the lines above it")
  } else if message.contains("unclosed quote") {
    Some("end the string with the same quote it starts with")
  } else {
    None
  }
}

/// Suggestions for unknown names are computed for this many errors at most: each one scans
/// every name, and a file with thousands of bad references needs no more than a few hints.
const MAX_SUGGESTIONS: usize = 64;

struct Compiler<'a> {
  source: &'a Source,
  file: &'a JobFile,
  errors: &'a mut Vec<CompileError>,
  ids: HashMap<&'a str, NodeId>,
  /// Each node's `RUNNER_RESULT_<N>` variable, by id: worked out once per name, for the
  /// graph and for the check that no two needs of a task share one.
  result_vars: Vec<String>,
  queue_ids: HashMap<&'a str, QueueId>,
  suggestions: usize,
}

impl<'a> Compiler<'a> {
  fn new(source: &'a Source, file: &'a JobFile, errors: &'a mut Vec<CompileError>) -> Self {
    Self {
      source,
      file,
      errors,
      ids: HashMap::new(),
      result_vars: Vec::new(),
      queue_ids: HashMap::new(),
      suggestions: 0,
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
    }
  }

  /// Builds the name tables; a name used by both a task and a group is an error.
  fn index_names(&mut self) {
    let file = self.file;
    let names = file.tasks.iter().map(|t| &t.name).chain(file.groups.iter().map(|g| &g.name));
    for (id, name) in names.enumerate() {
      self.result_vars.push(names::result_var(&name.value));
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
    };
    let needs = self.references(&task.needs, &task.name, "needs");
    self.check_result_names(&task.needs);
    graph::Node {
      name: task.name.value.clone(),
      span: task.name.span,
      description: task.description.as_ref().map(|d| d.value.clone()),
      result_var: self.result_vars[id].clone(),
      needs,
      dependents: Vec::new(),
      groups: Vec::new(),
      member_index: Vec::new(),
      allow_failure: task.allow_failure.as_ref().is_some_and(|a| a.value),
      callbacks: callbacks(&task.callbacks, shell),
      kind: NodeKind::Task(spec),
    }
  }

  fn group(&mut self, id: NodeId, group: &schema::Group) -> graph::Node {
    let rule = self.group_rule(group);
    let members = match (&group.gather, &group.wait) {
      (Some(members), None) | (None, Some(members)) => {
        let key = if group.gather.is_some() { "gather" } else { "wait" };
        if members.value.is_empty() {
          let message = format!("group `{}` has no members", group.name.value);
          let err = CompileError::new(ErrorKind::EmptyGroup, message, members.span, "empty list")
            .with_help(format!(
              "list the tasks or groups to {}, e.g. `{key}: [a, b]`",
              if key == "wait" { "wait for" } else { key }
            ));
          self.errors.push(err);
        }
        self.references(&members.value, &group.name, key)
      }
      _ => Vec::new(),
    };
    graph::Node {
      name: group.name.value.clone(),
      span: group.name.span,
      description: group.description.as_ref().map(|d| d.value.clone()),
      result_var: self.result_vars[id].clone(),
      needs: Vec::new(),
      dependents: Vec::new(),
      groups: Vec::new(),
      member_index: Vec::new(),
      allow_failure: group.allow_failure.as_ref().is_some_and(|a| a.value),
      callbacks: callbacks(&group.callbacks, self.file.shell.as_ref()),
      kind: NodeKind::Group(graph::Group { rule, members }),
    }
  }

  /// The group's rule; reports a group with both or neither of `gather` and `wait`, and wait
  /// options on a gather group.
  fn group_rule(&mut self, group: &schema::Group) -> GroupRule {
    let name = &group.name;
    match (&group.gather, &group.wait) {
      (Some(gather), Some(wait)) => {
        let message = format!("group `{}` has both `gather` and `wait`", name.value);
        let err = CompileError::new(ErrorKind::BadGroup, message, wait.span, "`wait` list")
          .with_label(gather.span, "`gather` list")
          .with_help("a group either gathers or waits: keep one list, or split it into two groups");
        self.errors.push(err);
      }
      (None, None) => {
        let message = format!("group `{}` has neither `gather` nor `wait`", name.value);
        let err = CompileError::new(ErrorKind::BadGroup, message, name.span, "no members")
          .with_help("add `gather: [a, b]` or `wait: [a, b]`");
        self.errors.push(err);
      }
      (Some(_), None) => {
        self.wait_only(name, group.return_when.as_ref().map(|r| r.span), "return_when");
        self.wait_only(name, group.timeout.as_ref().map(|r| r.span), "timeout");
        self.wait_only(name, group.pending.as_ref().map(|r| r.span), "pending");
        return GroupRule::Gather;
      }
      (None, Some(_)) => {}
    }
    GroupRule::Wait {
      return_when: group
        .return_when
        .as_ref()
        .map_or(graph::ReturnWhen::AllCompleted, |r| return_when(r.value)),
      timeout: duration(&group.timeout),
      pending: group.pending.as_ref().map_or(graph::Pending::Cancel, |p| pending(p.value)),
    }
  }

  fn wait_only(&mut self, group: &Name, span: Option<SourceSpan>, key: &str) {
    let Some(span) = span else { return };
    let message =
      format!("`{key}` applies to wait groups, but `{}` is a gather group", group.value);
    let err = CompileError::new(ErrorKind::BadGroup, message, span, "only for `wait`")
      .with_help(format!("use `wait:` instead of `gather:`, or remove `{key}`"));
    self.errors.push(err);
  }

  /// Resolves names in `needs` or a member list; reports unknown and repeated names.
  fn references(&mut self, names: &[Name], owner: &Name, key: &str) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity(names.len());
    // A set, not a scan: a fan-in may list thousands of names.
    let mut seen: HashMap<&str, &Name> = HashMap::with_capacity(names.len());
    for name in names {
      match seen.entry(&name.value) {
        Entry::Occupied(first) => {
          let message = format!("`{}` is listed twice in `{key}` of `{}`", name.value, owner.value);
          let err =
            CompileError::new(ErrorKind::DuplicateReference, message, name.span, "listed again")
              .with_label(first.get().span, "first listed here");
          self.errors.push(err);
          continue;
        }
        Entry::Vacant(slot) => {
          slot.insert(name);
        }
      }
      match self.ids.get(name.value.as_str()) {
        Some(&id) => ids.push(id),
        None => {
          let message = if key == "needs" {
            format!("`{}` needs unknown task or group `{}`", owner.value, name.value)
          } else {
            format!("group `{}` has unknown member `{}`", owner.value, name.value)
          };
          let suggestion = self.suggest(&name.value, NameSpace::Nodes);
          let err = CompileError::new(
            ErrorKind::UnknownReference,
            message,
            name.span,
            "no such task or group",
          )
          .with_suggestion(suggestion.as_deref());
          self.errors.push(err);
        }
      }
    }
    ids
  }

  /// Two needs whose names give the same `RUNNER_RESULT_<N>` variable would hide one result.
  /// Known names use their node's variable; only unknown ones are converted here.
  fn check_result_names(&mut self, needs: &[Name]) {
    let mut seen: HashMap<Cow<str>, &Name> = HashMap::with_capacity(needs.len());
    for name in needs {
      let var = match self.ids.get(name.value.as_str()) {
        Some(&id) => Cow::Borrowed(self.result_vars[id].as_str()),
        None => Cow::Owned(names::result_var(&name.value)),
      };
      match seen.get(&var) {
        Some(first) if first.value != name.value => {
          let message =
            format!("`{}` and `{}` both reach the command as `{var}`", first.value, name.value);
          let err = CompileError::new(ErrorKind::NameClash, message, name.span, "same variable")
            .with_label(first.span, "as this one")
            .with_help("rename one of the two tasks so their results stay apart");
          self.errors.push(err);
        }
        Some(_) => {}
        None => {
          seen.insert(var, name);
        }
      }
    }
  }

  fn queue_ref(&mut self, name: &Name) -> Option<QueueId> {
    if let Some(&id) = self.queue_ids.get(name.value.as_str()) {
      return Some(id);
    }
    let message = format!("unknown queue `{}`", name.value);
    let suggestion = self.suggest(&name.value, NameSpace::Queues);
    let help = suggestion.as_deref().map_or_else(
      || format!("declare it under `queues:`, e.g. `queues: {{{}: {{maxsize: 10}}}}`", name.value),
      suggest::did_you_mean,
    );
    let err =
      CompileError::new(ErrorKind::UnknownQueue, message, name.span, "not declared under `queues`");
    self.errors.push(err.with_help(help));
    None
  }

  fn suggest(&mut self, word: &str, space: NameSpace) -> Option<String> {
    if self.suggestions >= MAX_SUGGESTIONS {
      return None;
    }
    self.suggestions += 1;
    let found = match space {
      NameSpace::Nodes => suggest::closest(word, self.ids.keys().copied()),
      NameSpace::Queues => suggest::closest(word, self.queue_ids.keys().copied()),
    };
    found.map(str::to_string)
  }

  /// Reports one cycle per strongly connected component of the dependency graph, where an edge
  /// runs from what must finish first to what waits for it: needs, group members, and queues
  /// (a consumer ends only after every producer of its queue).
  fn check_cycles(&mut self, nodes: &[graph::Node], queues: &[graph::Queue]) {
    let file = self.file;
    let node_count = nodes.len();
    let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); node_count + queues.len()];
    for (id, task) in file.tasks.iter().enumerate() {
      let needs = task.needs.iter().filter_map(|n| self.ids.get(n.value.as_str()).map(|&m| (m, n)));
      for (need, name) in needs {
        edges[need].push(Edge { to: id, span: name.span, via: Via::Needs });
      }
      if let (Some(q), Some(name)) = (nodes[id].task().and_then(|t| t.produces), &task.produces) {
        edges[id].push(Edge { to: node_count + q, span: name.span, via: Via::Produces });
      }
      if let (Some(q), Some(name)) = (nodes[id].task().and_then(|t| t.consumes), &task.consumes) {
        edges[node_count + q].push(Edge { to: id, span: name.span, via: Via::Consumes });
      }
    }
    for (i, group) in file.groups.iter().enumerate() {
      let id = file.tasks.len() + i;
      let members = group.gather.as_ref().or(group.wait.as_ref()).map_or(&[][..], |m| &m.value);
      for member in members {
        if let Some(&m) = self.ids.get(member.value.as_str()) {
          edges[m].push(Edge { to: id, span: member.span, via: Via::Member });
        }
      }
    }
    let name_of = |v: usize| {
      if v < node_count {
        nodes[v].name.clone()
      } else {
        format!("queue {}", queues[v - node_count].name)
      }
    };
    let label = |from: usize, edge: &Edge| {
      let (a, b) = (name_of(from), name_of(edge.to));
      match edge.via {
        Via::Needs => format!("`{b}` needs `{a}`"),
        Via::Member => format!("`{b}` waits for its member `{a}`"),
        Via::Produces => format!("`{a}` produces into `{}`", &queues[edge.to - node_count].name),
        Via::Consumes => {
          format!("`{b}` consumes `{}` until its producers end", &queues[from - node_count].name)
        }
      }
    };
    for cycle in cycle::find_cycles(&edges) {
      // Edges run from what finishes first to what waits for it; people read a cycle the other
      // way, as in `needs:` (`a -> c` when `a` needs `c`), so the path is printed reversed.
      let steps: Vec<_> = cycle.iter().rev().collect();
      let path: Vec<String> =
        steps.iter().map(|s| name_of(s.edge.to)).chain([name_of(steps[0].edge.to)]).collect();
      let message = format!("dependency cycle: {}", path.join(" -> "));
      let first = steps[0];
      let mut err = CompileError::new(
        ErrorKind::Cycle,
        message,
        first.edge.span,
        &label(first.from, first.edge),
      );
      for step in &steps[1..] {
        err = err.with_label(step.edge.span, label(step.from, step.edge));
      }
      self.errors.push(err.with_help("remove one of these edges to break the cycle"));
    }
  }
}

enum NameSpace {
  Nodes,
  Queues,
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

fn return_when(rule: schema::ReturnWhen) -> graph::ReturnWhen {
  match rule {
    schema::ReturnWhen::AllCompleted => graph::ReturnWhen::AllCompleted,
    schema::ReturnWhen::FirstCompleted => graph::ReturnWhen::FirstCompleted,
    schema::ReturnWhen::FirstException => graph::ReturnWhen::FirstException,
  }
}

fn pending(choice: schema::Pending) -> graph::Pending {
  match choice {
    schema::Pending::Cancel => graph::Pending::Cancel,
    schema::Pending::Continue => graph::Pending::Continue,
  }
}

fn duration(value: &Option<Spanned<schema::DurationValue>>) -> Option<Duration> {
  value.as_ref().map(|d| d.value.0)
}

fn env_pairs(env: &[(Name, Spanned<String>)]) -> Vec<(String, String)> {
  env.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect()
}

#[cfg(test)]
mod proptest;
#[cfg(test)]
mod tests;
