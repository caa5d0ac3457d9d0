//! Finds dependency cycles: one cycle per strongly connected component (Tarjan, iterative, so
//! a 100k-task chain does not overflow the stack).

use miette::SourceSpan;

/// An edge from what must finish first to what waits for it, with the place that declared it.
/// `via` says what the edge is, for the label of a reported cycle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
  pub to: usize,
  pub span: SourceSpan,
  pub via: Via,
}

/// Why one vertex waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
  Needs,
  Member,
  Produces,
  Consumes,
}

/// One step of a reported cycle.
#[derive(Debug)]
pub(crate) struct Step<'a> {
  pub from: usize,
  pub edge: &'a Edge,
}

/// Every cycle to report: for each component with a cycle, one shortest cycle through its
/// first vertex, as the list of edges walked.
pub(crate) fn find_cycles(edges: &[Vec<Edge>]) -> Vec<Vec<Step<'_>>> {
  let components = strongly_connected(edges);
  let mut component_of = vec![usize::MAX; edges.len()];
  for (c, members) in components.iter().enumerate() {
    for &v in members {
      component_of[v] = c;
    }
  }
  let mut search = Search::new(edges.len());
  let mut cycles: Vec<_> = (components.iter().enumerate())
    .map(|(c, members)| {
      let start = *members.iter().min().expect("components are never empty");
      search.shortest_cycle(edges, start, |v| component_of[v] == c)
    })
    .collect();
  cycles.sort_by_key(|cycle| cycle[0].from);
  cycles
}

/// The state of a breadth-first search, kept from one component to the next and reset only
/// where it was used: a file with 50,000 small cycles must not clear 50,000 long arrays.
struct Search {
  parent: Vec<Option<(usize, usize)>>,
  seen: Vec<bool>,
  visited: Vec<usize>,
}

impl Search {
  fn new(n: usize) -> Self {
    Self { parent: vec![None; n], seen: vec![false; n], visited: Vec::new() }
  }

  /// Breadth-first search from `start` back to itself inside one component.
  fn shortest_cycle<'e>(
    &mut self,
    edges: &'e [Vec<Edge>],
    start: usize,
    inside: impl Fn(usize) -> bool,
  ) -> Vec<Step<'e>> {
    for v in self.visited.drain(..) {
      self.parent[v] = None;
      self.seen[v] = false;
    }
    self.visited.push(start);
    self.seen[start] = true;
    let mut next = 0;
    while let Some(&v) = self.visited.get(next) {
      next += 1;
      for (i, edge) in edges[v].iter().enumerate() {
        if edge.to == start {
          return self.path(edges, v, edge);
        }
        if inside(edge.to) && !self.seen[edge.to] {
          self.seen[edge.to] = true;
          self.parent[edge.to] = Some((v, i));
          self.visited.push(edge.to);
        }
      }
    }
    unreachable!("a vertex of a cyclic component reaches itself")
  }

  /// The steps from the start to `v`, then `last` back to the start.
  fn path<'e>(&self, edges: &'e [Vec<Edge>], v: usize, last: &'e Edge) -> Vec<Step<'e>> {
    let mut steps = vec![Step { from: v, edge: last }];
    let mut at = v;
    while let Some((p, j)) = self.parent[at] {
      steps.push(Step { from: p, edge: &edges[p][j] });
      at = p;
    }
    steps.reverse();
    steps
  }
}

/// Tarjan's algorithm without recursion. Returns only the components with a cycle: more than
/// one vertex, or one with an edge to itself.
fn strongly_connected(edges: &[Vec<Edge>]) -> Vec<Vec<usize>> {
  const UNSEEN: usize = usize::MAX;
  let n = edges.len();
  let mut index = vec![UNSEEN; n];
  let mut low = vec![0; n];
  let mut on_stack = vec![false; n];
  let mut stack = Vec::new();
  let mut components = Vec::new();
  let mut next = 0;
  let mut work: Vec<(usize, usize)> = Vec::new();
  for root in 0..n {
    if index[root] != UNSEEN {
      continue;
    }
    work.push((root, 0));
    while let Some(&mut (v, ref mut i)) = work.last_mut() {
      if *i == 0 {
        index[v] = next;
        low[v] = next;
        next += 1;
        stack.push(v);
        on_stack[v] = true;
      }
      if let Some(edge) = edges[v].get(*i) {
        *i += 1;
        let w = edge.to;
        if index[w] == UNSEEN {
          work.push((w, 0));
        } else if on_stack[w] {
          low[v] = low[v].min(index[w]);
        }
        continue;
      }
      work.pop();
      if let Some(&(parent, _)) = work.last() {
        low[parent] = low[parent].min(low[v]);
      }
      if low[v] == index[v] {
        let mut component = Vec::new();
        loop {
          let w = stack.pop().expect("v is on the stack");
          on_stack[w] = false;
          component.push(w);
          if w == v {
            break;
          }
        }
        if component.len() > 1 || edges[v].iter().any(|e| e.to == v) {
          components.push(component);
        }
      }
    }
  }
  components
}

#[cfg(test)]
mod tests {
  use super::*;

  fn graph(n: usize, pairs: &[(usize, usize)]) -> Vec<Vec<Edge>> {
    let mut edges = vec![Vec::new(); n];
    for &(a, b) in pairs {
      edges[a].push(Edge { to: b, span: (0, 0).into(), via: Via::Needs });
    }
    edges
  }

  fn paths(edges: &[Vec<Edge>]) -> Vec<Vec<usize>> {
    find_cycles(edges).iter().map(|c| c.iter().map(|s| s.from).collect()).collect()
  }

  #[test]
  fn acyclic_has_none() {
    assert!(paths(&graph(4, &[(0, 1), (1, 2), (0, 2), (2, 3)])).is_empty());
  }

  #[test]
  fn finds_each_component_once() {
    let edges = graph(6, &[(0, 1), (1, 2), (2, 0), (3, 4), (4, 3), (5, 5), (2, 3)]);
    assert_eq!(paths(&edges), [vec![0, 1, 2], vec![3, 4], vec![5]]);
  }

  #[test]
  fn long_chain_does_not_overflow() {
    let n = 200_000;
    let pairs: Vec<_> = (0..n - 1).map(|i| (i, i + 1)).chain([(n - 1, 0)]).collect();
    assert_eq!(paths(&graph(n, &pairs))[0].len(), n);
  }
}
