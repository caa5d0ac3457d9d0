//! Terminal escape sequences in task output, which the live view and the JUnit file leave out, so
//! that colours and titles neither move the cursor nor reach a file.

use std::iter::Peekable;
use std::str::Chars;

/// After an ESC, skips the rest of a CSI (`[` parameters, final byte `@`..`~`) or an OSC (`]`
/// ... BEL or ESC `\`), and says whether it did; anything else after the ESC is left unread.
pub(super) fn skip_sequence(chars: &mut Peekable<Chars>) -> bool {
  match chars.peek() {
    Some('[') => {
      chars.next();
      for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
          break;
        }
      }
      true
    }
    Some(']') => {
      chars.next();
      while let Some(c) = chars.next() {
        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
          break;
        }
      }
      true
    }
    _ => false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// `text` after its first ESC, with the sequence skipped, and whether there was one.
  fn after(text: &str) -> (String, bool) {
    let mut chars = text.chars().peekable();
    assert_eq!(chars.next(), Some('\u{1b}'));
    let skipped = skip_sequence(&mut chars);
    (chars.collect(), skipped)
  }

  #[test]
  fn skips_csi_and_osc() {
    assert_eq!(after("\u{1b}[1;31mred"), ("red".into(), true));
    assert_eq!(after("\u{1b}[2K"), ("".into(), true));
    assert_eq!(after("\u{1b}]0;title\u{7}after"), ("after".into(), true));
    assert_eq!(after("\u{1b}]8;;http://x\u{1b}\\link"), ("link".into(), true));
    assert_eq!(after("\u{1b}]0;a\u{1b}xb\u{7}c"), ("c".into(), true));
    assert_eq!(after("\u{1b}[12;3"), ("".into(), true));
  }

  #[test]
  fn leaves_anything_else() {
    assert_eq!(after("\u{1b}(B"), ("(B".into(), false));
    assert_eq!(after("\u{1b}"), ("".into(), false));
  }
}
