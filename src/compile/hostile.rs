//! Hostile inputs to the whole loader (text -> tree -> schema -> graph, then the rendered
//! errors): every job file of the repository mutated in a few hundred deterministic ways, and
//! property tests over arbitrary text and arbitrary YAML-ish trees. Each input must end in a
//! graph or in rendered errors, never in a panic.

use super::compile_checked;
use crate::diagnostic::{self, Style};
use crate::source::Source;
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Loads a text as `runner validate` does, rendering the errors: what went wrong, if anything.
fn load(text: &str) -> Result<(), String> {
  let source = Source::new("job.yaml", text);
  let outcome = catch_unwind(AssertUnwindSafe(|| match compile_checked(&source) {
    Ok((_, warnings)) => diagnostic::render(&source, &warnings, Style::PLAIN),
    Err(errors) => {
      assert!(errors.errors() > 0, "a failed load has an error");
      diagnostic::render(&source, &errors, Style::PLAIN)
    }
  }));
  match outcome {
    Ok(rendered) if rendered.ends_with('\n') => Ok(()),
    Ok(rendered) => Err(format!("rendered without a summary line: {rendered:?}")),
    Err(panic) => Err(panic_message(&*panic)),
  }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
  let text = panic.downcast_ref::<String>().map(String::as_str);
  format!("panicked: {}", text.or(panic.downcast_ref::<&str>().copied()).unwrap_or("?"))
}

/// Every YAML file of `jobs/` and `tests/` (the diagnostics and the fixtures), sorted.
fn corpus() -> Vec<(PathBuf, String)> {
  let root = Path::new(env!("CARGO_MANIFEST_DIR"));
  let mut files = Vec::new();
  let mut dirs =
    vec![root.join("jobs"), root.join("tests/diagnostics"), root.join("tests/fixtures")];
  while let Some(dir) = dirs.pop() {
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
      let path = entry.expect("a directory entry").path();
      if path.is_dir() {
        dirs.push(path);
      } else if path.extension().is_some_and(|e| e == "yaml") {
        let text = std::fs::read_to_string(&path).expect("corpus files are text");
        files.push((path, text));
      }
    }
  }
  files.sort();
  files
}

/// A small deterministic generator (an LCG): the same mutations on every run.
struct Dice(u64);

impl Dice {
  fn below(&mut self, n: usize) -> usize {
    self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    ((self.0 >> 33) as usize) % n.max(1)
  }
}

/// Odd things to insert: tabs, NUL, a BOM, indicators, anchors, aliases, tags, quotes, breaks.
const ODD: &[&str] = &[
  "\t",
  "\0",
  "\u{feff}",
  ":",
  "- ",
  "{",
  "[",
  "]",
  "}",
  "&a ",
  "*a",
  "<<: *a\n",
  "!!int ",
  "!!map ",
  "\"",
  "'",
  " #",
  "\r",
  "\u{2028}",
  "é",
  "? ",
  "|\n",
  ">-\n",
  "---\n",
  "...\n",
  "%YAML 1.2\n",
];

/// Values that bend the loader: huge or negative numbers, odd durations, nulls.
const VALUES: &[&str] = &[
  "1000000000",
  "99999999999999999999999",
  "-1",
  "1e999",
  "1e3",
  "+5",
  ".inf",
  ".nan",
  "0x7fffffffffffffff",
  "null",
  "~",
  "\"\"",
  "[]",
  "{}",
  "*a",
  "-0",
  "0.0000001",
  "4097",
  "'1e3'",
];

/// One mutation of `text`, described.
fn mutate(text: &str, dice: &mut Dice) -> (String, String) {
  let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
  if lines.is_empty() {
    lines.push(String::new());
  }
  let line = dice.below(lines.len());
  let at = floor(text, dice.below(text.len() + 1));
  match dice.below(12) {
    0 => ("delete a line".into(), without(&lines, line)),
    1 => {
      lines.insert(line, lines[line].clone());
      ("duplicate a line".into(), lines.join("\n"))
    }
    2 => {
      let other = dice.below(lines.len());
      lines.swap(line, other);
      ("swap two lines".into(), lines.join("\n"))
    }
    3 => ("truncate".into(), text[..at].to_string()),
    4 => {
      let odd = ODD[dice.below(ODD.len())];
      (format!("insert {odd:?}"), format!("{}{odd}{}", &text[..at], &text[at..]))
    }
    5 => {
      let value = VALUES[dice.below(VALUES.len())];
      (format!("value {value}"), replace_value(&lines, line, value))
    }
    6 => {
      let depth = 50 + dice.below(400);
      let deep = "[".repeat(depth) + &"]".repeat(depth);
      ("deep nesting".into(), replace_value(&lines, line, &deep))
    }
    7 => {
      // Text past column 65,535, then what is likely an error there.
      let long = "x".repeat(66_000 + dice.below(5_000));
      lines[line] = format!("{}{long}: y: z", lines[line]);
      ("an error past column 65,535".into(), lines.join("\n"))
    }
    8 => {
      let indent = lines[line].len() - lines[line].trim_start().len();
      lines[line] = "\t".repeat(indent.max(1)) + lines[line].trim_start();
      ("tabs for indentation".into(), lines.join("\n"))
    }
    9 => {
      let laughs = "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n".to_string()
        + &(1..4).map(|i| format!("x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]\n", p = i - 1)).collect::<String>();
      ("aliases that expand ten thousand times".into(), laughs + text)
    }
    10 => {
      let copies = 2 + dice.below(30);
      let block = lines[line..(line + 4).min(lines.len())].join("\n");
      lines.insert(line, vec![block; copies].join("\n"));
      ("a block repeated".into(), lines.join("\n"))
    }
    _ => (
      "anchor and alias".into(),
      format!("x: &a {{run: [1, 2]}}\n{}", replace_value(&lines, line, "*a")),
    ),
  }
}

fn without(lines: &[String], i: usize) -> String {
  lines
    .iter()
    .enumerate()
    .filter(|&(j, _)| j != i)
    .map(|(_, l)| l.as_str())
    .collect::<Vec<_>>()
    .join("\n")
}

/// The lines with the value after the first `: ` of line `i` (or the whole line) replaced.
fn replace_value(lines: &[String], i: usize, value: &str) -> String {
  let mut lines = lines.to_vec();
  lines[i] = match lines[i].find(": ") {
    Some(colon) => format!("{}: {value}", &lines[i][..colon]),
    None => format!("{}{value}", lines[i]),
  };
  lines.join("\n")
}

fn floor(text: &str, mut i: usize) -> usize {
  while !text.is_char_boundary(i) {
    i -= 1;
  }
  i
}

/// How many mutants of each corpus file are loaded.
const MUTANTS: usize = 24;

#[test]
fn mutated_job_files_load_without_a_panic() {
  let corpus = corpus();
  assert!(corpus.len() > 40, "the corpus has only {} files", corpus.len());
  let mut failures = Vec::new();
  let mut dice = Dice(0x5eed);
  for (path, text) in &corpus {
    for n in 0..MUTANTS {
      let (what, mutant) = mutate(text, &mut dice);
      if let Err(err) = load(&mutant) {
        failures.push(format!("{} mutant {n} ({what}): {err}", path.display()));
      }
    }
  }
  assert!(
    failures.is_empty(),
    "{} of {} mutants failed:\n{}",
    failures.len(),
    corpus.len() * MUTANTS,
    failures.join("\n")
  );
}

/// The "billion laughs": nine levels of ten aliases each, stopped at the cap on what aliases
/// copy (once here: reaching the cap takes a million copies).
#[test]
fn aliases_that_expand_a_billion_times_are_refused() {
  let mut text = "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n".to_string();
  for i in 1..10 {
    let p = format!("*x{}", i - 1);
    text += &format!("x{i}: &x{i} [{}]\n", vec![p; 10].join(", "));
  }
  text += "tasks:\n  a: {run: x, env: {A: *x9}}\n";
  assert_eq!(load(&text), Ok(()));
  let source = Source::new("job.yaml", text);
  let errors = compile_checked(&source).expect_err("refused");
  assert!(errors.0[0].message.contains("aliases expand to more than"), "{:?}", errors.0[0]);
}

#[test]
fn invalid_utf8_is_refused_where_it_is() {
  let dir = tempfile::tempdir().expect("a temp dir");
  let mut dice = Dice(7);
  for (i, (_, text)) in corpus().iter().enumerate().take(20) {
    let mut bytes = text.clone().into_bytes();
    let at = dice.below(bytes.len() + 1);
    bytes.insert(at, [0xff, 0xc3, 0x80 | 0x40, 0xed][i % 4]);
    let path = dir.path().join(format!("{i}.yaml"));
    std::fs::write(&path, &bytes).expect("write a mutant");
    match Source::read(&path) {
      Err(err) => assert!(err.to_string().contains("not UTF-8"), "{err}"),
      Ok(source) => load(&source.text).expect("a file that reads is loaded"),
    }
  }
}

/// YAML-ish text: keys of the language and others, values that bend it, nested blocks.
fn yamlish() -> impl Strategy<Value = String> {
  let keys = prop_oneof![
    Just("tasks"),
    Just("groups"),
    Just("queues"),
    Just("env"),
    Just("run"),
    Just("needs"),
    Just("gather"),
    Just("wait"),
    Just("workers"),
    Just("consumes"),
    Just("timeout"),
    Just("a"),
    Just("b"),
    Just("<<"),
    Just("concurrency"),
    Just("version"),
    Just("items"),
  ];
  let scalars = prop_oneof![
    Just("x".to_string()),
    Just("[a, b]".to_string()),
    Just("{}".to_string()),
    Just("null".to_string()),
    Just("&a [1]".to_string()),
    Just("*a".to_string()),
    Just("1e3".to_string()),
    Just("-1".to_string()),
    Just("99999999999999999999".to_string()),
    Just("'1m30s'".to_string()),
    Just("\"\\0\"".to_string()),
    "[ -~]{0,12}",
  ];
  let line = (0usize..4, keys, scalars)
    .prop_map(|(indent, key, value)| format!("{}{key}: {value}", "  ".repeat(indent)));
  proptest::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(256))]

  #[test]
  fn arbitrary_text_loads_without_a_panic(text in "\\PC{0,200}") {
    prop_assert_eq!(load(&text), Ok(()));
  }

  #[test]
  fn arbitrary_yamlish_trees_load_without_a_panic(text in yamlish()) {
    prop_assert_eq!(load(&text), Ok(()));
  }
}
