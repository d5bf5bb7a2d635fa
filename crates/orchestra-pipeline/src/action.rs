//! How an action declares its parameters, so that the format can check a step against them.
//!
//! The actions themselves live in the engine, one file each; each file declares an
//! [`ActionSpec`]. The engine hands the list to loading and validation as a [`Catalog`].

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Value, json};

/// Everything the format needs to know about the actions that exist.
#[derive(Clone, Copy, Debug)]
pub struct Catalog {
    /// Every action, in the order they are documented.
    pub actions: &'static [&'static ActionSpec],
    /// The tools agents may call without the workspace declaring them.
    pub builtin_tools: &'static [&'static str],
}

impl Catalog {
    /// The action with this name.
    pub fn action(&self, name: &str) -> Option<&'static ActionSpec> {
        self.actions.iter().copied().find(|spec| spec.name == name)
    }

    /// The names of every action.
    pub fn action_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.actions.iter().map(|spec| spec.name)
    }
}

/// An action's name, documentation and parameters.
#[derive(Debug, Serialize)]
pub struct ActionSpec {
    /// The name steps use in `action:`.
    pub name: &'static str,
    /// One sentence on what the action does.
    pub summary: &'static str,
    /// A step that uses the action, as YAML; the documentation shows it and a test validates it.
    pub example: &'static str,
    /// The parameters, in the order they are written in files.
    pub params: &'static [ParamSpec],
    /// Checks that involve more than one parameter, such as "a command written as one string
    /// needs `shell: true`".
    #[serde(skip)]
    pub check: fn(&IndexMap<String, Value>) -> Vec<ParamProblem>,
}

impl ActionSpec {
    /// The parameter with this name.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|param| param.name == name)
    }
}

/// A check for actions whose parameters need no check beyond their kinds.
pub fn no_check(_: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    Vec::new()
}

/// A problem an action's own check found in a step's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    /// The parameter at fault.
    pub param: &'static str,
    /// A sentence saying what is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

/// One parameter of an action.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ParamSpec {
    /// The key written in the step.
    pub name: &'static str,
    /// What values it takes.
    pub kind: ParamKind,
    /// Whether a step must give it.
    pub required: bool,
    /// One sentence on what it does, shown in the studio's inspector and in editors.
    pub summary: &'static str,
}

/// The values a parameter takes. Strings in `Text`, `Path`, `Command`, `TextMap`, `TextList` and
/// `Json` parameters are templates, rendered when the step runs.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// Text, usually a template.
    Text,
    /// A file path inside the workspace (a template).
    Path,
    /// A program and its arguments as a list (each a template), or one command line.
    Command,
    /// `true` or `false`.
    Bool,
    /// A whole number within bounds.
    Integer {
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// A number within bounds.
    Number {
        /// The smallest value allowed.
        min: f64,
        /// The largest value allowed.
        max: f64,
    },
    /// One of a few words.
    Choice {
        /// The words allowed.
        choices: &'static [&'static str],
    },
    /// A map of names to text, such as environment variables or HTTP headers.
    TextMap,
    /// A list of text.
    TextList,
    /// Any value, such as a JSON request body; strings in it are templates.
    Json,
    /// A JSON Schema.
    JsonSchema,
    /// A model: an alias, `provider:model`, `auto` or `<AUTO>…</AUTO>`.
    Model,
    /// The name of an agent.
    Agent,
    /// The name of a personality.
    Personality,
    /// The name of a prompt layer: a role or a persona.
    PromptLayer,
    /// Names of tools.
    Tools,
    /// An HTTP status code or a list of them.
    StatusCodes,
    /// A length of time such as `30s`.
    Duration,
}

impl ParamKind {
    /// The JSON Schema of the parameter's values, for editors and the studio's forms.
    pub fn json_schema(self) -> Value {
        let template = json!({ "type": "string" });
        match self {
            Self::Text
            | Self::Path
            | Self::Model
            | Self::Agent
            | Self::Personality
            | Self::PromptLayer => template,
            Self::Command => json!({
                "oneOf": [
                    { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                    { "type": "string" }
                ]
            }),
            Self::Bool => json!({ "type": "boolean" }),
            Self::Integer { min, max } => {
                json!({ "type": "integer", "minimum": min, "maximum": max })
            }
            Self::Number { min, max } => {
                json!({ "type": "number", "minimum": min, "maximum": max })
            }
            Self::Choice { choices } => json!({ "enum": choices }),
            Self::TextMap => {
                json!({ "type": "object", "additionalProperties": { "type": "string" } })
            }
            Self::TextList | Self::Tools => json!({
                "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
            }),
            Self::Json => json!(true),
            Self::JsonSchema => json!({ "type": "object" }),
            Self::StatusCodes => json!({
                "oneOf": [
                    { "type": "integer", "minimum": 100, "maximum": 599 },
                    { "type": "array", "items": { "type": "integer", "minimum": 100, "maximum": 599 } }
                ]
            }),
            Self::Duration => json!({ "$ref": "#/$defs/Duration" }),
        }
    }

    /// Whether strings in the value are templates rendered when the step runs.
    pub fn is_templated(self) -> bool {
        matches!(
            self,
            Self::Text | Self::Path | Self::Command | Self::TextMap | Self::TextList | Self::Json
        )
    }
}
