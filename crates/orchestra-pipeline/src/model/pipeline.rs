//! The pipeline and its top-level sections.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::{Duration, OnFailure, Retry, Step};

/// An Orchestra pipeline: steps that run programs, call models and wait for people, wired into a
/// graph.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The version of the file format; this is version 1.
    #[serde(rename = "orchestra")]
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The pipeline's id: lowercase letters, digits, `-` and `_`, unique in the project.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub id: String,
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the pipeline is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values a run is started with; the studio's run form is made from them.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, Input>,
    /// Settings that apply to every step that does not set its own.
    #[serde(default, skip_serializing_if = "Defaults::is_empty")]
    pub defaults: Defaults,
    /// The models the pipeline uses, by alias; the user's settings supply any left out.
    #[serde(default, skip_serializing_if = "Models::is_empty")]
    pub models: Models,
    /// Reusable model configurations ("experts") that steps refer to by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub agents: IndexMap<String, Agent>,
    /// The folder and git repository the pipeline works in, and the commands agents may call.
    #[serde(default, skip_serializing_if = "Workspace::is_empty")]
    pub workspace: Workspace,
    /// Limits that apply to a whole run.
    #[serde(default, skip_serializing_if = "Limits::is_empty")]
    pub limits: Limits,
    /// The steps, in the order the file gives them.
    pub steps: Vec<Step>,
    /// What a run returns: templates rendered after the last step.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, String>,
    /// Where the studio draws each step; the engine ignores it.
    #[serde(default, skip_serializing_if = "Layout::is_empty")]
    pub layout: Layout,
}

/// One value a run is started with.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The kind of value; `string` when left out.
    #[serde(rename = "type", default)]
    pub kind: InputType,
    /// The value used when the run does not give one; an input without a default is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What the input means, shown in the run form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The only values allowed, shown as a drop-down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Value>,
}

/// The kind of an input value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// One line of text.
    #[default]
    String,
    /// Several lines of text.
    Text,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A list of values.
    List,
    /// A map of names to values.
    Object,
    /// A path to a file inside the workspace.
    File,
}

impl InputType {
    /// Every input type, as written in files.
    pub const ALL: &[(&str, InputType)] = &[
        ("string", Self::String),
        ("text", Self::Text),
        ("boolean", Self::Boolean),
        ("integer", Self::Integer),
        ("number", Self::Number),
        ("list", Self::List),
        ("object", Self::Object),
        ("file", Self::File),
    ];

    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("string", |(name, _)| name)
    }

    /// Whether a value is of this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String | Self::Text | Self::File => value.is_string(),
            Self::Boolean => value.is_boolean(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Number => value.is_number(),
            Self::List => value.is_array(),
            Self::Object => value.is_object(),
        }
    }
}

/// Settings that apply to every step that does not set its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// How long a step may run before it is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How failed steps are tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// What happens when a step fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailure>,
    /// Whether steps reuse an earlier result whose rendered inputs are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    /// The model of LLM steps: an alias, `provider:model`, `auto` or `<AUTO>…</AUTO>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The personality of LLM steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<String>,
    /// The sampling temperature of LLM steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
}

impl Defaults {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The models a pipeline uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Models {
    /// The model that resolves `<AUTO>` values, writes summaries and judges quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<String>,
    /// Names for models, such as `smart: openai:gpt-4.1`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub aliases: IndexMap<String, String>,
    /// How `model: auto` picks a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

impl Models {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How `model: auto` picks a model from the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// The cheapest model that can do the step.
    Cost,
    /// The strongest model.
    Performance,
    /// A strong model at a reasonable price.
    Balanced,
}

impl Selection {
    /// Every selection, as written in files.
    pub const ALL: &[(&str, Selection)] = &[
        ("cost", Self::Cost),
        ("performance", Self::Performance),
        ("balanced", Self::Balanced),
    ];
}

/// A reusable model configuration that `generate` and `agent` steps refer to by name. An agent
/// file (`agents/NAME.yaml`) holds the same keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// What the agent is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The role prompt layer, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The persona prompt layer, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// The personality prompt layer, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<String>,
    /// The model: an alias, `provider:model`, `auto` or `<AUTO>…</AUTO>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f64>,
    /// The tools the agent may call: built-in tools and the workspace's named tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "text_or_list")]
    pub tools: Vec<String>,
    /// How many model turns an `agent` step with this agent may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_turns: Option<u32>,
}

/// The folder a pipeline works in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    /// The folder that file steps read and write, relative to the pipeline file; file steps
    /// cannot leave it. Without it, files go to the run's own folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// The git repository a run may change, relative to the pipeline file; each run works on a
    /// branch of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// What happens when the work of steps that wrote at the same time conflicts at their join:
    /// `fail` (the default) fails the join, listing the paths; `continue` hands the conflicting
    /// files to the join to resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_conflict: Option<OnConflict>,
    /// Named commands that agents may call and that steps may name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tools: IndexMap<String, Tool>,
}

impl Workspace {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What a merge of parallel writers that conflicts does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// The join step fails, listing the conflicting paths; the writers' worktrees are kept.
    #[default]
    Fail,
    /// The join step runs with the conflicting files (with conflict markers) in its workspace
    /// and their paths in `run.conflicts`; its commit records the merge.
    Continue,
}

impl OnConflict {
    /// Every choice, as written in files.
    pub const ALL: &[(&str, OnConflict)] = &[("fail", Self::Fail), ("continue", Self::Continue)];
}

/// A named command in the workspace.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// What the tool does; agents read this to decide when to call it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The program and its arguments, or one command line when `shell` is true.
    pub command: Command,
    /// Run `command` through `sh -c`; only for a command written as one line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shell: bool,
    /// How long the command may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// A command: a program and its arguments, or one line for a shell.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Command {
    /// The program and its arguments, each passed as it is.
    Argv(Vec<String>),
    /// A command line for `sh -c`.
    Line(String),
}

/// Limits that apply to a whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// How many steps may run at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
    /// After this many failed steps the run stops (a circuit breaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_failures: Option<u32>,
}

impl Limits {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Where the studio draws things. Kept apart from the steps so that moving a node never changes
/// the lines that say what runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// The position and look of each step's node, by step id.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub nodes: IndexMap<String, NodeLayout>,
    /// Free-standing notes on the canvas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl Layout {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.notes.is_empty()
    }
}

/// The position and look of one step's node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeLayout {
    /// Horizontal position.
    #[serde(serialize_with = "coordinate")]
    pub x: f64,
    /// Vertical position.
    #[serde(serialize_with = "coordinate")]
    pub y: f64,
    /// A colour, such as `#4f46e5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Whether a container node is drawn folded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collapsed: bool,
}

/// A note on the canvas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// Horizontal position.
    #[serde(serialize_with = "coordinate")]
    pub x: f64,
    /// Vertical position.
    #[serde(serialize_with = "coordinate")]
    pub y: f64,
    /// The text of the note.
    pub text: String,
    /// A colour, such as `#fde68a`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Width in canvas units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    /// Height in canvas units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<f64>,
}

/// One text or a list of texts: loading reads a single text as a list of one.
pub(crate) fn text_or_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
    })
}

/// Writes a whole-numbered coordinate without a fraction (`120`, not `120.0`), which is how
/// people and the studio write positions.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` passes a reference.
fn coordinate<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact in an f64.
    if value.fract() == 0.0 && value.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)] // Checked above: the value is a small integer.
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}
