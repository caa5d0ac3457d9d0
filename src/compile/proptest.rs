//! Property tests of the compiler: no input panics it, and every error points inside the source.
//!
//! Three sources of input: random text, random job documents built from the real keys (with
//! names, durations and values that are sometimes invalid), and the examples in `jobs/` mutated
//! line by line and character by character. Failures are not persisted to disk: a case worth
//! keeping becomes a named test at the bottom of this file.

use crate::compile::compile_source;
use crate::diagnostic::{self, Style};
use crate::schema::keys;
use crate::source::Source;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use std::fmt::Write;

/// The properties every input must have.
fn check(text: &str) -> Result<(), TestCaseError> {
  let source = Source::new("t.yaml", text);
  let errors = match compile_source(&source) {
    Ok(graph) => {
      for node in &graph.nodes {
        let linked = node.needs.iter().chain(&node.dependents).chain(&node.groups);
        for &id in linked {
          prop_assert!(id < graph.nodes.len(), "node id {id} out of range");
        }
      }
      return Ok(());
    }
    Err(errors) => errors,
  };
  prop_assert!(!errors.0.is_empty(), "an error result without errors");
  let mut previous = 0;
  for error in &errors.0 {
    prop_assert!(!error.labels.is_empty(), "{}: no label", error.message);
    prop_assert!(error.span().offset() >= previous, "errors out of file order");
    previous = error.span().offset();
    for (span, label) in &error.labels {
      let (start, end) = (span.offset(), span.offset() + span.len());
      prop_assert!(
        end <= text.len(),
        "`{}`: label `{label}` at {start}..{end} is past the end ({})",
        error.message,
        text.len()
      );
      prop_assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "`{}`: label `{label}` at {start}..{end} splits a character",
        error.message
      );
    }
  }
  // Drawing the report must not panic either (miette slices the source by these spans).
  let rendered = diagnostic::render(&source, &errors, Style::PLAIN);
  prop_assert!(rendered.contains("nothing was run"));
  Ok(())
}

fn config(cases: u32) -> ProptestConfig {
  ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---- (a) random text ----

/// Characters that mean something to YAML, so random text often gets past the first token.
const YAML_ISH: &str = "[a-z0-9:\\-\\[\\]{},#&*!|>'\"%@?` \t\n.é€😀]{0,200}";

// ---- (b) random job documents ----

/// A YAML value, rendered to text by `block` or `flow`.
#[derive(Debug, Clone)]
enum Yaml {
  Scalar(String),
  Seq(Vec<Yaml>),
  Map(Vec<(String, Yaml)>),
}

fn s(text: &str) -> Yaml {
  Yaml::Scalar(text.to_string())
}

/// Mostly a few shared names, so references often resolve and cycles are common.
fn name() -> impl Strategy<Value = String> {
  prop_oneof![
    8 => select(&["a", "b", "c", "build", "test", "teas", "orders", "g"][..]).prop_map(String::from),
    2 => select(&["1bad", "a b", "é", "", "x:y", "-a", "null", "true", "~", "a.b-c_d"][..])
      .prop_map(String::from),
    1 => "[A-Za-z_][A-Za-z0-9_.-]{0,8}",
    1 => "\\PC{0,6}",
  ]
}

fn scalar() -> impl Strategy<Value = Yaml> {
  const ODD: &[&str] =
    &["true", "false", "null", "~", "0x1f", "0o17", "1_000", "+1", "-0.0", "yes"];
  // Numbers a YAML parser may refuse: infinite, not a number, out of range.
  const REFUSED: &[&str] = &["1e999", ".inf", "-.inf", ".nan", "99999999999999999999"];
  prop_oneof![
    8 => name().prop_map(Yaml::Scalar),
    2 => any::<i64>().prop_map(|i| Yaml::Scalar(i.to_string())),
    2 => any::<f64>().prop_map(|f| Yaml::Scalar(f.to_string())),
    2 => select(ODD).prop_map(s),
    1 => select(REFUSED).prop_map(s),
    2 => "\\PC{0,12}".prop_map(Yaml::Scalar),
  ]
}

/// Any value, nested a little.
fn value() -> impl Strategy<Value = Yaml> {
  scalar().prop_recursive(2, 8, 3, |inner| {
    prop_oneof![
      prop::collection::vec(inner.clone(), 0..3).prop_map(Yaml::Seq),
      prop::collection::vec((name(), inner), 0..3).prop_map(Yaml::Map),
    ]
  })
}

fn duration() -> impl Strategy<Value = Yaml> {
  const DURATIONS: &[&str] = &[
    "500ms",
    "2s",
    "1.5s",
    "1m30s",
    "2h",
    "3",
    "0.25",
    "0",
    "-1",
    "-5s",
    "-0",
    "-0.5",
    "soon",
    "1x",
    "",
    "1 s",
    "1e99",
    "99999999999999999999h",
    "1.2.3s",
    "ms",
  ];
  prop_oneof![4 => select(DURATIONS).prop_map(s), 1 => value()]
}

fn names() -> impl Strategy<Value = Yaml> {
  prop_oneof![
    6 => prop::collection::vec(name().prop_map(Yaml::Scalar), 0..4).prop_map(Yaml::Seq),
    1 => name().prop_map(Yaml::Scalar),
    1 => value(),
  ]
}

fn number() -> impl Strategy<Value = Yaml> {
  prop_oneof![
    4 => select(&["0", "1", "2", "5", "-1", "4294967296", "two", "1.5", "99999999999999999999"][..])
      .prop_map(s),
    1 => value(),
  ]
}

fn command() -> impl Strategy<Value = Yaml> {
  prop_oneof![
    4 => select(&["echo hi", "true", "sleep 0", "exit 1"][..]).prop_map(s),
    1 => prop::collection::vec(name().prop_map(Yaml::Scalar), 0..3).prop_map(Yaml::Seq),
    1 => value(),
  ]
}

fn callbacks() -> impl Strategy<Value = Yaml> {
  prop_oneof![command(), prop::collection::vec(command(), 0..3).prop_map(Yaml::Seq),]
}

fn env() -> impl Strategy<Value = Yaml> {
  prop_oneof![
    4 => prop::collection::vec(
      (select(&["CUP", "A", "", "A=B", "PATH"][..]).prop_map(String::from), scalar()),
      0..3,
    )
    .prop_map(Yaml::Map),
    1 => value(),
  ]
}

/// A key that is not one of `known`, half of the time a near miss.
fn bad_key() -> impl Strategy<Value = String> {
  prop_oneof![
    select(&["nedds", "runn", "task", "gahter", "wiat", "retry", "pendng", ""][..])
      .prop_map(String::from),
    name(),
  ]
}

/// A mapping of up to `max` entries, or now and then any other value.
fn entries(
  entry: impl Strategy<Value = (String, Yaml)> + 'static,
  max: usize,
) -> impl Strategy<Value = Yaml> {
  prop_oneof![
    8 => prop::collection::vec(entry, 0..max).prop_map(Yaml::Map),
    1 => value(),
  ]
}

/// [`entries`] under the keys `entry` chooses, one in nine under a key that is not known.
fn entries_or_bad_keys(
  entry: impl Strategy<Value = (&'static str, Yaml)> + 'static,
  max: usize,
) -> impl Strategy<Value = Yaml> {
  let entry = entry.prop_map(|(k, v)| (k.to_string(), v));
  entries(prop_oneof![8 => entry, 1 => (bad_key(), value())], max)
}

fn task() -> impl Strategy<Value = Yaml> {
  let entry = prop_oneof![
    (Just("run"), command()),
    (Just("needs"), names()),
    (Just("needs"), names()),
    (select(&["delay", "timeout", "retry_delay"][..]), duration()),
    (select(&["retries", "workers"][..]), number()),
    (select(&["produces", "consumes"][..]), name().prop_map(Yaml::Scalar)),
    (select(&["on_success", "on_failure", "on_done"][..]), callbacks()),
    (Just("env"), env()),
    (select(keys::TASK), value()),
  ];
  entries_or_bad_keys(entry, 6)
}

fn group() -> impl Strategy<Value = Yaml> {
  let entry = prop_oneof![
    (select(&["gather", "wait"][..]), names()),
    (select(&["gather", "wait"][..]), names()),
    (
      Just("return_when"),
      select(&["ALL_COMPLETED", "first_completed", "FIRST_EXCEPTION", "FIRST_COMPLETE", "any"][..])
        .prop_map(s)
    ),
    (Just("pending"), select(&["cancel", "continue", "keep", "CANCEL"][..]).prop_map(s)),
    (Just("timeout"), duration()),
    (select(&["on_done", "on_success", "on_failure"][..]), callbacks()),
    (select(keys::GROUP), value()),
  ];
  entries_or_bad_keys(entry, 4)
}

fn queue() -> impl Strategy<Value = Yaml> {
  let entry = prop_oneof![
    (Just("maxsize"), number()),
    (Just("items"), prop::collection::vec(scalar(), 0..3).prop_map(Yaml::Seq)),
    (select(keys::QUEUE), value()),
    (Just("maxsze"), value()),
  ];
  entries(entry.prop_map(|(k, v)| (k.to_string(), v)), 3)
}

fn named(item: impl Strategy<Value = Yaml>, max: usize) -> impl Strategy<Value = Yaml> {
  prop::collection::vec((name(), item), 0..max).prop_map(Yaml::Map)
}

fn document() -> impl Strategy<Value = Yaml> {
  let section = |key: &'static str, item: BoxedStrategy<Yaml>, max, p| {
    prop::option::weighted(p, named(item, max)).prop_map(move |v| v.map(|v| (key.to_string(), v)))
  };
  let extra = prop_oneof![
    2 => select(&["1", "2", "\"1\"", "one"][..]).prop_map(|v| ("version".to_string(), s(v))),
    1 => number().prop_map(|v| ("concurrency".to_string(), v)),
    1 => env().prop_map(|v| ("env".to_string(), v)),
    2 => (select(keys::JOB_FILE), value()).prop_map(|(k, v)| (k.to_string(), v)),
    1 => (bad_key(), value()),
  ];
  (
    section("tasks", task().boxed(), 8, 0.9),
    section("groups", group().boxed(), 4, 0.5),
    section("queues", queue().boxed(), 3, 0.4),
    prop::collection::vec(extra, 0..3),
  )
    .prop_map(|(tasks, groups, queues, extra)| {
      let sections = [tasks, groups, queues].into_iter().flatten();
      Yaml::Map(sections.chain(extra).collect())
    })
}

/// A task of `sound_document`: what it needs, and the queues it produces into and consumes.
type TaskSpec = (Vec<&'static str>, Option<&'static str>, Option<(&'static str, u8)>);

/// A group of `sound_document`: gather or wait, its members and a `return_when`.
type GroupSpec = (bool, Vec<&'static str>, Option<&'static str>);

/// A document with only valid keys, names and values. Half of them keep every edge pointing
/// backwards, so most compile; the others fail on cross-references alone (cycles through
/// needs, groups and queues, and unknown names).
fn sound_document() -> impl Strategy<Value = Yaml> {
  const TASKS: &[&str] = &["a", "b", "c", "d", "e", "f"];
  const GROUPS: &[&str] = &["g1", "g2", "g3"];
  const NODES: &[&str] = &["a", "b", "c", "d", "e", "f", "g1", "g2", "g3"];
  const QUEUES: &[&str] = &["q1", "q2"];
  let task = (
    prop::sample::subsequence(NODES, 0..3),
    prop::option::weighted(0.3, select(QUEUES)),
    prop::option::weighted(0.3, (select(QUEUES), 1..4u8)),
  );
  let group = (
    any::<bool>(),
    prop::sample::subsequence(NODES, 1..4),
    prop::option::of(select(&["FIRST_COMPLETED", "first_exception"][..])),
  );
  (
    any::<bool>(),
    prop::sample::subsequence(TASKS, 1..=TASKS.len()),
    prop::collection::vec(task, TASKS.len()),
    prop::sample::subsequence(GROUPS, 0..=GROUPS.len()),
    prop::collection::vec(group, GROUPS.len()),
  )
    .prop_map(|(backwards, task_names, tasks, group_names, groups)| {
      let task_names = if backwards { TASKS.to_vec() } else { task_names };
      let tasks = task_names.iter().zip(tasks).map(|(name, (needs, produces, consumes))| {
        let needs = if backwards {
          let earlier = |n: &&str| TASKS.contains(n) && n < name;
          needs.into_iter().filter(earlier).collect()
        } else {
          needs
        };
        (name.to_string(), sound_task((needs, produces, consumes)))
      });
      let groups = group_names.iter().zip(groups).map(|(name, (gather, members, rule))| {
        let members = if backwards {
          members.into_iter().filter(|n| TASKS.contains(n)).collect()
        } else {
          members
        };
        (name.to_string(), sound_group((gather, members, rule)))
      });
      let queues = QUEUES.iter().map(|q| (q.to_string(), Yaml::Map(vec![])));
      Yaml::Map(vec![
        ("tasks".into(), Yaml::Map(tasks.collect())),
        ("groups".into(), Yaml::Map(groups.collect())),
        ("queues".into(), Yaml::Map(queues.collect())),
      ])
    })
}

fn list(names: Vec<&str>) -> Yaml {
  Yaml::Seq(names.into_iter().map(s).collect())
}

fn sound_task((needs, produces, consumes): TaskSpec) -> Yaml {
  let mut entries = vec![("run".to_string(), s("echo hi"))];
  if !needs.is_empty() {
    entries.push(("needs".into(), list(needs)));
  }
  if let Some(q) = produces {
    entries.push(("produces".into(), s(q)));
  }
  if let Some((q, workers)) = consumes {
    entries.push(("consumes".into(), s(q)));
    entries.push(("workers".into(), Yaml::Scalar(workers.to_string())));
  }
  Yaml::Map(entries)
}

fn sound_group((gather, members, rule): GroupSpec) -> Yaml {
  let members = if members.is_empty() { vec!["a"] } else { members };
  let key = if gather { "gather" } else { "wait" };
  let mut entries = vec![(key.to_string(), list(members))];
  if let (false, Some(rule)) = (gather, rule) {
    entries.push(("return_when".into(), s(rule)));
  }
  Yaml::Map(entries)
}

/// A scalar as YAML text: plain when that reads back as the same text or as the number, bool
/// or null it spells; double-quoted otherwise.
fn scalar_text(text: &str) -> String {
  let plain = !text.is_empty()
    && !text.starts_with(['-', '.', '?', ':', '~'])
    && text.chars().all(|c| c.is_ascii_alphanumeric() || "_.-+".contains(c));
  let special = ["~", "-.inf", ".inf", ".nan", "-1", "-0", "-5s", "-a"].contains(&text)
    || text.parse::<f64>().is_ok();
  if plain || special {
    return text.to_string();
  }
  let mut out = String::from("\"");
  for c in text.chars() {
    match c {
      '"' => out.push_str("\\\""),
      '\\' => out.push_str("\\\\"),
      c if (c as u32) < 0x20 || c == '\u{7f}' => {
        let _ = write!(out, "\\x{:02x}", c as u32);
      }
      c if c.is_control() || !c.is_alphanumeric() && !c.is_ascii() => {
        let _ = write!(out, "\\U{:08x}", c as u32);
      }
      c => out.push(c),
    }
  }
  out.push('"');
  out
}

fn flow(value: &Yaml, out: &mut String) {
  match value {
    Yaml::Scalar(text) => out.push_str(&scalar_text(text)),
    Yaml::Seq(items) => {
      out.push('[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push_str(", ");
        }
        flow(item, out);
      }
      out.push(']');
    }
    Yaml::Map(entries) => {
      out.push('{');
      for (i, (key, item)) in entries.iter().enumerate() {
        if i > 0 {
          out.push_str(", ");
        }
        out.push_str(&scalar_text(key));
        out.push_str(": ");
        flow(item, out);
      }
      out.push('}');
    }
  }
}

/// Block style for mappings and lists down to a few levels, flow style below.
fn block(entries: &[(String, Yaml)], indent: usize, out: &mut String) {
  for (key, value) in entries {
    out.push_str(&" ".repeat(indent));
    out.push_str(&scalar_text(key));
    out.push(':');
    match value {
      Yaml::Map(inner) if !inner.is_empty() && indent < 6 => {
        out.push('\n');
        block(inner, indent + 2, out);
      }
      Yaml::Seq(items) if !items.is_empty() && indent < 6 => {
        out.push('\n');
        for item in items {
          out.push_str(&" ".repeat(indent + 2));
          out.push_str("- ");
          flow(item, out);
          out.push('\n');
        }
      }
      _ => {
        out.push(' ');
        flow(value, out);
        out.push('\n');
      }
    }
  }
}

fn render(doc: &Yaml, flow_style: bool) -> String {
  let mut out = String::new();
  match doc {
    Yaml::Map(entries) if !flow_style => block(entries, 0, &mut out),
    _ => {
      flow(doc, &mut out);
      out.push('\n');
    }
  }
  out
}

// ---- (c) mutated examples ----

const EXAMPLES: [&str; 4] = [
  include_str!("../../jobs/gather.yaml"),
  include_str!("../../jobs/queue.yaml"),
  include_str!("../../jobs/tea.yaml"),
  include_str!("../../jobs/wait.yaml"),
];

#[derive(Debug, Clone)]
enum Mutation {
  DeleteLine(Index),
  DuplicateLine(Index),
  SwapLines(Index, Index),
  Indent(Index, i8),
  ReplaceLine(Index, String),
  InsertChar(Index, char),
  DeleteChar(Index),
  Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
  let yaml_char = prop_oneof![
    4 => select(&[':', '-', ' ', '\t', '\n', '[', ']', '{', '}', ',', '#', '"', '\'', '&', '*', '|', '>', '!', '?', '%', '@', 'é', '😀'][..]),
    1 => any::<char>(),
  ];
  prop_oneof![
    any::<Index>().prop_map(Mutation::DeleteLine),
    any::<Index>().prop_map(Mutation::DuplicateLine),
    (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    (any::<Index>(), -4i8..=4).prop_map(|(i, d)| Mutation::Indent(i, d)),
    (any::<Index>(), YAML_ISH).prop_map(|(i, l)| Mutation::ReplaceLine(i, l)),
    (any::<Index>(), yaml_char).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
    any::<Index>().prop_map(Mutation::DeleteChar),
    any::<Index>().prop_map(Mutation::Truncate),
  ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
  let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
  if lines.is_empty() {
    lines.push(String::new());
  }
  let n = lines.len();
  let char_at = |i: &Index| {
    let count = text.chars().count();
    text.char_indices().nth(i.index(count + 1)).map_or(text.len(), |(b, _)| b)
  };
  match mutation {
    Mutation::DeleteLine(i) => {
      lines.remove(i.index(n));
    }
    Mutation::DuplicateLine(i) => {
      let i = i.index(n);
      lines.insert(i, lines[i].clone());
    }
    Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
    Mutation::Indent(i, delta) => {
      let line = &mut lines[i.index(n)];
      if *delta >= 0 {
        line.insert_str(0, &" ".repeat(delta.unsigned_abs().into()));
      } else {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        line.drain(..spaces.min(usize::from(delta.unsigned_abs())));
      }
    }
    Mutation::ReplaceLine(i, new) => lines[i.index(n)] = format!("{new}\n"),
    Mutation::InsertChar(i, c) => {
      let mut out = text.to_string();
      out.insert(char_at(i), *c);
      return out;
    }
    Mutation::DeleteChar(i) => {
      let mut out = text.to_string();
      let at = char_at(i);
      if at < out.len() {
        out.remove(at);
      }
      return out;
    }
    Mutation::Truncate(i) => return text[..char_at(i)].to_string(),
  }
  lines.concat()
}

proptest! {
  #![proptest_config(config(1000))]

  #[test]
  fn random_text_never_panics(text in "\\PC{0,200}") {
    check(&text)?;
  }

  #[test]
  fn yaml_like_text_never_panics(text in YAML_ISH) {
    check(&text)?;
  }

  #[test]
  fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
    check(&String::from_utf8_lossy(&bytes))?;
  }
}

proptest! {
  #![proptest_config(config(2000))]

  #[test]
  fn random_job_documents_never_panic(doc in document(), flow_style in prop::bool::weighted(0.2)) {
    check(&render(&doc, flow_style))?;
  }

  #[test]
  fn sound_job_documents_never_panic(doc in sound_document(), flow_style in prop::bool::weighted(0.2)) {
    check(&render(&doc, flow_style))?;
  }

  #[test]
  fn mutated_examples_never_panic(
    example in select(&EXAMPLES[..]),
    mutations in prop::collection::vec(mutation(), 1..6),
  ) {
    let text = mutations.iter().fold(example.to_string(), |text, m| apply(&text, m));
    check(&text)?;
  }
}

#[test]
fn the_examples_and_generated_documents_compile() {
  for example in EXAMPLES {
    assert!(compile_source(&Source::new("t.yaml", example)).is_ok());
  }
  // The generator writes YAML that reads back as intended: a small valid document compiles.
  let doc = Yaml::Map(vec![
    (
      "tasks".into(),
      Yaml::Map(vec![
        ("a".into(), Yaml::Map(vec![("run".into(), s("echo hi"))])),
        (
          "b".into(),
          Yaml::Map(vec![
            ("needs".into(), Yaml::Seq(vec![s("a")])),
            ("delay".into(), s("1m30s")),
            ("description".into(), s("a b: \"c\" é\t😀")),
          ]),
        ),
      ]),
    ),
    (
      "groups".into(),
      Yaml::Map(vec![(
        "g".into(),
        Yaml::Map(vec![("wait".into(), Yaml::Seq(vec![s("a"), s("b")]))]),
      )]),
    ),
  ]);
  for flow_style in [false, true] {
    let text = render(&doc, flow_style);
    let graph = compile_source(&Source::new("t.yaml", text.as_str()));
    assert!(graph.is_ok(), "{text}");
  }
}
