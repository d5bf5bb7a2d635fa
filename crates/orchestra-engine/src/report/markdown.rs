//! A run as Markdown: the log, and the full report.

use std::fmt::Write;

use serde_json::Value;

use super::{PipelineResult, human_duration};
use crate::event::RunEvent;
use crate::models::Message;
use crate::qc::QcReport;
use crate::qc::output_text;
use crate::versioning::short_commit;

/// The run's events as a Markdown list, one line each (output chunks left out).
pub fn log_markdown(result: &PipelineResult) -> String {
    let mut out = format!("# Log of run `{}`\n\n", result.run_id);
    for record in &result.log {
        let time = record.at.strftime("%H:%M:%S%.3f");
        let line = match &record.event {
            RunEvent::RunStarted { pipeline, .. } => format!("run of `{pipeline}` started"),
            RunEvent::RunResumed => "run resumed".to_owned(),
            RunEvent::AutoResolved { answers } => answers
                .iter()
                .map(|answer| {
                    format!(
                        "`{}.{}` is `{}` (<AUTO>, {})",
                        answer.step, answer.param, answer.value, answer.source
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            RunEvent::RepositoryOpened { repo } => {
                let mut line = format!(
                    "works on the branch `{}` from {} of the repository `{}`",
                    repo.branch,
                    short_commit(&repo.base),
                    repo.name
                );
                if !repo.dirty.is_empty() {
                    let _ = write!(
                        line,
                        " ({} uncommitted changes there are not in the run)",
                        repo.dirty.len()
                    );
                }
                line
            }
            RunEvent::WorktreeForked { step, branch, .. } => {
                format!("`{step}` works in a worktree of its own (branch `{branch}`)")
            }
            RunEvent::Merged { step, from, commit } if step == from => {
                format!("the work of `{from}` was merged ({})", short_commit(commit))
            }
            RunEvent::Merged { step, from, commit } => {
                format!(
                    "the work of `{from}` was merged before `{step}` ({})",
                    short_commit(commit)
                )
            }
            RunEvent::MergeConflicted {
                step, from, paths, ..
            } => format!(
                "the work of `{from}` conflicts in {}; handed to `{step}` to resolve",
                paths.join(", ")
            ),
            RunEvent::StepQueued { step } => format!("`{step}` queued"),
            RunEvent::StepStarted { step, attempt, .. } => {
                format!("`{step}` started (attempt {attempt})")
            }
            RunEvent::OutputChunk { .. } => continue,
            RunEvent::AttemptFailed {
                step,
                attempt,
                error,
                retry_in_ms,
            } => match retry_in_ms {
                Some(wait) => format!(
                    "`{step}` attempt {attempt} failed: {error}; retrying in {}",
                    human_duration(*wait)
                ),
                None => format!("`{step}` attempt {attempt} failed: {error}"),
            },
            RunEvent::Usage { step, usage } => match usage.cost_usd {
                Some(cost) => format!("`{step}` used {} tokens (${cost:.4})", usage.total_tokens),
                None => format!("`{step}` used {} tokens", usage.total_tokens),
            },
            RunEvent::ModelPrepared { step, prepared } => match &prepared.replayed_from {
                Some(recording) => format!(
                    "`{step}` uses `{}`, answered from the recording `{recording}`",
                    prepared.model
                ),
                None => format!("`{step}` uses `{}`", prepared.model),
            },
            RunEvent::ToolCalled { step, call } => {
                format!("`{step}` calls `{}` with {}", call.name, call.arguments)
            }
            RunEvent::ToolReturned {
                step,
                name,
                is_error,
                content,
                ..
            } => {
                let verb = if *is_error { "failed" } else { "returned" };
                format!("`{step}`: `{name}` {verb} {} bytes", content.len())
            }
            RunEvent::Artifact {
                step, path, size, ..
            } => format!("`{step}` wrote `{path}` ({size} bytes)"),
            RunEvent::WaitingForApproval { step, message, .. } => {
                format!("`{step}` waits for approval: {message}")
            }
            RunEvent::WaitingForMessage { step } => {
                format!("`{step}` waits for a person's reply")
            }
            RunEvent::ConversationMessage { step, message, by } => match (message, by) {
                (Message::User { text }, Some(by)) => format!(
                    "`{step}`: {by} wrote: {}",
                    text.lines().next().unwrap_or_default()
                ),
                // The task is in the step's inputs, and the model's replies in its output.
                _ => continue,
            },
            RunEvent::ApprovalAnswered {
                step,
                approved,
                comment,
                ..
            } => {
                let answer = if *approved { "approved" } else { "rejected" };
                let comment = comment
                    .as_ref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                format!("`{step}` {answer}{comment}")
            }
            RunEvent::StepFinished { step, result } => {
                let detail = result
                    .error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                let commit = result
                    .commit
                    .as_ref()
                    .map(|commit| format!(", commit {}", short_commit(commit)))
                    .unwrap_or_default();
                format!(
                    "`{step}` {}{detail} ({}{commit})",
                    result.status.as_str(),
                    human_duration(result.duration_ms)
                )
            }
            RunEvent::RouteTaken {
                from,
                to,
                count,
                reset,
                ..
            } if !reset.is_empty() => {
                format!("`{from}` sent the run back to `{to}` (time {count})")
            }
            RunEvent::RouteTaken { from, to, .. } => format!("`{from}` sent the run to `{to}`"),
            RunEvent::ItemsResolved { step, items } => {
                format!("`{step}` goes over {} items", items.len())
            }
            RunEvent::PassStarted { step, pass } => format!("`{step}` pass {pass}"),
            RunEvent::CancelRequested => "cancel requested".to_owned(),
            RunEvent::RunFinished { status, error, .. } => {
                let detail = error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
                format!("run {}{detail}", status.as_str())
            }
        };
        let _ = writeln!(out, "- `{time}` {line}");
    }
    out
}

/// The run as one Markdown report: summary, steps, outputs, files and quality.
pub fn report_markdown(result: &PipelineResult, qc: &QcReport) -> String {
    let mut out = format!("# Run of `{}`\n\n", result.pipeline);
    let _ = writeln!(out, "- **Run**: `{}`", result.run_id);
    let _ = writeln!(out, "- **Status**: {}", result.status.as_str());
    if let Some(started) = result.started_at {
        let _ = writeln!(out, "- **Started**: {started}");
    }
    let _ = writeln!(
        out,
        "- **Duration**: {}",
        human_duration(result.duration_ms)
    );
    let _ = writeln!(
        out,
        "- **Quality**: {}/100{}",
        qc.score,
        if qc.production_ready {
            ", production ready"
        } else {
            ""
        }
    );
    if result.usage.total_tokens > 0 {
        let _ = writeln!(out, "- **Tokens**: {}", result.usage.total_tokens);
    }
    if let Some(error) = &result.error {
        let _ = writeln!(out, "- **Error**: {}", one_line(error));
    }
    if !result.inputs.is_empty() {
        out.push_str("\n## Inputs\n\n");
        for (name, value) in &result.inputs {
            let _ = writeln!(out, "- `{name}`: {}", one_line(&value_text(value)));
        }
    }
    out.push_str("\n## Steps\n\n| step | action | status | attempts | time | note |\n|---|---|---|---:|---:|---|\n");
    for step in &result.steps {
        let note = step
            .error
            .clone()
            .or_else(|| {
                step.skipped
                    .map(|reason| format!("skipped: {}", reason.describe()))
            })
            .or_else(|| {
                step.reused_from
                    .as_ref()
                    .map(|from| format!("reused from {from}"))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            step.key,
            step.action.as_deref().unwrap_or(""),
            step.status.as_str(),
            step.attempts,
            human_duration(step.duration_ms),
            cell(&note)
        );
    }
    if !result.outputs.is_empty() {
        out.push_str("\n## Outputs\n");
        for (name, value) in &result.outputs {
            let _ = write!(out, "\n### `{name}`\n\n{}\n", fenced(&value_text(value)));
        }
    }
    if !result.artifacts.is_empty() {
        out.push_str("\n## Files\n\n| file | step | size | sha256 |\n|---|---|---:|---|\n");
        for artifact in &result.artifacts {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | `{}` |",
                artifact.path,
                artifact.step,
                artifact.size,
                &artifact.sha256[..artifact.sha256.len().min(12)]
            );
        }
    }
    let _ = write!(
        out,
        "\n## Quality control\n\nScore **{}/100** from {} checks. ",
        qc.score, qc.checks
    );
    out.push_str(if qc.production_ready {
        "Production ready.\n"
    } else {
        "Not production ready.\n"
    });
    if qc.issues.is_empty() {
        out.push_str("\nNo issues found.\n");
    } else {
        out.push('\n');
        for issue in &qc.issues {
            let place = match (&issue.file, issue.line) {
                (Some(file), Some(line)) => format!(" (`{file}`, line {line})"),
                (Some(file), None) => format!(" (`{file}`)"),
                (None, Some(line)) => format!(" (line {line})"),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "- **{}** {}{place}",
                issue.severity.as_str(),
                one_line(&issue.message)
            );
        }
    }
    if !qc.recommendations.is_empty() {
        out.push_str("\n### Recommendations\n\n");
        for advice in &qc.recommendations {
            let _ = writeln!(out, "- {advice}");
        }
    }
    out
}

/// A value as text: a string as it is, anything else as pretty JSON.
pub(super) fn value_text(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Null => output_text(value),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

/// Text in a code fence long enough that the text cannot close it.
fn fenced(text: &str) -> String {
    let longest = text
        .lines()
        .map(|line| line.chars().take_while(|c| *c == '`').count())
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}\n{}\n{fence}", text.trim_end())
}
