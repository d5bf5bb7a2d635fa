//! `approval`: waits for a person.
//!
//! ## What it does
//! Pauses the run, durably, until a person approves or rejects in the studio or with
//! `orchestra approve`. Approval succeeds the step; its `output` is the answer (`approved`,
//! `comment`, and `by`, who answered). Rejection, or the step's `timeout` passing with no answer,
//! ends the run as rejected unless `on_false` names the step to go to.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use futures::future::BoxFuture;
use serde_json::json;

use super::{Action, ActionOutput, ApprovalState, Call, Done, Failure};
use crate::event::RunEvent;

/// The `approval` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::Never,
};

/// What `approval` takes.
const SPEC: ActionSpec = ActionSpec {
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

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(async move {
        let env = call.env;
        let message = call.required("message")?.to_owned();
        let now = env.now();
        let answered = |approved: bool, comment: Option<String>, by: Option<String>| {
            let rejection = (!approved).then(|| match &comment {
                Some(comment) => format!("rejected: {comment}"),
                None => "rejected".to_owned(),
            });
            Done::Output(ActionOutput {
                output: json!({ "approved": approved, "comment": comment, "by": by }),
                rejection,
                ..ActionOutput::default()
            })
        };
        match env.approval(call.step) {
            ApprovalState::Answered {
                approved,
                comment,
                by,
            } => Ok(answered(approved, comment, by)),
            ApprovalState::Asked {
                deadline: Some(deadline),
            } if deadline <= now => Ok(Done::Output(ActionOutput {
                output: json!({ "approved": false, "comment": null, "by": null }),
                rejection: Some("nobody answered before the deadline".to_owned()),
                ..ActionOutput::default()
            })),
            state => {
                // The step's `timeout` is how long a person has to answer; it starts when they
                // are first asked and does not restart when the run resumes.
                let deadline = match state {
                    ApprovalState::Asked { deadline } => deadline,
                    _ => call.timeout.and_then(|timeout| {
                        jiff::SignedDuration::try_from(timeout)
                            .ok()
                            .and_then(|span| now.checked_add(span).ok())
                    }),
                };
                env.emit(RunEvent::WaitingForApproval {
                    step: call.step.clone(),
                    message,
                    deadline,
                })?;
                Ok(Done::Parked)
            }
        }
    })
}
