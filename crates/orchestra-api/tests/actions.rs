//! What each action does when it runs for real: programs' output kept exactly, files written and
//! listed inside the workspace, requests sent as written.

mod common;

use common::{Answer, Lab, Server, assert_run, output};
use orchestra_api::RunStatus;
use serde_json::json;

#[tokio::test]
async fn a_program_s_output_is_kept_exactly_as_it_was_written() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("sub")).expect("a folder to run in");
    let file = lab.pipeline(
        "exact",
        "steps:\n  - id: bare\n    action: shell\n    run: [printf, 'no newline']\n  - id: long\n    action: shell\n    run: [sh, -c, 'i=0; while [ $i -lt 30000 ]; do printf \"é✓\"; i=$((i+1)); done']\n  - id: binary\n    action: shell\n    run: [printf, 'a\\377b\\n']\n  - id: where\n    action: shell\n    cwd: sub\n    run: [pwd]\n  - id: fed\n    action: shell\n    run: [sh, -c, 'tr a-z A-Z; echo \"$GREETING\"']\n    stdin: \"shout\\n\"\n    env: { GREETING: hi }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "bare"),
        json!("no newline"),
        "nothing is added to what a program wrote"
    );
    assert_eq!(
        output(&result, "long"),
        json!("é✓".repeat(30_000)),
        "a line far longer than a read, with characters of several bytes, arrives whole"
    );
    assert_eq!(
        output(&result, "binary"),
        json!("a\u{fffd}b\n"),
        "bytes that are not text are shown as replacement characters"
    );
    let expected = lab
        .path("sub")
        .canonicalize()
        .expect("the folder")
        .display()
        .to_string();
    assert_eq!(
        output(&result, "where"),
        json!(format!("{expected}\n")),
        "cwd is inside the workspace"
    );
    assert_eq!(
        output(&result, "fed"),
        json!("SHOUT\nhi\n"),
        "stdin and env reach the program"
    );
}

#[tokio::test]
async fn a_huge_output_is_capped_and_says_so() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "huge",
        "steps:\n  - id: flood\n    action: shell\n    run: [sh, -c, 'head -c 20000000 /dev/zero | tr \"\\0\" x']\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let text = result
        .step("flood")
        .and_then(|s| s.output.as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(
        text.len() < 17 << 20,
        "at most 16 MiB are kept, not {} bytes",
        text.len()
    );
    assert!(text.starts_with("xxxx"));
    assert!(
        text.contains("more bytes of output were not kept"),
        "the output says it was cut"
    );
}

#[tokio::test]
async fn files_are_written_appended_read_and_listed_in_the_workspace() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "files",
        "steps:\n  - id: first\n    action: file.write\n    path: notes/a.md\n    content: \"one\\n\"\n  - id: more\n    action: file.write\n    depends_on: [first]\n    path: notes/a.md\n    content: \"two\\n\"\n    append: true\n  - id: other\n    action: file.write\n    path: notes/deep/b.md\n    content: b\n  - id: text\n    action: file.write\n    path: notes/c.txt\n    content: c\n  - id: read\n    action: file.read\n    depends_on: [more]\n    path: notes/a.md\n  - id: top\n    action: file.list\n    depends_on: [more, other, text]\n    path: notes\n    pattern: '*.md'\n  - id: all\n    action: file.list\n    depends_on: [more, other, text]\n    path: notes\n    pattern: '*.md'\n    recursive: true\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "read"),
        json!("one\ntwo\n"),
        "append adds to the end"
    );
    assert_eq!(
        output(&result, "top"),
        json!(["notes/a.md"]),
        "a pattern filters names; sub-folders need recursive"
    );
    assert_eq!(
        output(&result, "all"),
        json!(["notes/a.md", "notes/deep/b.md"])
    );
    let a = result
        .artifacts
        .iter()
        .find(|artifact| artifact.path == "notes/a.md")
        .expect("an artifact");
    assert_eq!(a.size, 8, "the artifact records the file as it ended");
    assert_eq!(
        a.step, "more",
        "the artifact names the step that wrote it last"
    );
}

#[tokio::test]
async fn an_http_request_carries_its_method_headers_and_body() {
    let lab = Lab::new();
    let server = Server::start(Answer::Respond(
        201,
        "Created",
        "text/plain",
        "made".to_owned(),
    ));
    let file = lab.pipeline(
        "post",
        "inputs:\n  url: { type: string }\nsteps:\n  - id: create\n    action: http\n    method: PUT\n    url: \"{{ inputs.url }}/things\"\n    headers: { X-Token: abc }\n    body: \"plain text\"\n    expect_status: [201]\n",
    );
    let (_, result) = lab.run(&file, &[("url", json!(server.url))]).await;
    assert_run(&result, RunStatus::Succeeded);
    let create = result.step("create").expect("the request ran");
    assert_eq!(create.output, json!("made"));
    assert_eq!(create.exit_code, Some(201), "the status is the step's code");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_program_that_leaves_a_background_process_holding_its_output_still_ends() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "background",
        "steps:\n  - id: daemon\n    action: shell\n    run: [sh, -c, 'sleep 30 & echo $! > child.pid; echo started']\n",
    );
    let began = std::time::Instant::now();
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert!(
        began.elapsed() < std::time::Duration::from_secs(10),
        "the step ends soon after its program, not when the background process does"
    );
    assert_eq!(output(&result, "daemon"), json!("started\n"));
    lab.assert_child_gone("the background process goes with the step's process group")
        .await;
}
