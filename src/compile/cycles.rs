//! The cycle check of compile: the dependency edges between the compiled nodes and queues, and
//! one error per cycle, with a label on every edge of it.

use super::Compiler;
use crate::compile_error::{CompileError, ErrorKind};
use crate::cycle::{self, Edge, Via};
use crate::graph;

/// A cycle longer than this shows only its first steps: one of 100,000 tasks is not read
/// edge by edge, and each label shown costs its own excerpt.
const MAX_CYCLE_STEPS: usize = 10;

impl Compiler<'_> {
  /// Reports one cycle per strongly connected component of the dependency graph, where an edge
  /// runs from what must finish first to what waits for it: needs, group members, and queues
  /// (a consumer ends only after every producer of its queue).
  pub(super) fn check_cycles(&mut self, nodes: &[graph::Node], queues: &[graph::Queue]) {
    let edges = self.edges(nodes, queues);
    let vertices = Vertices { nodes, queues };
    for cycle in cycle::find_cycles(&edges) {
      // Edges run from what finishes first to what waits for it; people read a cycle the other
      // way, as in `needs:` (`a -> c` when `a` needs `c`), so the path is printed reversed.
      let steps: Vec<_> = cycle.iter().rev().collect();
      let shown = &steps[..steps.len().min(MAX_CYCLE_STEPS)];
      let mut path: Vec<String> = shown.iter().map(|s| vertices.name(s.edge.to)).collect();
      if shown.len() < steps.len() {
        path.push("...".into());
      }
      path.push(vertices.name(steps[0].edge.to));
      let mut message = format!("dependency cycle: {}", path.join(" -> "));
      let mut help = "remove one of these edges to break the cycle".to_string();
      if shown.len() < steps.len() {
        message += &format!(" ({} steps)", steps.len());
        help += &format!(" (the first {} of its {} edges are shown)", shown.len(), steps.len());
      }
      let first = steps[0];
      let mut err = CompileError::new(
        ErrorKind::Cycle,
        message,
        first.edge.span,
        &vertices.label(first.from, first.edge),
      );
      for step in &shown[1..] {
        err = err.with_label(step.edge.span, vertices.label(step.from, step.edge));
      }
      self.errors.push(err.with_help(help));
    }
  }

  /// The edges out of each vertex: the nodes, then the queues.
  fn edges(&self, nodes: &[graph::Node], queues: &[graph::Queue]) -> Vec<Vec<Edge>> {
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
    edges
  }
}

/// The vertices of the check, for messages: the nodes, then the queues.
struct Vertices<'a> {
  nodes: &'a [graph::Node],
  queues: &'a [graph::Queue],
}

impl Vertices<'_> {
  fn name(&self, v: usize) -> String {
    match self.nodes.get(v) {
      Some(node) => node.name.clone(),
      None => format!("queue {}", self.queue(v)),
    }
  }

  fn queue(&self, v: usize) -> &str {
    &self.queues[v - self.nodes.len()].name
  }

  /// What an edge of a cycle says, on its span.
  fn label(&self, from: usize, edge: &Edge) -> String {
    let (a, b) = (self.name(from), self.name(edge.to));
    match edge.via {
      Via::Needs => format!("`{b}` needs `{a}`"),
      Via::Member => format!("`{b}` waits for its member `{a}`"),
      Via::Produces => format!("`{a}` produces into `{}`", self.queue(edge.to)),
      Via::Consumes => format!("`{b}` consumes `{}` until its producers end", self.queue(from)),
    }
  }
}
