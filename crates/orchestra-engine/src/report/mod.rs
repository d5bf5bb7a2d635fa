//! `PipelineResult`: everything a run produced, built from its event log. The same object feeds
//! the command line (`orchestra show`), the studio and exported reports.

mod html;
mod markdown;

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{Record, RunEvent, SkipReason, StepKey};
use crate::models::Prepared;
use crate::plan::{Graph, Plan, Work};
use crate::qc::{QcReport, assess};
use crate::result::{CheckResult, RunStatus, Usage};
use crate::run::RunState;
use crate::state::StepStatus;

pub use html::report_html;
pub use markdown::{log_markdown, report_markdown};

/// Everything a run produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PipelineResult {
    /// The run's id.
    pub run_id: String,
    /// The pipeline's id.
    pub pipeline: String,
    /// The pipeline file.
    pub file: String,
    /// The folder the run worked in.
    pub workspace: String,
    /// How it stands.
    pub status: RunStatus,
    /// Why it did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// How long it took, in milliseconds (so far, for a run that goes on).
    pub duration_ms: u64,
    /// Its inputs.
    pub inputs: Map<String, Value>,
    /// Every step that did anything, in the order they started.
    pub steps: Vec<StepReport>,
    /// What it returned.
    pub outputs: Map<String, Value>,
    /// The files it produced.
    pub artifacts: Vec<ArtifactReport>,
    /// Tokens used by its model steps.
    pub usage: Usage,
    /// Every event, in order.
    pub log: Vec<Record>,
}

/// One step of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    /// Where it ran (`id`, or `per_topic[2]/notes` in a body).
    pub key: String,
    /// Its id.
    pub id: String,
    /// Its name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its action, or `for_each`, `while` or `until`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// How it ended, or where it is.
    pub status: StepStatus,
    /// Its attempts.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: Option<Timestamp>,
    /// When its first attempt started.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Its inputs as rendered for its last attempt: the exact command or prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Its output.
    pub output: Value,
    /// A program's exit code, or an HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A program's standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
    /// Where a reused result came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// Tokens it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Files it produced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// For an LLM step: the model it used and the exact system prompt it sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Prepared>,
    /// For an agent step: every tool it called, with what came back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallReport>,
    /// Its declared checks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// The commit that records what it changed in the run's repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// What it printed or streamed, as it came.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log: String,
}

/// A tool an agent step called.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolCallReport {
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// What it returned, or why it failed.
    pub result: Option<String>,
    /// Whether it failed.
    pub is_error: bool,
}

/// A file a run produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArtifactReport {
    /// The path, relative to the workspace.
    pub path: String,
    /// The step that wrote it last.
    pub step: String,
    /// The SHA-256 of its content.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

impl PipelineResult {
    /// The result of a run from its event log. `plan` (compiled from the run's snapshot) names
    /// each step's action; `status` overrides the logged status (a run whose owner died is
    /// interrupted, which its log cannot say).
    pub fn from_log(
        run_id: &str,
        records: &[Record],
        plan: Option<&Plan>,
        status: Option<RunStatus>,
    ) -> Self {
        let events: Vec<&RunEvent> = records.iter().map(|record| &record.event).collect();
        let state = RunState::fold(events.iter().copied()).unwrap_or_default();
        let mut result = Self {
            run_id: run_id.to_owned(),
            pipeline: state.pipeline.clone(),
            file: String::new(),
            workspace: String::new(),
            status: status.or(state.status).unwrap_or(RunStatus::Running),
            error: state.error.clone(),
            started_at: None,
            finished_at: None,
            duration_ms: 0,
            inputs: state.inputs.clone(),
            steps: Vec::new(),
            outputs: state.outputs.clone(),
            artifacts: Vec::new(),
            usage: Usage::default(),
            log: records.to_vec(),
        };
        let names = plan.map(|plan| step_names(&plan.graph)).unwrap_or_default();
        let mut order: Vec<StepKey> = Vec::new();
        let mut reports: HashMap<StepKey, StepReport> = HashMap::new();
        let mut artifacts: Vec<ArtifactReport> = Vec::new();
        for record in records {
            if let Some(step) = record.event.step()
                && !matches!(record.event, RunEvent::RouteTaken { .. })
                && !reports.contains_key(step)
            {
                order.push(step.clone());
                let (name, action) = names.get(step.id()).cloned().unwrap_or_default();
                reports.insert(step.clone(), empty_report(step, name, action));
            }
            let report = record.event.step().and_then(|step| reports.get_mut(step));
            match (&record.event, report) {
                (
                    RunEvent::RunStarted {
                        file, workspace, ..
                    },
                    _,
                ) => {
                    result.file.clone_from(file);
                    result.workspace.clone_from(workspace);
                    result.started_at = Some(record.at);
                }
                (RunEvent::RunFinished { .. }, _) => result.finished_at = Some(record.at),
                (RunEvent::RunResumed, _) => result.finished_at = None,
                (RunEvent::StepQueued { .. }, Some(report)) => report.queued_at = Some(record.at),
                (
                    RunEvent::StepStarted {
                        attempt, inputs, ..
                    },
                    Some(report),
                ) => {
                    if *attempt == 1 {
                        report.started_at = Some(record.at);
                    }
                    report.attempts = *attempt;
                    if !inputs.is_null() {
                        report.inputs = Some(inputs.clone());
                    }
                }
                (RunEvent::OutputChunk { text, .. }, Some(report)) => report.log.push_str(text),
                (RunEvent::StepFinished { .. }, Some(report)) => {
                    report.finished_at = Some(record.at);
                }
                (RunEvent::Usage { usage, .. }, _) => result.usage.add(usage),
                (RunEvent::ModelPrepared { prepared, .. }, Some(report)) => {
                    report.model = Some(prepared.clone());
                }
                (RunEvent::ToolCalled { call, .. }, Some(report)) => {
                    report.tool_calls.push(ToolCallReport {
                        tool: call.name.clone(),
                        arguments: call.arguments.clone(),
                        result: None,
                        is_error: false,
                    });
                }
                (
                    RunEvent::ToolReturned {
                        content, is_error, ..
                    },
                    Some(report),
                ) => {
                    if let Some(last) = report.tool_calls.last_mut() {
                        last.result = Some(content.clone());
                        last.is_error = *is_error;
                    }
                }
                (
                    RunEvent::Artifact {
                        step,
                        path,
                        sha256,
                        size,
                    },
                    _,
                ) => {
                    artifacts.retain(|artifact| artifact.path != *path);
                    artifacts.push(ArtifactReport {
                        path: path.clone(),
                        step: step.to_string(),
                        sha256: sha256.clone(),
                        size: *size,
                    });
                }
                _ => {}
            }
        }
        for key in order {
            let Some(mut report) = reports.remove(&key) else {
                continue;
            };
            if let Some(step) = state.steps.get(&key) {
                report.status = step.status;
                if let Some(step_result) = &step.result {
                    report.output = step_result.output.clone();
                    report.exit_code = step_result.exit_code;
                    report.stderr.clone_from(&step_result.stderr);
                    report.error.clone_from(&step_result.error);
                    report.skipped = step_result.skipped;
                    report.reused_from.clone_from(&step_result.reused_from);
                    report.usage = step_result.usage;
                    report.files.clone_from(&step_result.files);
                    report.checks.clone_from(&step_result.checks);
                    report.commit.clone_from(&step_result.commit);
                    report.duration_ms = step_result.duration_ms;
                    report.attempts = report.attempts.max(step_result.attempts);
                }
            }
            result.steps.push(report);
        }
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        result.artifacts = artifacts;
        if let (Some(start), end) = (
            result.started_at,
            result
                .finished_at
                .or(records.last().map(|record| record.at)),
        ) {
            result.duration_ms = end.map_or(0, |end| {
                u64::try_from(end.duration_since(start).as_millis()).unwrap_or(0)
            });
        }
        result
    }

    /// The quality-control report: rule checks on outputs and produced files (read from the
    /// run's workspace), and each step's declared checks.
    pub fn qc(&self) -> QcReport {
        let workspace = std::path::PathBuf::from(&self.workspace);
        assess(self, &|path| {
            // Only files inside the workspace (a relative path that never climbs), and only text.
            let inside = std::path::Path::new(path).components().all(|part| {
                matches!(
                    part,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
            inside
                .then(|| std::fs::read_to_string(workspace.join(path)).ok())
                .flatten()
        })
    }

    /// The steps that matter to a reader: the top-level ones, and those inside bodies.
    pub fn step(&self, key: &str) -> Option<&StepReport> {
        self.steps.iter().find(|step| step.key == key)
    }
}

fn empty_report(key: &StepKey, name: Option<String>, action: Option<String>) -> StepReport {
    StepReport {
        key: key.to_string(),
        id: key.id().to_owned(),
        name,
        action,
        status: StepStatus::Pending,
        attempts: 0,
        queued_at: None,
        started_at: None,
        finished_at: None,
        duration_ms: 0,
        inputs: None,
        output: Value::Null,
        exit_code: None,
        stderr: None,
        error: None,
        skipped: None,
        reused_from: None,
        usage: None,
        files: Vec::new(),
        model: None,
        tool_calls: Vec::new(),
        checks: Vec::new(),
        commit: None,
        log: String::new(),
    }
}

/// Each step's name and action, by id, through every body.
fn step_names(graph: &Graph) -> HashMap<String, (Option<String>, Option<String>)> {
    let mut names = HashMap::new();
    for step in &graph.steps {
        let (action, body) = match &step.work {
            Work::Action { action, .. } => (action.clone(), None),
            Work::ForEach { body, .. } => ("for_each".to_owned(), Some(body)),
            Work::While { body, .. } => ("while".to_owned(), Some(body)),
            Work::Until { body, .. } => ("until".to_owned(), Some(body)),
        };
        names.insert(step.id.clone(), (step.name.clone(), Some(action)));
        if let Some(body) = body {
            names.extend(step_names(body));
        }
    }
    names
}

/// A duration in milliseconds for people: `850ms`, `2.4s`, `3m05s`.
pub fn human_duration(millis: u64) -> String {
    if millis < 1_000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        #[allow(clippy::cast_precision_loss)] // Below a minute, exact enough.
        let seconds = millis as f64 / 1000.0;
        format!("{seconds:.1}s")
    } else {
        let seconds = millis / 1000;
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}
