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
use crate::actions::structured;
use crate::event::{RunEvent, StepKey};
use crate::models::{Chat, Message, ModelSettings};
use crate::plan::PlannedStep;
use crate::qc::{Severity, output_text};
use crate::result::{CheckResult, Finding, StepResult};

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
    let models = shared.services.models.as_ref();
    let settings = ModelSettings {
        // The orchestrator model judges: the pipeline's, else the user's (see the client).
        model: Some(
            shared
                .plan
                .models
                .orchestrator
                .clone()
                .unwrap_or_else(|| "orchestrator".to_owned()),
        ),
        system: Some(JUDGE_SYSTEM.to_owned()),
        pipeline_file: shared.snapshot_file.clone(),
        models: shared.plan.models.clone(),
        needs_json: true,
        ..ModelSettings::default()
    };
    let prepared = models
        .prepare(&settings)
        .map_err(|error| error.to_string())?;
    let mut output = output_text(&result.output);
    if output.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
        output.push_str("\n[the rest is not shown]");
    }
    let messages = [Message::User {
        text: format!(
            "Rubric: {rubric}\n\nThe output of the step `{}`:\n<output>\n{output}\n</output>",
            key.id()
        ),
    }];
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
    let chat = Chat {
        prepared: &prepared,
        messages: &messages,
        tools: &[],
        temperature: Some(0.0),
        max_tokens: Some(2_000),
        output_schema: Some(&schema),
    };
    let ignore = |_: &str| {};
    let turn = models
        .chat(chat, &ignore)
        .await
        .map_err(|error| error.to_string())?;
    let mut usage = turn.usage;
    usage.cost_usd = prepared.prices.map(|prices| prices.cost(&usage));
    if usage.total_tokens > 0 {
        // The judge's tokens count in the run's usage, under the step it judged.
        let _ = shared.commit(vec![RunEvent::Usage {
            step: key.clone(),
            usage,
        }]);
    }
    let value = structured(&turn.text, &schema)
        .map_err(|problem| format!("its verdict does not fit the expected form: {problem}"))?;
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
