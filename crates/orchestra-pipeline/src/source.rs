//! The text of a pipeline file and the positions inside it.

use serde::Serialize;

/// A region of a source file, in bytes, with the line and column of its start.
///
/// Lines and columns count from 1, as editors and rustc show them; the column counts characters,
/// not bytes, so that a caret lines up under text with accents or emoji.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes; zero for a position rather than a region.
    pub len: usize,
    /// Line of the first byte, from 1.
    pub line: usize,
    /// Column of the first character, from 1.
    pub column: usize,
}

/// The text of one pipeline file with an index of its lines.
#[derive(Clone, Debug)]
pub struct Source {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps already decoded text; `name` is how the file is shown in messages (usually its path).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        Self {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The name the file is shown by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The span of `len` bytes from `offset`, with its line and column; both are clamped to the
    /// text and moved back to a character boundary, so any pair of numbers gives a valid span.
    pub fn span(&self, offset: usize, len: usize) -> Span {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let end = floor_char_boundary(&self.text, offset.saturating_add(len).min(self.text.len()));
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..offset].chars().count() + 1;
        Span {
            offset,
            len: end - offset,
            line: line_index + 1,
            column,
        }
    }

    /// The span at a line and character column (both from 1), as YAML parsers report them.
    pub fn span_at(&self, line: usize, column: usize) -> Span {
        let line_index = line.clamp(1, self.line_starts.len()) - 1;
        let start = self.line_starts[line_index];
        let text = self.line_text(line_index + 1);
        let offset = text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(start + text.len(), |(at, _)| start + at);
        self.span(offset, 0)
    }

    /// The text of a line (from 1) without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The source text covered by a span.
    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.offset..span.offset + span.len)
            .unwrap_or("")
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_know_their_line_and_character_column() {
        let source = Source::new("t.yaml", "a: 1\nnäme: x\n");
        let span = source.span(12, 1);
        assert_eq!(
            (span.line, span.column),
            (2, 7),
            "the column counts characters, not bytes"
        );
        assert_eq!(source.slice(span), "x");
        assert_eq!(source.line_text(2), "näme: x");
        assert_eq!(
            source.span_at(2, 7).offset,
            12,
            "line and column map back to the offset"
        );
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let source = Source::new("t.yaml", "é");
        assert_eq!(
            source.span(1, 5).offset,
            0,
            "an offset inside a character moves back"
        );
        assert_eq!(source.span(99, 1).len, 0);
        assert_eq!(source.line_text(7), "");
    }
}
