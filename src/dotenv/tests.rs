use super::*;

fn vars(text: &str) -> Vec<(String, String)> {
  let (vars, faults) = parse(text);
  assert!(faults.is_empty(), "{faults:?}");
  vars
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
  list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// (text, offset, length, message) of the first fault.
fn fault(text: &str) -> (usize, usize, String) {
  let (_, faults) = parse(text);
  let first = faults.first().unwrap_or_else(|| panic!("no fault in {text:?}"));
  (first.span.offset(), first.span.len(), first.message.clone())
}

#[test]
fn reads_the_usual_forms() {
  let text = "\u{feff}# a comment\n\nA=1\nexport B = two words  \nC= # only a comment\n\
    D=x#y\nE='single $HOME \\n'\nF=\"a\\nb\\t\\\"c\\\" \\\\ \\$HOME\" # done\nexport=3\r\nG=\n";
  assert_eq!(
    vars(text),
    pairs(&[
      ("A", "1"),
      ("B", "two words"),
      ("C", ""),
      ("D", "x#y"),
      ("E", "single $HOME \\n"),
      ("F", "a\nb\t\"c\" \\ $HOME"),
      ("export", "3"),
      ("G", ""),
    ])
  );
}

#[test]
fn quoted_values_may_span_lines_and_names_repeat() {
  assert_eq!(
    vars("A='one\ntwo'\nB=\"x\ny\"\nA=again"),
    pairs(&[("A", "one\ntwo"), ("B", "x\ny"), ("A", "again"),])
  );
  assert_eq!(vars("_x.y=1\nK9=2"), pairs(&[("_x.y", "1"), ("K9", "2")]));
}

#[test]
fn faults_are_placed() {
  let cases: &[(&str, usize, usize, &str)] = &[
    ("A=1\nnot a line\n", 8, 1, "expected `=` after `not`"),
    ("A-B=1", 1, 1, "`-` cannot be part of a variable name"),
    ("9A=1", 0, 1, "a variable name cannot start with a digit"),
    ("=1", 0, 1, "expected a variable name, found `=`"),
    ("A=\"open\nB=2\n", 2, 1, "unterminated double-quoted value"),
    ("A='open", 2, 1, "unterminated single-quoted value"),
    ("A=\"\\q\"", 3, 2, "unknown escape `\\q`"),
    ("A='x' y", 6, 1, "unexpected text after the closing quote"),
    ("A=\"x\0\"", 0, 6, "the value of `A` holds a NUL byte"),
  ];
  for &(text, offset, len, message) in cases {
    assert_eq!(fault(text), (offset, len, message.to_string()), "{text:?}");
  }
}

#[test]
fn every_bad_line_is_reported_and_the_good_ones_read() {
  let (vars, faults) = parse("A=1\nbad\nB=2\n-x\nC='3'");
  assert_eq!(vars, pairs(&[("A", "1"), ("B", "2"), ("C", "3")]));
  assert_eq!(faults.len(), 2);
}
