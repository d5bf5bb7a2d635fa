//! `template`: renders text from earlier results.
//!
//! ## What it does
//! Renders a template (with strict undefined names) and records the text as the step's
//! `output`. It does nothing else, which makes it the step for assembling reports and prompts.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

/// The `template` action.
pub const SPEC: ActionSpec = ActionSpec {
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
