//! What a step and a run produce.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::SkipReason;
use crate::state::StepStatus;

/// How a run ended, or where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Running now.
    Running,
    /// Paused until a person answers an approval.
    Waiting,
    /// Every step that ran succeeded (or failed with `on_failure: continue`).
    Succeeded,
    /// A step failed, or the circuit breaker stopped the run.
    Failed,
    /// Someone cancelled it.
    Cancelled,
    /// A person rejected an approval.
    Rejected,
    /// Its process died while it ran (killed, crashed, machine restarted); it can be resumed.
    Interrupted,
}

impl RunStatus {
    /// The lowercase word used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Interrupted => "interrupted",
        }
    }

    /// Reads the word back.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Waiting,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
            Self::Rejected,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// Whether the run is over for good (it can still be resumed if it failed or was cancelled).
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Running | Self::Waiting)
    }
}

/// Tokens a model step used, and what they cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
    /// What they cost in US dollars, when the model's prices are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl Usage {
    /// Adds another call's usage to this one. The cost stays known only while every call's
    /// cost is known; an empty usage adds nothing.
    pub fn add(&mut self, other: &Usage) {
        let empty = self.total_tokens == 0 && self.cost_usd.is_none();
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            _ if empty => other.cost_usd,
            (Some(mine), Some(theirs)) => Some(mine + theirs),
            _ => None,
        };
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// What a finished step produced; later templates read it as `{{ id.field }}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// How it ended: succeeded, failed, skipped or cancelled.
    pub status: StepStatus,
    /// Its output: text, or parsed JSON.
    pub output: Value,
    /// A program's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// A program's standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// The files it produced, relative to the workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Tokens a model step used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many attempts it took.
    pub attempts: u32,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
    /// Where a reused result came from (`cache` or `--reuse`): the run and step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
    /// The hash of the action and its rendered inputs, for `cache: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_hash: Option<String>,
    /// The results of the step's declared `qc:` checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    /// The commit that records what it changed in the run's repository, when it changed
    /// anything (a run whose pipeline names a `workspace.repo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The result of one declared quality-control check of a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check as written, such as `contains: "## Summary"`.
    pub check: String,
    /// Whether it passed; `None` when it could not be run (a `judge` without a model).
    pub passed: Option<bool>,
    /// What it found, when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A judge's score, from 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// A judge's findings, each with how much it matters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// A problem a judge found in a step's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: crate::qc::Severity,
    /// What it is.
    pub message: String,
}

impl StepResult {
    /// The result of a step that did not run.
    pub fn skipped(reason: SkipReason) -> Self {
        Self {
            status: StepStatus::Skipped,
            output: Value::Null,
            exit_code: None,
            stderr: None,
            files: Vec::new(),
            duration_ms: 0,
            usage: None,
            error: None,
            attempts: 0,
            skipped: Some(reason),
            reused_from: None,
            inputs_hash: None,
            checks: Vec::new(),
            commit: None,
        }
    }

    /// The result of a step that failed with `error`.
    pub fn failed(error: impl Into<String>, attempts: u32, duration_ms: u64) -> Self {
        Self {
            status: StepStatus::Failed,
            error: Some(error.into()),
            attempts,
            duration_ms,
            skipped: None,
            ..Self::skipped(SkipReason::Condition)
        }
    }

    /// The result of a step that succeeded with `output`.
    pub fn succeeded(output: Value) -> Self {
        Self {
            status: StepStatus::Succeeded,
            output,
            attempts: 1,
            skipped: None,
            ..Self::skipped(SkipReason::Condition)
        }
    }

    /// What templates see: `output`, `exit_code`, `stderr`, `files`, `duration` (seconds), `usage`,
    /// `status` and `error`.
    pub fn template_value(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("output".into(), self.output.clone());
        object.insert(
            "exit_code".into(),
            self.exit_code.map_or(Value::Null, Value::from),
        );
        object.insert(
            "stderr".into(),
            self.stderr.clone().map_or(Value::Null, Value::from),
        );
        object.insert("files".into(), Value::from(self.files.clone()));
        #[allow(clippy::cast_precision_loss)] // Durations are far below 2^52 milliseconds.
        object.insert(
            "duration".into(),
            Value::from(self.duration_ms as f64 / 1000.0),
        );
        object.insert(
            "usage".into(),
            serde_json::to_value(self.usage.unwrap_or_default()).unwrap_or(Value::Null),
        );
        object.insert("status".into(), Value::from(self.status.as_str()));
        object.insert(
            "error".into(),
            self.error.clone().map_or(Value::Null, Value::from),
        );
        object.insert(
            "commit".into(),
            self.commit.clone().map_or(Value::Null, Value::from),
        );
        Value::Object(object)
    }
}
