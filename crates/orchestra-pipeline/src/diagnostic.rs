//! Diagnostics: what is wrong in a pipeline file, where, and what to do about it.

use serde::Serialize;

use crate::source::{Source, Span};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pipeline cannot run until this is fixed.
    Error,
    /// The pipeline can run, but probably not as its author meant.
    Warning,
}

impl Severity {
    /// The lowercase word used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal: $summary:literal,)*) => {
        /// The kind of a diagnostic: a stable name that tools, tests and the studio can match on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum Code {
            $(
                #[doc = $summary]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in the order they are documented.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case name, such as `unknown-key`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// One sentence on what the code means.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    FileTooLarge = "file-too-large": "The file is larger than a pipeline may be.",
    NotText = "not-text": "The file is binary or not valid UTF-8 text.",
    EmptyFile = "empty-file": "The file holds no pipeline.",
    YamlSyntax = "yaml-syntax": "The file is not valid YAML.",
    YamlLimit = "yaml-limit": "The YAML nests too deeply, or is too large, or expands aliases too far.",
    DuplicateKey = "duplicate-key": "A map names the same key twice.",
    MissingVersion = "missing-version": "The file does not say which format version it is written in.",
    UnsupportedVersion = "unsupported-version": "The file is written in a format version this Orchestra cannot read.",
    UnknownKey = "unknown-key": "A key that the format does not define.",
    MissingKey = "missing-key": "A key that must be present is absent.",
    WrongType = "wrong-type": "A value of the wrong type, such as a list where a map belongs.",
    BadValue = "bad-value": "A value of the right type that is not allowed here.",
    BadId = "bad-id": "An id that is not made of the allowed characters or is reserved.",
    DuplicateStepId = "duplicate-step-id": "Two steps share an id.",
    UnknownAction = "unknown-action": "A step names an action that does not exist.",
    UnknownStep = "unknown-step": "A dependency or route names a step that does not exist.",
    OutOfScope = "out-of-scope": "A dependency or route names a step in another loop body.",
    Cycle = "cycle": "Steps wait on each other in a loop that has no `max_loops` bound.",
    TemplateSyntax = "template-syntax": "A template or expression that does not parse.",
    UnknownName = "unknown-name": "A template names no step, input or loop variable.",
    UnknownInput = "unknown-input": "A template reads an input the pipeline does not declare.",
    UnknownResultField = "unknown-result-field": "A template reads a field that step results do not have.",
    NotUpstream = "not-upstream": "A template reads a step that does not run before this one.",
    BadDuration = "bad-duration": "A duration that is not written like `30s`, `10m` or `1h30m`.",
    BadSchema = "bad-schema": "An `output_schema` or `json_schema` that is not a valid JSON Schema.",
    BadRegex = "bad-regex": "A `regex` check that is not a valid regular expression.",
    UnknownAgent = "unknown-agent": "A step names an agent that is neither in `agents:` nor in an agent file.",
    UnknownPersonality = "unknown-personality": "A personality that no personality file defines.",
    UnknownPromptLayer = "unknown-prompt-layer": "A role or persona that no prompt file defines.",
    UnknownTool = "unknown-tool": "An agent or step names a tool that is neither built in nor a workspace tool.",
    BadModel = "bad-model": "A model reference that is neither `provider:model`, an alias, `auto` nor `<AUTO>`.",
    UnknownModelAlias = "unknown-model-alias": "A model alias that the pipeline does not define.",
    PathOutsideWorkspace = "path-outside-workspace": "A file path that leaves the workspace.",
    PipelineNotFound = "pipeline-not-found": "A `pipeline` step names a file that does not exist.",
    StaleLayout = "stale-layout": "A layout entry for a step that no longer exists.",
}

/// One problem found in a pipeline file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// What kind of problem this is.
    pub code: Code,
    /// Whether the pipeline can still run.
    pub severity: Severity,
    /// A sentence that says what is wrong.
    pub message: String,
    /// Where in the document, as a JSON pointer such as `/steps/2/depends_on/0`; empty for the
    /// whole document. The studio uses it to find the node and field.
    pub pointer: String,
    /// The step the problem belongs to, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Where in the file; absent for a pipeline that was not read from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// What to do about it, such as "did you mean `depends_on`?".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at a pointer, to be given a span later.
    pub fn error(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            pointer: pointer.into(),
            step: None,
            span: None,
            help: None,
        }
    }

    /// A warning at a pointer.
    pub fn warning(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, pointer, message)
        }
    }

    /// Adds advice.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds advice only when there is some.
    #[must_use]
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Places the diagnostic at a span of the file.
    #[must_use]
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Names the step the diagnostic belongs to.
    #[must_use]
    pub fn in_step(mut self, step: impl Into<String>) -> Self {
        self.step = Some(step.into());
        self
    }

    /// Whether this diagnostic stops the pipeline from running.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one file, with the file's text so that they can be shown with context.
#[derive(Clone, Debug)]
pub struct Report {
    /// The file that was checked.
    pub source: Source,
    /// Everything found, in the order of the file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Sorts diagnostics by position in the file, then errors before warnings, and removes exact
/// repeats (the same problem found through two paths).
pub fn sort_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        let position = |d: &Diagnostic| d.span.map_or((usize::MAX, 0), |s| (s.offset, s.len));
        position(a)
            .cmp(&position(b))
            .then(a.severity.cmp(&b.severity))
            .then_with(|| a.pointer.cmp(&b.pointer))
    });
    diagnostics.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_kebab_case_name_and_a_sentence() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "code name {name} is used twice");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "code name {name} must be kebab-case"
            );
            assert!(
                code.summary().ends_with('.'),
                "the summary of {name} must be a sentence"
            );
        }
    }
}
