//! Journeys of LLM pipelines with the real binary: the research-brief example runs end to end
//! against a protocol server that speaks the OpenAI wire format, with the key given the way the
//! official SDKs take it (`OPENAI_API_KEY`, `OPENAI_BASE_URL`); the key is then searched for in
//! everything the run left behind. The run is recorded, and replayed offline.

mod common;

use std::path::Path;

use common::{Project, assert_in_no_file, repo};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::{Value, json};

/// A key of no known shape, so that only removing its exact value keeps it out of sight.
const KEY: &str = "brief-key-5c1e09f7a3d2";

/// The example's topics, with the facts and the section a model gives for each. The shipped
/// recording is made from these answers (see docs/models.md), so they read like a real brief.
/// A topic, two facts with their sources, and the section written from them.
type Topic = (
    &'static str,
    [(&'static str, &'static str); 2],
    &'static str,
);

const TOPICS: [Topic; 3] = [
    (
        "vector databases",
        [
            (
                "They index embeddings for approximate nearest-neighbour search, trading a little recall for large speed-ups.",
                "HNSW paper, Malkov and Yashunin, 2016",
            ),
            (
                "Most general-purpose databases now offer a vector index, so a separate product is often unnecessary.",
                "PostgreSQL pgvector documentation",
            ),
        ],
        "## Vector databases\n\nA vector database answers \"what is most similar to this?\" quickly, by indexing embeddings for approximate nearest-neighbour search. Before buying one, check whether the database you already run has a vector index: for most product workloads it does.",
    ),
    (
        "retrieval-augmented generation",
        [
            (
                "Retrieval grounds a model's answer in documents it is given at question time, which reduces invented facts.",
                "Lewis et al., Retrieval-Augmented Generation, 2020",
            ),
            (
                "Answer quality depends more on retrieval quality than on the model.",
                "Practitioner reports",
            ),
        ],
        "## Retrieval-augmented generation\n\nRetrieval-augmented generation gives a model the documents it needs at question time, so its answers can cite your sources instead of its memory. Invest in search quality first: a better retriever usually helps more than a bigger model.",
    ),
    (
        "small language models",
        [
            (
                "Models of a few billion parameters now handle classification, extraction and summaries well.",
                "Public benchmark results",
            ),
            (
                "They run on a laptop or a single GPU, which cuts cost and keeps data in-house.",
                "Ollama and llama.cpp documentation",
            ),
        ],
        "## Small language models\n\nSmall models handle routine language tasks well and run on hardware you already own, which lowers cost and keeps data in-house. Use them for high-volume, well-defined steps, and keep larger models for open-ended reasoning.",
    ),
];

/// The brief the editor gives back on its second pass.
fn final_brief() -> String {
    let sections: Vec<&str> = TOPICS.iter().map(|(_, _, section)| *section).collect();
    format!("# Brief for a product team\n\n{}", sections.join("\n\n"))
}

/// The text of the brief a run saved.
fn brief(project: &Project, run: &str) -> String {
    let path = project
        .dir
        .path()
        .join(format!(".orchestra/runs/{run}/briefs/{run}.md"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("the brief `{}` was saved: {error}", path.display()))
}

/// Scripts the answers of a whole research-brief run: facts and a section for each topic, a
/// judge for each section, and an editor who asks for a second pass.
fn script(server: &LlmServer) {
    for (topic, facts, section) in TOPICS {
        let facts: Vec<Value> = facts
            .iter()
            .map(|(fact, source)| json!({ "fact": fact, "source": source }))
            .collect();
        server.reply_when(
            &format!("List the five facts about {topic}"),
            Reply::Text(json!({ "facts": facts }).to_string()),
        );
        server.reply_when(
            &format!("about {topic}, from these facts"),
            Reply::Text(section.to_owned()),
        );
        server.reply_when(
            "Rubric:",
            Reply::Text(json!({ "score": 82, "issues": [{ "severity": "minor", "message": "One source is a vendor." }] }).to_string()),
        );
    }
    let sections: Vec<&str> = TOPICS.iter().map(|(_, _, section)| *section).collect();
    server.reply_when(
        "Edit this brief",
        Reply::Text(
            json!({ "brief": format!("# Brief\n\n{}", sections.join("\n\n")), "verdict": "revise" })
                .to_string(),
        ),
    );
    server.reply_when(
        "Edit this brief",
        Reply::Text(json!({ "brief": final_brief(), "verdict": "done" }).to_string()),
    );
}

/// Asserts that no file under `folder` holds the key, and says how many were searched.
#[test]
fn the_research_brief_runs_against_a_provider_keeps_its_key_secret_and_replays_offline() {
    let server = LlmServer::start();
    script(&server);
    let project = Project::with_examples();
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];
    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "run",
            "pipelines/research-brief.yaml",
            "--record",
            "brief.recording.json",
            "--verbose",
        ],
        &env,
    );
    assert_eq!(code, Some(0), "the brief succeeds: {stdout}{stderr}");
    assert!(
        stderr.contains("recording every exchange with a model to brief.recording.json"),
        "the run says it records: {stderr}"
    );
    assert!(
        stdout.contains("models used") && stdout.contains('$'),
        "the summary gives tokens and cost: {stdout}"
    );
    let run = project.newest_run();
    assert_eq!(
        brief(&project, &run),
        final_brief(),
        "the editor's second pass is the brief"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3 * 3 + 2,
        "facts, a section and a judge per topic, and two editing passes"
    );
    assert!(
        requests
            .iter()
            .all(|request| request.headers.get("authorization") == Some(&format!("Bearer {KEY}"))),
        "OPENAI_API_KEY is sent to OPENAI_BASE_URL"
    );
    let models: Vec<&str> = requests
        .iter()
        .filter_map(|request| request.body["model"].as_str())
        .collect();
    assert!(
        models.contains(&"gpt-4.1-mini") && models.contains(&"gpt-4.1"),
        "`worker` and `smart` stand for OpenAI's models when only its key is set: {models:?}"
    );

    let mut shown = stdout.clone() + &stderr;
    for view in [
        vec!["show", run.as_str()],
        vec!["show", run.as_str(), "--log"],
        vec!["show", run.as_str(), "--qc"],
        vec!["show", run.as_str(), "--json"],
        vec!["show", run.as_str(), "--report", "md"],
        vec!["show", run.as_str(), "--report", "html"],
        vec!["runs", "--json"],
        vec!["auth", "status"],
    ] {
        let (code, stdout, stderr) = project.orchestra_with(&view, &env);
        assert_eq!(code, Some(0), "`{}` works: {stderr}", view.join(" "));
        shown.push_str(&stdout);
        shown.push_str(&stderr);
    }
    assert!(
        !shown.contains(KEY),
        "no output of any command shows the key"
    );
    let (_, qc, _) = project.orchestra_with(&["show", run.as_str(), "--qc"], &env);
    assert!(
        qc.contains("the judge of `per_topic[0]/section` found: One source is a vendor."),
        "the judges' findings are in the QC report: {qc}"
    );
    assert!(!qc.contains("could not run"), "every judge ran: {qc}");
    let searched = assert_in_no_file(project.dir.path(), KEY, "the project")
        + assert_in_no_file(project.global.path(), KEY, "the global folder");
    assert!(
        searched >= 5,
        "the run store, the recording, the brief and the pipelines were searched"
    );

    // Offline: no server, no key. The recording answers, and the run says so.
    let recording = project.dir.path().join("brief.recording.json");
    // Kept for whoever refreshes the example's shipped recording (see docs/models.md).
    let _ = std::fs::copy(
        &recording,
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("research-brief.recording.json"),
    );
    drop(server);
    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "run",
            "pipelines/research-brief.yaml",
            "--replay",
            "brief.recording.json",
        ],
        &[],
    );
    assert_eq!(
        code,
        Some(0),
        "the replay succeeds offline: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("answers come from the recording brief.recording.json: no model is called"),
        "the run says where its answers come from: {stderr}"
    );
    let replayed = project.newest_run();
    assert_ne!(replayed, run, "the replay is a run of its own");
    assert_eq!(
        brief(&project, &replayed),
        brief(&project, &run),
        "the replay produces what the live run produced"
    );
}

#[test]
fn the_shipped_recording_of_the_research_brief_still_replays() {
    let project = Project::with_examples();
    let recording = repo().join("pipelines/recordings/research-brief.json");
    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "run",
            "pipelines/research-brief.yaml",
            "--replay",
            &recording.to_string_lossy(),
        ],
        &[],
    );
    assert_eq!(
        code,
        Some(0),
        "the example, its personalities and its recording must agree; if the example changed, refresh the recording (see docs/models.md): {stdout}{stderr}"
    );
    assert!(
        stderr.contains("answers come from the recording"),
        "a demonstration from a recording says so: {stderr}"
    );
    let run = project.newest_run();
    let (_, qc, _) = project.orchestra_with(&["show", run.as_str(), "--qc"], &[]);
    assert!(
        !qc.contains("could not run"),
        "the recording answers the judges too; a judge it cannot answer fails this test: {qc}"
    );
}

#[test]
fn compile_explains_a_pipeline_and_new_drafts_one() {
    let server = LlmServer::start();
    server.reply_when(
        "Explain this Orchestra pipeline",
        Reply::Text(
            json!({ "intention": "It greets the world. It shows where it ran.", "architecture": ["`machine` reads the platform.", "`greeting` writes the greeting."] })
                .to_string(),
        ),
    );
    server.reply_when(
        "Write an Orchestra pipeline",
        Reply::Text(
            json!({ "yaml": "orchestra: 1\nid: today\nname: Today\nsteps:\n  - id: date\n    action: shell\n    run: [date]\n" })
                .to_string(),
        ),
    );
    let project = Project::with_examples();
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];
    let (code, stdout, stderr) =
        project.orchestra_with(&["compile", "--explain", "pipelines/hello.yaml"], &env);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("intention\n  It greets the world.")
            && stdout.contains("architecture\n  1. `machine` reads the platform.\n  2. `greeting`"),
        "the intention, then the numbered architecture: {stdout}"
    );
    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "new",
            "--describe",
            "Print today's date",
            "-o",
            "pipelines/today.yaml",
        ],
        &env,
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("wrote pipelines/today.yaml (1 round)"),
        "{stdout}"
    );
    let (code, _, stderr) = project.orchestra_with(&["validate", "pipelines/today.yaml"], &[]);
    assert_eq!(code, Some(0), "the draft is valid: {stderr}");
    let (_, runs, _) = project.orchestra(&["runs", "--json"]);
    assert_eq!(runs.trim(), "[]", "nothing ran");
}
