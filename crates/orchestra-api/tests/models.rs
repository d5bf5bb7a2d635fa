//! LLM steps for real: the real client code (HTTP, server-sent events, tool calls, retries)
//! talks over loopback to a protocol server started by each test, which speaks the OpenAI and
//! Anthropic wire formats and can be scripted to fail.

mod common;

use std::time::Duration;

use common::llm::{KEY, events, lab};
use common::{Lab, assert_run, output};
use orchestra_api::{ModelMode, PipelineResult, RunEvent, RunStatus, StepStatus};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::{Value, json};

fn step_error(result: &PipelineResult, key: &str) -> String {
    result
        .step(key)
        .and_then(|step| step.error.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_generate_step_streams_its_reply_composes_its_prompt_and_counts_its_cost() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Ship it, the change is small.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline(
        "one",
        "steps:\n  - id: ask\n    action: generate\n    role: reviewer\n    personality: terse\n    system: Mention the risk.\n    prompt: \"Should we ship {{ inputs.change }}?\"\n    model: smart\n    temperature: 0.2\ninputs:\n  change: { type: string, default: the fix }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "ask"),
        json!("Ship it, the change is small."),
        "the streamed pieces are put back together"
    );
    let step = result.step("ask").expect("the step's report");
    assert_eq!(
        step.log, "Ship it, the change is small.",
        "the reply's text streams into the step's log as it comes"
    );
    let prepared = step.model.as_ref().expect("the model it used is recorded");
    assert_eq!(prepared.model, "lab-openai:gpt-test");
    assert_eq!(
        prepared.system,
        "You review changes.\n\nAnswer in as few words as you can.\n\nStyle: One sentence.\n\nMention the risk.",
        "role, personality (with its style) and the step's own text, in that order"
    );
    let usage = step.usage.expect("the step's usage is recorded");
    assert!(
        usage.prompt_tokens > 0 && usage.completion_tokens > 0,
        "the server's usage block is read: {usage:?}"
    );
    let cost = usage.cost_usd.expect("the catalog's prices give a cost");
    #[allow(clippy::cast_precision_loss)]
    let expected =
        (usage.prompt_tokens as f64 * 2.0 + usage.completion_tokens as f64 * 8.0) / 1_000_000.0;
    assert!(
        (cost - expected).abs() < 1e-12,
        "cost {cost} is the tokens at the catalog's prices ({expected})"
    );
    assert_eq!(
        result.usage.cost_usd,
        Some(cost),
        "the run's cost adds up its steps'"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one turn, one request");
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {KEY}").as_str()),
        "the stored key is sent as a bearer token"
    );
    assert_eq!(request.body["stream"], json!(true), "replies are streamed");
    assert_eq!(request.body["temperature"], json!(0.2));
    assert_eq!(request.body["messages"][0]["role"], json!("system"));
    assert_eq!(
        request.body["messages"][1]["content"],
        json!("Should we ship the fix?"),
        "the prompt is sent rendered"
    );
}

#[tokio::test]
async fn an_anthropic_agent_calls_a_tool_and_reads_its_result() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![(
        "read_file".to_owned(),
        json!({ "path": "notes.txt" }),
    )]));
    server.reply(Reply::Text("The notes say to ship on Friday.".to_owned()));
    let lab = lab(&server);
    std::fs::write(lab.path("notes.txt"), "ship on friday\n").expect("a file to read");
    let file = lab.pipeline(
        "agent",
        "steps:\n  - id: look\n    action: agent\n    prompt: What do the notes say?\n    model: lab-anthropic:claude-test\n    tools: [read_file]\n    max_turns: 3\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "look"),
        json!("The notes say to ship on Friday.")
    );
    let step = result.step("look").expect("the step's report");
    assert_eq!(step.tool_calls.len(), 1, "one tool call is recorded");
    assert_eq!(step.tool_calls[0].tool, "read_file");
    assert_eq!(
        step.tool_calls[0].result.as_deref(),
        Some("ship on friday\n"),
        "the tool's result is recorded with the call"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "a turn for the call, a turn for the answer"
    );
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(
        requests[0].headers.get("x-api-key").map(String::as_str),
        Some(KEY)
    );
    assert!(
        requests[0].headers.contains_key("anthropic-version"),
        "the API version is sent"
    );
    assert_eq!(
        requests[0].body["tools"][0]["name"],
        json!("read_file"),
        "the step's tool is offered with its schema"
    );
    let second = &requests[1].body["messages"];
    assert_eq!(second[1]["content"][0]["type"], json!("tool_use"));
    assert_eq!(
        second[2]["content"][0],
        json!({ "type": "tool_result", "tool_use_id": second[1]["content"][0]["id"], "content": "ship on friday\n", "is_error": false }),
        "the tool's result goes back as the user's turn, naming the call"
    );
}

#[tokio::test]
async fn an_agent_gets_tool_errors_back_and_runs_only_its_own_tools() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![
        (
            "write_file".to_owned(),
            json!({ "path": "../escape.txt", "content": "x" }),
        ),
        (
            "write_file".to_owned(),
            json!({ "path": "./.git/config", "content": "[diff]\n  external = sh\n" }),
        ),
        ("shell".to_owned(), json!({ "run": ["touch", "owned"] })),
    ]));
    server.reply(Reply::ToolCalls(vec![("check".to_owned(), json!({}))]));
    server.reply(Reply::Text("Done.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline(
        "tools",
        "  tools:\n    check: { description: Runs the checks., command: [sh, -c, 'echo checks pass'] }\nsteps:\n  - id: work\n    action: agent\n    prompt: Do the work.\n    model: smart\n    tools: [write_file, check]\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let step = result.step("work").expect("the step's report");
    let calls: Vec<(&str, bool)> = step
        .tool_calls
        .iter()
        .map(|call| (call.tool.as_str(), call.is_error))
        .collect();
    assert_eq!(
        calls,
        [
            ("write_file", true),
            ("write_file", true),
            ("shell", true),
            ("check", false)
        ],
        "a path outside the workspace, a repository's own files and a tool the step does not list fail; its own tool runs"
    );
    assert!(
        !lab.path("../escape.txt").exists()
            && !lab.path(".git/config").exists()
            && !lab.path("owned").exists(),
        "nothing was written outside the workspace or into .git, and no unlisted tool ran"
    );
    assert!(
        step.tool_calls[2]
            .result
            .as_deref()
            .is_some_and(|error| error.contains("may not call `shell`")),
        "the model is told which tools it may call: {:?}",
        step.tool_calls[2].result
    );
    assert_eq!(
        step.tool_calls[3].result.as_deref(),
        Some("checks pass\n"),
        "the workspace command's output goes back to the model"
    );
    let second = &server.requests()[1].body["messages"];
    let tool_messages: Vec<&Value> = second
        .as_array()
        .expect("messages")
        .iter()
        .filter(|message| message["role"] == "tool")
        .collect();
    assert_eq!(
        tool_messages.len(),
        3,
        "each call gets its answer, errors included"
    );
    assert!(
        tool_messages[0]["content"]
            .as_str()
            .is_some_and(|text| text.contains("outside")),
        "the error says why: {}",
        tool_messages[0]["content"]
    );
}

#[tokio::test]
async fn an_agent_that_never_answers_stops_at_max_turns() {
    let server = LlmServer::start();
    server.always(Reply::ToolCalls(vec![("list_files".to_owned(), json!({}))]));
    let lab = lab(&server);
    let file = lab.pipeline(
        "loop",
        "steps:\n  - id: spin\n    action: agent\n    prompt: Look around.\n    model: smart\n    tools: [list_files]\n    max_turns: 2\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert!(
        step_error(&result, "spin").contains("after 2 turns"),
        "the failure names the bound: {}",
        step_error(&result, "spin")
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "two turns with tools, then one to answer, and no more"
    );
    assert!(
        requests[2].body.get("tools").is_none(),
        "the last turn offers no tools: {}",
        requests[2].body
    );
}

#[tokio::test]
async fn a_structured_reply_is_checked_and_asked_for_again_once() {
    let server = LlmServer::start();
    server.reply(Reply::Text("{\"verdict\": \"maybe\"}".to_owned()));
    server.reply(Reply::Text("{\"verdict\": \"accept\"}".to_owned()));
    server.reply(Reply::Text("not json at all".to_owned()));
    server.reply(Reply::Text("{\"verdict\": 3}".to_owned()));
    let lab = lab(&server);
    let schema = "    output_schema: { type: object, required: [verdict], properties: { verdict: { enum: [accept, revise] } } }\n";
    let file = lab.pipeline(
        "judge",
        &format!(
            "steps:\n  - id: first\n    action: generate\n    prompt: Judge.\n    model: smart\n{schema}  - id: second\n    action: generate\n    depends_on: [first]\n    prompt: Judge again.\n    model: smart\n{schema}"
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_eq!(
        output(&result, "first"),
        json!({ "verdict": "accept" }),
        "the corrected reply is the output, parsed"
    );
    let requests = server.requests();
    let correction = requests[1].body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        correction.contains("/verdict"),
        "the model is told what was wrong: {correction}"
    );
    assert_eq!(
        requests[0].body["response_format"]["type"],
        json!("json_schema"),
        "the schema is sent as the response format"
    );
    assert_eq!(
        result.step("second").map(|s| s.status),
        Some(StepStatus::Failed)
    );
    assert!(
        step_error(&result, "second").contains("even when asked again"),
        "a second bad reply fails the step, saying so: {}",
        step_error(&result, "second")
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let server = LlmServer::start();
    server.reply(Reply::Status {
        code: 429,
        retry_after: Some(1),
        message: "Rate limit reached".to_owned(),
    });
    server.reply(Reply::Status {
        code: 500,
        retry_after: None,
        message: "The server had an error".to_owned(),
    });
    server.reply(Reply::Malformed);
    server.reply(Reply::Cut);
    server.reply(Reply::Text("At last.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline(
        "flaky",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Hello?\n    model: smart\n    retry: { attempts: 5, delay: 10ms, jitter: false }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(output(&result, "ask"), json!("At last."));
    let failures: Vec<(String, Option<u64>)> = events(&result, "attempt_failed")
        .into_iter()
        .filter_map(|event| match event {
            RunEvent::AttemptFailed {
                error, retry_in_ms, ..
            } => Some((error.clone(), *retry_in_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 4, "four faults, four retries: {failures:?}");
    assert!(
        failures[0].0.contains("429") && failures[0].0.contains("Rate limit reached"),
        "the provider's message is kept: {}",
        failures[0].0
    );
    assert!(
        failures[0].1.is_some_and(|wait| wait >= 1_000),
        "the wait honours Retry-After (1 s), not the 10 ms backoff: {:?}",
        failures[0].1
    );
    assert!(
        failures[1].0.contains("500"),
        "a server error is retried: {}",
        failures[1].0
    );
    assert!(
        failures[1].1.is_some_and(|wait| wait < 1_000),
        "without Retry-After the step's own backoff applies: {:?}",
        failures[1].1
    );
    assert!(
        failures[2].0.contains("cannot read"),
        "malformed JSON is named: {}",
        failures[2].0
    );
    assert!(
        failures[3].0.contains("cut off"),
        "a stream cut halfway is named: {}",
        failures[3].0
    );
}

#[tokio::test]
async fn a_refusal_ends_the_step_at_once_with_the_message_and_without_the_key() {
    let server = LlmServer::start();
    server.always(Reply::Status {
        code: 401,
        retry_after: None,
        message: format!("Incorrect API key provided: {KEY}. You can find your key at ..."),
    });
    let lab = lab(&server);
    let file = lab.pipeline(
        "refused",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Hello?\n    model: smart\n    retry: { attempts: 3, delay: 10ms }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let error = step_error(&result, "ask");
    assert!(
        error.contains("401") && error.contains("Incorrect API key provided"),
        "the provider's message is shown: {error}"
    );
    assert!(!error.contains(KEY), "the key is removed from it: {error}");
    assert_eq!(
        server.requests().len(),
        1,
        "a refused key is not tried again"
    );
    let everything = serde_json::to_string(&result).expect("the result serialises");
    assert!(
        !everything.contains(KEY),
        "the key is nowhere in the run's result"
    );
    assert_key_nowhere(&lab);
}

/// Asserts that no file of the project (the run store and its journal, reports, recordings,
/// written files) holds the key; only the key file may.
fn assert_key_nowhere(lab: &Lab) {
    let (found, searched) = orchestra_llm_server::files_holding(lab.dir.path(), KEY);
    let found: Vec<_> = found
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|name| name != "keys.yaml"))
        .collect();
    assert!(found.is_empty(), "the key is in {found:?}");
    assert!(
        searched >= 3,
        "the run store and the pipeline were searched"
    );
}

#[tokio::test]
async fn a_missing_key_and_an_unknown_alias_are_clear_messages() {
    let server = LlmServer::start();
    let lab = lab(&server);
    std::fs::remove_file(lab.path("global/keys.yaml")).expect("the key file is removed");
    let file = lab.pipeline(
        "nokey",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Hello?\n    model: lab-openai:gpt-test\n  - id: other\n    action: generate\n    prompt: Hello?\n    model: nonesuch\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert!(
        step_error(&result, "ask")
            .contains("there is no API key for `lab-openai`: set `ORCHESTRA_LAB_UNSET_OPENAI`"),
        "the message says how to give a key: {}",
        step_error(&result, "ask")
    );
    assert!(
        step_error(&result, "other").contains("alias `nonesuch` is not defined"),
        "an unknown alias is named: {}",
        step_error(&result, "other")
    );
    assert!(
        server.requests().is_empty(),
        "nothing was sent without a model and a key"
    );
}

#[tokio::test]
async fn a_hanging_model_is_stopped_by_the_step_timeout() {
    let server = LlmServer::start();
    server.always(Reply::Hang);
    let lab = lab(&server);
    let file = lab.pipeline(
        "hang",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Hello?\n    model: smart\n    timeout: 1s\n",
    );
    let started = std::time::Instant::now();
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert!(
        step_error(&result, "ask").contains("timed out after 1s"),
        "the timeout is named: {}",
        step_error(&result, "ask")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the run does not hang with the server"
    );
}

#[tokio::test]
async fn cancelling_a_run_stops_a_reply_mid_stream() {
    let server = LlmServer::start();
    server.always(Reply::Slow {
        text: "one two three four five six seven eight nine ten".to_owned(),
        delay_ms: 400,
    });
    let lab = lab(&server);
    let file = lab.pipeline(
        "slow",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Count.\n    model: smart\n",
    );
    let options = common::options(&[]);
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(900)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    let (_, result) = lab.start(&file, options).await;
    assert_run(&result, RunStatus::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the stream (4 s long) is dropped when the run is cancelled: {:?}",
        started.elapsed()
    );
    lab.assert_store_intact();
}

#[tokio::test]
async fn a_recorded_run_replays_offline_and_refuses_what_it_did_not_record() {
    let server = LlmServer::start();
    server.reply(Reply::ToolCalls(vec![(
        "read_file".to_owned(),
        json!({ "path": "notes.txt" }),
    )]));
    server.reply(Reply::Text("Friday.".to_owned()));
    let mut lab = lab(&server);
    std::fs::write(lab.path("notes.txt"), "ship on friday\n").expect("a file to read");
    let body = "steps:\n  - id: look\n    action: agent\n    prompt: When do we ship?\n    model: smart\n    tools: [read_file]\n";
    let file = lab.pipeline("replayed", body);
    let recording = lab.path("replayed.recording.json");
    lab.project
        .set_models(&ModelMode::Record(recording.clone()))
        .expect("recording needs no file yet");
    let (_, live) = lab.run(&file, &[]).await;
    assert_run(&live, RunStatus::Succeeded);
    assert!(recording.exists(), "the recording was saved");
    assert_key_nowhere(&lab);

    // The server forgets its script: only the recording can answer now.
    drop(server);
    lab.project
        .set_models(&ModelMode::Replay(recording.clone()))
        .expect("the recording reads");
    let (_, replayed) = lab.run(&file, &[]).await;
    assert_run(&replayed, RunStatus::Succeeded);
    assert_eq!(output(&replayed, "look"), json!("Friday."));
    let prepared = replayed
        .step("look")
        .and_then(|step| step.model.clone())
        .expect("the model is recorded");
    assert_eq!(
        prepared.replayed_from.as_deref(),
        Some(recording.display().to_string().as_str()),
        "the run says its answers came from the recording"
    );

    let changed = lab.pipeline("replayed", &body.replace("When do we ship?", "Who ships?"));
    let (_, refused) = lab.run(&changed, &[]).await;
    assert_run(&refused, RunStatus::Failed);
    assert!(
        step_error(&refused, "look").contains("holds no answer for this request"),
        "a request the recording does not hold is refused: {}",
        step_error(&refused, "look")
    );
}

#[tokio::test]
async fn a_judge_scores_an_output_and_its_findings_join_the_qc_report() {
    let server = LlmServer::start();
    server.reply_when(
        "Rubric:",
        Reply::Text(
            json!({ "score": 40, "issues": [
                { "severity": "major", "message": "It names no source." },
                { "severity": "minor", "message": "The second sentence repeats the first." }
            ] })
            .to_string(),
        ),
    );
    server.reply(Reply::Text("Vector databases store embeddings.".to_owned()));
    let lab = lab(&server);
    let file = lab.pipeline(
        "judged",
        "models: { orchestrator: lab-openai:gpt-test }\nsteps:\n  - id: write\n    action: generate\n    prompt: Explain vector databases.\n    model: smart\n    qc:\n      - not_empty\n      - judge: Is it accurate and sourced?\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let step = result.step("write").expect("the step's report");
    let judge = step
        .checks
        .iter()
        .find(|check| check.check.starts_with("judge"))
        .expect("the judge's result is kept with the step");
    assert_eq!(
        (judge.passed, judge.score, judge.findings.len()),
        (Some(false), Some(40), 2),
        "a score under 60 fails, with the judge's findings: {judge:?}"
    );
    let judged = server
        .requests()
        .into_iter()
        .find(|request| request.body.to_string().contains("Rubric:"))
        .expect("the judge was asked");
    assert!(
        judged
            .body
            .to_string()
            .contains("Vector databases store embeddings."),
        "the judge reads the step's output"
    );
    let qc = result.qc();
    let from_judge: Vec<(&str, String)> = qc
        .issues
        .iter()
        .filter(|issue| issue.rule == "judge")
        .map(|issue| (issue.severity.as_str(), issue.message.clone()))
        .collect();
    assert_eq!(
        from_judge,
        [
            (
                "major",
                "the judge of `write` found: It names no source.".to_owned()
            ),
            (
                "minor",
                "the judge of `write` found: The second sentence repeats the first.".to_owned()
            )
        ],
        "each finding is an issue of the run's QC report, with its severity"
    );
    let step_tokens = step.usage.map_or(0, |usage| usage.total_tokens);
    assert!(
        result.usage.total_tokens > step_tokens,
        "the judge's tokens count in the run's usage"
    );
}

#[tokio::test]
async fn explaining_a_pipeline_asks_once_and_then_reads_the_cache() {
    let server = LlmServer::start();
    server.reply_when(
        "Explain this Orchestra pipeline",
        Reply::Text(
            json!({
                "intention": "It asks a model one question. It exists to show the format.",
                "architecture": ["`ask` sends the question to the model."]
            })
            .to_string(),
        ),
    );
    let lab = lab(&server);
    let file = lab.pipeline(
        "explained",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Why?\n    model: smart\n",
    );
    let first = lab.project.explain(&file).await.expect("the explanation");
    assert_eq!(
        first.intention,
        "It asks a model one question. It exists to show the format."
    );
    assert_eq!(
        first.architecture,
        ["`ask` sends the question to the model."]
    );
    assert_eq!(
        first.model, "lab-openai:gpt-test",
        "the orchestrator model wrote it"
    );
    assert!(!first.cached);
    let request = &server.requests()[0];
    assert!(
        request.body.to_string().contains("id: explained"),
        "the model reads the pipeline itself"
    );
    let again = lab
        .project
        .explain(&file)
        .await
        .expect("the cached explanation");
    assert!(
        again.cached,
        "an unchanged pipeline is not asked about again"
    );
    assert_eq!(again.intention, first.intention);
    assert_eq!(server.requests().len(), 1, "the cache answered");
}

#[tokio::test]
async fn a_draft_is_validated_corrected_and_written_only_when_valid() {
    let server = LlmServer::start();
    let invalid = "orchestra: 1\nid: fetcher\nname: Fetch\nsteps:\n  - id: get\n    action: http\n    url: https://example.com\n    timout: 5s\n";
    let valid = "orchestra: 1\nid: fetcher\nname: Fetch\nsteps:\n  - id: get\n    action: http\n    url: https://example.com\n    timeout: 5s\n";
    server.reply_when(
        "Write an Orchestra pipeline",
        Reply::Text(json!({ "yaml": invalid }).to_string()),
    );
    server.reply_when(
        "It has these errors",
        Reply::Text(json!({ "yaml": valid }).to_string()),
    );
    let lab = lab(&server);
    let out = lab.path("fetcher.yaml");
    let draft = lab
        .project
        .draft("Fetch example.com within five seconds", &out)
        .await
        .expect("the second draft is valid");
    assert_eq!(draft.rounds, 2, "one correction was needed");
    assert_eq!(
        std::fs::read_to_string(&out).expect("the draft was written"),
        valid
    );
    let requests = server.requests();
    assert!(
        requests[1]
            .body
            .to_string()
            .contains("unknown key `timout`"),
        "the validator's findings are fed back: {}",
        requests[1].body
    );
    assert!(
        requests[0]
            .body
            .to_string()
            .contains("Fetch example.com within five seconds"),
        "the description is sent"
    );
    assert!(
        lab.result_count() == 0,
        "nothing ran: a draft is only written"
    );

    server.always(Reply::Text(json!({ "yaml": invalid }).to_string()));
    let never = lab.path("never.yaml");
    let error = lab
        .project
        .draft("Fetch example.com", &never)
        .await
        .expect_err("three invalid drafts are given up");
    assert!(
        error.to_string().contains("in 3 rounds") && error.to_string().contains("timout"),
        "the refusal says why: {error}"
    );
    assert!(!never.exists(), "an invalid draft is never written");
    let error = lab
        .project
        .draft("Fetch example.com", &out)
        .await
        .expect_err("an existing file is not replaced");
    assert!(error.to_string().contains("exists already"), "{error}");
}

#[tokio::test]
async fn no_key_goes_to_a_provider_that_the_project_moved() {
    let server = LlmServer::start();
    server.always(Reply::Text("hello".to_owned()));
    let lab = lab(&server);
    // The user keeps a key for their remote Ollama; a project they cloned points `ollama` at
    // another host.
    std::fs::write(
        lab.path("global/keys.yaml"),
        format!("lab-openai: {KEY}\nollama: {KEY}\n"),
    )
    .expect("the key file");
    std::fs::write(
        lab.path("orchestra.yaml"),
        format!(
            "providers:\n  ollama: {{ base_url: \"{}\" }}\n",
            server.openai_base_url()
        ),
    )
    .expect("the project's settings");
    let file = lab.pipeline(
        "moved",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Hello?\n    model: ollama:llama3.2\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "the step asked the moved provider");
    assert!(
        !requests[0].headers.contains_key("authorization"),
        "the user's key stays home: {:?}",
        requests[0].headers
    );
    // The test server refuses a request without a key, as OpenAI's would; the step says so.
    assert_run(&result, RunStatus::Failed);
    assert!(step_error(&result, "ask").contains("401"));
}

#[tokio::test]
async fn an_agent_file_gives_a_step_its_settings() {
    let server = LlmServer::start();
    server.always(Reply::Text("Looks fine.".to_owned()));
    let lab = lab(&server);
    std::fs::create_dir_all(lab.path("agents")).expect("an agents folder");
    std::fs::write(
        lab.path("agents/checker.yaml"),
        "description: Checks files.\npersonality: terse\nmodel: smart\ntools: [read_file]\nmax_turns: 2\n",
    )
    .expect("an agent file");
    let file = lab.pipeline(
        "filed",
        "steps:\n  - id: check\n    action: agent\n    agent: checker\n    prompt: Check the notes.\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let request = &server.requests()[0].body;
    assert_eq!(
        request["tools"][0]["function"]["name"],
        json!("read_file"),
        "the agent file's tools are offered"
    );
    assert_eq!(
        request["messages"][0]["content"],
        json!("Answer in as few words as you can.\n\nStyle: One sentence."),
        "the agent file's personality composes the system prompt"
    );

    std::fs::write(lab.path("agents/checker.yaml"), "personalty: terse\n")
        .expect("a broken agent file");
    let error = lab
        .project
        .start(&file, common::options(&[]))
        .await
        .expect_err("a broken agent file stops the run before it starts");
    assert!(
        error.to_string().contains("checker.yaml") && error.to_string().contains("personalty"),
        "the message names the file and the key: {error}"
    );
}
