//! Validation: the checks that need the whole pipeline, such as references between steps,
//! templates, cycles, and the files that agents and personalities name.
//!
//! Validation returns every diagnostic it finds; it never stops at the first.

mod graph;
mod index;
mod lookups;
mod templates;
mod values;

use crate::action::Catalog;
use crate::diagnostic::{Code, Diagnostic};
use crate::library::Library;
use crate::model::Pipeline;
use crate::source::{Source, Span};
use crate::yaml::Node;

use index::StepIndex;

/// What validation may consult besides the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The actions that exist.
    pub catalog: &'a Catalog,
    /// Where personalities, prompt layers, agent files and sub-pipelines are found; without it,
    /// those lookups are not made (a pipeline being drawn that has no folder yet).
    pub library: Option<&'a Library>,
}

/// Finds where in the file a pointer's value is written.
#[derive(Clone, Copy)]
pub struct Locator<'a> {
    tree: Option<&'a Node>,
    source: Option<&'a Source>,
}

impl<'a> Locator<'a> {
    /// A locator over a loaded file; both are absent for a pipeline built in memory.
    pub fn new(tree: Option<&'a Node>, source: Option<&'a Source>) -> Self {
        Self { tree, source }
    }

    /// The span of the value at `pointer`.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        self.tree.map(|tree| tree.value_span(pointer))
    }

    /// The span of the key whose value is at `pointer`.
    pub fn key(&self, pointer: &str) -> Option<Span> {
        self.tree.map(|tree| tree.key_span(pointer))
    }

    /// The span of a whole-word occurrence of `needle` in the text of the value at `pointer`,
    /// such as a name inside a template: the first one inside a `{{ … }}` or `{% … %}` tag if
    /// any (a name can also appear in the plain text around the tags), else the first one, else
    /// the whole value. Searching the written text keeps the caret right whatever quoting the
    /// value uses.
    pub fn within(&self, pointer: &str, needle: &str) -> Option<Span> {
        let span = self.value(pointer)?;
        let source = self.source?;
        let written = source.slice(span);
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        let matches: Vec<usize> = written
            .match_indices(needle)
            .map(|(at, _)| at)
            .filter(|&at| {
                let before = written[..at].chars().next_back();
                let after = written[at + needle.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
            .collect();
        let in_tag = |at: usize| {
            let before = &written[..at];
            let opened = before.rfind("{{").max(before.rfind("{%"));
            let closed = before.rfind("}}").max(before.rfind("%}"));
            opened.is_some() && opened > closed
        };
        let found = matches
            .iter()
            .copied()
            .find(|&at| in_tag(at))
            .or(matches.first().copied());
        Some(found.map_or(span, |at| source.span(span.offset + at, needle.len())))
    }

    /// The span of line `line` (from 1) of a value whose text is `value`, for an error that a
    /// template parser reports by line. The file's line is used only when it holds the same text
    /// (a literal block); for a quoted string with `\n` escapes or a folded block the lines do
    /// not match, and the value's first line is used instead.
    pub fn line_within(&self, pointer: &str, value: &str, line: usize) -> Option<Span> {
        let span = self.value(pointer)?;
        let source = self.source?;
        let first_line = source.slice(span).lines().next().unwrap_or("");
        let whole = source.span(span.offset, first_line.len());
        if line <= 1 {
            return Some(whole);
        }
        let target = span.line + line - 1;
        let text = source.line_text(target);
        let expected = value.lines().nth(line - 1).unwrap_or("").trim();
        if expected.is_empty() || text.trim() != expected {
            return Some(whole);
        }
        let indent = text.len() - text.trim_start().len();
        let start = source.span_at(target, 1).offset + indent;
        Some(source.span(start, text.trim().len()))
    }
}

/// Checks a loaded pipeline as a whole. `locator` places the diagnostics in the file.
pub fn validate(
    pipeline: &Pipeline,
    locator: Locator<'_>,
    context: &Context<'_>,
) -> Vec<Diagnostic> {
    let index = StepIndex::new(pipeline);
    let mut validator = Validator {
        pipeline,
        context,
        locator,
        index: &index,
        diagnostics: Vec::new(),
    };
    validator.duplicate_ids();
    let graphs = validator.references_and_cycles();
    validator.templates(&graphs);
    validator.lookups();
    validator.values();
    validator.diagnostics
}

/// The state shared by the checks.
struct Validator<'a> {
    pipeline: &'a Pipeline,
    context: &'a Context<'a>,
    locator: Locator<'a>,
    index: &'a StepIndex<'a>,
    diagnostics: Vec<Diagnostic>,
}

/// Where a diagnostic goes: the value at a pointer, its key, or a word inside the value.
enum At<'p> {
    Value(&'p str),
    Key(&'p str),
    Word(&'p str, &'p str),
}

impl At<'_> {
    fn pointer(&self) -> &str {
        match self {
            At::Value(pointer) | At::Key(pointer) | At::Word(pointer, _) => pointer,
        }
    }
}

impl Validator<'_> {
    fn push(&mut self, mut diagnostic: Diagnostic, at: &At<'_>, step: Option<&str>) {
        diagnostic.span = match at {
            At::Value(pointer) => self.locator.value(pointer),
            At::Key(pointer) => self.locator.key(pointer),
            At::Word(pointer, word) => self.locator.within(pointer, word),
        };
        diagnostic.step = step.map(str::to_owned);
        self.diagnostics.push(diagnostic);
    }

    fn error(
        &mut self,
        code: Code,
        at: &At<'_>,
        step: Option<&str>,
        message: String,
        help: Option<String>,
    ) {
        let diagnostic = Diagnostic::error(code, at.pointer(), message).with_optional_help(help);
        self.push(diagnostic, at, step);
    }

    fn warning(
        &mut self,
        code: Code,
        at: &At<'_>,
        step: Option<&str>,
        message: String,
        help: Option<String>,
    ) {
        let diagnostic = Diagnostic::warning(code, at.pointer(), message).with_optional_help(help);
        self.push(diagnostic, at, step);
    }

    /// Two steps with the same id anywhere in the pipeline: templates name steps by id alone.
    fn duplicate_ids(&mut self) {
        let index = self.index;
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (at, entry) in index.entries.iter().enumerate() {
            let id = entry.step.id.as_str();
            match first.get(id) {
                Some(&earlier) => {
                    let earlier_pointer = format!("{}/id", index.entries[earlier].pointer);
                    let line = self.locator.value(&earlier_pointer).map(|span| span.line);
                    let message = match line {
                        Some(line) => {
                            format!("another step, on line {line}, already has the id `{id}`")
                        }
                        None => format!("another step already has the id `{id}`"),
                    };
                    let pointer = format!("{}/id", entry.pointer);
                    self.error(
                        Code::DuplicateStepId,
                        &At::Value(&pointer),
                        Some(id),
                        message,
                        Some(
                            "step ids must be unique in the pipeline; rename one of them"
                                .to_owned(),
                        ),
                    );
                }
                None => {
                    first.insert(id, at);
                }
            }
        }
    }
}
