//! XML 1.0 text for the JUnit file: escaping for content and attributes, terminal escape
//! sequences (colours, titles) removed, and the characters XML 1.0 forbids (C0 controls other
//! than tab, newline and carriage return; U+FFFE; U+FFFF) replaced by U+FFFD.

use crate::report::escape;

/// `text` escaped for element content.
pub(super) fn text(text: &str) -> String {
  escape(text, false)
}

/// `text` escaped for a double-quoted attribute value; tabs and line breaks are kept as
/// character references (a parser would turn them into spaces otherwise).
pub(super) fn attr(text: &str) -> String {
  escape(text, true)
}

fn escape(text: &str, attr: bool) -> String {
  let mut out = String::with_capacity(text.len());
  let mut chars = text.chars().peekable();
  while let Some(c) = chars.next() {
    match c {
      '\u{1b}' => {
        if !escape::skip_sequence(&mut chars) {
          out.push('\u{fffd}');
        }
      }
      '&' => out.push_str("&amp;"),
      '<' => out.push_str("&lt;"),
      '>' => out.push_str("&gt;"),
      '"' if attr => out.push_str("&quot;"),
      '\'' if attr => out.push_str("&apos;"),
      '\t' if attr => out.push_str("&#9;"),
      '\n' if attr => out.push_str("&#10;"),
      '\r' => out.push_str("&#13;"),
      '\t' | '\n' => out.push(c),
      c if forbidden(c) => out.push('\u{fffd}'),
      c => out.push(c),
    }
  }
  out
}

/// Not a character of XML 1.0 (Rust strings hold no surrogates).
fn forbidden(c: char) -> bool {
  (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}'
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn escapes() {
    assert_eq!(text("a < b && c > d \"'"), "a &lt; b &amp;&amp; c &gt; d \"'");
    assert_eq!(attr("say \"hi\"\n\t'x'"), "say &quot;hi&quot;&#10;&#9;&apos;x&apos;");
    assert_eq!(text("line\r\n"), "line&#13;\n");
  }

  #[test]
  fn removes_colours_and_forbidden_characters() {
    assert_eq!(text("\u{1b}[1;31mred\u{1b}[0m plain"), "red plain");
    assert_eq!(text("\u{1b}]0;title\u{7}after"), "after");
    assert_eq!(text("\u{1b}]8;;http://x\u{1b}\\link"), "link");
    assert_eq!(
      text("nul\0 bell\u{7} esc\u{1b} \u{ffff}"),
      "nul\u{fffd} bell\u{fffd} esc\u{fffd} \u{fffd}"
    );
    assert_eq!(text("ünïcødé 🎉 \u{7f}"), "ünïcødé 🎉 \u{7f}");
  }
}
