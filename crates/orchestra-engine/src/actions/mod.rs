//! The actions, one file each, and the one list that registers them.
//!
//! Each file declares what its action takes (an [`ActionSpec`], which loading and validation check
//! steps against) and how it runs (a [`RunFn`]). Adding an action means adding its file and one
//! line to [`ACTIONS`]; a test checks that no name is registered twice and that every action's
//! example validates.

mod agent;
mod approval;
mod conversation;
mod file_list;
mod file_read;
mod file_write;
mod generate;
mod http;
mod pipeline;
mod shell;
mod template;
mod tools;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures::future::BoxFuture;
use orchestra_pipeline::{ActionSpec, Catalog};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::event::{RunEvent, StepKey};
use crate::models::ModelClient;
use crate::plan::Plan;
use crate::result::Usage;
use crate::workspace::Workspace;

/// An action: what it takes and how it runs.
pub struct Action {
    /// Its name, parameters and documentation.
    pub spec: ActionSpec,
    /// How one attempt runs.
    pub run: RunFn,
    /// Whether it changes anything outside the run.
    pub effects: Effects,
    /// Whether it may change files in the workspace.
    pub writes: Writes,
}

/// Whether an action may change files in the workspace, which decides, in a run with a
/// repository, whether two steps running at the same time need worktrees of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// It never does.
    Never,
    /// It may.
    Always,
    /// It may when it has a tool that writes: `write_file`, or a workspace command. An agent
    /// defined in a file of its own counts as one that may (its tools are read when it runs).
    WithTools,
}

/// The built-in tools that only read.
const READING_TOOLS: &[&str] = &["read_file", "list_files", "http_get", "git_diff"];

impl Writes {
    /// Whether a step with these parameters may change files.
    pub fn may_write(self, params: &indexmap::IndexMap<String, Value>) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::WithTools => match params.get("tools") {
                Some(Value::Array(tools)) => tools.iter().any(|tool| {
                    tool.as_str()
                        .is_none_or(|name| !READING_TOOLS.contains(&name))
                }),
                Some(_) => true,
                None => params.contains_key("agent"),
            },
        }
    }
}

/// Whether an action changes anything outside the run, which decides when its start is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effects {
    /// It only computes or reads (a template, reading a file): running it again changes
    /// nothing, so its start is committed together with its end, one commit per attempt.
    ReadOnly,
    /// It writes files, runs programs, or calls servers or models: its start is committed before
    /// it runs, so that an attempt cut short by a crash is known to have been in flight.
    Changes,
}

/// How one attempt of an action runs.
pub type RunFn = for<'a> fn(Call<'a>) -> BoxFuture<'a, Result<Done, Failure>>;

/// Every action, in the order they are documented.
pub const ACTIONS: &[&Action] = &[
    &shell::ACTION,
    &generate::ACTION,
    &agent::ACTION,
    &http::ACTION,
    &file_read::ACTION,
    &file_write::ACTION,
    &file_list::ACTION,
    &template::ACTION,
    &approval::ACTION,
    &pipeline::ACTION,
];

/// The specs of [`ACTIONS`], in the same order.
const SPECS: [&ActionSpec; ACTIONS.len()] = specs();

const fn specs() -> [&'static ActionSpec; ACTIONS.len()] {
    let mut specs = [&ACTIONS[0].spec; ACTIONS.len()];
    let mut at = 0;
    while at < ACTIONS.len() {
        specs[at] = &ACTIONS[at].spec;
        at += 1;
    }
    specs
}

/// The tools an agent may call without the workspace declaring them.
pub const BUILTIN_TOOLS: &[&str] = &[
    "read_file",
    "list_files",
    "write_file",
    "http_get",
    "git_diff",
];

/// The actions and tools of this engine, for loading and validating pipelines.
pub const CATALOG: Catalog = Catalog {
    actions: &SPECS,
    builtin_tools: BUILTIN_TOOLS,
};

/// The action with this name.
pub fn action(name: &str) -> Option<&'static Action> {
    ACTIONS
        .iter()
        .copied()
        .find(|action| action.spec.name == name)
}

/// What an action can use of the run it belongs to.
pub trait Env: Send + Sync {
    /// The workspace that file steps and programs work in.
    fn workspace(&self) -> &Workspace;
    /// The folder of the pipeline file (sub-pipelines are found from it).
    fn pipeline_dir(&self) -> &Path;
    /// The pipeline file (prompt layers are looked up next to it).
    fn pipeline_file(&self) -> &Path;
    /// The compiled pipeline: its models and workspace tools.
    fn plan(&self) -> &Plan;
    /// The HTTP client of the run.
    fn http(&self) -> Result<&reqwest::Client, Failure>;
    /// The language models.
    fn models(&self) -> &dyn ModelClient;
    /// Cancelled when the run stops.
    fn cancel(&self) -> &CancellationToken;
    /// Commits an event of the step (output, an artifact, usage) before others see it.
    fn emit(&self, event: RunEvent) -> Result<(), Failure>;
    /// The state of an approval: of an `approval` step, a tool call waiting for one, or the end
    /// of an interactive conversation.
    fn approval(&self, step: &StepKey) -> ApprovalState;
    /// The conversation of an agent step so far, as recorded (empty before its first turn).
    fn conversation(&self, step: &StepKey) -> crate::run::Conversation;
    /// Now, from the run's clock.
    fn now(&self) -> jiff::Timestamp;
    /// Runs another pipeline file as a child run and returns its outputs; cancelling
    /// `cancel_child` stops the child run.
    fn run_child<'a>(
        &'a self,
        step: &'a StepKey,
        path: &'a str,
        inputs: Map<String, Value>,
        cancel_child: CancellationToken,
    ) -> BoxFuture<'a, Result<Value, Failure>>;
}

/// Where an approval stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalState {
    /// Nobody has been asked yet.
    NotAsked,
    /// A person was asked and has not answered; unanswered after `deadline` it counts as rejected.
    Asked {
        /// When it counts as rejected.
        deadline: Option<jiff::Timestamp>,
    },
    /// A person answered.
    Answered {
        /// Whether they approved.
        approved: bool,
        /// What they said.
        comment: Option<String>,
        /// Who they are.
        by: Option<String>,
    },
}

/// One attempt of a step, as its action sees it.
pub struct Call<'a> {
    /// The step.
    pub step: &'a StepKey,
    /// The action's name.
    pub action: &'a str,
    /// Its parameters, templates rendered.
    pub params: &'a Map<String, Value>,
    /// The run.
    pub env: &'a dyn Env,
    /// The step's `timeout`: past it the attempt must stop (and kill what it started).
    pub timeout: Option<Duration>,
}

impl Call<'_> {
    /// A text parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }

    /// A boolean parameter, false when absent.
    pub fn flag(&self, name: &str) -> bool {
        self.params
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A text parameter the step must have; its spec makes it required, so its absence is a bug
    /// of loading, reported as a failure rather than a panic.
    pub fn required(&self, name: &str) -> Result<&str, Failure> {
        self.text(name)
            .ok_or_else(|| Failure::fatal(format!("the step has no `{name}`")))
    }

    /// Runs a future until it completes, the run is cancelled, or the step's timeout passes.
    pub async fn bounded<T>(&self, future: impl Future<Output = T>) -> Result<T, Failure> {
        let deadline = async {
            match self.timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.env.cancel().cancelled() => Err(Failure::cancelled()),
            () = deadline => Err(self.timed_out()),
            value = future => Ok(value),
        }
    }

    /// The failure of an attempt that ran out of time.
    pub fn timed_out(&self) -> Failure {
        let limit = self
            .timeout
            .map(crate::plan::describe_duration)
            .unwrap_or_default();
        Failure::retryable(format!("timed out after {limit}"))
    }
}

/// What a finished attempt produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionOutput {
    /// The step's output: text, or JSON.
    pub output: Value,
    /// A program's exit code, or an HTTP status.
    pub exit_code: Option<i32>,
    /// A program's standard error.
    pub stderr: Option<String>,
    /// Files produced, relative to the workspace.
    pub files: Vec<String>,
    /// Tokens used.
    pub usage: Option<Usage>,
    /// A person said no (an approval): why.
    pub rejection: Option<String>,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Done {
    /// It produced an output.
    Output(ActionOutput),
    /// It waits for a person; the run pauses until they answer.
    Parked,
}

/// An attempt that did not succeed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// What went wrong, as a sentence.
    pub message: String,
    /// Whether another attempt may succeed (a flaky command, a 503) or would fail the same way
    /// (a program that does not exist, a path outside the workspace).
    pub retryable: bool,
    /// The run is stopping; this is not the step's fault.
    pub cancelled: bool,
    /// What the attempt produced before it failed (a failing command's output and exit code),
    /// so that `on_failure: continue` can pass it on.
    pub partial: Option<Box<ActionOutput>>,
    /// The least wait before another attempt, when the other side said (a `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure that another attempt would repeat.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            cancelled: false,
            partial: None,
            retry_after: None,
        }
    }

    /// A failure that another attempt may not repeat.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            ..Self::fatal(message)
        }
    }

    /// The run is stopping.
    pub fn cancelled() -> Self {
        Self {
            cancelled: true,
            ..Self::fatal("the run was cancelled")
        }
    }

    /// Asks that another attempt wait at least this long.
    #[must_use]
    pub fn after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// Keeps what the attempt produced.
    #[must_use]
    pub fn with_output(mut self, partial: ActionOutput) -> Self {
        self.partial = Some(Box::new(partial));
        self
    }
}
