//! Steps and the keys that control when and how they run.

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::Duration;

/// One node of the pipeline graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The step's id, unique in the pipeline; later steps read its results as `{{ id.output }}`.
    pub id: String,
    /// A name for people.
    pub name: Option<String>,
    /// What the step is for.
    pub description: Option<String>,
    /// What the step does.
    pub body: StepBody,
    /// When and how it runs.
    pub control: Control,
}

/// What a step does: one action, or a body of steps repeated for each item or while a condition
/// holds.
#[derive(Clone, Debug, PartialEq)]
pub enum StepBody {
    /// One action with its parameters, in the order the action declares them.
    Action {
        /// The action's name, such as `shell` or `generate`.
        action: String,
        /// The parameters, written at the step's top level in the file.
        params: IndexMap<String, Value>,
    },
    /// The body runs once for each item; inside it `item` and `index` name the current one.
    ForEach {
        /// A literal list, or a template whose one expression gives the list.
        items: Value,
        /// How many items run at the same time.
        max_parallel: Option<u32>,
        /// The body.
        steps: Vec<Step>,
    },
    /// The body runs again while (or until) a condition holds; inside it `iteration` counts.
    Loop {
        /// The condition and when it is checked.
        condition: LoopCondition,
        /// The bound on iterations; past it the step fails.
        max_iterations: u32,
        /// The body.
        steps: Vec<Step>,
    },
}

/// When a loop stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopCondition {
    /// Checked before each iteration; the loop runs while the expression is true.
    While(String),
    /// Checked after each iteration; the loop runs until the expression is true.
    Until(String),
}

/// The keys that say when and how a step runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Control {
    /// Steps that must finish first; their results flow into this one.
    pub depends_on: Vec<String>,
    /// Whether all dependencies must succeed, or any one of them.
    pub join: Option<Join>,
    /// An expression; when false the step is skipped (or `on_false` runs instead).
    pub condition: Option<String>,
    /// The step to go to when `condition` is false.
    pub on_false: Option<String>,
    /// The step to go to when this one succeeds.
    pub on_success: Option<String>,
    /// What happens when the step fails.
    pub on_failure: Option<OnFailure>,
    /// Conditional jumps, checked when the step has finished and the run goes on past it (it
    /// succeeded, or failed with `on_failure: continue`); the first whose `when` holds is taken.
    pub routes: Vec<Route>,
    /// How long the step may run.
    pub timeout: Option<Duration>,
    /// How a failed step is tried again.
    pub retry: Option<Retry>,
    /// Whether to reuse an earlier result whose rendered inputs are the same.
    pub cache: Option<bool>,
    /// Files the step produces (templates), recorded as artifacts of the run.
    pub produces: Vec<String>,
    /// Checks on the step's output, reported in the run's quality-control report.
    pub qc: Vec<QcCheck>,
    /// A disabled step does not run; steps that depend on it see it as skipped.
    pub disabled: bool,
}

/// How many dependencies must succeed before a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Join {
    /// Every dependency (the default).
    All,
    /// The first one that succeeds.
    Any,
}

impl Join {
    /// Every join, as written in files.
    pub const ALL: &[(&str, Join)] = &[("all", Self::All), ("any", Self::Any)];
}

/// What happens when a step fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The run fails (the default).
    Fail,
    /// The run goes on; later steps see the failure in the step's results.
    Continue,
    /// The step counts as skipped, and so do the steps that need it.
    Skip,
    /// Go to another step.
    Goto(String),
}

impl OnFailure {
    /// The words that are not step ids.
    pub const WORDS: &[&str] = &["fail", "continue", "skip"];

    /// Reads the text of an `on_failure` value.
    pub fn from_text(text: &str) -> Self {
        match text {
            "fail" => Self::Fail,
            "continue" => Self::Continue,
            "skip" => Self::Skip,
            step => Self::Goto(step.to_owned()),
        }
    }

    /// The text as written in files.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Fail => "fail",
            Self::Continue => "continue",
            Self::Skip => "skip",
            Self::Goto(step) => step,
        }
    }
}

impl Serialize for OnFailure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl JsonSchema for OnFailure {
    fn schema_name() -> Cow<'static, str> {
        "OnFailure".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What happens when the step fails: `fail` (the run fails), `continue`, `skip`, or the id of a step to go to.",
            "type": "string",
            "examples": ["fail", "continue", "skip"]
        })
    }
}

/// A conditional jump after a step has finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// An expression, such as `critic.output.verdict == 'revise'`.
    pub when: String,
    /// The step to go to.
    pub goto: String,
    /// How many times this jump may be taken in one run; required for a jump back to an earlier
    /// step. Past the bound the step fails and says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_loops: Option<u32>,
}

/// How a failed step is tried again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// How many attempts in all, the first included.
    #[schemars(range(min = 1))]
    pub attempts: u32,
    /// How the wait between attempts grows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// The wait before the second attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// The longest wait between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay: Option<Duration>,
    /// Whether waits are randomised a little, so that parallel retries do not collide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
}

/// How the wait between attempts grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// The same wait every time.
    Fixed,
    /// Twice the previous wait, up to `max_delay`.
    Exponential,
}

impl Backoff {
    /// Every backoff, as written in files.
    pub const ALL: &[(&str, Backoff)] =
        &[("fixed", Self::Fixed), ("exponential", Self::Exponential)];
}

/// A quality-control check on a step's output.
#[derive(Clone, Debug, PartialEq)]
pub enum QcCheck {
    /// The output is not empty.
    NotEmpty,
    /// The output holds no unrendered template text such as `{{ x }}`.
    NoTemplateArtifacts,
    /// The output contains this text.
    Contains(String),
    /// The output matches this regular expression.
    Regex(String),
    /// The output is JSON valid against this schema.
    JsonSchema(Value),
    /// The output is at most this many characters long.
    MaxLength(u64),
    /// This file exists after the step (a template).
    FileExists(String),
    /// This command succeeds after the step (program and arguments).
    Command(Vec<String>),
    /// A model scores the output against this rubric.
    Judge(String),
}

impl QcCheck {
    /// The checks written as a bare word.
    pub const WORDS: &[&str] = &["not_empty", "no_template_artifacts"];
    /// The checks written as a one-key map.
    pub const KEYS: &[&str] = &[
        "contains",
        "regex",
        "json_schema",
        "max_length",
        "file_exists",
        "command",
        "judge",
    ];
}

impl Serialize for QcCheck {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (key, value) = match self {
            Self::NotEmpty => return serializer.serialize_str("not_empty"),
            Self::NoTemplateArtifacts => return serializer.serialize_str("no_template_artifacts"),
            Self::Contains(text) => ("contains", Value::from(text.as_str())),
            Self::Regex(pattern) => ("regex", Value::from(pattern.as_str())),
            Self::JsonSchema(schema) => ("json_schema", schema.clone()),
            Self::MaxLength(length) => ("max_length", Value::from(*length)),
            Self::FileExists(path) => ("file_exists", Value::from(path.as_str())),
            Self::Command(argv) => ("command", Value::from(argv.clone())),
            Self::Judge(rubric) => ("judge", Value::from(rubric.as_str())),
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(key, &value)?;
        map.end()
    }
}

impl JsonSchema for QcCheck {
    fn schema_name() -> Cow<'static, str> {
        "QcCheck".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one = |key: &str, description: &str, value: serde_json::Value| {
            serde_json::json!({
                "type": "object",
                "description": description,
                "properties": { key: value },
                "required": [key],
                "additionalProperties": false
            })
        };
        json_schema!({
            "description": "A quality-control check on the step's output.",
            "oneOf": [
                { "enum": ["not_empty", "no_template_artifacts"] },
                one("contains", "The output contains this text.", serde_json::json!({ "type": "string" })),
                one("regex", "The output matches this regular expression.", serde_json::json!({ "type": "string" })),
                one("json_schema", "The output is JSON valid against this schema.", serde_json::json!({ "type": "object" })),
                one("max_length", "The output is at most this many characters long.", serde_json::json!({ "type": "integer", "minimum": 1 })),
                one("file_exists", "This file exists after the step.", serde_json::json!({ "type": "string" })),
                one("command", "This command succeeds after the step.", serde_json::json!({ "type": "array", "items": { "type": "string" }, "minItems": 1 })),
                one("judge", "A model scores the output against this rubric.", serde_json::json!({ "type": "string" }))
            ]
        })
    }
}

impl Serialize for Step {
    /// Writes the step's keys in the canonical order: identity, what it does, what it waits for,
    /// its parameters, its body, then what happens after it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let control = &self.control;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        if let Some(name) = &self.name {
            map.serialize_entry("name", name)?;
        }
        if let Some(description) = &self.description {
            map.serialize_entry("description", description)?;
        }
        match &self.body {
            StepBody::Action { action, .. } => map.serialize_entry("action", action)?,
            StepBody::ForEach {
                items,
                max_parallel,
                ..
            } => {
                map.serialize_entry("for_each", items)?;
                if let Some(max_parallel) = max_parallel {
                    map.serialize_entry("max_parallel", max_parallel)?;
                }
            }
            StepBody::Loop {
                condition,
                max_iterations,
                ..
            } => {
                match condition {
                    LoopCondition::While(expression) => map.serialize_entry("while", expression)?,
                    LoopCondition::Until(expression) => map.serialize_entry("until", expression)?,
                }
                map.serialize_entry("max_iterations", max_iterations)?;
            }
        }
        if !control.depends_on.is_empty() {
            map.serialize_entry("depends_on", &control.depends_on)?;
        }
        if let Some(join) = &control.join {
            map.serialize_entry("join", join)?;
        }
        if let Some(condition) = &control.condition {
            map.serialize_entry("condition", condition)?;
        }
        if let Some(on_false) = &control.on_false {
            map.serialize_entry("on_false", on_false)?;
        }
        match &self.body {
            StepBody::Action { params, .. } => {
                for (name, value) in params {
                    map.serialize_entry(name, value)?;
                }
            }
            StepBody::ForEach { steps, .. } | StepBody::Loop { steps, .. } => {
                map.serialize_entry("steps", steps)?;
            }
        }
        if let Some(on_success) = &control.on_success {
            map.serialize_entry("on_success", on_success)?;
        }
        if let Some(on_failure) = &control.on_failure {
            map.serialize_entry("on_failure", on_failure)?;
        }
        if !control.routes.is_empty() {
            map.serialize_entry("routes", &control.routes)?;
        }
        if let Some(timeout) = &control.timeout {
            map.serialize_entry("timeout", timeout)?;
        }
        if let Some(retry) = &control.retry {
            map.serialize_entry("retry", retry)?;
        }
        if let Some(cache) = &control.cache {
            map.serialize_entry("cache", cache)?;
        }
        if !control.produces.is_empty() {
            map.serialize_entry("produces", &control.produces)?;
        }
        if !control.qc.is_empty() {
            map.serialize_entry("qc", &control.qc)?;
        }
        if control.disabled {
            map.serialize_entry("disabled", &true)?;
        }
        map.end()
    }
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    /// The shape of a step depends on its action's parameters, which the engine's catalog
    /// declares; [`crate::json_schema`] replaces this with the full schema.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "required": ["id"] })
    }
}

impl Step {
    /// The steps of a `for_each` or loop body; empty for an action step.
    pub fn body_steps(&self) -> &[Step] {
        match &self.body {
            StepBody::Action { .. } => &[],
            StepBody::ForEach { steps, .. } | StepBody::Loop { steps, .. } => steps,
        }
    }

    /// The action's name, for an action step.
    pub fn action(&self) -> Option<&str> {
        match &self.body {
            StepBody::Action { action, .. } => Some(action),
            _ => None,
        }
    }
}

/// How two steps are connected in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// `depends_on`: the dependency runs first and its results flow in.
    Data,
    /// `on_success`: go to the target when the step succeeds.
    Success,
    /// `on_failure: <step>`: go to the target when the step fails.
    Failure,
    /// `on_false`: go to the target when the step's condition is false.
    False,
    /// A route: go to the target when its `when` holds.
    Route,
}

/// A step's mention of another step by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    /// What the mention means.
    pub kind: EdgeKind,
    /// The id mentioned.
    pub target: &'a str,
    /// Where it is written in the step.
    pub field: ReferenceField,
    /// For a route, how often it may be taken.
    pub max_loops: Option<u32>,
    /// For a route, its condition.
    pub when: Option<&'a str>,
}

/// The key of a step that holds a reference to another step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceField {
    /// An item of `depends_on`.
    DependsOn(usize),
    /// `on_false`.
    OnFalse,
    /// `on_success`.
    OnSuccess,
    /// `on_failure`.
    OnFailure,
    /// The `goto` of a route.
    RouteGoto(usize),
}

impl ReferenceField {
    /// The field as a JSON pointer relative to the step, such as `depends_on/1`.
    pub fn pointer(self) -> String {
        match self {
            Self::DependsOn(at) => format!("depends_on/{at}"),
            Self::OnFalse => "on_false".to_owned(),
            Self::OnSuccess => "on_success".to_owned(),
            Self::OnFailure => "on_failure".to_owned(),
            Self::RouteGoto(at) => format!("routes/{at}/goto"),
        }
    }
}

impl Control {
    /// Every mention of another step: dependencies first, then the routing keys.
    pub fn references(&self) -> Vec<Reference<'_>> {
        fn plain(kind: EdgeKind, target: &str, field: ReferenceField) -> Reference<'_> {
            Reference {
                kind,
                target,
                field,
                max_loops: None,
                when: None,
            }
        }
        let mut references: Vec<Reference<'_>> = self
            .depends_on
            .iter()
            .enumerate()
            .map(|(at, target)| plain(EdgeKind::Data, target, ReferenceField::DependsOn(at)))
            .collect();
        if let Some(target) = &self.on_false {
            references.push(plain(EdgeKind::False, target, ReferenceField::OnFalse));
        }
        if let Some(target) = &self.on_success {
            references.push(plain(EdgeKind::Success, target, ReferenceField::OnSuccess));
        }
        if let Some(OnFailure::Goto(target)) = &self.on_failure {
            references.push(plain(EdgeKind::Failure, target, ReferenceField::OnFailure));
        }
        for (at, route) in self.routes.iter().enumerate() {
            references.push(Reference {
                kind: EdgeKind::Route,
                target: &route.goto,
                field: ReferenceField::RouteGoto(at),
                max_loops: route.max_loops,
                when: Some(&route.when),
            });
        }
        references
    }
}
