//! `<AUTO>` values with the real binary: `orchestra compile` shows what the orchestrator model
//! chose (the protocol server answers for it), `--pin` fixes it, and a run says what it used.

mod common;

use common::Project;
use orchestra_llm_server::{LlmServer, Reply};

const KEY: &str = "auto-key-0d94c2e71a";

#[test]
fn compile_shows_the_chosen_value_and_a_pinned_one_is_what_the_run_uses() {
    let server = LlmServer::start();
    server.reply_when(
        "The author's instruction",
        Reply::Text(
            r#"{"value": "openai:gpt-4.1-mini", "reason": "It is cheap and good at short text."}"#
                .to_owned(),
        ),
    );
    server.always(Reply::Text("Hello.".to_owned()));
    let project = Project::empty();
    project.write(
        "hello.yaml",
        "orchestra: 1\nid: hello\nsteps:\n  - id: greet\n    action: generate\n    prompt: Say hello.\n    model: <AUTO>a cheap model that writes short text well</AUTO>\n",
    );
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];

    let (code, stdout, stderr) = project.orchestra_with(&["compile", "hello.yaml"], &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("greet.model: a cheap model that writes short text well")
            && stdout.contains("= \"openai:gpt-4.1-mini\" (chosen by the orchestrator model"),
        "compile shows the instruction and the answer: {stdout}"
    );

    let (code, stdout, stderr) = project.orchestra_with(&["compile", "hello.yaml", "--pin"], &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("pinned in"), "{stderr}");
    let pins = std::fs::read_to_string(project.dir.path().join("pins/hello.yaml"))
        .expect("the pin file is next to the pipeline");
    assert!(pins.contains("greet.model:"), "{pins}");
    assert_eq!(
        server.requests().len(),
        1,
        "the answer compile showed is reused by --pin, not asked again"
    );

    let (code, stdout, stderr) = project.orchestra_with(&["run", "hello.yaml"], &env);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("<AUTO> greet.model = \"openai:gpt-4.1-mini\" (pinned in"),
        "the run says which value it used and where it came from: {stderr}"
    );
    let last = server.requests().pop().expect("the step's request");
    assert_eq!(
        last.body["model"], "gpt-4.1-mini",
        "the step runs on the pinned model"
    );
}
