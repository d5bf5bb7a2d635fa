//! A run as one self-contained HTML page: no scripts, no remote styles, everything inline.

use std::fmt::Write;

use super::markdown::value_text;
use super::{PipelineResult, human_duration};
use crate::qc::QcReport;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2937}\
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #e5e7eb;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f9fafb}\
pre{background:#f3f4f6;padding:.75rem;overflow:auto;white-space:pre-wrap}code{font-family:ui-monospace,monospace}\
.succeeded{color:#047857}.failed,.rejected,.critical{color:#b91c1c}.skipped,.cancelled,.minor{color:#6b7280}\
.waiting,.major,.interrupted{color:#b45309}.score{font-size:2rem;font-weight:600}";

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report as one HTML page.
pub fn report_html(result: &PipelineResult, qc: &QcReport) -> String {
    let mut out = String::new();
    let title = escape(&format!("Run of {}", result.pipeline));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(out, "<h1>{title}</h1>");
    let status = result.status.as_str();
    let _ = writeln!(
        out,
        "<p>Run <code>{}</code> · <span class=\"{status}\">{status}</span> · {}</p>",
        escape(&result.run_id),
        human_duration(result.duration_ms)
    );
    if let Some(error) = &result.error {
        let _ = writeln!(out, "<p class=\"failed\">{}</p>", escape(error));
    }
    let ready = if qc.production_ready {
        "production ready"
    } else {
        "not production ready"
    };
    let _ = writeln!(
        out,
        "<p><span class=\"score\">{}/100</span> quality, {ready}, from {} checks</p>",
        qc.score, qc.checks
    );
    out.push_str("<h2>Steps</h2>\n<table><tr><th>step</th><th>action</th><th>status</th><th>attempts</th><th>time</th><th>note</th></tr>\n");
    for step in &result.steps {
        let note = step
            .error
            .clone()
            .or_else(|| {
                step.reused_from
                    .as_ref()
                    .map(|from| format!("reused from {from}"))
            })
            .unwrap_or_default();
        let status = step.status.as_str();
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"{status}\">{status}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&step.key),
            escape(step.action.as_deref().unwrap_or("")),
            step.attempts,
            human_duration(step.duration_ms),
            escape(&note)
        );
    }
    out.push_str("</table>\n");
    if !result.outputs.is_empty() {
        out.push_str("<h2>Outputs</h2>\n");
        for (name, value) in &result.outputs {
            let _ = writeln!(
                out,
                "<h3><code>{}</code></h3><pre>{}</pre>",
                escape(name),
                escape(&value_text(value))
            );
        }
    }
    if !result.artifacts.is_empty() {
        out.push_str("<h2>Files</h2>\n<table><tr><th>file</th><th>step</th><th>size</th><th>sha256</th></tr>\n");
        for artifact in &result.artifacts {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&artifact.path),
                escape(&artifact.step),
                artifact.size,
                escape(&artifact.sha256)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Quality control</h2>\n");
    if qc.issues.is_empty() {
        out.push_str("<p>No issues found.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for issue in &qc.issues {
            let place = match (&issue.file, issue.line) {
                (Some(file), Some(line)) => format!(" ({file}, line {line})"),
                (Some(file), None) => format!(" ({file})"),
                _ => String::new(),
            };
            let severity = issue.severity.as_str();
            let _ = writeln!(
                out,
                "<li><span class=\"{severity}\">{severity}</span> {}{}</li>",
                escape(&issue.message),
                escape(&place)
            );
        }
        out.push_str("</ul>\n");
    }
    for advice in &qc.recommendations {
        let _ = writeln!(out, "<p>{}</p>", escape(advice));
    }
    out.push_str("</body></html>\n");
    out
}
