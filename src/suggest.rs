//! Did-you-mean: the closest known word to a misspelled one.

/// The candidate closest to `word`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
  word: &str,
  candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
  let length = word.chars().count();
  candidates
    .into_iter()
    // The distance is at least the difference in length: a cheap test first.
    .filter(|c| c.chars().count().abs_diff(length) <= 3)
    .map(|c| (strsim::damerau_levenshtein(word, c), c))
    .filter(|&(distance, c)| distance > 0 && distance <= threshold(word.len().max(c.len())))
    .min_by_key(|&(distance, _)| distance)
    .map(|(_, c)| c)
}

/// The hint for a likely typo: "did you mean `x`?".
pub(crate) fn did_you_mean(suggestion: &str) -> String {
  format!("did you mean `{suggestion}`?")
}

fn threshold(len: usize) -> usize {
  match len {
    0..=2 => 1,
    3..=5 => 2,
    _ => 3,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn suggests_close_words() {
    assert_eq!(closest("nedds", ["needs", "run"]), Some("needs"));
    assert_eq!(closest("biuld", ["build", "test"]), Some("build"));
    assert_eq!(closest("zzzzzz", ["build", "test"]), None);
    assert_eq!(closest("run", ["run"]), None);
  }
}
