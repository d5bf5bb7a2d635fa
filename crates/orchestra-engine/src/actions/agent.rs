//! `agent`: a language model that may call tools until it answers.
//!
//! ## What it does
//! Like `generate`, but the model may call the tools the step names (built-in tools and the
//! workspace's named commands), each call and result recorded in the run, until it gives its
//! answer or `max_turns` runs out. A step can only use the tools it lists; those also listed in
//! `approve_tools` wait for a person before each call.

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

/// The LLM parameters followed by the agent's own: its tools, its turns, and which tools wait for a
/// person.
const fn with_tools(llm: &[ParamSpec; LLM]) -> [ParamSpec; LLM + 3] {
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
    ];
    let mut all = [llm[0]; LLM + 3];
    let mut at = 0;
    while at < LLM + 3 {
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
    let tools = names("tools");
    let approve = names("approve_tools");
    let mut problems: Vec<ParamProblem> = approve
        .iter()
        .filter(|tool| !tools.contains(tool))
        .map(|tool| ParamProblem {
            param: "approve_tools",
            message: format!("`{tool}` needs approval, but the step does not list it in `tools`"),
            help: Some(format!("add `{tool}` to `tools`, or remove it here")),
        })
        .collect();
    // Until an agent's conversation is kept across a pause, a tool that must wait for a person
    // cannot be offered; refusing it here is honest, running it unapproved would not be.
    if !approve.is_empty() {
        problems.push(ParamProblem {
            param: "approve_tools",
            message: "this version of Orchestra cannot pause an agent for a person's approval of a tool call yet".to_owned(),
            help: Some("remove `approve_tools` and leave the tool out of `tools`, or put an `approval` step before the agent".to_owned()),
        });
    }
    problems
}
