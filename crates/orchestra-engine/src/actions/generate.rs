//! `generate`: one call to a language model.
//!
//! ## What it does
//! Composes the system prompt from the prompt layers (role, persona, personality) of the step's
//! agent or its own settings, sends the rendered `prompt`, and records the reply as the step's
//! `output`. With `output_schema` the reply must be JSON valid against it (it is asked for again
//! once, with the validation error, when it is not), and `output` is the parsed value.

use futures::future::BoxFuture;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};
use serde_json::Value;

use super::{Action, ActionOutput, Call, Done, Failure};
use crate::event::RunEvent;
use crate::services::{ModelError, ModelRequest};

/// The parameters that every LLM action shares: the prompt, then the model settings.
pub const LLM_PARAMS: [ParamSpec; 8] = [
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
    run: super::generate::call_model,
    effects: super::Effects::Changes,
};

/// What `generate` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "generate",
    summary: "Sends one prompt to a language model and records its reply.",
    example: "id: summary\naction: generate\ndepends_on: [fetch]\nprompt: |\n  Summarise this for a busy reader:\n  {{ fetch.output }}\nmodel: smart\n",
    params: &LLM_PARAMS,
    check: no_check,
};

/// One attempt of an LLM step (`generate` or `agent`): a call through the run's model client.
pub(super) fn call_model(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(async move {
        let request = ModelRequest {
            step: call.step.clone(),
            action: call.action.to_owned(),
            params: Value::Object(call.params.clone()),
        };
        let reply = call
            .bounded(call.env.models().call(request))
            .await?
            .map_err(|error| match error {
                ModelError::Retryable(message) => Failure::retryable(message),
                ModelError::Fatal(message) => Failure::fatal(message),
            })?;
        if let Some(usage) = reply.usage {
            call.env.emit(RunEvent::Usage {
                step: call.step.clone(),
                usage,
            })?;
        }
        Ok(Done::Output(ActionOutput {
            output: reply.output,
            usage: reply.usage,
            ..ActionOutput::default()
        }))
    })
}
