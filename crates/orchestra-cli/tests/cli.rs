//! Journeys through the real `orchestra` binary: what a person types, what they read, and the
//! exit code a script sees.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn repo() -> PathBuf {
    Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests"),
    )
    .join("../..")
    .canonicalize()
    .expect("the repository root")
}

/// The binary, run from the repository root with a private, empty global folder.
fn orchestra(global: &Path) -> Command {
    let mut command = Command::cargo_bin("orchestra").expect("the orchestra binary is built");
    command
        .current_dir(repo())
        .env("ORCHESTRA_HOME", global)
        .env("NO_COLOR", "1");
    command
}

fn run(args: &[&str]) -> (Output, String, String) {
    let global = tempfile::tempdir().expect("a temporary global folder");
    let output = orchestra(global.path())
        .args(args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

fn example_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("pipelines"))
        .expect("the examples exist")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            format!(
                "pipelines/{}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn validating_the_examples_is_clean() {
    let files = example_files();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let (output, stdout, _) = run(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the examples must validate: {stdout}"
    );
    assert!(
        stdout.contains(&format!("{} files checked: no problems", files.len())),
        "{stdout}"
    );
}

#[test]
fn problems_are_printed_like_rustc_and_exit_one() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("typo.yaml");
    std::fs::write(&file, "orchestra: 1\nid: typo\nsteps:\n  - id: a\n    action: shell\n    run: [ls]\n    timout: 1m\n")
        .expect("write the pipeline");
    let path = file.to_string_lossy().into_owned();
    let (output, stdout, _) = run(&["validate", &path]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "problems found exit 1: {stdout}"
    );
    let expected = format!(
        "error[unknown-key]: unknown key `timout` in step `a`\n --> {path}:7:5\n  |\n7 |     timout: 1m\n  |     ^^^^^^\n  |\n  = help: did you mean `timeout`?\n"
    );
    assert!(
        stdout.starts_with(&expected),
        "expected rustc-style output:\n{expected}\ngot:\n{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("1 file checked: 1 error"),
        "{stdout}"
    );
}

#[test]
fn json_output_carries_every_field_a_tool_needs() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "orchestra: 1\nid: bad\nsteps:\n  - id: a\n    action: shel\n",
    )
    .expect("write the pipeline");
    let (output, stdout, _) = run(&["validate", "--json", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("the output is JSON");
    let diagnostic = &json["files"][0]["diagnostics"][0];
    assert_eq!(diagnostic["code"], "unknown-action");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(
        (diagnostic["line"].as_u64(), diagnostic["column"].as_u64()),
        (Some(5), Some(13))
    );
    assert_eq!(diagnostic["step"], "a");
    assert_eq!(diagnostic["pointer"], "/steps/0/action");
    assert_eq!(diagnostic["help"], "did you mean `shell`?");
    assert_eq!(json["files"][0]["valid"], false);
    assert_eq!(json["errors"], 1);
}

#[test]
fn an_unreadable_file_exits_two_and_the_others_are_still_checked() {
    let (output, stdout, stderr) = run(&[
        "validate",
        "pipelines/hello.yaml",
        "pipelines/does-not-exist.yaml",
    ]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unreadable file is exit 2"
    );
    assert!(
        stderr.contains("cannot read `pipelines/does-not-exist.yaml`: no such file"),
        "{stderr}"
    );
    assert!(stdout.contains("2 files checked"), "{stdout}");
    let (folder, _, stderr) = run(&["validate", "pipelines"]);
    assert_eq!(folder.status.code(), Some(2));
    assert!(stderr.contains("folder"), "{stderr}");
}

#[test]
fn usage_errors_exit_two() {
    let (output, _, stderr) = run(&["validate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("FILE"), "clap explains the usage: {stderr}");
    let (output, _, _) = run(&["no-such-command"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("warn.yaml");
    std::fs::write(
        &file,
        "orchestra: 1\nid: warn\nsteps: []\nlayout:\n  nodes:\n    gone: { x: 0, y: 0 }\n",
    )
    .expect("write");
    let path = file.to_string_lossy().into_owned();
    let (output, stdout, _) = run(&["validate", &path]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "warnings alone are not failures: {stdout}"
    );
    assert!(stdout.contains("warning[stale-layout]"), "{stdout}");
    let (denied, _, _) = run(&["validate", "--deny-warnings", &path]);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn compile_prints_the_plan_for_people_and_for_machines() {
    let (output, stdout, _) = run(&["compile", "pipelines/pr-review.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for expected in [
        "plan for pr-review (Adversarial PR review)",
        "level 0\n  diff ",
        "critic ⟲ security  (route when critic.output.verdict == 'revise', at most 2 times)",
        "architecture.model: the cheapest model that can review software design",
        "model smart · personality skeptical · timeout 10m · 3 attempts",
        "agent security-reviewer · model smart · personality skeptical · timeout 10m · 3 attempts",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let (output, stdout, _) = run(&["compile", "--json", "pipelines/hello.yaml"]);
    assert_eq!(output.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("the plan is JSON");
    assert_eq!(plan["pipeline"], "hello");
    assert_eq!(
        plan["graph"]["levels"],
        serde_json::json!([["machine"], ["greeting"]])
    );
}

#[test]
fn compile_refuses_an_invalid_pipeline_with_its_diagnostics() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("cycle.yaml");
    std::fs::write(
        &file,
        "orchestra: 1\nid: cycle\nsteps:\n  - id: a\n    action: shell\n    run: [ls]\n    depends_on: [b]\n  - id: b\n    action: shell\n    run: [ls]\n    depends_on: [a]\n",
    )
    .expect("write");
    let (output, stdout, _) = run(&["compile", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.contains("error[cycle]"), "{stdout}");
    assert!(
        stdout.contains("has errors, so it cannot be compiled"),
        "{stdout}"
    );
}

#[test]
fn compile_never_prints_control_characters_from_a_pipeline() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("escape.yaml");
    std::fs::write(&file, "orchestra: 1\nid: escape\nname: \"a\\e]0;pwned\\a\"\nsteps:\n  - id: a\n    action: template\n    template: \"\\e[2J\"\n")
        .expect("write");
    let (output, stdout, _) = run(&["compile", &file.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "raw control characters reached the terminal: {stdout:?}"
    );
    assert!(
        stdout.contains("\\u{1b}[2J"),
        "they are shown escaped: {stdout}"
    );
}

#[test]
fn the_published_schema_and_action_reference_are_up_to_date() {
    let (output, schema, _) = run(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let published = std::fs::read_to_string(repo().join("docs/pipeline.schema.json"))
        .expect("docs/pipeline.schema.json exists");
    assert!(
        schema == published,
        "docs/pipeline.schema.json is stale: run `cargo run -p orchestra-cli -- schema > docs/pipeline.schema.json`"
    );
    let (_, actions, _) = run(&["actions", "--markdown"]);
    let published =
        std::fs::read_to_string(repo().join("docs/actions.md")).expect("docs/actions.md exists");
    assert!(
        actions == published,
        "docs/actions.md is stale: run `cargo run -p orchestra-cli -- actions --markdown > docs/actions.md`"
    );
}

#[test]
fn fmt_rewrites_to_canonical_form_and_leaves_broken_files_alone() {
    let files = example_files();
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let (output, stdout, _) = run(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the examples are canonical: {stdout}"
    );

    let dir = tempfile::tempdir().expect("a temporary folder");
    let messy = dir.path().join("messy.yaml");
    std::fs::write(
        &messy,
        "steps:\n- action: shell\n  id: a\n  run:\n  - ls\nid: messy\norchestra: 1\n",
    )
    .expect("write");
    let path = messy.to_string_lossy().into_owned();
    let (check, _, _) = run(&["fmt", "--check", &path]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "--check reports a file that is not canonical"
    );
    let (output, _, _) = run(&["fmt", &path]);
    assert_eq!(output.status.code(), Some(0));
    let formatted = std::fs::read_to_string(&messy).expect("read back");
    assert_eq!(
        formatted,
        "orchestra: 1\nid: messy\nsteps:\n  - id: a\n    action: shell\n    run: [ls]\n"
    );

    let broken = dir.path().join("broken.yaml");
    let text = "orchestra: 1\nid: broken\nsteps:\n  - id: a\n    action: shel\n    run: [ls]\n";
    std::fs::write(&broken, text).expect("write");
    let (output, _, _) = run(&["fmt", &broken.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read back"),
        text,
        "a file with errors is never rewritten"
    );
}

#[test]
fn compile_shows_the_prompt_each_llm_step_will_send() {
    let global = tempfile::tempdir().expect("a temporary global folder");
    std::fs::write(
        global.path().join("settings.yaml"),
        "aliases: { worker: openai:gpt-4.1-mini, smart: anthropic:claude-sonnet-4-5 }\n",
    )
    .expect("the user's settings");
    let output = orchestra(global.path())
        .args(["compile", "--show-prompts", "pipelines/research-brief.yaml"])
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "prompts are shown without any key: {stdout}"
    );
    for expected in [
        "── per_topic/notes (generate)\nmodel: openai:gpt-4.1-mini (alias `worker` of your settings)\nsystem:\n  (none)\nprompt:\n  List the five facts about {{ item }}",
        "── per_topic/section (generate)\nmodel: anthropic:claude-sonnet-4-5 (alias `smart` of your settings)",
        "── polish/edit (generate)\nmodel: openai:gpt-4.1-mini (alias `worker` of your settings)\nsystem:\n  Answer the task directly.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
