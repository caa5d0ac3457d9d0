//! The crate's layering, read from its source: no two modules import each other (directly or in
//! a circle), and the graph and the reporters know neither the YAML model nor the command line.

use crate::support::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src/` by its path (`engine::launcher`), with its non-test source.
fn modules() -> BTreeMap<String, String> {
  let mut found = BTreeMap::new();
  let src = repo().join("src");
  let mut dirs = vec![src.clone()];
  while let Some(dir) = dirs.pop() {
    for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
      let path = entry.path();
      if path.is_dir() {
        dirs.push(path);
      } else if path.extension().is_some_and(|e| e == "rs") {
        if let Some(name) = module_name(&src, &path) {
          let text = std::fs::read_to_string(&path).expect("a source file");
          let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
          found.insert(name, code);
        }
      }
    }
  }
  found
}

fn module_name(src: &Path, path: &Path) -> Option<String> {
  let rel = path.strip_prefix(src).ok()?.with_extension("");
  let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
  match parts.last()?.as_str() {
    "tests" | "proptest" | "fixtures" => None,
    "lib" | "main" => Some(String::new()),
    _ => Some(parts.join("::")),
  }
}

/// The modules `code` names through `crate::a::b` or `super::a` paths, resolved to the longest
/// known module.
fn imports(name: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
  let parent = name.rsplit_once("::").map_or("", |(p, _)| p);
  let mut found = BTreeSet::new();
  for (prefix, base) in [("crate::", ""), ("super::", parent)] {
    for (at, _) in code.match_indices(prefix) {
      let path: Vec<&str> = code[at + prefix.len()..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .next()
        .unwrap_or_default()
        .split("::")
        .filter(|s| !s.is_empty())
        .collect();
      for len in (1..=path.len()).rev() {
        let joined = path[..len].join("::");
        let module = if base.is_empty() { joined } else { format!("{base}::{joined}") };
        if known.contains(&module) {
          found.insert(module);
          break;
        }
      }
    }
  }
  // A module and its own children or parent are one unit.
  found.retain(|m| {
    m != name && !m.starts_with(&format!("{name}::")) && !name.starts_with(&format!("{m}::"))
  });
  found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
  let modules = modules();
  let known: BTreeSet<String> = modules.keys().cloned().collect();
  modules.iter().map(|(name, code)| (name.clone(), imports(name, code, &known))).collect()
}

/// A circle through `from`, if there is one: the path back to it.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
  let mut stack = vec![(from.to_string(), vec![from.to_string()])];
  let mut seen = BTreeSet::new();
  while let Some((at, path)) = stack.pop() {
    for next in edges.get(&at).into_iter().flatten() {
      if next == from {
        return Some([path.clone(), vec![next.clone()]].concat());
      }
      if seen.insert(next.clone()) {
        stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
      }
    }
  }
  None
}

#[test]
fn no_module_imports_itself_through_others() {
  let edges = graph();
  assert!(edges.len() > 40, "modules found: {:?}", edges.keys());
  let circles: Vec<String> =
    edges.keys().filter_map(|m| circle(&edges, m)).map(|c| c.join(" -> ")).collect();
  assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

#[test]
fn the_graph_and_the_reporters_know_neither_the_yaml_model_nor_the_command_line() {
  let edges = graph();
  let lower = |m: &str| m == "graph" || m == "group" || m == "report" || m.starts_with("report::");
  let wrong: Vec<String> = edges
    .iter()
    .filter(|(m, _)| lower(m))
    .flat_map(|(m, deps)| {
      deps.iter().filter(|d| *d == "schema" || *d == "cli").map(move |d| format!("{m} imports {d}"))
    })
    .collect();
  assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_circle_check_sees_a_circle() {
  let edges: BTreeMap<String, BTreeSet<String>> = [
    ("a".to_string(), BTreeSet::from(["b".to_string()])),
    ("b".to_string(), BTreeSet::from(["a".to_string()])),
  ]
  .into();
  assert_eq!(circle(&edges, "a"), Some(vec!["a".into(), "b".into(), "a".into()]));
}
