//! Terminal escape sequences in task output, which the live view and the JUnit file leave out, so
//! that colours, titles and charset switches neither move the cursor nor reach a file.

use std::iter::Peekable;
use std::str::Chars;

/// After an ESC, skips the rest of the sequence and says whether there was one: a CSI (`[`
/// parameters, final byte `@`..`~`), a string (OSC `]`, DCS `P`, SOS `X`, PM `^`, APC `_`, up
/// to BEL or ESC `\`), or any other escape: intermediate bytes (space..`/`, as in `ESC ( B`,
/// the charset reset `tput sgr0` prints) then one final byte (`0`..`~`, as in `ESC 7`). Anything
/// else after the ESC (intermediates without a final byte too) is left unread.
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
    Some(']' | 'P' | 'X' | '^' | '_') => {
      chars.next();
      while let Some(c) = chars.next() {
        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
          break;
        }
      }
      true
    }
    Some(' '..='~') => {
      let mut ahead = chars.clone();
      while ahead.next_if(|c| (' '..='/').contains(c)).is_some() {}
      if ahead.next_if(|c| ('0'..='~').contains(c)).is_none() {
        return false;
      }
      *chars = ahead;
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
  fn skips_charset_switches_and_other_escapes() {
    assert_eq!(after("\u{1b}(B\u{1b}[mplain"), ("\u{1b}[mplain".into(), true));
    assert_eq!(after("\u{1b}(Bplain"), ("plain".into(), true));
    assert_eq!(after("\u{1b}7saved"), ("saved".into(), true));
    assert_eq!(after("\u{1b}Pq#0\u{1b}\\after"), ("after".into(), true));
  }

  #[test]
  fn leaves_anything_else() {
    assert_eq!(after("\u{1b}\n"), ("\n".into(), false));
    assert_eq!(after("\u{1b} \u{ffff}"), (" \u{ffff}".into(), false));
    assert_eq!(after("\u{1b}é"), ("é".into(), false));
    assert_eq!(after("\u{1b}"), ("".into(), false));
  }
}
