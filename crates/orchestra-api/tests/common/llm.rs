//! A project whose model providers are a protocol server started by the test.

use orchestra_api::{PipelineResult, RunEvent};
use orchestra_llm_server::LlmServer;

use super::Lab;

/// The key the test providers are given; it must never appear anywhere a person can read. It
/// does not look like an OpenAI key, so only removing the known value can keep it out.
pub const KEY: &str = "lab-key-7f3a9c41d2e8b6";

/// A project whose providers `lab-openai` and `lab-anthropic` are the protocol server, with a
/// stored key, a priced model, and prompt layers.
pub fn lab(server: &LlmServer) -> Lab {
    let lab = Lab::new();
    let global = lab.path("global");
    std::fs::create_dir_all(&global).expect("the global folder");
    // The key variables named here are never set, so the key comes from the key file, whatever
    // the environment of the machine running the tests holds.
    std::fs::write(
        global.join("settings.yaml"),
        format!(
            "providers:\n  lab-openai: {{ api: openai, base_url: \"{}\", key_env: ORCHESTRA_LAB_UNSET_OPENAI }}\n  lab-anthropic: {{ api: anthropic, base_url: \"{}\", key_env: ORCHESTRA_LAB_UNSET_ANTHROPIC }}\naliases: {{ smart: lab-openai:gpt-test }}\n",
            server.openai_base_url(),
            server.anthropic_base_url()
        ),
    )
    .expect("the settings");
    std::fs::write(
        global.join("keys.yaml"),
        format!("lab-openai: {KEY}\nlab-anthropic: {KEY}\n"),
    )
    .expect("the key file");
    std::fs::write(
        global.join("models.yaml"),
        "models:\n  - { model: \"lab-openai:gpt-test\", input: 2.0, output: 8.0, tier: 4, tools: true, json: true }\n",
    )
    .expect("the user's catalog");
    std::fs::create_dir_all(lab.path("personalities")).expect("the personalities folder");
    std::fs::write(
        lab.path("personalities/terse.md"),
        "---\nname: terse\ndescription: Says little.\nstyle: One sentence.\n---\nAnswer in as few words as you can.\n",
    )
    .expect("a personality");
    std::fs::write(
        lab.path("personalities/reviewer.md"),
        "---\nname: reviewer\n---\nYou review changes.\n",
    )
    .expect("a role");
    lab
}

/// The events of one kind of a run.
pub fn events<'r>(result: &'r PipelineResult, kind: &str) -> Vec<&'r RunEvent> {
    result
        .log
        .iter()
        .map(|record| &record.event)
        .filter(|event| event.kind() == kind)
        .collect()
}
