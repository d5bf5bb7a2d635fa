//! The regression-loop example end to end with the real binary, in a scratch Rust crate whose
//! test fails, against the protocol server: the agent reads the code, its write waits for a
//! person's approval, the tests pass, and the run reports. The run is recorded and replayed
//! offline, and the shipped recording is checked to still replay.

mod common;

use std::path::Path;

use common::{Project, assert_in_no_file, commits_beyond, git, repo, run_branch};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::json;

const KEY: &str = "loop-key-4e7a19c2b8";

/// The crate's code, with the bug its test finds, and as the agent fixes it.
const BROKEN: &str = "/// Adds two numbers.\npub fn add(a: i64, b: i64) -> i64 {\n    a - b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 2), 4);\n    }\n}\n";
const FIXED: &str = "/// Adds two numbers.\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 2), 4);\n    }\n}\n";

/// The example project as a git repository holding a one-crate Cargo workspace whose test fails.
fn broken_crate() -> Project {
    let project = Project::with_examples();
    let dir = project.dir.path();
    std::fs::create_dir_all(dir.join("crates/calc/src")).expect("the crate's folder");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/calc\"]\nresolver = \"3\"\n",
    )
    .expect("the workspace manifest");
    std::fs::write(
        dir.join("crates/calc/Cargo.toml"),
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .expect("the crate's manifest");
    std::fs::write(dir.join("crates/calc/src/lib.rs"), BROKEN).expect("the broken code");
    std::fs::write(
        dir.join(".gitignore"),
        ".orchestra/\ntarget/\nCargo.lock\n*.json\n",
    )
    .expect("ignores");
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    git(dir, &["add", "."]);
    git(
        dir,
        &["commit", "--quiet", "-m", "A calculator whose test fails"],
    );
    project
}

/// The agent's side: it reads the file, then writes the fix, then says what it did.
fn script(server: &LlmServer) {
    server.reply(Reply::ToolCalls(vec![(
        "read_file".to_owned(),
        json!({ "path": "crates/calc/src/lib.rs" }),
    )]));
    server.reply(Reply::ToolCalls(vec![(
        "write_file".to_owned(),
        json!({ "path": "crates/calc/src/lib.rs", "content": FIXED }),
    )]));
    server.reply(Reply::Text(
        "`add` subtracted its second number; it now adds them, and the test passes.".to_owned(),
    ));
}

/// The variables a run in the scratch crate needs: its own Cargo target folder.
fn cargo_env(dir: &Path) -> (String, String) {
    (
        "CARGO_TARGET_DIR".to_owned(),
        dir.join("target").to_string_lossy().into_owned(),
    )
}

/// Runs the example to its approval and approves it; returns the run and its summary output.
fn run_to_the_end(project: &Project, env: &[(&str, &str)], models: &[&str]) -> (String, String) {
    let mut args = vec!["run", "pipelines/regression-loop.yaml"];
    args.extend_from_slice(models);
    let (code, stdout, stderr) = project.orchestra_with(&args, env);
    assert_eq!(
        code,
        Some(3),
        "the agent's write waits for a person\n{stdout}\n{stderr}"
    );
    let run = project.newest_run();
    assert!(
        stderr.contains("fix waits for approval: the model wants to call `write_file`"),
        "the run says the write waits for approval: {stderr}"
    );
    let worktree = project
        .dir
        .path()
        .join(format!(".orchestra/worktrees/{run}/crates/calc/src/lib.rs"));
    assert_eq!(
        std::fs::read_to_string(&worktree).expect("the run's worktree holds the code"),
        BROKEN,
        "nothing is written before the approval"
    );
    let mut args = vec!["approve", run.as_str(), "fix"];
    args.extend_from_slice(models);
    let (code, stdout, stderr) = project.orchestra_with(&args, env);
    assert_eq!(
        code,
        Some(0),
        "the approved fix makes the tests pass\n{stdout}\n{stderr}"
    );
    (run, stdout)
}

#[test]
fn the_regression_loop_fixes_a_failing_test_with_an_approved_write_then_replays() {
    let server = LlmServer::start();
    script(&server);
    let project = broken_crate();
    let base_url = server.openai_base_url();
    let (target_name, target) = cargo_env(project.dir.path());
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
        (target_name.as_str(), target.as_str()),
    ];
    let (run, stdout) = run_to_the_end(&project, &env, &["--record", "loop.recording.json"]);
    assert!(
        stdout.contains("The tests pass. What changed: `add` subtracted its second number"),
        "the summary reports the agent's change: {stdout}"
    );
    assert_fixed_on_its_branch(&project, &run);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "read, write, answer");
    let read_back = requests[1].conversation();
    assert!(
        read_back
            .iter()
            .any(|(role, text)| role == "tool" && text.contains("a - b")),
        "the agent read the broken code: {read_back:?}"
    );
    assert_in_no_file(project.dir.path(), KEY, "the crate");

    // Kept for whoever refreshes the example's shipped recording (see docs/models.md).
    let _ = std::fs::copy(
        project.dir.path().join("loop.recording.json"),
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("regression-loop.recording.json"),
    );
    drop(server);
    // Offline, in the same broken crate: the same fix, from the recording.
    let again = broken_crate();
    std::fs::copy(
        project.dir.path().join("loop.recording.json"),
        again.dir.path().join("loop.recording.json"),
    )
    .expect("the recording");
    let (_, target) = cargo_env(again.dir.path());
    let (_, stdout) = run_to_the_end(
        &again,
        &[(target_name.as_str(), target.as_str())],
        &["--replay", "loop.recording.json"],
    );
    assert!(stdout.contains("The tests pass."), "{stdout}");
}

#[test]
fn the_shipped_recording_of_the_regression_loop_still_replays() {
    let project = broken_crate();
    let recording = repo().join("pipelines/recordings/regression-loop.json");
    let recording = recording.to_string_lossy();
    let (target_name, target) = cargo_env(project.dir.path());
    let env = [(target_name.as_str(), target.as_str())];
    let (run, stdout) = run_to_the_end(&project, &env, &["--replay", &recording]);
    assert!(
        stdout.contains("The tests pass."),
        "the shipped recording answers every request of today's pipeline (if not, refresh it as docs/models.md says): {stdout}"
    );
    assert_fixed_on_its_branch(&project, &run);

    // Replayed from the test step's checkpoint: the fix is reused (no model is asked), the
    // tests run again in a new worktree that holds the fix, on a new branch from its commit.
    let (code, stdout, stderr) = project.orchestra_with(&["replay", &run, "--at", "test"], &env);
    assert_eq!(code, Some(0), "the replay passes\n{stdout}\n{stderr}");
    assert!(stdout.contains("The tests pass."), "{stdout}");
    let replay = project.newest_run();
    assert_ne!(replay, run, "a replay is a new run");
    let dir = project.dir.path();
    let fix = git(dir, &["rev-parse", &run_branch("regression-loop", &run)]);
    assert_eq!(
        git(dir, &["rev-parse", &run_branch("regression-loop", &replay)]),
        fix,
        "the replay's branch starts at the fix's commit and the tests changed nothing"
    );
}

/// The run's branch holds exactly one commit beyond `main`, the agent's fix, and the user's
/// working tree still holds the broken code.
fn assert_fixed_on_its_branch(project: &Project, run: &str) {
    let dir = project.dir.path();
    let branch = run_branch("regression-loop", run);
    assert_eq!(
        commits_beyond(dir, "main", &branch),
        [(
            "regression-loop: fix (succeeded)".to_owned(),
            vec!["crates/calc/src/lib.rs".to_owned()]
        )],
        "the branch's history says the fix changed the code and nothing else changed a file"
    );
    assert_eq!(
        git(dir, &["show", &format!("{branch}:crates/calc/src/lib.rs")]),
        FIXED.trim_end(),
        "the approved write is on the run's branch"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("crates/calc/src/lib.rs")).expect("the code"),
        BROKEN,
        "the user's working tree is untouched"
    );
}
