//! Wall-clock times as ISO 8601 text in UTC, and durations as the file formats want them.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2024-05-01T12:34:56`: UTC, whole seconds, no zone (the form JUnit's `timestamp` takes).
pub(super) fn utc_seconds(at: SystemTime) -> String {
  split(at).0
}

/// `2024-05-01T12:34:56.789Z`.
pub(super) fn utc_millis(at: SystemTime) -> String {
  let (date, millis) = split(at);
  format!("{date}.{millis:03}Z")
}

/// Seconds with three decimals: `1.250`.
pub(super) fn seconds(ms: u64) -> String {
  format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn split(at: SystemTime) -> (String, u64) {
  let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
  let secs = since.as_secs();
  let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
  let (y, m, d) = civil(days);
  let (hh, mm, ss) = (rest / 3600, rest % 3600 / 60, rest % 60);
  (format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}"), u64::from(since.subsec_millis()))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z.rem_euclid(146_097);
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
  let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
  let y = yoe + era * 400 + i64::from(m <= 2);
  (y, m, d)
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::time::Duration;

  #[test]
  fn dates() {
    let at = |secs: u64, ms: u64| UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms);
    assert_eq!(utc_millis(at(0, 0)), "1970-01-01T00:00:00.000Z");
    assert_eq!(utc_seconds(at(951_782_400, 5)), "2000-02-29T00:00:00");
    assert_eq!(utc_millis(at(1_709_251_199, 999)), "2024-02-29T23:59:59.999Z");
    assert_eq!(utc_seconds(at(4_102_444_800, 0)), "2100-01-01T00:00:00");
  }

  #[test]
  fn durations() {
    assert_eq!(seconds(0), "0.000");
    assert_eq!(seconds(1250), "1.250");
    assert_eq!(seconds(61_005), "61.005");
  }
}
