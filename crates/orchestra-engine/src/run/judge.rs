//! `judge` checks: the orchestrator model scores a step's output against a rubric and lists what
//! is wrong with it, each finding with its severity; the findings join the run's QC report.
//!
//! A judge passes when it scores the output at least [`PASS_SCORE`] and finds nothing critical.
//! Its tokens count in the run's usage and cost. A judge that cannot run (no model, no key, an
//! unreadable verdict) is reported as not run, never as passed.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Shared;
use super::context::Frame;
use crate::event::{RunEvent, StepKey};
use crate::models::{ModelSettings, ask_json};
use crate::plan::PlannedStep;
use crate::qc::{Severity, output_text};
use crate::result::{CheckResult, Finding, StepResult, Usage};

/// The lowest score that passes.
pub(crate) const PASS_SCORE: u8 = 60;
/// How much of an output a judge reads.
const MAX_OUTPUT: usize = 48 << 10;

/// What a judge is told it is.
const JUDGE_SYSTEM: &str = "You are a strict, fair reviewer of the output of one step of an automated pipeline. Judge the output only against the rubric you are given. Score it from 0 (useless) to 100 (could not be better), and list each problem you find with its severity: critical (the output cannot be used), major (it must be fixed before use) or minor (it could be better). Do not list strengths.";

/// Judges a step's output against a rubric.
pub(crate) async fn judge(
    shared: &Arc<Shared>,
    scope: &str,
    frame: &Frame,
    step: &PlannedStep,
    result: &StepResult,
    rubric: &str,
) -> CheckResult {
    let key = StepKey::new(scope, &step.id);
    let mut check = CheckResult {
        check: format!("judge: {rubric}"),
        passed: None,
        message: None,
        score: None,
        findings: Vec::new(),
    };
    let verdict = tokio::select! {
        verdict = verdict(shared, &key, result, rubric) => verdict,
        () = frame.cancel.cancelled() => Err("the run was stopped".to_owned()),
    };
    match verdict {
        Ok((marks, findings)) => {
            let critical = findings
                .iter()
                .any(|finding| finding.severity == Severity::Critical);
            let passed = marks >= PASS_SCORE && !critical;
            check.passed = Some(passed);
            check.message = (!passed).then(|| {
                format!(
                    "the judge scored it {marks}/100{}",
                    if critical {
                        " and found a critical problem"
                    } else {
                        ""
                    }
                )
            });
            check.score = Some(marks);
            check.findings = findings;
        }
        Err(problem) => check.message = Some(format!("the judge could not run: {problem}")),
    }
    check
}

async fn verdict(
    shared: &Arc<Shared>,
    key: &StepKey,
    result: &StepResult,
    rubric: &str,
) -> Result<(u8, Vec<Finding>), String> {
    let settings =
        ModelSettings::orchestrator(&shared.plan.models, &shared.snapshot_file, JUDGE_SYSTEM);
    let mut output = output_text(&result.output);
    if crate::cut_to(&mut output, MAX_OUTPUT) > 0 {
        output.push_str("\n[the rest is not shown]");
    }
    let prompt = format!(
        "Rubric: {rubric}\n\nThe output of the step `{}`:\n<output>\n{output}\n</output>",
        key.id()
    );
    let schema = json!({
        "type": "object",
        "required": ["score", "issues"],
        "properties": {
            "score": { "type": "integer", "minimum": 0, "maximum": 100 },
            "issues": { "type": "array", "items": {
                "type": "object",
                "required": ["severity", "message"],
                "properties": {
                    "severity": { "enum": ["critical", "major", "minor"] },
                    "message": { "type": "string" }
                }
            } }
        }
    });
    let mut usage = Usage::default();
    let answer = ask_json(
        shared.services.models.as_ref(),
        &settings,
        &prompt,
        &schema,
        2_000,
        &mut usage,
    )
    .await;
    if usage.total_tokens > 0 {
        // The judge's tokens count in the run's usage, under the step it judged.
        let _ = shared.commit(vec![RunEvent::Usage {
            step: key.clone(),
            usage,
        }]);
    }
    let (value, _) = answer?;
    let score = value
        .get("score")
        .and_then(Value::as_u64)
        .and_then(|score| u8::try_from(score.min(100)).ok())
        .unwrap_or(0);
    let findings = value
        .get("issues")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|issue| {
            Some(Finding {
                severity: serde_json::from_value(issue.get("severity")?.clone()).ok()?,
                message: issue.get("message")?.as_str()?.to_owned(),
            })
        })
        .collect();
    Ok((score, findings))
}
