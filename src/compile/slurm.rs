//! A task's `slurm` block over its file's, key by key, and the graph's blocks shared: the tasks
//! that ask the same of the cluster hold one `Arc`, so that a file of many tasks with one
//! file-level block holds that block once.

use crate::graph;
use crate::schema;
use foldhash::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// `task` over `file`: each key the task sets replaces the file's; `extra` is the file's
/// arguments, then the task's.
pub(super) fn over(file: &schema::Slurm, task: schema::Slurm) -> schema::Slurm {
  schema::Slurm {
    partition: task.partition.or_else(|| file.partition.clone()),
    cpus: task.cpus.or_else(|| file.cpus.clone()),
    mem: task.mem.or_else(|| file.mem.clone()),
    time: task.time.or_else(|| file.time.clone()),
    nodes: task.nodes.or_else(|| file.nodes.clone()),
    extra: file.extra.iter().cloned().chain(task.extra).collect(),
  }
}

/// What a block asks, as a map key: `graph::Slurm`'s fields in order.
type Key =
  (Option<String>, Option<u32>, Option<String>, Option<Duration>, Option<u32>, Vec<String>);

/// The blocks of the graph, each once.
#[derive(Default)]
pub(super) struct Shared {
  blocks: HashMap<Key, Arc<graph::Slurm>>,
}

impl Shared {
  /// The graph's block for a task's merged block: the one already made for the same values,
  /// or a new one.
  pub(super) fn get(&mut self, slurm: &schema::Slurm) -> Arc<graph::Slurm> {
    let block = graph::Slurm {
      partition: slurm.partition.as_ref().map(|p| p.value.clone()),
      cpus: slurm.cpus.as_ref().map(|c| c.value),
      mem: slurm.mem.as_ref().map(|m| m.value.clone()),
      time: slurm.time.as_ref().map(|t| t.value.0),
      nodes: slurm.nodes.as_ref().map(|n| n.value),
      extra: slurm.extra.iter().map(|e| e.value.clone()).collect(),
    };
    let key = (
      block.partition.clone(),
      block.cpus,
      block.mem.clone(),
      block.time,
      block.nodes,
      block.extra.clone(),
    );
    self.blocks.entry(key).or_insert_with(|| Arc::new(block)).clone()
  }
}

#[cfg(test)]
mod tests {
  use crate::compile::compile_source;
  use crate::graph::{Graph, Slurm};
  use crate::source::Source;
  use std::sync::Arc;
  use std::time::Duration;

  fn compile(text: &str) -> Graph {
    compile_source(&Source::new("t.yaml", text)).expect("a valid file")
  }

  fn slurm<'g>(graph: &'g Graph, task: &str) -> &'g Arc<Slurm> {
    let id = graph.find(task).unwrap_or_else(|| panic!("no task `{task}`"));
    &graph.task(id).expect("a task").slurm
  }

  #[test]
  fn a_task_overrides_the_file_key_by_key_and_adds_its_extra() {
    let graph = compile(
      "slurm: {partition: debug, cpus: 2, mem: 1G, time: 10m, extra: [--gres=gpu:1]}\n\
       tasks:\n  a: {run: x, slurm: {cpus: 8, nodes: 2, extra: [--constraint=avx2]}}\n",
    );
    let expected = Slurm {
      partition: Some("debug".into()),
      cpus: Some(8),
      mem: Some("1G".into()),
      time: Some(Duration::from_secs(600)),
      nodes: Some(2),
      extra: vec!["--gres=gpu:1".into(), "--constraint=avx2".into()],
    };
    assert_eq!(**slurm(&graph, "a"), expected);
  }

  #[test]
  fn a_task_without_a_block_takes_the_file_s() {
    let graph = compile("slurm: {mem: 512}\ntasks:\n  a: {run: x}\n");
    assert_eq!(slurm(&graph, "a").mem.as_deref(), Some("512"));
    let graph = compile("tasks:\n  a: {run: x}\n");
    assert_eq!(**slurm(&graph, "a"), Slurm::default());
  }

  #[test]
  fn tasks_that_ask_the_same_share_one_block() {
    let graph = compile(
      "slurm: {partition: debug}\n\
       tasks:\n  a: {run: x}\n  b: {run: y}\n  c: {run: z, slurm: {partition: debug}}\n\
       \x20 d: {run: w, slurm: {cpus: 2}}\n  e: {run: v, slurm: {cpus: 2}}\n",
    );
    assert!(Arc::ptr_eq(slurm(&graph, "a"), slurm(&graph, "b")));
    assert!(Arc::ptr_eq(slurm(&graph, "a"), slurm(&graph, "c")));
    assert!(Arc::ptr_eq(slurm(&graph, "d"), slurm(&graph, "e")));
    assert!(!Arc::ptr_eq(slurm(&graph, "a"), slurm(&graph, "d")));
    assert_eq!(slurm(&graph, "d").partition.as_deref(), Some("debug"));
  }

  #[test]
  fn the_instances_of_a_matrix_task_share_their_task_s_block() {
    let graph =
      compile("slurm: {cpus: 4}\ntasks:\n  t: {run: x, matrix: {os: [a, b]}, slurm: {mem: 2G}}\n");
    let (a, b) = (slurm(&graph, "t[os=a]"), slurm(&graph, "t[os=b]"));
    assert!(Arc::ptr_eq(a, b));
    assert_eq!((a.cpus, a.mem.as_deref()), (Some(4), Some("2G")));
  }

  #[test]
  fn extra_is_the_file_s_then_the_task_s_in_order() {
    let graph = compile(
      "slurm: {extra: [--qos=1, --gres=2]}\ntasks:\n  t: {run: x, slurm: {extra: [--comment=3, --qos=4]}}\n",
    );
    assert_eq!(slurm(&graph, "t").extra, ["--qos=1", "--gres=2", "--comment=3", "--qos=4"]);
  }

  #[test]
  fn an_included_file_s_block_is_the_default_of_its_own_tasks() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let write =
      |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
      "lint.yaml",
      "slurm: {partition: lint, cpus: 2}\ntasks:\n  a: {run: x}\n  b: {run: y, slurm: {cpus: 4}}\n",
    );
    write("bare.yaml", "tasks:\n  c: {run: z}\n");
    let root = "slurm: {partition: main, mem: 1G}\nincludes: {lint: lint.yaml, bare: bare.yaml}\ntasks:\n  r: {run: w}\n";
    write("job.yaml", root);
    let graph =
      compile_source(&Source::new(dir.path().join("job.yaml"), root)).expect("a valid job");
    let asked = |task: &str| {
      let s = slurm(&graph, task);
      (s.partition.clone(), s.cpus, s.mem.clone())
    };
    assert_eq!(asked("r"), (Some("main".into()), None, Some("1G".into())));
    assert_eq!(asked("lint:a"), (Some("lint".into()), Some(2), None));
    assert_eq!(asked("lint:b"), (Some("lint".into()), Some(4), None));
    assert_eq!(asked("bare:c"), (None, None, None));
  }
}
