//! Agent steps that wait for a person: tool calls that need approval, and interactive
//! conversations. The model is the protocol server; each pause ends the run's process work, so
//! what happens after it is rebuilt from the run's log, as it would be after a restart.

mod common;

use common::llm::{events, lab};
use common::{Lab, assert_run, output};
use orchestra_api::{Finished, Message, RunEvent, RunStatus, WaitingFor};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// An agent that may read and write files, and must ask before it writes.
const CAREFUL_WRITER: &str = "steps:\n  - id: fix\n    action: agent\n    prompt: Write the greeting to out.txt.\n    model: smart\n    tools: [read_file, write_file]\n    approve_tools: [write_file]\n";

/// An interactive agent: a person answers each of its replies.
const PLANNER: &str = "steps:\n  - id: plan\n    action: agent\n    prompt: Plan the launch with me.\n    model: smart\n    mode: interactive\n";

/// What the run waits for, by step key.
fn waits(lab: &Lab, run: &str) -> Vec<(String, WaitingFor, String)> {
    let state = lab.project.state(run).expect("the run's state folds");
    let mut waiting: Vec<(String, WaitingFor, String)> = state
        .waiting
        .iter()
        .map(|(key, waiting)| (key.to_string(), waiting.kind, waiting.message.clone()))
        .collect();
    waiting.sort_by(|a, b| a.0.cmp(&b.0));
    waiting
}

async fn approve(lab: &Lab, run: &str, step: &str, approved: bool, comment: &str) -> Finished {
    let comment = Some(comment.to_owned()).filter(|comment| !comment.is_empty());
    lab.project
        .approve(run, step, approved, comment, CancellationToken::new())
        .await
        .unwrap_or_else(|error| panic!("the answer is taken: {error}"))
}

#[tokio::test]
async fn a_tool_call_that_needs_approval_waits_and_runs_only_once_approved() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![(
        "write_file".to_owned(),
        json!({ "path": "out.txt", "content": "hello" }),
    )]));
    server.reply(Reply::Text("I wrote the greeting.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline("careful", CAREFUL_WRITER);

    let (paused, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Waiting);
    assert!(
        !lab.path("out.txt").exists(),
        "nothing is written before a person approves"
    );
    let waiting = waits(&lab, &paused.run_id);
    assert_eq!(waiting.len(), 1, "one call waits: {waiting:?}");
    let (key, kind, message) = &waiting[0];
    assert_eq!((key.as_str(), *kind), ("fix", WaitingFor::Approval));
    assert!(
        message.contains("`write_file`")
            && message.contains("out.txt")
            && message.contains("hello"),
        "the person sees the tool and its arguments before approving: {message}"
    );
    assert!(
        events(&result, "tool_called").is_empty(),
        "a call that waits has not been made"
    );

    let finished = approve(&lab, &paused.run_id, "fix", true, "").await;
    let result = lab.result(&finished.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        std::fs::read_to_string(lab.path("out.txt")).ok().as_deref(),
        Some("hello"),
        "the approved call ran"
    );
    assert_eq!(output(&result, "fix"), json!("I wrote the greeting."));
    assert_eq!(
        events(&result, "tool_called").len(),
        1,
        "the call ran once, after the approval"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "the first reply is not asked for again after the pause: the conversation was kept"
    );
    let sent = requests[1].conversation();
    assert_eq!(
        sent[0],
        (
            "user".to_owned(),
            "Write the greeting to out.txt.".to_owned()
        )
    );
    assert_eq!(sent[1].0, "assistant", "the model's call, from the log");
    assert_eq!(sent[2].0, "tool", "and what it returned");
    assert!(
        !sent[2].1.contains("refused"),
        "an approved call's result is the tool's: {}",
        sent[2].1
    );
}

#[tokio::test]
async fn a_refused_tool_call_does_not_run_and_the_model_is_told_why() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![(
        "write_file".to_owned(),
        json!({ "path": "out.txt", "content": "hello" }),
    )]));
    server.reply(Reply::Text("Understood, I left the file alone.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline("careful", CAREFUL_WRITER);

    let (paused, _) = lab.run(&file, &[]).await;
    let finished = approve(&lab, &paused.run_id, "fix", false, "not that file").await;
    let result = lab.result(&finished.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert!(!lab.path("out.txt").exists(), "a refused call never runs");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let sent = requests[1].conversation();
    let (role, refusal) = &sent[2];
    assert_eq!(role, "tool");
    assert!(
        refusal.contains("refused this call") && refusal.contains("not that file"),
        "the model reads that a person refused, and why: {refusal}"
    );
    let returned = events(&result, "tool_returned");
    assert!(
        matches!(
            returned.as_slice(),
            [RunEvent::ToolReturned { is_error: true, .. }]
        ),
        "the refusal is recorded as the call's failed result: {returned:?}"
    );
}

#[tokio::test]
async fn an_interactive_agent_takes_turns_with_a_person_until_they_are_done() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Plan: announce, demo, follow up.".to_owned()));
    server.reply(Reply::Text("Plan: announce.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline("planner", PLANNER);

    let (paused, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Waiting);
    let run = paused.run_id;
    assert_eq!(
        waits(&lab, &run)
            .into_iter()
            .map(|(key, kind, _)| (key, kind))
            .collect::<Vec<_>>(),
        [("plan".to_owned(), WaitingFor::Reply)],
        "after its reply the step waits for the person"
    );

    // A resume without an answer (a restart) waits again, without asking the model again.
    let resumed = lab
        .project
        .resume(&run, CancellationToken::new())
        .await
        .expect("the paused run resumes");
    assert_eq!(resumed.outcome.status, RunStatus::Waiting);
    assert_eq!(
        server.requests().len(),
        1,
        "the kept reply is not asked for again"
    );

    let refused = lab
        .project
        .approve(&run, "nobody", true, None, CancellationToken::new())
        .await
        .expect_err("an answer to a step that does not wait is refused");
    assert!(refused.to_string().contains("`plan`"), "{refused}");

    let turn = lab
        .project
        .reply(
            &run,
            "plan",
            "Shorter, please.".to_owned(),
            CancellationToken::new(),
        )
        .await
        .expect("the person's message is taken");
    assert_eq!(
        turn.outcome.status,
        RunStatus::Waiting,
        "and it waits for the next one"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].conversation(),
        [
            ("user".to_owned(), "Plan the launch with me.".to_owned()),
            (
                "assistant".to_owned(),
                "Plan: announce, demo, follow up.".to_owned()
            ),
            ("user".to_owned(), "Shorter, please.".to_owned()),
        ],
        "the model reads the whole conversation, rebuilt from the run's log"
    );
    let state = lab.project.state(&run).expect("the state folds");
    let kept = state
        .conversations
        .values()
        .next()
        .map(|conversation| &conversation.messages)
        .expect("the conversation is kept");
    assert_eq!(kept.len(), 4, "task, reply, person, reply: {kept:?}");
    assert!(matches!(&kept[3], Message::Assistant { text, .. } if text == "Plan: announce."));

    let done = approve(&lab, &run, "plan", true, "").await;
    let result = lab.result(&done.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "plan"),
        json!("Plan: announce."),
        "ending the conversation makes the last reply the step's output"
    );
    assert_eq!(
        server.requests().len(),
        2,
        "ending it asks the model nothing"
    );
    let log = orchestra_api::log_markdown(&result);
    assert!(
        log.contains("wrote: Shorter, please."),
        "the person's turn is in the run's log:\n{log}"
    );
}

#[tokio::test]
async fn rejecting_an_interactive_step_rejects_the_run() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Plan: launch on a Friday night.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline("planner", PLANNER);
    let (paused, _) = lab.run(&file, &[]).await;
    let refused = lab
        .project
        .approve(
            &paused.run_id,
            "plan",
            false,
            Some("too risky".to_owned()),
            CancellationToken::new(),
        )
        .await
        .expect("the rejection is taken");
    let result = lab.result(&refused.run_id);
    assert_run(&result, RunStatus::Rejected);
    let reason = result.error.clone().unwrap_or_default();
    assert!(
        reason.contains("too risky"),
        "the person's reason is the run's: {reason}"
    );
}

#[tokio::test]
async fn a_message_is_refused_where_a_tool_call_waits_for_approval() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![(
        "write_file".to_owned(),
        json!({ "path": "out.txt", "content": "hello" }),
    )]));
    let lab = lab(&server);
    let file = lab.pipeline("careful", CAREFUL_WRITER);
    let (paused, _) = lab.run(&file, &[]).await;
    let refused = lab
        .project
        .reply(
            &paused.run_id,
            "fix",
            "go on".to_owned(),
            CancellationToken::new(),
        )
        .await
        .expect_err("a message does not answer an approval");
    assert!(
        refused.to_string().contains("waits for an approval"),
        "{refused}"
    );
    assert_eq!(
        waits(&lab, &paused.run_id).len(),
        1,
        "the call still waits, untouched"
    );
}

#[tokio::test]
async fn an_interactive_step_with_a_schema_gives_a_final_answer_that_fits() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Let us launch on Tuesday.".to_owned()));
    server.reply(Reply::Text("{\"day\": \"Tuesday\"}".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline(
        "planner",
        &format!(
            "{PLANNER}    output_schema: {{ type: object, required: [day], properties: {{ day: {{ type: string }} }} }}\n"
        ),
    );
    let (paused, _) = lab.run(&file, &[]).await;
    let done = approve(&lab, &paused.run_id, "plan", true, "").await;
    let result = lab.result(&done.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(output(&result, "plan"), json!({ "day": "Tuesday" }));
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "a last reply that does not fit asks for the final answer"
    );
    let last = requests[1].conversation();
    assert!(
        last.last()
            .is_some_and(|(role, text)| role == "user" && text.contains("final answer")),
        "the model is asked for its final answer: {last:?}"
    );
}

#[tokio::test]
async fn a_tool_call_cut_short_is_not_run_again_when_the_run_resumes() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![("deploy".to_owned(), json!({}))]));
    server.reply(Reply::Text("I will check the deployment first.".to_owned()));
    let lab = lab(&server);
    // The harness writes `workspace: { root: . }`; this pipeline also declares a tool there.
    let file = lab.path("deploy.yaml");
    std::fs::write(
        &file,
        "orchestra: 1\nid: deploy\nworkspace:\n  root: .\n  tools:\n    deploy: { description: Deploys., command: [sh, -c, 'echo ran >> deploys.txt; sleep 30'] }\nsteps:\n  - id: ship\n    action: agent\n    prompt: Deploy the release.\n    model: smart\n    tools: [deploy]\n",
    )
    .expect("write the pipeline");
    let cancel = CancellationToken::new();
    let on_first_deploy = cancel.clone();
    let deploys = lab.path("deploys.txt");
    tokio::spawn(async move {
        while !deploys.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        on_first_deploy.cancel();
    });
    let options = orchestra_api::StartOptions {
        cancel,
        ..orchestra_api::StartOptions::default()
    };
    // The run stops while the tool runs, as it would if its process died.
    let (stopped, _) = lab.start(&file, options).await;
    assert_eq!(stopped.outcome.status, RunStatus::Cancelled);

    let resumed = lab
        .project
        .resume(&stopped.run_id, CancellationToken::new())
        .await
        .expect("the run resumes");
    let result = lab.result(&resumed.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("deploys.txt"),
        ["ran"],
        "a call whose effect is unknown is not made again behind the model's back"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "the first reply was kept; only the next turn is asked"
    );
    let sent = requests[1].conversation();
    assert!(
        sent.iter().any(
            |(role, text)| role == "tool" && text.contains("whether it took effect is unknown")
        ),
        "the model is told the call was cut short: {sent:?}"
    );
}
