//! Plain and tagged scalars by the YAML 1.2 core schema: null, booleans, integers (with `0b` and
//! `_` between digits), floats, else text. Pure text rules; the parser is not needed here.

use super::Value;
use std::borrow::Cow;

/// A plain scalar by the YAML 1.2 core schema: null, boolean, integer, float, else a string.
pub(super) fn resolve_plain(text: Cow<'_, str>) -> Result<Value, &'static str> {
  match &*text {
    "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
    _ => {}
  }
  if let Some(b) = boolean(&text) {
    return Ok(Value::Bool(b));
  }
  let first = text.as_bytes()[0];
  if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
    if let Some(int) = integer(&text) {
      return int.map(Value::Int);
    }
    if let Some(f) = float(&text) {
      return Ok(Value::Float(f));
    }
  }
  Ok(Value::Str(text.into_owned()))
}

pub(super) fn boolean(text: &str) -> Option<bool> {
  match text {
    "true" | "True" | "TRUE" => Some(true),
    "false" | "False" | "FALSE" => Some(false),
    _ => None,
  }
}

/// An integer: decimal, `0x` hex, `0o` octal or `0b` binary, signed, with single `_` between
/// digits. `None` when the text is not one; an error when it does not fit 64 bits.
pub(super) fn integer(text: &str) -> Option<Result<i64, &'static str>> {
  let (negative, unsigned) = match text.as_bytes().first()? {
    b'-' => (true, &text[1..]),
    b'+' => (false, &text[1..]),
    _ => (false, text),
  };
  let (radix, digits) = match unsigned.get(..2) {
    Some("0x") => (16, &unsigned[2..]),
    Some("0o") => (8, &unsigned[2..]),
    Some("0b") => (2, &unsigned[2..]),
    _ => (10, unsigned),
  };
  let magnitude = magnitude(digits, radix)?;
  let value = magnitude
    .and_then(|m| if negative { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() });
  Some(value.ok_or("integer out of range"))
}

/// The value of digits in `radix`; `None` when they are not digits, `Some(None)` on overflow.
fn magnitude(digits: &str, radix: u32) -> Option<Option<u64>> {
  let mut value = Some(0u64);
  let mut previous_digit = false;
  for c in digits.chars() {
    if c == '_' && previous_digit {
      previous_digit = false;
      continue;
    }
    let d = c.to_digit(radix)?;
    value = value.and_then(|v| v.checked_mul(u64::from(radix))?.checked_add(u64::from(d)));
    previous_digit = true;
  }
  previous_digit.then_some(value)
}

/// A float by the core schema: `1.5`, `.5`, `1.`, `1e3`, `-.inf`, `.nan`, or plain digits.
pub(super) fn float(text: &str) -> Option<f64> {
  let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
  match unsigned {
    ".inf" | ".Inf" | ".INF" if text.starts_with('-') => Some(f64::NEG_INFINITY),
    ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
    ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => Some(f64::NAN),
    _ if is_decimal(unsigned) => text.parse().ok(),
    _ => None,
  }
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_decimal(text: &str) -> bool {
  let bytes = text.as_bytes();
  let digits_from =
    |i: usize| bytes[i.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
  let whole = digits_from(0);
  let mut i = whole;
  if bytes.get(i) == Some(&b'.') {
    let fraction = digits_from(i + 1);
    if whole == 0 && fraction == 0 {
      return false;
    }
    i += 1 + fraction;
  } else if whole == 0 {
    return false;
  }
  if matches!(bytes.get(i), Some(b'e' | b'E')) {
    i += 1;
    if matches!(bytes.get(i), Some(b'+' | b'-')) {
      i += 1;
    }
    let exponent = digits_from(i);
    if exponent == 0 {
      return false;
    }
    i += exponent;
  }
  i == bytes.len()
}

/// Text as a quoted scalar that reads back as the same text: single quotes, or double quotes
/// when the text holds a single quote and nothing a double-quoted scalar would escape.
pub(crate) fn quoted(text: &str) -> String {
  if text.contains('\'') && !text.contains(['"', '\\']) && !text.contains(char::is_control) {
    format!("\"{text}\"")
  } else {
    format!("'{}'", text.replace('\'', "''"))
  }
}
