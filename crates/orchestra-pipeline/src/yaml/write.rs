//! Writing a value as canonical YAML.
//!
//! No YAML library writes the style people hand-write pipelines in (short lists and maps on one
//! line, prompts as literal blocks, quotes only where they are needed), and none keeps the output
//! byte-for-byte stable across versions, so this small writer is ours. Every string it writes
//! reads back as the same string; a property test holds it to that.

use std::fmt::Write;

use serde_json::Value;

/// How a collection is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// One entry per line.
    Block,
    /// On one line (`[a, b]`, `{ x: 1 }`) when it fits and holds no multi-line text, else block.
    Auto,
}

/// Lines are kept within this many columns where the layout allows it.
const WIDTH: usize = 100;

/// The longest key written in the usual `key: value` form; YAML allows 1024 characters there.
const MAX_IMPLICIT_KEY: usize = 1000;

/// Writes `value` as a YAML document. `style` is asked for the style of every collection, given
/// its path from the root (mapping keys, and `-` for sequence items).
pub(crate) fn to_yaml(value: &Value, style: &dyn Fn(&[&str]) -> Style) -> String {
    let mut writer = Writer {
        out: String::new(),
        style,
        path: Vec::new(),
    };
    match value {
        Value::Object(map) if !map.is_empty() => writer.block_map(map, 0, ""),
        Value::Array(items) if !items.is_empty() => writer.block_seq(items, 0),
        scalar => {
            writer
                .out
                .push_str(&flow(scalar, usize::MAX).unwrap_or_else(|| quoted("")));
            writer.out.push('\n');
        }
    }
    writer.out
}

struct Writer<'a> {
    out: String,
    style: &'a dyn Fn(&[&str]) -> Style,
    path: Vec<String>,
}

impl Writer<'_> {
    fn style(&self) -> Style {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        (self.style)(&path)
    }

    /// Writes the entries of a non-empty map, one per line at `indent`. The first line starts
    /// with `first_prefix` instead of the indentation (for a map that is a sequence item).
    fn block_map(
        &mut self,
        map: &serde_json::Map<String, Value>,
        indent: usize,
        first_prefix: &str,
    ) {
        for (at, (key, value)) in map.iter().enumerate() {
            if at == 0 && !first_prefix.is_empty() {
                self.out.push_str(first_prefix);
            } else {
                push_indent(&mut self.out, indent);
            }
            let key_text = scalar_string(key, false);
            let used = if key_text.chars().count() > MAX_IMPLICIT_KEY {
                // YAML limits a key written before `:` to 1024 characters; a longer one is
                // written in the explicit form, `? key` on its own line and `: value` below.
                self.out.push_str("? ");
                self.out.push_str(&key_text);
                self.out.push('\n');
                push_indent(&mut self.out, indent);
                self.out.push(':');
                indent + 1
            } else {
                self.out.push_str(&key_text);
                self.out.push(':');
                indent + key_text.len() + 1
            };
            self.path.push(key.clone());
            self.value_after_key(value, indent, used + 1);
            self.path.pop();
        }
    }

    /// Writes a value that follows `key:` on a line whose text so far is `used` columns wide.
    fn value_after_key(&mut self, value: &Value, indent: usize, used: usize) {
        match value {
            Value::String(text) if is_multiline(text) => {
                self.out.push(' ');
                self.literal_block(text, indent + 2);
            }
            Value::Object(_) | Value::Array(_) if !is_empty_collection(value) => {
                if let Some(line) = self.flow_if_allowed(value, used + 1) {
                    self.out.push(' ');
                    self.out.push_str(&line);
                    self.out.push('\n');
                } else {
                    self.out.push('\n');
                    match value {
                        Value::Object(map) => self.block_map(map, indent + 2, ""),
                        Value::Array(items) => self.block_seq(items, indent + 2),
                        _ => {}
                    }
                }
            }
            scalar => {
                self.out.push(' ');
                self.out.push_str(&block_scalar(scalar));
                self.out.push('\n');
            }
        }
    }

    fn block_seq(&mut self, items: &[Value], indent: usize) {
        for item in items {
            self.path.push("-".to_owned());
            match item {
                Value::String(text) if is_multiline(text) => {
                    push_indent(&mut self.out, indent);
                    self.out.push_str("- ");
                    self.literal_block(text, indent + 2);
                }
                // A map in a list is a record (a route, a check, a note): one key per line, the
                // first after the dash, reads best even when it is short.
                Value::Object(map) if !map.is_empty() => {
                    let prefix = format!("{}- ", " ".repeat(indent));
                    self.block_map(map, indent + 2, &prefix);
                }
                Value::Array(inner) if !inner.is_empty() => {
                    if let Some(line) = self.flow_if_allowed(item, indent + 2) {
                        push_line(&mut self.out, indent, &format!("- {line}"));
                    } else {
                        push_line(&mut self.out, indent, "-");
                        self.block_seq(inner, indent + 2);
                    }
                }
                scalar => {
                    push_line(
                        &mut self.out,
                        indent,
                        &format!("- {}", block_scalar(scalar)),
                    );
                }
            }
            self.path.pop();
        }
    }

    /// The one-line form of a collection, if its style allows it and it fits after `used`
    /// columns. A sequence of maps is never written on one line: each map is a record that
    /// reads better on lines of its own.
    fn flow_if_allowed(&self, value: &Value, used: usize) -> Option<String> {
        if self.style() == Style::Block {
            return None;
        }
        if let Value::Array(items) = value
            && items
                .iter()
                .any(|item| matches!(item, Value::Object(map) if !map.is_empty()))
        {
            return None;
        }
        flow(value, WIDTH.saturating_sub(used))
    }

    /// Writes ` |` (with indicators) and the lines of a multi-line string at `indent`.
    fn literal_block(&mut self, text: &str, indent: usize) {
        let (chomp, body) = if let Some(body) = text.strip_suffix("\n\n") {
            ("+", format!("{body}\n"))
        } else if let Some(body) = text.strip_suffix('\n') {
            ("", body.to_owned())
        } else {
            ("-", text.to_owned())
        };
        let first_content = body.split('\n').find(|line| !line.is_empty()).unwrap_or("");
        let indicator = if first_content.starts_with(' ') {
            "2"
        } else {
            ""
        };
        self.out.push('|');
        self.out.push_str(indicator);
        self.out.push_str(chomp);
        self.out.push('\n');
        for line in body.split('\n') {
            if line.is_empty() {
                self.out.push('\n');
            } else {
                push_line(&mut self.out, indent, line);
            }
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn push_line(out: &mut String, indent: usize, line: &str) {
    push_indent(out, indent);
    out.push_str(line);
    out.push('\n');
}

/// Whether a string is written as a literal block. Only text that a literal block can carry
/// exactly qualifies; anything unusual (carriage returns, control characters, lines that end in
/// spaces) is written double-quoted instead.
fn is_multiline(text: &str) -> bool {
    text.contains('\n')
        && text.chars().any(|c| !c.is_whitespace())
        && !text.chars().any(|c| needs_escape(c) || c == '\r')
        && text
            .split('\n')
            .all(|line| !line.ends_with([' ', '\t']) && !line.starts_with('\t'))
}

fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// A scalar outside `[...]` and `{...}`, where commas and brackets need no quotes.
fn block_scalar(value: &Value) -> String {
    match value {
        Value::String(text) => scalar_string(text, false),
        other => flow(other, usize::MAX).unwrap_or_default(),
    }
}

/// The one-line form of a value, or `None` if it holds multi-line text or is wider than `room`.
fn flow(value: &Value, room: usize) -> Option<String> {
    let text = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number_text(number),
        Value::String(text) => {
            if is_multiline(text) {
                return None;
            }
            scalar_string(text, true)
        }
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(|item| flow(item, room)).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Object(map) => {
            let parts: Option<Vec<String>> = map
                .iter()
                .map(|(key, item)| {
                    let key = scalar_string(key, true);
                    (key.chars().count() <= MAX_IMPLICIT_KEY)
                        .then(|| Some(format!("{key}: {}", flow(item, room)?)))
                        .flatten()
                })
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
    };
    (text.len() <= room).then_some(text)
}

/// A number as YAML reads it back with the same type: a float always has a `.` or an exponent.
fn number_text(number: &serde_json::Number) -> String {
    let text = number.to_string();
    if number.is_f64() && !text.contains(['.', 'e', 'E']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// A string scalar, plain when that reads back as the same string, double-quoted otherwise.
/// `in_flow` is true inside `[...]` and `{...}`, where commas and brackets end a plain scalar.
fn scalar_string(text: &str, in_flow: bool) -> String {
    if is_plain_safe(text, in_flow) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

fn is_plain_safe(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let starts_badly = match first {
        // `-x` is a plain scalar (command-line flags are common); `-` or `- x` is not.
        '-' => text.len() == 1 || text[1..].starts_with([' ', '\t']) || text.starts_with("---"),
        '?' | ':' | ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\''
        | '"' | '%' | '@' | '`' => true,
        _ => text.starts_with("..."),
    };
    !starts_badly
        && !text.starts_with(char::is_whitespace)
        && !text.ends_with(char::is_whitespace)
        && !text.ends_with(':')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.chars().any(|c| needs_escape(c) || matches!(c, '\t' | '\n' | '\r'))
        && !(in_flow && text.contains([',', '[', ']', '{', '}']))
        // Templates are quoted even where YAML would allow them plain, so that they stand out
        // and no reader mistakes `{{` for the start of a map.
        && !text.contains("{{")
        && !text.contains("{%")
        && !text.contains("{#")
        && !is_reserved_word(text)
        && !looks_like_number_or_date(text)
}

/// Words that common YAML readers (1.1 or 1.2) take for null or a boolean. `y` and `n` are
/// booleans only in the YAML 1.1 specification, which no common reader follows there, and they
/// are needed plain as layout coordinates.
fn is_reserved_word(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "<<", "=",
    ];
    WORDS.iter().any(|word| word.eq_ignore_ascii_case(text))
}

/// Whether some YAML reader could take `text` for a number or a date: integers in any base,
/// floats, infinities, sexagesimal numbers and ISO dates. Durations such as `10m` are not.
fn looks_like_number_or_date(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") {
        return true;
    }
    let digits =
        |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix));
    if let Some(rest) = lower.strip_prefix("0x") {
        return digits(rest, 16);
    }
    if let Some(rest) = lower.strip_prefix("0o") {
        return digits(rest, 8);
    }
    if let Some(rest) = lower.strip_prefix("0b") {
        return digits(rest, 2);
    }
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return false;
    }
    // Dates and sexagesimal numbers: digits separated by `-` or `:`.
    if body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | '_'))
        && body.contains(['-', ':'])
    {
        return true;
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (lower.as_str(), None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() || digits(whole, 10))
                && (fraction.is_empty() || digits(fraction, 10))
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

/// Whether a character must be escaped in a double-quoted string: YAML allows only printable
/// characters in its text (tab and the line breaks aside), and the byte-order mark and the
/// Unicode line and paragraph separators are safer escaped too.
fn needs_escape(c: char) -> bool {
    let printable = matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}';
    !printable || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// A double-quoted YAML string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xFF {
                    let _ = write!(out, "\\x{code:02X}");
                } else {
                    let _ = write!(out, "\\u{code:04X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn auto(_: &[&str]) -> Style {
        Style::Auto
    }

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        let cases = [
            ("main", "main"),
            ("10m", "10m"),
            ("-la", "-la"),
            ("hello world", "hello world"),
            ("", "\"\""),
            ("yes", "\"yes\""),
            ("Null", "\"Null\""),
            ("1.0", "\"1.0\""),
            ("0x1F", "\"0x1F\""),
            ("1e3", "\"1e3\""),
            ("2026-11-21", "\"2026-11-21\""),
            ("12:30", "\"12:30\""),
            ("{{ inputs.base }}", "\"{{ inputs.base }}\""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("- x", "\"- x\""),
            ("tab\there", "\"tab\\there\""),
            ("say \"hi\"", "say \"hi\""),
            ("*star", "\"*star\""),
        ];
        for (input, expected) in cases {
            assert_eq!(scalar_string(input, false), expected, "writing {input:?}");
        }
        assert_eq!(
            scalar_string("a,b", true),
            "\"a,b\"",
            "commas end plain scalars in flow"
        );
        assert_eq!(
            scalar_string("a,b", false),
            "a,b",
            "commas are fine in block context"
        );
    }

    #[test]
    fn short_collections_go_on_one_line_and_long_ones_in_blocks() {
        let value = json!({
            "run": ["git", "diff", "{{ inputs.base }}...HEAD"],
            "schema": { "type": "object", "required": ["verdict"] },
            "empty": [],
            "long": ["a".repeat(60), "b".repeat(60)],
        });
        let text = to_yaml(&value, &auto);
        assert_eq!(
            text,
            format!(
                "run: [git, diff, \"{{{{ inputs.base }}}}...HEAD\"]\n\
                 schema: {{ type: object, required: [verdict] }}\n\
                 empty: []\n\
                 long:\n  - {}\n  - {}\n",
                "a".repeat(60),
                "b".repeat(60)
            )
        );
    }

    #[test]
    fn multi_line_text_is_a_literal_block_with_the_right_chomping() {
        let value =
            json!({ "clip": "a\nb\n", "strip": "a\nb", "keep": "a\n\n", "indented": "  x\ny\n" });
        let text = to_yaml(&value, &auto);
        assert_eq!(
            text,
            "clip: |\n  a\n  b\nstrip: |-\n  a\n  b\nkeep: |+\n  a\n\nindented: |2\n    x\n  y\n"
        );
    }

    #[test]
    fn sequences_of_maps_are_blocks_with_the_first_key_after_the_dash() {
        let value = json!({ "steps": [{ "id": "a", "run": ["echo"] }, { "id": "b" }] });
        let block = |path: &[&str]| {
            if path.len() <= 2 {
                Style::Block
            } else {
                Style::Auto
            }
        };
        assert_eq!(
            to_yaml(&value, &block),
            "steps:\n  - id: a\n    run: [echo]\n  - id: b\n"
        );
    }

    #[test]
    fn floats_keep_their_point() {
        let value = json!({ "t": 1.0, "n": 2, "big": 1e20 });
        assert_eq!(to_yaml(&value, &auto), "t: 1.0\nn: 2\nbig: 1e+20\n");
    }
}
