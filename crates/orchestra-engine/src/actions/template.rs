//! `template`: renders text from earlier results.
//!
//! ## What it does
//! Renders a template (with strict undefined names) and records the text as the step's
//! `output`. It does nothing else, which makes it the step for assembling reports and prompts.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use futures::future::BoxFuture;
use serde_json::Value;

use super::{Action, ActionOutput, Call, Done, Failure};

/// The `template` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::ReadOnly,
    writes: super::Writes::Never,
};

/// What `template` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "template",
    summary: "Renders text from inputs and earlier results.",
    example: "id: greeting\naction: template\ntemplate: \"Hello, {{ inputs.name }}!\"\n",
    params: &[ParamSpec {
        name: "template",
        kind: ParamKind::Text,
        required: true,
        summary: "The template to render.",
    }],
    check: no_check,
};

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(async move {
        // The engine renders every parameter before the action runs; what is left is the text.
        let text = call.required("template")?;
        Ok(Done::Output(ActionOutput {
            output: Value::String(text.to_owned()),
            ..ActionOutput::default()
        }))
    })
}
