//! The execution plan: what the engine runs and what the studio draws.

use indexmap::IndexMap;
use orchestra_pipeline::model::{
    Duration, EdgeKind, Input, Join, Models, OnFailure, QcCheck, Route, Tool,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A compiled pipeline: its steps with every default applied, the edges between them, and the
/// levels in which they can run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The pipeline's id.
    pub pipeline: String,
    /// The pipeline's name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The inputs a run takes.
    pub inputs: IndexMap<String, Input>,
    /// How many steps may run at once; `None` for no limit beyond the machine's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// After this many failed steps the run stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// The top-level steps.
    pub graph: Graph,
    /// What the run returns, as templates.
    pub outputs: IndexMap<String, String>,
    /// Values the orchestrator model is to choose before the run (`<AUTO>` tags).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auto: Vec<AutoValue>,
    /// The pipeline's `models:` section, which LLM steps resolve their models with.
    #[serde(skip_serializing_if = "Models::is_empty")]
    pub models: Models,
    /// The workspace's named commands, which agents may call.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub tools: IndexMap<String, Tool>,
}

/// The steps of one scope (the pipeline's top level, or a body) and the edges among them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Graph {
    /// The steps, in file order.
    pub steps: Vec<PlannedStep>,
    /// Every edge between them.
    pub edges: Vec<Edge>,
    /// The steps by level: a step's level is one more than the highest level of the steps it
    /// waits for, so every step of a level can run at the same time.
    pub levels: Vec<Vec<String>>,
}

impl Graph {
    /// Each step's index in `steps`, by id.
    pub fn positions(&self) -> std::collections::HashMap<&str, usize> {
        self.steps
            .iter()
            .enumerate()
            .map(|(at, step)| (step.id.as_str(), at))
            .collect()
    }
}

/// An edge between two steps of one scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Where the edge starts: the dependency, or the step that routes.
    pub from: String,
    /// Where it ends.
    pub to: String,
    /// What it means.
    pub kind: EdgeKind,
    /// Whether it leads back to an earlier step (a bounded loop).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub back: bool,
    /// A route's condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// A route's bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_loops: Option<u32>,
}

/// One step with everything the engine needs to run it.
// Its flags are independent facts about the step, each shown as it is to the studio.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedStep {
    /// The id.
    pub id: String,
    /// The name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its level in its graph.
    pub level: usize,
    /// Whether the step runs only when a routing key (`on_success`, `on_failure`, `on_false` or
    /// a forward route) sends the run to it, rather than as soon as its dependencies are done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gated: bool,
    /// What it does.
    #[serde(flatten)]
    pub work: Work,
    /// The steps it waits for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Whether all of them must succeed or any one.
    pub join: Join,
    /// The expression that must hold for it to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Where to go when the condition is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_false: Option<String>,
    /// Where to go on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_success: Option<String>,
    /// What happens on failure.
    pub on_failure: OnFailure,
    /// Conditional jumps after success.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// How long it may run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How it is tried again.
    pub retry: RetryPolicy,
    /// Whether an earlier identical result is reused.
    pub cache: bool,
    /// The files it produces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub produces: Vec<String>,
    /// Its quality-control checks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub qc: Vec<QcCheck>,
    /// Whether it is disabled.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// In a pipeline with a repository: whether it may change files while another step that may
    /// also do so runs, so that it works in a worktree of its own, merged back at the join.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub own_worktree: bool,
}

/// What a planned step does.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// An action with its parameters, defaults applied.
    Action {
        /// The action's name.
        action: String,
        /// Its parameters.
        params: IndexMap<String, Value>,
    },
    /// A body run once per item.
    ForEach {
        /// The list, or a template giving it.
        items: Value,
        /// How many items run at once.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_parallel: Option<u32>,
        /// The body.
        body: Graph,
    },
    /// A body run while a condition holds.
    While {
        /// The expression, checked before each pass.
        condition: String,
        /// The bound on passes.
        max_iterations: u32,
        /// The body.
        body: Graph,
    },
    /// A body run until a condition holds.
    Until {
        /// The expression, checked after each pass.
        condition: String,
        /// The bound on passes.
        max_iterations: u32,
        /// The body.
        body: Graph,
    },
}

/// How a failed step is tried again, every field decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Attempts in all; 1 means no retry.
    pub attempts: u32,
    /// Whether the wait doubles each time.
    pub exponential: bool,
    /// The wait before the second attempt.
    pub delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Whether waits are randomised a little.
    pub jitter: bool,
}

/// A value written as `<AUTO>…</AUTO>`, for the orchestrator model to choose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AutoValue {
    /// The step it belongs to.
    pub step: String,
    /// The parameter.
    pub param: String,
    /// The instruction to the orchestrator.
    pub instruction: String,
}

/// The chosen value of one `<AUTO>` tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoAnswer {
    /// The step's id.
    pub step: String,
    /// The parameter.
    pub param: String,
    /// The instruction it answers; an answer holds only for the same instruction.
    pub instruction: String,
    /// The value.
    pub value: Value,
    /// Where it came from, as a phrase: the orchestrator model and why it chose the value, a
    /// pin, or an earlier run.
    pub source: String,
}

impl AutoAnswer {
    /// Whether this answers `auto`.
    pub fn answers(&self, auto: &AutoValue) -> bool {
        self.step == auto.step && self.param == auto.param && self.instruction == auto.instruction
    }
}

/// A standard duration written the way pipelines write them, such as `1m30s`.
pub fn describe_duration(duration: std::time::Duration) -> String {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
        .text()
        .to_owned()
}
