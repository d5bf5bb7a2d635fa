//! Quality control: rule checks on what a run produced, and the report that combines them with
//! each step's declared checks into a score.
//!
//! The rules look for what goes wrong with generated text: nothing at all, template text that
//! was never rendered, placeholders left in, text cut off, and a model's small talk. Each is
//! written so that ordinary Markdown passes: a link such as `[notes](notes.md)` is not a
//! placeholder, and a `TODO` inside a word is not one either.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::PipelineResult;
use crate::state::StepStatus;

/// How much an issue matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The result cannot be used.
    Critical,
    /// The result needs fixing before it is used.
    Major,
    /// The result could be better.
    Minor,
}

impl Severity {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Major => "major",
            Self::Minor => "minor",
        }
    }

    fn cost(self) -> u32 {
        match self {
            Self::Critical => 30,
            Self::Major => 15,
            Self::Minor => 5,
        }
    }
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QcIssue {
    /// How much it matters.
    pub severity: Severity,
    /// The rule or check that found it.
    pub rule: String,
    /// What was found, as a sentence.
    pub message: String,
    /// The step whose output it is in, when it is a step's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The file it is in, for a produced file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// The quality of a run's results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QcReport {
    /// 100 for no issue; each issue takes off 30 (critical), 15 (major) or 5 (minor).
    pub score: u32,
    /// No critical or major issue.
    pub production_ready: bool,
    /// How many checks and rules were applied.
    pub checks: usize,
    /// Everything found, most serious first.
    pub issues: Vec<QcIssue>,
    /// What to do about it.
    pub recommendations: Vec<String>,
}

/// What a text rule found: the line (from 1) and a short quote.
struct Finding {
    line: usize,
    quote: String,
}

static TEMPLATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{[^{}\n]*\}\}|\{%[^%\n]*%\}").expect("a valid pattern"));
static WORD_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(TODO|TBD|FIXME|XXX)\b").expect("a valid pattern"));
static LOREM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\blorem ipsum\b").expect("a valid pattern"));
static BRACKET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\[(insert|your|add|placeholder|enter|todo|tbd|name of|fill in)\b[^\]\n]{0,60}\]",
    )
    .expect("a valid pattern")
});
static ANGLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<(insert|your|placeholder|fill in)\b[^>\n]{0,60}>").expect("a valid pattern")
});
static OPENING_FILLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(sure[,!.]|certainly[,!.]|of course[,!.]|absolutely[,!.]|great question|as an ai\b|i'd be happy to|i would be happy to)")
        .expect("a valid pattern")
});
static CLOSING_FILLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(i hope this helps|let me know if you (have|need|would)|feel free to (ask|reach out)|happy to help further)[^\n]*$")
        .expect("a valid pattern")
});

/// The text of an output: a string as it is, anything else as JSON.
pub fn output_text(output: &Value) -> String {
    match output {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether text holds template syntax that was never rendered, such as `{{ name }}`.
pub fn has_template_artifacts(text: &str) -> bool {
    TEMPLATE.is_match(text)
}

fn find(text: &str, pattern: &Regex) -> Option<Finding> {
    text.lines().enumerate().find_map(|(at, line)| {
        pattern.find(line).map(|found| Finding {
            line: at + 1,
            quote: found.as_str().to_owned(),
        })
    })
}

/// The first placeholder left in text: `TODO`, `lorem ipsum`, `[insert …]` (but not a link
/// such as `[insert the key](setup.md)`), `<your name>`.
fn placeholder(text: &str) -> Option<Finding> {
    for (at, line) in text.lines().enumerate() {
        let bracket = BRACKET
            .find_iter(line)
            .find(|found| !line[found.end()..].starts_with('('));
        let found = WORD_MARKER
            .find(line)
            .or_else(|| LOREM.find(line))
            .or(bracket)
            .or_else(|| ANGLE.find(line));
        if let Some(found) = found {
            return Some(Finding {
                line: at + 1,
                quote: found.as_str().to_owned(),
            });
        }
    }
    None
}

/// Whether text looks cut off: an unclosed code fence, or trailing dots.
fn truncated(text: &str) -> Option<String> {
    let fences = text
        .lines()
        .filter(|line| line.trim_start().starts_with("```"))
        .count();
    if fences % 2 == 1 {
        return Some("a code block is never closed".to_owned());
    }
    let end = text.trim_end();
    (end.ends_with("...") || end.ends_with('…')).then(|| "it ends with an ellipsis".to_owned())
}

/// A model's small talk around its answer.
fn filler(text: &str) -> Option<Finding> {
    let first = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    if let Some(found) = OPENING_FILLER.find(first) {
        let line = text
            .lines()
            .position(|line| line == first)
            .map_or(1, |at| at + 1);
        return Some(Finding {
            line,
            quote: found.as_str().trim().to_owned(),
        });
    }
    let count = text.lines().count();
    text.lines()
        .rev()
        .take(3)
        .enumerate()
        .find_map(|(back, line)| {
            CLOSING_FILLER.find(line).map(|found| Finding {
                line: count - back,
                quote: found.as_str().trim().to_owned(),
            })
        })
}

/// What kind of text a step produces, which decides the rules that apply to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A model wrote it.
    Model,
    /// A template or a file.
    Document,
}

struct Assessment {
    issues: Vec<QcIssue>,
    checks: usize,
}

impl Assessment {
    fn issue(
        &mut self,
        severity: Severity,
        rule: &str,
        message: String,
        step: Option<&str>,
        file: Option<&str>,
        line: Option<usize>,
    ) {
        self.issues.push(QcIssue {
            severity,
            rule: rule.to_owned(),
            message,
            step: step.map(str::to_owned),
            file: file.map(str::to_owned),
            line,
        });
    }

    /// Applies the text rules to one text.
    fn text(&mut self, text: &str, kind: Kind, step: Option<&str>, file: Option<&str>) {
        let what = match (step, file) {
            (_, Some(file)) => format!("the file `{file}`"),
            (Some(step), None) => format!("the output of `{step}`"),
            (None, None) => "an output".to_owned(),
        };
        self.checks += 3;
        if text.trim().is_empty() {
            self.issue(
                Severity::Major,
                "empty_output",
                format!("{what} is empty"),
                step,
                file,
                None,
            );
            return;
        }
        if let Some(found) = find(text, &TEMPLATE) {
            let message = format!(
                "{what} holds template text that was never rendered: `{}`",
                found.quote
            );
            self.issue(
                Severity::Major,
                "unrendered_template",
                message,
                step,
                file,
                Some(found.line),
            );
        }
        if let Some(found) = placeholder(text) {
            let message = format!("{what} holds a placeholder: `{}`", found.quote);
            self.issue(
                Severity::Major,
                "placeholder",
                message,
                step,
                file,
                Some(found.line),
            );
        }
        if kind == Kind::Model {
            self.checks += 2;
            if let Some(reason) = truncated(text) {
                self.issue(
                    Severity::Major,
                    "truncated",
                    format!("{what} looks cut off: {reason}"),
                    step,
                    file,
                    None,
                );
            }
            if let Some(found) = filler(text) {
                let message = format!("{what} has conversational filler: \"{}\"", found.quote);
                self.issue(
                    Severity::Minor,
                    "filler",
                    message,
                    step,
                    file,
                    Some(found.line),
                );
            }
        }
    }
}

/// Assesses a run: the text rules on model and document outputs, the run's outputs and its
/// produced text files (`read_file` gives their content), and every step's declared checks.
pub fn assess(result: &PipelineResult, read_file: &dyn Fn(&str) -> Option<String>) -> QcReport {
    let mut assessment = Assessment {
        issues: Vec::new(),
        checks: 0,
    };
    for step in &result.steps {
        if step.status != StepStatus::Succeeded {
            continue;
        }
        let kind = match step.action.as_deref() {
            Some("generate" | "agent") => Some(Kind::Model),
            Some("template") => Some(Kind::Document),
            _ => None,
        };
        if let Some(kind) = kind {
            assessment.text(&output_text(&step.output), kind, Some(&step.key), None);
        }
        for check in &step.checks {
            assessment.checks += 1;
            // A judge's findings are issues of their own, each with the severity it gave.
            for finding in &check.findings {
                let message = format!("the judge of `{}` found: {}", step.key, finding.message);
                assessment.issue(
                    finding.severity,
                    "judge",
                    message,
                    Some(&step.key),
                    None,
                    None,
                );
            }
            // A check that could not run (a judge without a model) is not a pass: it counts as a
            // major issue, so a run whose checks did not run is never called production ready.
            if check.passed.is_none() {
                let message = format!(
                    "`{}` could not run for `{}`: {}",
                    check.check,
                    step.key,
                    check.message.clone().unwrap_or_default()
                );
                assessment.issue(
                    Severity::Major,
                    &check.check,
                    message,
                    Some(&step.key),
                    None,
                    None,
                );
            }
            // A failed judge counts at least as a major issue, whatever its findings were.
            let serious = check
                .findings
                .iter()
                .any(|finding| finding.severity <= Severity::Major);
            if check.passed == Some(false) && !serious {
                let severity = match check.check.split(':').next().unwrap_or_default() {
                    "not_empty" | "file_exists" => Severity::Critical,
                    "max_length" => Severity::Minor,
                    _ => Severity::Major,
                };
                let message = format!(
                    "`{}` failed for `{}`: {}",
                    check.check,
                    step.key,
                    check.message.clone().unwrap_or_default()
                );
                assessment.issue(severity, &check.check, message, Some(&step.key), None, None);
            }
        }
    }
    for (name, value) in &result.outputs {
        if let Value::String(text) = value {
            assessment.checks += 1;
            if let Some(found) = find(text, &TEMPLATE) {
                let message = format!(
                    "the output `{name}` holds template text that was never rendered: `{}`",
                    found.quote
                );
                assessment.issue(
                    Severity::Major,
                    "unrendered_template",
                    message,
                    None,
                    None,
                    Some(found.line),
                );
            }
        }
    }
    for artifact in &result.artifacts {
        if let Some(text) = read_file(&artifact.path) {
            assessment.text(
                &text,
                Kind::Document,
                Some(&artifact.step),
                Some(&artifact.path),
            );
        }
    }
    let mut issues = assessment.issues;
    issues.sort_by_key(|a| a.severity);
    let cost: u32 = issues.iter().map(|issue| issue.severity.cost()).sum();
    let production_ready = issues.iter().all(|issue| issue.severity == Severity::Minor);
    QcReport {
        score: 100_u32.saturating_sub(cost),
        production_ready,
        checks: assessment.checks,
        recommendations: recommendations(&issues),
        issues,
    }
}

fn recommendations(issues: &[QcIssue]) -> Vec<String> {
    let mut advice = Vec::new();
    let mut add = |rule: &str, text: &str| {
        if issues
            .iter()
            .any(|issue| issue.rule == rule || issue.rule.starts_with(rule))
            && !advice.iter().any(|a| a == text)
        {
            advice.push(text.to_owned());
        }
    };
    add(
        "empty_output",
        "Give the steps whose output came out empty a `not_empty` check, and look at what they received.",
    );
    add(
        "unrendered_template",
        "Look for a template written where the engine does not render one, such as inside a file's content that is itself copied as text.",
    );
    add(
        "placeholder",
        "Ask the model (or fix the template) to fill every placeholder; add a `regex` check that rejects them.",
    );
    add(
        "truncated",
        "Raise `max_tokens` for the step, or ask for a shorter answer.",
    );
    add(
        "filler",
        "Tell the model to answer without small talk, for example with the `concise` personality.",
    );
    add(
        "not_empty",
        "A step produced nothing; check its inputs and its command or prompt.",
    );
    add(
        "file_exists",
        "A step did not write the file it promised; check its `path`.",
    );
    add(
        "contains",
        "An output lacks a section it must have; say so in the prompt or template.",
    );
    add(
        "regex",
        "An output does not have the form its `regex` check asks for.",
    );
    add(
        "json_schema",
        "Give the step an `output_schema`, so that the model's reply is validated and asked for again when it does not fit.",
    );
    add(
        "max_length",
        "An output is longer than its `max_length`; ask for less.",
    );
    add(
        "command",
        "A `command` check failed; run it yourself in the workspace to see why.",
    );
    advice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_ordinary_markdown_is_not() {
        assert!(
            placeholder("See [notes](notes.md) and [the guide](guide.md).").is_none(),
            "links are not placeholders"
        );
        assert!(
            placeholder("[insert the key](setup.md) explains how").is_none(),
            "a link whose text starts like one is a link"
        );
        assert!(placeholder("Costs are listed below.\nTotal: 3").is_none());
        assert!(
            placeholder("The toDOS app").is_none(),
            "a TODO inside a word is not a marker"
        );
        assert_eq!(placeholder("Dear [Your Name],").map(|f| f.line), Some(1));
        assert_eq!(placeholder("a\nTODO: write this").map(|f| f.line), Some(2));
        assert!(placeholder("Lorem ipsum dolor").is_some());
        assert!(placeholder("Hello <insert name here>").is_some());
    }

    #[test]
    fn unrendered_templates_truncation_and_filler_are_recognised() {
        assert!(has_template_artifacts("Hello {{ name }}"));
        assert!(has_template_artifacts("{% if x %}"));
        assert!(!has_template_artifacts("a { b } c, and a set {1, 2}"));
        assert!(truncated("The list goes on...").is_some());
        assert!(truncated("```rust\nfn main() {}").is_some());
        assert!(truncated("```rust\nfn main() {}\n```").is_none());
        assert!(filler("Sure! Here is the summary.").is_some());
        assert!(filler("Summary\n\nThe plan works.\nI hope this helps!").is_some());
        assert!(
            filler("Surely the numbers rise.").is_none(),
            "a word that starts like filler is not filler"
        );
    }
}
