//! Durations as the job file writes them: `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, or seconds.

use std::time::Duration;

/// The accepted forms, as a regular expression for the JSON Schema.
pub(crate) const PATTERN: &str = r"^\s*(([0-9]+(\.[0-9]+)?)|(([0-9]+(\.[0-9]+)?(ms|s|m|h))+))\s*$";

/// Why a duration was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
  Negative,
  Invalid,
}

/// Parses a duration written as text.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
  let text = text.trim();
  if text.starts_with('-') {
    return Err(DurationError::Negative);
  }
  if let Ok(seconds) = text.parse::<f64>() {
    return from_seconds(seconds);
  }
  let mut total = 0.0;
  let mut rest = text;
  if rest.is_empty() {
    return Err(DurationError::Invalid);
  }
  while !rest.is_empty() {
    let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let number: f64 = rest[..digits].parse().map_err(|_| DurationError::Invalid)?;
    rest = &rest[digits..];
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
  from_seconds(total)
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
    for text in ["", "s", "1x", "1.2.3s", "soon", "1 s", "ms5", "1e999"] {
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
