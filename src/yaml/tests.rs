//! The YAML layer's tests: scalars, collections, spans, aliases, merge keys, errors.
use super::*;

fn parse_text(text: &str) -> Result<Node, SyntaxError> {
  parse(&Source::new("t.yaml", text))
}

fn text_at(text: &str, span: SourceSpan) -> &str {
  &text[span.offset()..span.offset() + span.len()]
}

/// The error `text` fails with: its message and the text its span covers.
#[track_caller]
fn parse_error(text: &str) -> (String, &str) {
  let err = parse_text(text).unwrap_err();
  (err.message, text_at(text, err.span))
}

/// Checks that `text` fails with exactly `message`, spanned at `at`.
#[track_caller]
fn assert_error(text: &str, message: &str, at: &str) {
  let (got, got_at) = parse_error(text);
  assert_eq!(got, message);
  assert_eq!(got_at, at);
}

#[test]
fn spans_point_at_scalars_and_keys() {
  let text = "tasks:\n  a: {run: \"echo hi\", needs: [b]}\n";
  let node = parse_text(text).unwrap();
  let Value::Map(top) = &node.value else { panic!("not a map") };
  let (key, tasks) = &top[0];
  assert_eq!(text_at(text, key.span), "tasks");
  let Value::Map(tasks) = &tasks.value else { panic!() };
  let Value::Map(a) = &tasks[0].1.value else { panic!() };
  let run = &a[0].1;
  assert_eq!(run.value, Value::Str("echo hi".into()));
  assert_eq!(text_at(text, run.span), "\"echo hi\"");
}

#[test]
fn duplicate_keys_reach_the_decoder() {
  let node = parse_text("a: 1\na: 2\n").unwrap();
  let Value::Map(entries) = node.value else { panic!() };
  assert_eq!(entries.len(), 2);
}

#[test]
fn y_and_no_are_strings() {
  let node = parse_text("[y, no, true]").unwrap();
  let Value::Seq(items) = node.value else { panic!() };
  assert_eq!(items[0].value, Value::Str("y".into()));
  assert_eq!(items[1].value, Value::Str("no".into()));
  assert_eq!(items[2].value, Value::Bool(true));
}

#[test]
fn syntax_errors_have_a_span_inside_the_text() {
  let text = "tasks:\n  a: {run: x\n  b: [\n";
  let err = parse_text(text).unwrap_err();
  assert!(err.span.offset() + err.span.len() <= text.len());
  let (message, _) = err.message.rsplit_once(" at line ").expect("a place");
  assert!(!message.is_empty(), "{}", err.message);
}

#[test]
fn empty_document_is_an_empty_map() {
  assert_eq!(parse_text("").unwrap().value, Value::Map(vec![]));
  assert_eq!(parse_text("# just a comment\n").unwrap().value, Value::Map(vec![]));
}

fn entries(node: &Node) -> &[(Key, Node)] {
  match &node.value {
    Value::Map(entries) => entries,
    other => panic!("not a mapping: {other:?}"),
  }
}

fn items(node: &Node) -> &[Node] {
  match &node.value {
    Value::Seq(items) => items,
    other => panic!("not a list: {other:?}"),
  }
}

fn value_of(text: &str) -> Value {
  parse_text(text).unwrap().value
}

/// The value of `text` as the only item of a flow list.
fn first_item(text: &str) -> Value {
  let node = parse_text(&format!("[{text}]")).unwrap();
  items(&node)[0].value.clone()
}

/// A node's values without spans, as `{key: [1, "s"]}`.
fn shape(node: &Node) -> String {
  match &node.value {
    Value::Seq(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(", ")),
    Value::Map(entries) => {
      let entries: Vec<String> =
        entries.iter().map(|(k, v)| format!("{}: {}", k.name, shape(v))).collect();
      format!("{{{}}}", entries.join(", "))
    }
    Value::Str(s) => format!("{s:?}"),
    Value::Int(i) => i.to_string(),
    other => format!("{other:?}"),
  }
}

#[test]
fn plain_scalars_resolve_by_the_core_schema() {
  let cases = [
    ("~", Value::Null),
    ("Null", Value::Null),
    ("NULL", Value::Null),
    ("True", Value::Bool(true)),
    ("FALSE", Value::Bool(false)),
    ("0", Value::Int(0)),
    ("-17", Value::Int(-17)),
    ("+3", Value::Int(3)),
    ("012", Value::Int(12)),
    ("0x1f", Value::Int(31)),
    ("-0x10", Value::Int(-16)),
    ("0o17", Value::Int(15)),
    ("0b101", Value::Int(5)),
    ("1_000", Value::Int(1000)),
    ("-9223372036854775808", Value::Int(i64::MIN)),
    ("1.5", Value::Float(1.5)),
    ("-.5", Value::Float(-0.5)),
    ("1.", Value::Float(1.0)),
    ("1e3", Value::Float(1000.0)),
    ("2.5E-1", Value::Float(0.25)),
    (".inf", Value::Float(f64::INFINITY)),
    ("-.Inf", Value::Float(f64::NEG_INFINITY)),
  ];
  for (text, expected) in cases {
    assert_eq!(first_item(text), expected, "{text}");
  }
  assert!(matches!(first_item(".NaN"), Value::Float(f) if f.is_nan()));
  let strings = [
    "nUll",
    "tRue",
    "yes",
    "off",
    "0x",
    "0O17",
    "1__0",
    "_1",
    "1_",
    "1_0.5",
    "1e",
    ".",
    "-.",
    "+.nan",
    ".nAn",
    "inf",
    "1.2.3",
    "12:30",
    "2001-12-14",
    "0x1.8p1",
    "1 2",
  ];
  for text in strings {
    assert_eq!(first_item(text), Value::Str(text.into()), "{text}");
  }
}

#[test]
fn integers_beyond_64_bits_are_errors_at_the_number() {
  let text = "a: 9223372036854775808\n";
  assert_error(text, "integer out of range at line 1, column 4", "9223372036854775808");
}

#[test]
fn quoted_and_block_scalars_are_strings_spanned_with_their_quotes() {
  let text = "a: \"1\"\nb: 'true'\nc: |\n  line\nd: >-\n  folded\n  text\ne: plain\n  more\n";
  let node = parse_text(text).unwrap();
  let got: Vec<(&str, &Value, &str)> = entries(&node)
    .iter()
    .map(|(k, v)| (k.name.as_str(), &v.value, text_at(text, v.span)))
    .collect();
  assert_eq!(
    got,
    [
      ("a", &Value::Str("1".into()), "\"1\""),
      ("b", &Value::Str("true".into()), "'true'"),
      ("c", &Value::Str("line\n".into()), "line\n"),
      ("d", &Value::Str("folded text".into()), "folded\n  text\n"),
      ("e", &Value::Str("plain more".into()), "plain\n  more"),
    ]
  );
}

#[test]
fn flow_collections_span_their_opening_bracket_and_block_ones_start_empty() {
  let text = "list:\n  - a\n  - [b, {c: d}]\n";
  let root = parse_text(text).unwrap();
  assert_eq!(root.span, SourceSpan::from((0, 0)));
  let list = &entries(&root)[0].1;
  assert_eq!(list.span, SourceSpan::from((8, 0)));
  let inner = &items(list)[1];
  assert_eq!(text_at(text, inner.span), "[");
  assert_eq!(shape(inner), r#"["b", {c: "d"}]"#);
  assert_eq!(text_at(text, items(inner)[1].span), "{");
}

#[test]
fn keys_are_text_and_collections_cannot_be_keys() {
  let node = parse_text("1: a\ntrue: b\n~: c\n\"2\": d\n").unwrap();
  let names: Vec<&str> = entries(&node).iter().map(|(k, _)| k.name.as_str()).collect();
  assert_eq!(names, ["1", "true", "", "2"]);
  let text = "? [a, b]\n: value\n";
  assert_error(text, "a mapping key must be a plain string at line 1, column 3", "[");
}

#[test]
fn duplicate_keys_keep_both_places() {
  let text = "a: 1\nb: 2\na: 3\n";
  let node = parse_text(text).unwrap();
  let spans: Vec<usize> = entries(&node).iter().map(|(k, _)| k.span.offset()).collect();
  assert_eq!(spans, [0, 5, 10]);
}

#[test]
fn an_alias_copies_its_anchor_spanned_at_the_alias() {
  let text = "a: &x {k: [1, 2]}\nb: *x\nc: &s 7\nd: *s\n";
  let node = parse_text(text).unwrap();
  assert_eq!(shape(&node), "{a: {k: [1, 2]}, b: {k: [1, 2]}, c: 7, d: 7}");
  let e = entries(&node);
  let copy = &e[1].1;
  assert_eq!(text_at(text, copy.span), "*x");
  let (key, list) = &entries(copy)[0];
  assert_eq!(text_at(text, key.span), "*x");
  assert!(items(list).iter().all(|n| text_at(text, n.span) == "*x"));
  assert_eq!(text_at(text, e[0].1.span), "{");
}

#[test]
fn an_alias_can_name_a_key() {
  let node = parse_text("x: &k key\n*k : 2\n").unwrap();
  assert_eq!(shape(&node), r#"{x: "key", key: 2}"#);
}

#[test]
fn alias_errors_point_at_the_alias() {
  let message = "alias `*a` refers to the node that contains it at line 2, column 6";
  assert_error("a: &a\n  b: *a\n", message, "*a");
  let message = "alias references unknown anchor `nope` at line 1, column 4";
  assert_error("a: *nope\n", message, "*nope");
}

#[test]
fn alias_expansion_is_capped() {
  let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
  let names = ["a", "b", "c", "d", "e", "f", "g"];
  for pair in names.windows(2) {
    let alias = format!("*{}", pair[0]);
    let list = [alias.as_str(); 10].join(", ");
    text += &format!("{0}: &{0} [{list}]\n", pair[1]);
  }
  let (message, at) = parse_error(&text);
  assert!(message.starts_with("aliases expand to more than 1000000 nodes"), "{message}");
  assert!(at.starts_with('*'));
}

#[test]
fn merge_keys_fold_mappings_in_with_explicit_keys_winning() {
  let text = "\
base: &b {x: 1, y: 2}
other: &o {x: 9, z: 5}
one:
  y: 3
  <<: *b
list:
  <<: [*b, *o]
  w: 0
inline:
  <<: {p: 1}
quoted:
  \"<<\": {p: 1}
";
  let node = parse_text(text).unwrap();
  let e = entries(&node);
  assert_eq!(shape(&e[2].1), "{y: 3, x: 1}");
  assert_eq!(shape(&e[3].1), "{w: 0, x: 1, y: 2, z: 5}");
  let (key, value) = &entries(&e[4].1)[0];
  assert_eq!((text_at(text, key.span), text_at(text, value.span)), ("p", "1"));
  assert_eq!(entries(&e[5].1)[0].0.name, "<<");
}

#[test]
fn a_merge_value_must_be_mappings() {
  let (message, at) = parse_error("a: &s 1\nm:\n  <<: *s\n");
  assert!(message.starts_with("YAML merge value must be mapping or sequence of mappings"));
  assert_eq!(at, "*s");
  assert_eq!(parse_error("m:\n  <<: [{a: 1}, 2]\n").1, "2");
}

#[test]
fn core_tags_convert_scalars_and_other_tags_are_ignored() {
  let text = "[!!str 1, !!int \"3\", !!float 1, !!bool \"true\", !!null x, ! 5, !x 5, !str ~]";
  let node = parse_text(text).unwrap();
  let values: Vec<&Value> = items(&node).iter().map(|n| &n.value).collect();
  assert_eq!(
    values,
    [
      &Value::Str("1".into()),
      &Value::Int(3),
      &Value::Float(1.0),
      &Value::Bool(true),
      &Value::Null,
      &Value::Str("5".into()),
      &Value::Int(5),
      &Value::Str("~".into()),
    ]
  );
  assert_eq!(parse_error("a: !!int x\n").0, "invalid !!int value `x` at line 1, column 10");
  let message = "unsupported tag `!!str` on a list at line 1, column 4";
  assert_error("a: !!str [1]\n", message, "!!str");
}

#[test]
fn a_second_document_is_rejected_at_its_start() {
  let message = "expected a single YAML document, found a second one at line 2, column 1";
  assert_error("a: 1\n---\nb: 2\n", message, "---");
  assert_eq!(shape(&parse_text("---\na: 1\n...\n").unwrap()), "{a: 1}");
}

#[test]
fn syntax_errors_end_with_the_place_and_span_one_character() {
  assert_error("tasks:\n  a: [x, y\n", "unclosed bracket '[' at line 2, column 6", "[");
  let text = "é: \"ü\n";
  let err = parse_text(text).unwrap_err();
  // The parser's own message loses its full stop before the place is added.
  let (message, _) = err.message.rsplit_once(" at line ").expect("a place");
  assert!(!message.ends_with('.'), "{}", err.message);
  assert!(err.span.offset() + err.span.len() <= text.len());
  assert!(text.is_char_boundary(err.span.offset() + err.span.len()));
}

#[test]
fn a_null_document_is_an_empty_map_but_other_scalars_stay() {
  for text in ["~", "null", "---\n", "--- # nothing\n...\n"] {
    assert_eq!(value_of(text), Value::Map(vec![]), "{text:?}");
  }
  assert_eq!(value_of("just text"), Value::Str("just text".into()));
  assert_eq!(value_of("\"\""), Value::Str(String::new()));
}

#[test]
fn quoted_text_reads_back_as_itself() {
  for text in ["echo \"lint: ok\"", "it's: ok", "\"it's\": ok", "a \\ b", "[1,2]", "#x", ""] {
    assert_eq!(value_of(&quoted(text)), Value::Str(text.into()), "{text:?}");
  }
  assert_eq!(quoted("echo \"a: b\""), "'echo \"a: b\"'");
  assert_eq!(quoted("it's"), "\"it's\"");
}
