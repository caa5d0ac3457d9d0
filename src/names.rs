//! The rules for task, group and queue names, and how a name becomes an environment variable.

/// Names match this pattern (also used in the JSON Schema).
pub(crate) const PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_.-]*$";

/// Whether `name` is a valid task, group or queue name.
pub(crate) fn is_valid(name: &str) -> bool {
  let mut chars = name.chars();
  match chars.next() {
    Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
    _ => return false,
  }
  chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `RUNNER_RESULT_<N>` suffix: upper-cased, every character outside `[A-Z0-9]` turned into `_`.
pub(crate) fn env_suffix(name: &str) -> String {
  name
    .chars()
    .map(|c| {
      let c = c.to_ascii_uppercase();
      if c.is_ascii_uppercase() || c.is_ascii_digit() { c } else { '_' }
    })
    .collect()
}

/// The variable a node's result reaches the tasks that need it under: `RUNNER_RESULT_<N>`.
pub(crate) fn result_var(name: &str) -> String {
  format!("RUNNER_RESULT_{}", env_suffix(name))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn valid_names() {
    for name in ["a", "_x", "build-all", "v1.2", "A_b-c.d"] {
      assert!(is_valid(name), "{name}");
    }
    for name in ["", "1a", "-a", "a b", "a/b", "é", ".a", "a:b"] {
      assert!(!is_valid(name), "{name}");
    }
  }

  #[test]
  fn env_suffixes() {
    assert_eq!(env_suffix("make-tea"), "MAKE_TEA");
    assert_eq!(env_suffix("v1.2"), "V1_2");
    assert_eq!(env_suffix("Teas"), "TEAS");
    assert_eq!(result_var("make-tea"), "RUNNER_RESULT_MAKE_TEA");
  }
}
