//! Durations as the job file writes them: `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, or seconds.

use std::time::Duration;

/// The accepted forms, as a regular expression for the JSON Schema.
pub(crate) const PATTERN: &str =
  r"^[ \t]*(([0-9]+(\.[0-9]+)?)|(([0-9]+(\.[0-9]+)?(ms|s|m|h))+))[ \t]*$";

/// Why a duration was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
  Negative,
  Invalid,
}

/// Parses a duration written as text, in exactly the forms of [`PATTERN`]: `1e3`, `+5` or
/// `.5` as text are not durations (as YAML numbers, `1e3` and `+5` are seconds).
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
  let text = text.trim_matches([' ', '\t']);
  if text.starts_with('-') {
    return Err(DurationError::Negative);
  }
  let mut total = 0.0;
  let mut rest = text;
  while !rest.is_empty() {
    let digits = number_len(rest).ok_or(DurationError::Invalid)?;
    let number: f64 = rest[..digits].parse().map_err(|_| DurationError::Invalid)?;
    rest = &rest[digits..];
    if digits == text.len() {
      return from_seconds(number);
    }
    let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    let scale = match &rest[..unit_len] {
      "ms" => 0.001,
      "s" => 1.0,
      "m" => 60.0,
      "h" => 3600.0,
      _ => return Err(DurationError::Invalid),
    };
    rest = &rest[unit_len..];
    total += number * scale;
  }
  if text.is_empty() {
    return Err(DurationError::Invalid);
  }
  from_seconds(total)
}

/// The length of the number `[0-9]+(\.[0-9]+)?` that `text` starts with, if it does.
fn number_len(text: &str) -> Option<usize> {
  let digits =
    |from: usize| text.as_bytes()[from..].iter().take_while(|b| b.is_ascii_digit()).count();
  let whole = digits(0);
  if whole == 0 {
    return None;
  }
  match text.as_bytes().get(whole) {
    Some(b'.') if whole + 1 < text.len() && digits(whole + 1) > 0 => {
      Some(whole + 1 + digits(whole + 1))
    }
    _ => Some(whole),
  }
}

/// A duration from a number of seconds written as a YAML number.
pub(crate) fn from_seconds(seconds: f64) -> Result<Duration, DurationError> {
  if seconds < 0.0 {
    return Err(DurationError::Negative);
  }
  Duration::try_from_secs_f64(seconds).map_err(|_| DurationError::Invalid)
}

/// How a duration reads in reports: `250ms`, `1.50s`, `2m03s`.
pub(crate) fn display(d: Duration) -> String {
  let ms = d.as_millis();
  if ms < 1000 {
    format!("{ms}ms")
  } else if ms < 60_000 {
    format!("{:.2}s", d.as_secs_f64())
  } else {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn accepted_forms() {
    let cases = [
      ("500ms", 500),
      ("2s", 2000),
      ("1.5s", 1500),
      ("1m30s", 90_000),
      ("2h", 7_200_000),
      ("3", 3000),
      ("0.25", 250),
      (" 1s ", 1000),
      ("0", 0),
    ];
    for (text, ms) in cases {
      assert_eq!(parse(text), Ok(Duration::from_millis(ms)), "{text}");
    }
  }

  #[test]
  fn rejected_forms() {
    assert_eq!(parse("-1s"), Err(DurationError::Negative));
    assert_eq!(parse("-3"), Err(DurationError::Negative));
    for text in [
      "", "s", "1x", "1.2.3s", "soon", "1 s", "ms5", "1e999", "1e3", "+5", ".5", "5.", "1.s",
      "inf", "NaN",
    ] {
      assert_eq!(parse(text), Err(DurationError::Invalid), "{text}");
    }
  }

  #[test]
  fn display_forms() {
    assert_eq!(display(Duration::from_millis(250)), "250ms");
    assert_eq!(display(Duration::from_millis(1500)), "1.50s");
    assert_eq!(display(Duration::from_secs(123)), "2m03s");
  }
}
