//! `<AUTO>` values: chosen by the orchestrator model (the protocol server) when a run starts,
//! recorded with the run, reused by a re-run and by the next run, pinned by a person, and
//! refused with a clear error when the orchestrator's answer does not fit.

mod common;

use common::llm::{events, lab};
use common::{Lab, assert_run};
use orchestra_api::{PipelineResult, RunEvent, RunStatus, StartOptions};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::json;

/// What every question to the orchestrator about an `<AUTO>` value says.
const QUESTION: &str = "The author's instruction";

/// A pipeline whose one step leaves its model to the orchestrator.
fn pipeline(lab: &Lab, instruction: &str) -> std::path::PathBuf {
    lab.pipeline(
        "auto",
        &format!(
            "models:\n  orchestrator: lab-openai:gpt-test\nsteps:\n  - id: ask\n    action: generate\n    prompt: Say hello.\n    model: <AUTO>{instruction}</AUTO>\n"
        ),
    )
}

/// A lab whose catalog has a second, cheaper model of the same provider.
fn priced_lab(server: &LlmServer) -> Lab {
    let lab = lab(server);
    std::fs::write(
        lab.path("global/models.yaml"),
        "models:\n  - { model: \"lab-openai:gpt-test\", input: 2.0, output: 8.0, tier: 4, tools: true, json: true }\n  - { model: \"lab-openai:gpt-cheap\", input: 0.1, output: 0.4, tier: 2, tools: true, json: true }\n",
    )
    .expect("the user's catalog");
    lab
}

fn answers(result: &PipelineResult) -> Vec<(String, serde_json::Value, String)> {
    events(result, "auto_resolved")
        .into_iter()
        .flat_map(|event| match event {
            RunEvent::AutoResolved { answers } => answers
                .iter()
                .map(|answer| {
                    (
                        format!("{}.{}", answer.step, answer.param),
                        answer.value.clone(),
                        answer.source.clone(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The model each request to the server asked for, in order.
fn models_asked(server: &LlmServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|request| {
            request.body["model"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_orchestrator_chooses_when_a_run_starts_and_the_answer_stays_with_the_run() {
    let server = LlmServer::start();
    server.reply_when(
        QUESTION,
        Reply::Text(
            r#"{"value": "lab-openai:gpt-cheap", "reason": "It is the cheapest model."}"#
                .to_owned(),
        ),
    );
    server.always(Reply::Text("Hello.".to_owned()));
    let lab = priced_lab(&server);
    let file = pipeline(&lab, "the cheapest model that can say hello");

    let (first, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let chosen = answers(&result);
    assert_eq!(chosen.len(), 1, "one value was chosen: {chosen:?}");
    assert_eq!(chosen[0].0, "ask.model");
    assert_eq!(chosen[0].1, json!("lab-openai:gpt-cheap"));
    assert!(
        chosen[0]
            .2
            .contains("orchestrator model `lab-openai:gpt-test`")
            && chosen[0].2.contains("cheapest"),
        "the run says who chose it, and why: {}",
        chosen[0].2
    );
    assert_eq!(
        models_asked(&server),
        ["gpt-test", "gpt-cheap"],
        "the orchestrator is asked first, then the step runs on its answer"
    );
    let question = &server.requests()[0].body;
    let asked = question.to_string();
    assert!(
        asked.contains("the cheapest model that can say hello")
            && asked.contains("lab-openai:gpt-cheap: tier 2, $0.10 / $0.40"),
        "the orchestrator reads the instruction and the models it may choose from, with their prices: {asked}"
    );

    // A re-run from the step takes the earlier run's answer; the orchestrator is not asked.
    let options = StartOptions {
        from: Some("ask".to_owned()),
        reuse: Some(first.run_id.clone()),
        ..StartOptions::default()
    };
    let (_, rerun) = lab.start(&file, options).await;
    assert_run(&rerun, RunStatus::Succeeded);
    let reused = answers(&rerun);
    assert_eq!(reused[0].1, json!("lab-openai:gpt-cheap"));
    assert!(
        reused[0].2.contains(&first.run_id),
        "the answer says which run it came from: {}",
        reused[0].2
    );
    // A new run uses the answer the first one got: it was kept.
    let (_, again) = lab.run(&file, &[]).await;
    assert_run(&again, RunStatus::Succeeded);
    assert_eq!(
        models_asked(&server),
        ["gpt-test", "gpt-cheap", "gpt-cheap", "gpt-cheap"],
        "the orchestrator was asked once, for the first run only"
    );
}

#[tokio::test]
async fn a_pin_is_used_without_asking_until_the_instruction_changes() {
    let server = LlmServer::start();
    server.reply_when(
        QUESTION,
        Reply::Text(r#"{"value": "lab-openai:gpt-cheap", "reason": "Cheapest."}"#.to_owned()),
    );
    server.always(Reply::Text("Hello.".to_owned()));
    let lab = priced_lab(&server);
    let file = pipeline(&lab, "the cheapest model");

    let (pins, pinned) = lab
        .project
        .pin_auto(&file)
        .await
        .unwrap_or_else(|error| panic!("the values are chosen and pinned: {error}"));
    assert_eq!(
        pins,
        lab.path("pins/auto.yaml"),
        "pins live next to the pipeline"
    );
    assert_eq!(pinned[0].value, json!("lab-openai:gpt-cheap"));
    let text = std::fs::read_to_string(&pins).expect("the pin file is written");
    assert!(
        text.contains(
            "ask.model:\n  instruction: \"the cheapest model\"\n  value: \"lab-openai:gpt-cheap\""
        ),
        "the pin file is plain YAML a person can edit: {text}"
    );
    // The person changes their mind about the pinned value.
    std::fs::write(&pins, text.replace("gpt-cheap", "gpt-test")).expect("edit the pin");
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let used = answers(&result);
    assert_eq!(used[0].1, json!("lab-openai:gpt-test"), "the pin wins");
    assert!(used[0].2.starts_with("pinned in"), "{}", used[0].2);
    assert_eq!(
        models_asked(&server),
        ["gpt-test", "gpt-test"],
        "one question to pin, then only the step"
    );

    // An edited instruction is a new question: the pin no longer answers it.
    let file = pipeline(&lab, "the strongest model");
    server.reply_when(
        QUESTION,
        Reply::Text(r#"{"value": "lab-openai:gpt-test", "reason": "Strongest."}"#.to_owned()),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert!(
        answers(&result)[0].2.contains("Strongest."),
        "the orchestrator answered the new instruction: {:?}",
        answers(&result)
    );
}

#[tokio::test]
async fn a_value_the_orchestrator_cannot_choose_fails_the_run_before_any_step() {
    let server = LlmServer::start();
    // Twice a model that is not among the choices: the answer is asked for again once, then
    // refused.
    server.always(Reply::Text(
        r#"{"value": "lab-openai:gpt-imaginary", "reason": "?"}"#.to_owned(),
    ));
    let lab = priced_lab(&server);
    let file = pipeline(&lab, "a model");
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let error = result.error.clone().unwrap_or_default();
    assert!(
        error.contains("`ask.model` could not be chosen") && error.contains("pin"),
        "the error names the value and what to do: {error}"
    );
    assert!(
        events(&result, "step_started").is_empty(),
        "no step runs with a value nobody chose"
    );
    assert_eq!(server.requests().len(), 2, "asked, then asked again once");
    lab.assert_store_intact();
}

#[tokio::test]
async fn a_run_whose_choice_failed_chooses_again_when_it_resumes() {
    let server = LlmServer::start();
    server.reply_when(
        QUESTION,
        Reply::Status {
            code: 401,
            retry_after: None,
            message: "no".to_owned(),
        },
    );
    let lab = priced_lab(&server);
    let file = pipeline(&lab, "the cheapest model");
    let (failed, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);

    server.reply_when(
        QUESTION,
        Reply::Text(r#"{"value": "lab-openai:gpt-cheap", "reason": "Cheapest."}"#.to_owned()),
    );
    server.always(Reply::Text("Hello.".to_owned()));
    let resumed = lab
        .project
        .resume(&failed.run_id, tokio_util::sync::CancellationToken::new())
        .await
        .expect("the failed run resumes");
    let result = lab.result(&resumed.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        answers(&result)[0].1,
        json!("lab-openai:gpt-cheap"),
        "the value is chosen on resume, never left as its tag"
    );
    assert_eq!(
        models_asked(&server).last().map(String::as_str),
        Some("gpt-cheap")
    );
}

#[tokio::test]
async fn a_pin_that_does_not_fit_its_parameter_is_refused_before_any_step() {
    let server = LlmServer::start();
    let lab = priced_lab(&server);
    let file = lab.pipeline(
        "auto",
        "steps:\n  - id: ask\n    action: generate\n    prompt: Say hello.\n    model: smart\n    temperature: <AUTO>what suits a greeting</AUTO>\n",
    );
    std::fs::create_dir_all(lab.path("pins")).expect("the pins folder");
    std::fs::write(
        lab.path("pins/auto.yaml"),
        "ask.temperature:\n  instruction: what suits a greeting\n  value: very warm\n",
    )
    .expect("a pin");
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let error = result.error.clone().unwrap_or_default();
    assert!(
        error.contains("`ask.temperature`")
            && error.contains("pinned in")
            && error.contains("does not fit"),
        "the error names the value, where it came from and why it is refused: {error}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing was asked, nothing ran"
    );
}
