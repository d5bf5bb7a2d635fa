//! Showing diagnostics the way rustc does: the file, line and column, the source line with a
//! caret under the problem, and the advice.

use std::fmt::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use orchestra_pipeline::{Diagnostic, Report, Severity, Source};
use serde_json::{Value, json};

/// One diagnostic as text, coloured when the output is a terminal.
pub fn diagnostic(source: &Source, diagnostic: &Diagnostic) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut title = diagnostic.message.clone();
    if let Some(step) = &diagnostic.step
        && !title.contains(&format!("`{step}`"))
    {
        let _ = write!(title, " (in step `{step}`)");
    }
    let mut group = Group::with_title(level.primary_title(title).id(diagnostic.code.as_str()));
    let path = source.name();
    match diagnostic.span {
        Some(span) => {
            // Show only the first line of the span: a multi-line value (a prompt) would
            // otherwise fill the screen.
            let line = source.line_text(span.line);
            let line_start = source.span_at(span.line, 1).offset;
            let start = span.offset.saturating_sub(line_start).min(line.len());
            let end = (start + span.len).min(line.len()).max(start);
            let snippet = Snippet::source(line)
                .line_start(span.line)
                .path(path)
                .fold(false)
                .annotation(AnnotationKind::Primary.span(start..end));
            group = group.element(snippet);
        }
        None => {
            group = group.element(Level::NOTE.message(format!("in {path}")));
        }
    }
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let report: [Group<'_>; 1] = [group];
    Renderer::styled().render(&report)
}

/// One file's diagnostics as JSON.
pub fn report_json(report: &Report) -> Value {
    let diagnostics: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let mut value = json!({
                "file": report.source.name(),
                "code": diagnostic.code.as_str(),
                "severity": diagnostic.severity.as_str(),
                "message": diagnostic.message,
                "pointer": diagnostic.pointer,
            });
            if let Some(span) = diagnostic.span {
                value["line"] = json!(span.line);
                value["column"] = json!(span.column);
                value["offset"] = json!(span.offset);
                value["length"] = json!(span.len);
            }
            if let Some(step) = &diagnostic.step {
                value["step"] = json!(step);
            }
            if let Some(help) = &diagnostic.help {
                value["help"] = json!(help);
            }
            value
        })
        .collect();
    json!({ "file": report.source.name(), "valid": !report.has_errors(), "diagnostics": diagnostics })
}
