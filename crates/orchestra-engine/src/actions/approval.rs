//! `approval`: waits for a person.
//!
//! ## What it does
//! Pauses the run, durably, until a person approves or rejects in the studio or with
//! `orchestra approve`. Approval succeeds the step (its `output` is the comment); rejection, or
//! the step's `timeout`, ends the run as rejected unless `on_failure` names where to go.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

/// The `approval` action.
pub const SPEC: ActionSpec = ActionSpec {
    name: "approval",
    summary: "Waits until a person approves or rejects.",
    example: "id: approve\naction: approval\ndepends_on: [review]\nmessage: Publish this review?\ntimeout: 24h\n",
    params: &[ParamSpec {
        name: "message",
        kind: ParamKind::Text,
        required: true,
        summary: "What the person is asked, a template.",
    }],
    check: no_check,
};
