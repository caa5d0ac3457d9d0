//! What `runner list` and `runner graph` print: the compiled graph as a table, JSON, Graphviz
//! dot or Mermaid. Queues are drawn as their own nodes, with producer and consumer edges.
//!
//! The two JSON shapes differ: `list --json` is what can be run (each target's name, kind, needs
//! and description, and the queues), `graph --format json` the whole compiled graph. Both carry
//! `version`, as the `--report` file does, which changes when a field changes meaning or goes.

use crate::graph::{Graph, GroupRule, Node, NodeKind};
use crate::source::LineIndex;
use serde_json::{Value, json};
use std::fmt::Write;

/// `runner list`: one line per task, group and queue.
pub(crate) fn list_text(graph: &Graph) -> String {
  let mut out = String::new();
  let width = graph
    .nodes
    .iter()
    .map(|n| n.name.len())
    .chain(graph.queues.iter().map(|q| q.name.len()))
    .max()
    .unwrap_or(0);
  for (section, is_group) in [("tasks", false), ("groups", true)] {
    let nodes: Vec<_> =
      graph.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Group(_)) == is_group).collect();
    if nodes.is_empty() {
      continue;
    }
    let _ = writeln!(out, "{section}:");
    for node in nodes {
      let mut detail = Vec::new();
      if let NodeKind::Group(group) = &node.kind {
        detail.push(format!("{} [{}]", rule_name(group.rule), names(graph, &group.members)));
      }
      if !node.needs.is_empty() {
        detail.push(format!("needs [{}]", names(graph, &node.needs)));
      }
      for (key, globs) in
        node.task().map_or(vec![], |t| vec![("sources", &t.sources), ("generates", &t.generates)])
      {
        if !globs.is_empty() {
          detail.push(format!("{key} [{}]", globs.join(", ")));
        }
      }
      if let Some(d) = &node.description {
        detail.push(format!("# {d}"));
      }
      let _ = writeln!(out, "  {:width$}  {}", node.name, detail.join("  "));
    }
  }
  if !graph.queues.is_empty() {
    let _ = writeln!(out, "queues:");
    for queue in &graph.queues {
      let size = if queue.maxsize == 0 {
        "unbounded".to_string()
      } else {
        format!("maxsize {}", queue.maxsize)
      };
      let producers = names(graph, &queue.producers);
      let consumers = names(graph, &queue.consumers);
      let items = if queue.items.is_empty() {
        String::new()
      } else {
        format!("  {} items", queue.items.len())
      };
      let _ = writeln!(
        out,
        "  {:width$}  {size}  producers [{producers}]  consumers [{consumers}]{items}",
        queue.name
      );
    }
  }
  trim_lines(out)
}

fn trim_lines(text: String) -> String {
  text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n"
}

fn names(graph: &Graph, ids: &[usize]) -> String {
  ids.iter().map(|&id| graph.nodes[id].name.as_str()).collect::<Vec<_>>().join(", ")
}

fn rule_name(rule: GroupRule) -> String {
  match rule {
    GroupRule::Gather => "gather".into(),
    GroupRule::Matrix => "matrix".into(),
    GroupRule::Wait { return_when, .. } => format!("wait {}", return_when.as_str()),
  }
}

/// The `version` of both JSON shapes.
const JSON_VERSION: u32 = 1;

/// `runner list --json`: every target (task or group) with its kind, needs and description, in
/// file order, and the queues.
pub(crate) fn list_json(graph: &Graph) -> Value {
  let targets: Vec<Value> = graph
    .nodes
    .iter()
    .map(|node| {
      let (kind, members) = match &node.kind {
        NodeKind::Task(_) => ("task", None),
        NodeKind::Group(group) => (group_kind(group.rule), Some(node_names(graph, &group.members))),
      };
      let mut value = json!({
        "name": node.name,
        "kind": kind,
        "needs": node_names(graph, &node.needs),
        "description": node.description,
      });
      if let Some(members) = members {
        value["members"] = json!(members);
      }
      value
    })
    .collect();
  let queues: Vec<Value> = graph
    .queues
    .iter()
    .map(|q| {
      json!({
        "name": q.name,
        "description": q.description,
        "producers": node_names(graph, &q.producers),
        "consumers": node_names(graph, &q.consumers),
      })
    })
    .collect();
  json!({
    "version": JSON_VERSION,
    "name": graph.name,
    "file": graph.source.name(),
    "tasks": targets,
    "queues": queues,
  })
}

fn node_names(graph: &Graph, ids: &[usize]) -> Vec<String> {
  ids.iter().map(|&i| graph.nodes[i].name.clone()).collect()
}

fn group_kind(rule: GroupRule) -> &'static str {
  match rule {
    GroupRule::Gather => "gather",
    GroupRule::Matrix => "matrix",
    GroupRule::Wait { .. } => "wait",
  }
}

/// `runner graph --format json`: the whole compiled graph.
pub(crate) fn to_json(graph: &Graph) -> Value {
  let node_names = |ids: &[usize]| node_names(graph, ids);
  let lines = LineIndex::new(&graph.source.text);
  let line_of = |node: &Node| lines.line(node.span.offset());
  let mut tasks = Vec::new();
  let mut groups = Vec::new();
  for node in &graph.nodes {
    match &node.kind {
      NodeKind::Task(task) => tasks.push(json!({
        "name": node.name,
        "line": line_of(node),
        "description": node.description,
        "run": task.run.as_ref().map(|p| p.script.clone().map_or_else(|| json!(p.argv), Value::String)),
        "needs": node_names(&node.needs),
        "delay_ms": task.delay.map(|d| d.as_millis() as u64),
        "timeout_ms": task.timeout.map(|d| d.as_millis() as u64),
        "retries": task.retries,
        "allow_failure": node.allow_failure,
        "produces": task.produces.map(|q| graph.queues[q].name.clone()),
        "consumes": task.consumes.map(|q| graph.queues[q].name.clone()),
        "workers": task.consumes.map(|_| task.workers),
        "sources": task.sources,
        "generates": task.generates,
      })),
      NodeKind::Group(group) => {
        let mut value = json!({
          "name": node.name,
          "line": line_of(node),
          "description": node.description,
          "kind": group_kind(group.rule),
          "members": node_names(&group.members),
          "allow_failure": node.allow_failure,
        });
        if let GroupRule::Wait { return_when, timeout, pending } = group.rule {
          value["return_when"] = json!(return_when.as_str());
          value["timeout_ms"] = json!(timeout.map(|d| d.as_millis() as u64));
          value["pending"] = json!(pending.as_str());
        }
        groups.push(value);
      }
    }
  }
  let queues: Vec<Value> = graph
    .queues
    .iter()
    .map(|q| {
      json!({
        "name": q.name,
        "line": graph.source.line_col(q.span.offset()).0,
        "description": q.description,
        "maxsize": q.maxsize,
        "items": q.items,
        "producers": node_names(&q.producers),
        "consumers": node_names(&q.consumers),
      })
    })
    .collect();
  json!({
    "version": JSON_VERSION,
    "name": graph.name,
    "file": graph.source.name(),
    "tasks": tasks,
    "groups": groups,
    "queues": queues,
  })
}

fn quote(text: &str) -> String {
  format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz dot: tasks as boxes, groups as clusters' hexagons with dashed member edges, queues
/// as cylinders with bold producer and consumer edges.
pub(crate) fn to_dot(graph: &Graph) -> String {
  let mut out = String::from("digraph runner {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
  for node in &graph.nodes {
    let shape = match &node.kind {
      NodeKind::Task(_) => "box, style=rounded".to_string(),
      NodeKind::Group(group) => format!("hexagon, xlabel={}", quote(&rule_name(group.rule))),
    };
    let _ = writeln!(out, "  {} [shape={shape}];", quote(&node.name));
  }
  for queue in &graph.queues {
    let label = if queue.maxsize == 0 {
      queue.name.clone()
    } else {
      format!("{} ({})", queue.name, queue.maxsize)
    };
    let _ = writeln!(
      out,
      "  {} [shape=cylinder, label={}];",
      quote(&format!("queue:{}", queue.name)),
      quote(&label)
    );
  }
  for node in &graph.nodes {
    for &need in &node.needs {
      let _ = writeln!(out, "  {} -> {};", quote(&graph.nodes[need].name), quote(&node.name));
    }
    if let NodeKind::Group(group) = &node.kind {
      for &member in &group.members {
        let _ = writeln!(
          out,
          "  {} -> {} [style=dashed, arrowhead=odiamond, label=\"member\"];",
          quote(&graph.nodes[member].name),
          quote(&node.name)
        );
      }
    }
  }
  for queue in &graph.queues {
    let q = quote(&format!("queue:{}", queue.name));
    for &p in &queue.producers {
      let _ = writeln!(
        out,
        "  {} -> {q} [style=bold, color=\"#1f77b4\", label=\"produces\"];",
        quote(&graph.nodes[p].name)
      );
    }
    for &c in &queue.consumers {
      let _ = writeln!(
        out,
        "  {q} -> {} [style=bold, color=\"#1f77b4\", label=\"consumes\"];",
        quote(&graph.nodes[c].name)
      );
    }
  }
  out.push_str("}\n");
  out
}

/// Mermaid flowchart: the same picture as dot, for Markdown renderers.
pub(crate) fn to_mermaid(graph: &Graph) -> String {
  let id = |i: usize| format!("n{i}");
  let qid = |i: usize| format!("q{i}");
  let label = |text: &str| text.replace('"', "#quot;");
  let mut out = String::from("flowchart LR\n");
  for (i, node) in graph.nodes.iter().enumerate() {
    match &node.kind {
      NodeKind::Task(_) => {
        let _ = writeln!(out, "  {}(\"{}\")", id(i), label(&node.name));
      }
      NodeKind::Group(group) => {
        let _ =
          writeln!(out, "  {}{{{{\"{}: {}\"}}}}", id(i), label(&node.name), rule_name(group.rule));
      }
    }
  }
  for (i, queue) in graph.queues.iter().enumerate() {
    let _ = writeln!(out, "  {}[(\"{}\")]", qid(i), label(&queue.name));
  }
  for (i, node) in graph.nodes.iter().enumerate() {
    for &need in &node.needs {
      let _ = writeln!(out, "  {} --> {}", id(need), id(i));
    }
    if let NodeKind::Group(group) = &node.kind {
      for &member in &group.members {
        let _ = writeln!(out, "  {} -. member .-> {}", id(member), id(i));
      }
    }
  }
  for (q, queue) in graph.queues.iter().enumerate() {
    for &p in &queue.producers {
      let _ = writeln!(out, "  {} == produces ==> {}", id(p), qid(q));
    }
    for &c in &queue.consumers {
      let _ = writeln!(out, "  {} == consumes ==> {}", qid(q), id(c));
    }
  }
  out
}
