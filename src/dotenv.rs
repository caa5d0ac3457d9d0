//! The dotenv format of environment files: `KEY=VALUE` lines, `export KEY=VALUE`, `#`
//! comments and blank lines; single quotes keep text as it is, double quotes read `\n`, `\t`,
//! `\r`, `\"`, `\\` and `\$`; nothing is expanded. Pure text in, variables and located faults
//! out: which file and where it was listed is the loader's business (`compile::dotenv`).

use miette::SourceSpan;

/// Something wrong in an environment file, at a byte range of its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fault {
  pub span: SourceSpan,
  pub message: String,
  pub label: &'static str,
  pub help: &'static str,
}

/// The variables of a file in written order (a later one of a name wins), and every fault.
pub(crate) fn parse(text: &str) -> (Vec<(String, String)>, Vec<Fault>) {
  let mut parser = Parser { text, pos: 0, vars: Vec::new(), faults: Vec::new() };
  if text.starts_with('\u{feff}') {
    parser.pos = '\u{feff}'.len_utf8();
  }
  parser.lines();
  (parser.vars, parser.faults)
}

const LINE_HELP: &str = "lines are `KEY=VALUE`, `export KEY=VALUE`, blank, or `# a comment`";
const NAME_HELP: &str = "names are letters, digits, `_` and `.`, and do not start with a digit";
const ESCAPE_HELP: &str = "in double quotes, write `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\` or `\\$`; \
  single quotes keep every character as it is";

struct Parser<'t> {
  text: &'t str,
  pos: usize,
  vars: Vec<(String, String)>,
  faults: Vec<Fault>,
}

impl Parser<'_> {
  fn lines(&mut self) {
    loop {
      self.blanks();
      match self.peek() {
        None => return,
        Some('\n') => self.pos += 1,
        Some('#') => self.skip_line(),
        Some(_) => {
          if let Err(fault) = self.assignment() {
            self.faults.push(fault);
            self.skip_line();
          }
        }
      }
    }
  }

  fn assignment(&mut self) -> Result<(), Fault> {
    let start = self.pos;
    if self.rest().starts_with("export") && matches!(self.at(6), Some(' ' | '\t')) {
      self.pos += 6;
      self.blanks();
    }
    let key = self.name()?;
    self.blanks();
    if self.peek() != Some('=') {
      return Err(self.fault(1, format!("expected `=` after `{key}`"), "expected `=`", LINE_HELP));
    }
    self.pos += 1;
    self.blanks();
    let value = match self.peek() {
      Some('\'') => self.single()?,
      Some('"') => self.double()?,
      _ => self.unquoted(),
    };
    if value.contains('\0') {
      let span = SourceSpan::from(start..self.pos);
      let message = format!("the value of `{key}` holds a NUL byte");
      let help = "an environment variable ends at its first NUL byte";
      return Err(Fault { span, message, label: "holds a NUL byte", help });
    }
    self.vars.push((key, value));
    Ok(())
  }

  /// A variable name, at least one character.
  fn name(&mut self) -> Result<String, Fault> {
    let start = self.pos;
    while let Some(c) = self.peek() {
      let ok = c.is_ascii_alphabetic()
        || c == '_'
        || (self.pos > start && (c.is_ascii_digit() || c == '.'));
      if !ok {
        break;
      }
      self.pos += 1;
    }
    match self.peek() {
      _ if self.pos == start => {
        let c = self.peek().unwrap_or(' ');
        let message = if c.is_ascii_digit() {
          "a variable name cannot start with a digit".to_string()
        } else {
          format!("expected a variable name, found `{c}`")
        };
        Err(self.fault(c.len_utf8(), message, "not a name", LINE_HELP))
      }
      Some(c) if !matches!(c, '=' | ' ' | '\t' | '\r' | '\n') => {
        let message = format!("`{c}` cannot be part of a variable name");
        Err(self.fault(c.len_utf8(), message, "not allowed in a name", NAME_HELP))
      }
      _ => Ok(self.text[start..self.pos].to_string()),
    }
  }

  /// Up to the line's end or a ` #` comment, trailing blanks trimmed.
  fn unquoted(&mut self) -> String {
    let start = self.pos;
    let line = &self.text[start..];
    let end = line.find('\n').unwrap_or(line.len());
    let line = &line[..end];
    let comment =
      line.match_indices('#').find(|&(i, _)| i == 0 || line[..i].ends_with([' ', '\t']));
    let value = comment.map_or(line, |(i, _)| &line[..i]);
    self.pos = start + end;
    value.trim_end_matches([' ', '\t', '\r']).to_string()
  }

  /// `'...'`: every character as it is, newlines too.
  fn single(&mut self) -> Result<String, Fault> {
    let open = self.pos;
    let Some(len) = self.text[open + 1..].find('\'') else {
      return Err(self.unterminated("single"));
    };
    self.pos = open + 1 + len + 1;
    let value = self.text[open + 1..open + 1 + len].to_string();
    self.after_quote()?;
    Ok(value)
  }

  /// `"..."` with its escapes.
  fn double(&mut self) -> Result<String, Fault> {
    let open = self.pos;
    let mut value = String::new();
    self.pos += 1;
    loop {
      match self.peek() {
        None => {
          self.pos = open;
          return Err(self.unterminated("double"));
        }
        Some('"') => break,
        Some('\\') => {
          let escaped = match self.at(1) {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some(c @ ('"' | '\\' | '$')) => c,
            other => {
              let len = 1 + other.map_or(0, char::len_utf8);
              let shown = &self.text[self.pos..self.pos + len];
              return Err(self.fault(
                len,
                format!("unknown escape `{shown}`"),
                "unknown escape",
                ESCAPE_HELP,
              ));
            }
          };
          value.push(escaped);
          self.pos += 1 + escaped.len_utf8();
        }
        Some(c) => {
          value.push(c);
          self.pos += c.len_utf8();
        }
      }
    }
    self.pos += 1;
    self.after_quote()?;
    Ok(value)
  }

  /// After a closing quote: blanks, then a comment or the line's end.
  fn after_quote(&mut self) -> Result<(), Fault> {
    self.blanks();
    match self.peek() {
      None | Some('\n' | '#') => Ok(()),
      Some(c) => {
        let message = "unexpected text after the closing quote".to_string();
        let help = "quote the whole value, or put a `#` before a comment";
        Err(self.fault(c.len_utf8(), message, "unexpected text", help))
      }
    }
  }

  fn unterminated(&self, kind: &str) -> Fault {
    let message = format!("unterminated {kind}-quoted value");
    let help = if kind == "single" {
      "close the value with `'`"
    } else {
      "close the value with `\"`; write `\\\"` for a quote inside it"
    };
    self.fault(1, message, "opened here", help)
  }

  fn fault(&self, len: usize, message: String, label: &'static str, help: &'static str) -> Fault {
    Fault { span: SourceSpan::from((self.pos, len)), message, label, help }
  }

  fn blanks(&mut self) {
    while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
      self.pos += 1;
    }
  }

  fn skip_line(&mut self) {
    self.pos = self.text[self.pos..].find('\n').map_or(self.text.len(), |i| self.pos + i);
  }

  fn rest(&self) -> &str {
    &self.text[self.pos..]
  }

  fn peek(&self) -> Option<char> {
    self.rest().chars().next()
  }

  /// The character `n` characters ahead.
  fn at(&self, n: usize) -> Option<char> {
    self.rest().chars().nth(n)
  }
}

#[cfg(test)]
mod tests;
