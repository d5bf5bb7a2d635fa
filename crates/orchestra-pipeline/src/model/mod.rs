//! The pipeline as data: what a pipeline file says, with no run state in it.
//!
//! These types serialize to the canonical YAML shape (see [`crate::save`]) and describe the JSON
//! Schema of the format (see [`crate::json_schema`]); their doc comments are the descriptions
//! editors show. Reading a file into them is done by [`crate::load`], which reports every
//! problem instead of stopping at the first.

mod duration;
mod pipeline;
mod step;

pub use duration::Duration;
pub use pipeline::{
    Agent, Command, Defaults, Input, InputType, Layout, Limits, Models, NodeLayout, Note,
    OnConflict, Pipeline, Selection, Tool, Workspace,
};
pub use step::{
    Backoff, Control, EdgeKind, Join, LoopCondition, OnFailure, QcCheck, Reference, ReferenceField,
    Retry, Route, Step, StepBody,
};

/// The top-level keys of a pipeline, in the order they are written.
pub const PIPELINE_KEYS: &[&str] = &[
    "orchestra",
    "id",
    "name",
    "description",
    "inputs",
    "defaults",
    "models",
    "agents",
    "workspace",
    "limits",
    "steps",
    "outputs",
    "layout",
];

/// The keys that name and describe a step.
pub const IDENTITY_KEYS: &[&str] = &["id", "name", "description"];

/// The keys that say when and how a step runs, in the order they are documented.
pub const CONTROL_KEYS: &[&str] = &[
    "depends_on",
    "join",
    "condition",
    "on_false",
    "on_success",
    "on_failure",
    "routes",
    "timeout",
    "retry",
    "cache",
    "produces",
    "qc",
    "disabled",
];

/// The keys of a `for_each` step besides its identity and control keys.
pub const FOR_EACH_KEYS: &[&str] = &["for_each", "max_parallel", "steps"];

/// The keys of a `while` or `until` step besides its identity and control keys.
pub const LOOP_KEYS: &[&str] = &["while", "until", "max_iterations", "steps"];

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Names that templates give a meaning of their own, so no step may be called by them.
pub const RESERVED_NAMES: &[&str] = &[
    "inputs",
    "steps",
    "run",
    "item",
    "index",
    "iteration",
    "env",
    "loop",
    "fail",
    "continue",
    "skip",
];

/// Whether a string is an `<AUTO>instruction</AUTO>` value, to be chosen by the orchestrator
/// model when the pipeline is compiled for a run.
pub fn auto_instruction(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("<AUTO>")?
        .strip_suffix("</AUTO>")
        .map(str::trim)
}

/// The longest id a pipeline or a step may have.
pub const MAX_ID_LENGTH: usize = 64;

/// Whether `id` is a valid pipeline id: lowercase letters, digits, `-` and `_`, starting with a
/// letter or digit.
pub fn is_pipeline_id(id: &str) -> bool {
    id.len() <= MAX_ID_LENGTH
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether `id` is a valid step id: letters, digits, `-` and `_`, starting with a letter or `_`
/// so that templates can name it. Ids with `-` are read as `steps['my-step']`.
pub fn is_step_id(id: &str) -> bool {
    id.len() <= MAX_ID_LENGTH
        && id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `name` can be read in a template as an attribute (`inputs.name`): letters, digits
/// and `_`, not starting with a digit.
pub fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a valid name for an agent, tool or layer: letters, digits, `-`, `_` and
/// `.`, not starting with `.` or `-`.
pub fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What later templates can read of a finished step, as `{{ id.field }}`.
pub const RESULT_FIELDS: &[&str] = &[
    "output",
    "exit_code",
    "stderr",
    "files",
    "duration",
    "usage",
    "status",
    "error",
    "commit",
];
