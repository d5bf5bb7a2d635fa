//! The PR-review example end to end with the real binary, in a real git repository, against a
//! protocol server speaking the OpenAI wire format: the orchestrator chooses the design
//! reviewer's model, the security agent reads a file with a tool, the critic sends it back once,
//! a person approves, and the review is saved. The run is recorded and then replayed offline.

mod common;

use std::path::Path;

use common::{Project, assert_in_no_file, commits_beyond, git, repo, run_branch};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::json;

const KEY: &str = "review-key-6b2f81d09e";

/// The example project as a git repository whose branch `feature` changes `app/login.py` from
/// the example data's `login-before.py` to `login-after.py` (as `scripts/start` builds it for the
/// demonstration).
fn repository() -> Project {
    let project = Project::with_examples();
    let dir = project.dir.path();
    let data = repo().join("pipelines/data");
    std::fs::create_dir_all(dir.join("app")).expect("a source folder");
    std::fs::copy(data.join("login-before.py"), dir.join("app/login.py")).expect("the file before");
    std::fs::write(dir.join(".gitignore"), ".orchestra/\n*.json\n").expect("ignores");
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    git(dir, &["add", "."]);
    git(
        dir,
        &[
            "commit",
            "--quiet",
            "-m",
            "Log in with a parameterised query",
        ],
    );
    git(dir, &["checkout", "--quiet", "-b", "feature"]);
    std::fs::copy(data.join("login-after.py"), dir.join("app/login.py")).expect("the file after");
    git(
        dir,
        &["commit", "--quiet", "-am", "Build the login query by hand"],
    );
    project
}

/// The model's side of the review: each reply is given to the request that holds its needle.
fn script(server: &LlmServer) {
    server.reply_when(
        "The author's instruction",
        Reply::Text(
            json!({ "value": "openai:gpt-4.1-mini", "reason": "The cheapest model that reviews design well enough." })
                .to_string(),
        ),
    );
    let security = "Review this diff for security problems";
    server.reply_when(
        security,
        Reply::ToolCalls(vec![(
            "read_file".to_owned(),
            json!({ "path": "app/login.py" }),
        )]),
    );
    server.reply_when(
        security,
        Reply::Text(
            json!({ "findings": ["The login query is built from user input: SQL injection."] })
                .to_string(),
        ),
    );
    // Sent back by the critic, the agent names the line.
    server.reply_when(
        security,
        Reply::Text(json!({ "findings": ["app/login.py line 2 builds the query from `name` and `password`: SQL injection; use parameters."] }).to_string()),
    );
    server.reply_when(
        "Review the design of this change",
        Reply::Text("Building SQL by hand couples the login to one database's quoting rules; keep the parameterised query.".to_owned()),
    );
    let critic = "Decide whether their reviews are good enough to publish";
    server.reply_when(
        critic,
        Reply::Text(
            json!({ "verdict": "revise", "feedback": "Name the file and line of the injection." })
                .to_string(),
        ),
    );
    server.reply_when(
        critic,
        Reply::Text(json!({ "verdict": "accept", "feedback": "One SQL injection, named with its line; the design review agrees." }).to_string()),
    );
}

#[test]
fn the_pr_review_runs_for_real_then_replays_offline() {
    let server = LlmServer::start();
    script(&server);
    let project = repository();
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];

    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "run",
            "pipelines/pr-review.yaml",
            "--record",
            "review.recording.json",
        ],
        &env,
    );
    assert_eq!(
        code,
        Some(3),
        "the review waits for a person\n{stdout}\n{stderr}"
    );
    let run = project.newest_run();
    assert!(
        stderr.contains("<AUTO> architecture.model = \"openai:gpt-4.1-mini\""),
        "the run says which model the orchestrator chose: {stderr}"
    );
    assert!(
        stderr.contains("read_file"),
        "the agent's tool call shows in the progress: {stderr}"
    );
    let requests = server.requests();
    let tool_result = requests
        .iter()
        .flat_map(|request| {
            request.body["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|message| message["role"] == "tool")
        .expect("the agent's tool result goes back to the model");
    assert!(
        tool_result["content"]
            .as_str()
            .unwrap_or_default()
            .contains("password + \"'\""),
        "the agent read the changed file from the repository: {tool_result}"
    );
    let design = requests
        .iter()
        .find(|request| {
            request.body["messages"]
                .as_array()
                .and_then(|messages| messages.last())
                .and_then(|message| message["content"].as_str())
                .is_some_and(|text| text.starts_with("Review the design of this change"))
        })
        .expect("the design review was asked");
    assert_eq!(
        design.body["model"], "gpt-4.1-mini",
        "on the orchestrator's choice"
    );
    assert!(
        design.body.to_string().contains("password + "),
        "the reviewers read the branch's diff"
    );
    let security_prompts = requests
        .iter()
        .filter(|request| {
            request.body["messages"][1]["content"]
                .as_str()
                .is_some_and(|text| text.contains("A critic read your last review"))
        })
        .count();
    assert_eq!(
        security_prompts, 1,
        "the critic sent the security review back once"
    );

    let (code, stdout, stderr) = project.orchestra_with(
        &["approve", &run, "approve", "--comment", "Publish it."],
        &env,
    );
    assert_eq!(
        code,
        Some(0),
        "the approved review is saved\n{stdout}\n{stderr}"
    );
    let review = saved_review(&project, &run);
    assert!(
        review.contains("## Summary\n\nOne SQL injection, named with its line")
            && review.contains("- app/login.py line 2 builds the query")
            && review.contains("keep the parameterised query"),
        "the review holds the critic's summary, the findings and the design review:\n{review}"
    );
    let searched = assert_in_no_file(project.dir.path(), KEY, "the repository");
    assert!(
        searched >= 5,
        "the store, recording, review and pipelines were searched"
    );

    // Offline, from the recording: the same review, and the run says where answers come from.
    drop(server);
    // Kept for whoever refreshes the example's shipped recording (see docs/models.md).
    let _ = std::fs::copy(
        project.dir.path().join("review.recording.json"),
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pr-review.recording.json"),
    );
    let (code, _, stderr) = project.orchestra_with(
        &[
            "run",
            "pipelines/pr-review.yaml",
            "--replay",
            "review.recording.json",
        ],
        &[],
    );
    assert_eq!(
        code,
        Some(3),
        "the replay reaches the approval offline\n{stderr}"
    );
    assert!(
        stderr.contains("answers come from the recording review.recording.json"),
        "{stderr}"
    );
    let replayed = project.newest_run();
    let (code, stdout, stderr) = project.orchestra_with(
        &[
            "approve",
            &replayed,
            "approve",
            "--replay",
            "review.recording.json",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let again = saved_review(&project, &replayed);
    assert_eq!(
        again, review,
        "the replay writes the review the live run wrote"
    );
}

#[test]
fn the_shipped_recording_of_the_pr_review_still_replays() {
    let project = repository();
    let recording = repo().join("pipelines/recordings/pr-review.json");
    let recording = recording.to_string_lossy();
    let (code, stdout, stderr) = project.orchestra_with(
        &["run", "pipelines/pr-review.yaml", "--replay", &recording],
        &[],
    );
    assert_eq!(
        code,
        Some(3),
        "the shipped recording answers every request of today's pipeline (if not, refresh it as docs/models.md says)\n{stdout}\n{stderr}"
    );
    let run = project.newest_run();
    let (code, stdout, stderr) =
        project.orchestra_with(&["approve", &run, "approve", "--replay", &recording], &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let review = saved_review(&project, &run);
    assert!(review.contains("SQL injection"), "{review}");

    // Replayed from the critic's checkpoint: what came before is reused, the critic and what
    // follows run again on a new branch, and the same review is saved there.
    let (code, stdout, stderr) = project.orchestra_with(
        &["replay", &run, "--at", "critic", "--replay", &recording],
        &[],
    );
    assert_eq!(
        code,
        Some(3),
        "the replay reaches the approval again\n{stdout}\n{stderr}"
    );
    let replay = project.newest_run();
    assert_ne!(replay, run, "a replay is a new run");
    let (code, stdout, stderr) = project.orchestra_with(
        &["approve", &replay, "approve", "--replay", &recording],
        &[],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let (_, shown, _) = project.orchestra_with(&["show", &replay, "--json"], &[]);
    let shown: serde_json::Value = serde_json::from_str(&shown).expect("show prints JSON");
    let diff = shown["result"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["key"] == "diff"))
        .expect("the replay has the diff step");
    assert_eq!(
        diff["reused_from"],
        format!("{run}/diff"),
        "the steps before the checkpoint are reused (the critic sends the security review back again)"
    );
    assert_eq!(
        saved_review(&project, &replay),
        review,
        "the replay from the middle saves the same review on its own branch"
    );
}

/// The review a run saved, read from its branch, whose history must say exactly what each step
/// changed: only `publish` wrote a file, and the user's branch and working tree are untouched.
fn saved_review(project: &Project, run: &str) -> String {
    let dir = project.dir.path();
    let branch = run_branch("pr-review", run);
    assert_eq!(
        commits_beyond(dir, "feature", &branch),
        [(
            "pr-review: publish (succeeded)".to_owned(),
            vec![format!("reviews/{run}.md")]
        )],
        "the run's branch holds one commit, the saved review"
    );
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "the user's working tree is untouched"
    );
    assert!(
        !dir.join(format!("reviews/{run}.md")).exists(),
        "the review is not written into the user's working tree"
    );
    git(dir, &["show", &format!("{branch}:reviews/{run}.md")])
}
