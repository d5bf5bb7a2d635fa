//! A step's declared `qc:` checks, run when the step succeeds; their results are kept with the
//! step's result, so the run's quality report reflects the workspace as the step left it.

use std::sync::Arc;
use std::time::Duration;

use orchestra_pipeline::model::QcCheck;
use serde_json::Value;

use super::Shared;
use super::context::Frame;
use crate::plan::PlannedStep;
use crate::qc::{has_template_artifacts, output_text};
use crate::result::{CheckResult, StepResult};

/// How long a `command` check may run.
const COMMAND_TIMEOUT: Duration = Duration::from_mins(1);

/// Runs a step's checks against its result.
pub(crate) async fn run_checks(
    shared: &Arc<Shared>,
    scope: &str,
    frame: &Frame,
    step: &PlannedStep,
    result: &StepResult,
) -> Vec<CheckResult> {
    let mut results = Vec::with_capacity(step.qc.len());
    for check in &step.qc {
        if let QcCheck::Judge(rubric) = check {
            results.push(super::judge::judge(shared, scope, frame, step, result, rubric).await);
            continue;
        }
        let (passed, message) = run_check(shared, scope, frame, step, result, check).await;
        results.push(CheckResult {
            check: describe(check),
            passed,
            message,
            score: None,
            findings: Vec::new(),
        });
    }
    results
}

async fn run_check(
    shared: &Arc<Shared>,
    scope: &str,
    frame: &Frame,
    step: &PlannedStep,
    result: &StepResult,
    check: &QcCheck,
) -> (Option<bool>, Option<String>) {
    let text = output_text(&result.output);
    let verdict = |passed: bool, message: String| (Some(passed), (!passed).then_some(message));
    let render = |template: &str| {
        let root = shared.template_root(scope, frame, Some((&step.id, result)));
        shared
            .templates
            .render(template, &root)
            .map_err(|error| error.0)
    };
    match check {
        QcCheck::NotEmpty => verdict(!text.trim().is_empty(), "the output is empty".to_owned()),
        QcCheck::NoTemplateArtifacts => verdict(
            !has_template_artifacts(&text),
            "the output holds unrendered template text".to_owned(),
        ),
        QcCheck::Contains(needle) => verdict(
            text.contains(needle.as_str()),
            format!("the output does not contain `{needle}`"),
        ),
        QcCheck::Regex(pattern) => match regex::Regex::new(pattern) {
            Ok(regex) => verdict(
                regex.is_match(&text),
                format!("the output does not match /{pattern}/"),
            ),
            Err(error) => (
                Some(false),
                Some(format!("the pattern is not valid: {error}")),
            ),
        },
        QcCheck::JsonSchema(schema) => {
            let document = match &result.output {
                Value::String(text) => serde_json::from_str(text).ok(),
                other => Some(other.clone()),
            };
            let Some(document) = document else {
                return (Some(false), Some("the output is not JSON".to_owned()));
            };
            match jsonschema::validator_for(schema) {
                Ok(validator) => match validator.iter_errors(&document).next() {
                    None => (Some(true), None),
                    Some(error) => (
                        Some(false),
                        Some(format!(
                            "the output does not match the schema: {error} at `{}`",
                            error.instance_path()
                        )),
                    ),
                },
                Err(error) => (
                    Some(false),
                    Some(format!("the schema cannot be used: {error}")),
                ),
            }
        }
        QcCheck::MaxLength(limit) => {
            let length = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
            verdict(
                length <= *limit,
                format!("the output is {length} characters long, more than {limit}"),
            )
        }
        QcCheck::FileExists(path) => match render(path) {
            Ok(path) => match shared.workspace.resolve(&path) {
                Ok(full) => verdict(full.is_file(), format!("the file `{path}` does not exist")),
                Err(error) => (Some(false), Some(error.to_string())),
            },
            Err(error) => (
                Some(false),
                Some(format!("the path does not render: {error}")),
            ),
        },
        QcCheck::Command(argv) => {
            let argv: Result<Vec<String>, String> = argv.iter().map(|arg| render(arg)).collect();
            match argv {
                Ok(argv) => run_command(shared, frame, &argv).await,
                Err(error) => (
                    Some(false),
                    Some(format!("the command does not render: {error}")),
                ),
            }
        }
        QcCheck::Judge(_) => (None, Some("a judge is run apart".to_owned())),
    }
}

async fn run_command(
    shared: &Shared,
    frame: &Frame,
    argv: &[String],
) -> (Option<bool>, Option<String>) {
    let Some((program, arguments)) = argv.split_first() else {
        return (Some(false), Some("the command is empty".to_owned()));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(arguments)
        .current_dir(shared.workspace.root())
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    let output = tokio::select! {
        output = tokio::time::timeout(COMMAND_TIMEOUT, command.output()) => output,
        () = frame.cancel.cancelled() => return (None, Some("the run was stopped before the check ran".to_owned())),
    };
    match output {
        Ok(Ok(output)) if output.status.success() => (Some(true), None),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let detail = stderr
                .lines()
                .chain(stdout.lines())
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("no output");
            (
                Some(false),
                Some(format!(
                    "`{program}` exited with status {}: {detail}",
                    output.status.code().unwrap_or(-1)
                )),
            )
        }
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            (Some(false), Some(format!("program `{program}` not found")))
        }
        Ok(Err(error)) => (
            Some(false),
            Some(format!("`{program}` could not run: {error}")),
        ),
        Err(_) => (
            Some(false),
            Some(format!("`{program}` did not finish within a minute")),
        ),
    }
}

/// A check as it is written in the pipeline.
pub(super) fn describe(check: &QcCheck) -> String {
    match check {
        QcCheck::NotEmpty => "not_empty".to_owned(),
        QcCheck::NoTemplateArtifacts => "no_template_artifacts".to_owned(),
        QcCheck::Contains(needle) => format!("contains: \"{needle}\""),
        QcCheck::Regex(pattern) => format!("regex: {pattern}"),
        QcCheck::JsonSchema(_) => "json_schema".to_owned(),
        QcCheck::MaxLength(limit) => format!("max_length: {limit}"),
        QcCheck::FileExists(path) => format!("file_exists: {path}"),
        QcCheck::Command(argv) => format!("command: [{}]", argv.join(", ")),
        QcCheck::Judge(_) => "judge".to_owned(),
    }
}
