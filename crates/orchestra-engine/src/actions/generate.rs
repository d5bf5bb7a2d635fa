//! `generate`: one call to a language model.
//!
//! ## What it does
//! Composes the system prompt from the prompt layers (role, persona, personality) of the step's
//! agent or its own settings, sends the rendered `prompt`, streams the reply into the run's log,
//! and records it as the step's `output`. With `output_schema` the reply must be JSON valid against it (it is asked for again
//! once, with the validation error, when it is not), and `output` is the parsed value.

use futures::future::BoxFuture;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use super::tools::Toolbox;
use super::{Action, Call, Done, Failure};

/// The parameters that every LLM action shares: the prompt, then the model settings.
pub const LLM_PARAMS: [ParamSpec; 10] = [
    ParamSpec {
        name: "prompt",
        kind: ParamKind::Text,
        required: true,
        summary: "The task for the model, a template.",
    },
    ParamSpec {
        name: "agent",
        kind: ParamKind::Agent,
        required: false,
        summary: "An agent from `agents:` (or an agent file) whose settings the step uses.",
    },
    ParamSpec {
        name: "model",
        kind: ParamKind::Model,
        required: false,
        summary: "The model: an alias, `provider:model`, `auto` or `<AUTO>…</AUTO>`.",
    },
    ParamSpec {
        name: "role",
        kind: ParamKind::PromptLayer,
        required: false,
        summary: "The role prompt layer, by name: what the model is asked to be.",
    },
    ParamSpec {
        name: "persona",
        kind: ParamKind::PromptLayer,
        required: false,
        summary: "The persona prompt layer, by name: whose experience it speaks from.",
    },
    ParamSpec {
        name: "personality",
        kind: ParamKind::Personality,
        required: false,
        summary: "The personality prompt layer, by name.",
    },
    ParamSpec {
        name: "system",
        kind: ParamKind::Text,
        required: false,
        summary: "Extra system instructions, after the prompt layers.",
    },
    ParamSpec {
        name: "temperature",
        kind: ParamKind::Number { min: 0.0, max: 2.0 },
        required: false,
        summary: "The sampling temperature.",
    },
    ParamSpec {
        name: "max_tokens",
        kind: ParamKind::Integer {
            min: 1,
            max: 1_000_000,
        },
        required: false,
        summary: "The most tokens the reply may have.",
    },
    ParamSpec {
        name: "output_schema",
        kind: ParamKind::JsonSchema,
        required: false,
        summary: "A JSON Schema the reply must satisfy; the output is then the parsed JSON.",
    },
];

/// The `generate` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: call_model,
    effects: super::Effects::Changes,
    writes: super::Writes::Never,
};

/// What `generate` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "generate",
    summary: "Sends one prompt to a language model and records its reply.",
    example: "id: summary\naction: generate\ndepends_on: [fetch]\nprompt: |\n  Summarise this for a busy reader:\n  {{ fetch.output }}\nmodel: smart\n",
    params: &LLM_PARAMS,
    check: no_check,
};

/// One attempt of `generate`: a conversation with no tools.
fn call_model(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(super::conversation::converse(call, Toolbox::default()))
}
