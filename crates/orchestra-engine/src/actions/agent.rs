//! `agent`: a language model that may call tools until it answers.
//!
//! ## What it does
//! Like `generate`, but the model may call the tools the step names (built-in tools and the
//! workspace's named commands), each call and result recorded in the run, until it gives its
//! answer or `max_turns` runs out. A step can only use the tools it lists; those also listed in
//! `approve_tools` wait for a person before each call (`orchestra approve`, or `/approve` in
//! `orchestra attach`); a refusal goes back to the model.
//!
//! With `mode: interactive` the step is a conversation with a person: after each reply the run
//! waits for their next message (`orchestra attach RUN`). Ending it (`/done`) makes the last reply
//! the step's output (or, with `output_schema`, the model's final answer); `/reject` rejects the
//! step. Every turn is kept in the run's log, so a restart goes on where the conversation was.

use futures::future::BoxFuture;
use indexmap::IndexMap;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamProblem, ParamSpec};
use serde_json::Value;

use super::generate::LLM_PARAMS;
use super::tools::Toolbox;
use super::{Action, Call, Done, Failure};

/// The `agent` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::WithTools,
};

/// What `agent` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "agent",
    summary: "Lets a language model call the listed tools until it answers.",
    example: "id: investigate\naction: agent\nprompt: Find why the test suite fails and explain it.\ntools: [read_file, run-tests]\nmax_turns: 12\n",
    params: &with_tools(&LLM_PARAMS),
    check,
};

/// How many parameters every LLM action has.
const LLM: usize = LLM_PARAMS.len();

/// How many parameters `agent` adds to them.
const OWN: usize = 4;

/// The LLM parameters followed by the agent's own: its tools, its turns, which tools wait for a
/// person, and whether a person takes turns.
const fn with_tools(llm: &[ParamSpec; LLM]) -> [ParamSpec; LLM + OWN] {
    let tools = [
        ParamSpec {
            name: "tools",
            kind: ParamKind::Tools,
            required: false,
            summary: "The tools the model may call: built-in tools and names under `workspace.tools`.",
        },
        ParamSpec {
            name: "max_turns",
            kind: ParamKind::Integer { min: 1, max: 200 },
            required: false,
            summary: "The most turns in which the model may call tools (10 when unset); then it must answer.",
        },
        ParamSpec {
            name: "approve_tools",
            kind: ParamKind::Tools,
            required: false,
            summary: "Tools that wait for a person's approval before each call.",
        },
        ParamSpec {
            name: "mode",
            kind: ParamKind::Choice {
                choices: &["autonomous", "interactive"],
            },
            required: false,
            summary: "`interactive`: a person answers each reply (`orchestra attach`) until they end the conversation.",
        },
    ];
    let mut all = [llm[0]; LLM + OWN];
    let mut at = 0;
    while at < LLM + OWN {
        all[at] = if at < LLM { llm[at] } else { tools[at - LLM] };
        at += 1;
    }
    all
}

/// One attempt of `agent`: a conversation with the tools the step names.
fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(async move {
        let toolbox = Toolbox::for_step(&call)?;
        super::conversation::converse(call, toolbox).await
    })
}

fn check(params: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    let names = |key: &str| -> Vec<&str> {
        params
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    // Which tools an agent may call, and which wait for a person, are the author's decision: a
    // model must not choose its own privileges.
    let chosen_by_a_model: Vec<ParamProblem> = ["tools", "approve_tools"]
        .into_iter()
        .filter(|key| {
            params
                .get(*key)
                .and_then(Value::as_str)
                .and_then(orchestra_pipeline::model::auto_instruction)
                .is_some()
        })
        .map(|key| ParamProblem {
            param: key,
            message: format!(
                "`{key}` cannot be <AUTO>: an agent's privileges are the author's to choose"
            ),
            help: Some("list the tools by name".to_owned()),
        })
        .collect();
    let tools = names("tools");
    let approve = names("approve_tools");
    chosen_by_a_model
        .into_iter()
        .chain(
            approve
                .iter()
                .filter(|tool| !tools.contains(tool))
                .map(|tool| ParamProblem {
                    param: "approve_tools",
                    message: format!(
                        "`{tool}` needs approval, but the step does not list it in `tools`"
                    ),
                    help: Some(format!("add `{tool}` to `tools`, or remove it here")),
                }),
        )
        .collect()
}
