//! Bad and hostile input: values that look like shell code, paths that leave the workspace,
//! programs and servers that are not there or never answer, run ids that do not exist, and
//! damaged run stores. Each ends with a sentence that says what went wrong, and nothing else
//! happens.

mod common;

use common::{Answer, Lab, Server, assert_run, error, status};
use orchestra_api::{ApiError, Project, RunStatus, StepStatus};
use serde_json::json;

/// Values a template could carry that a shell would run.
const HOSTILE: &[&str] = &[
    "; rm -rf keep",
    "$(touch pwned-dollar)",
    "`touch pwned-backtick`",
    "x\ntouch pwned-newline",
    "' ; touch pwned-quote '",
    "&& touch pwned-and",
    "| touch pwned-pipe",
    "-rf",
];

fn no_commands_ran(lab: &Lab) {
    assert!(lab.path("keep").is_dir(), "`rm -rf keep` must not run");
    let pwned: Vec<String> = std::fs::read_dir(lab.dir.path())
        .expect("the folder lists")
        .filter_map(std::result::Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pwned"))
        .collect();
    assert!(
        pwned.is_empty(),
        "no value may run as a command, but these files appeared: {pwned:?}"
    );
}

#[tokio::test]
async fn template_values_reach_programs_only_as_single_arguments() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path("keep")).expect("a folder that `rm -rf` would remove");
    let file = lab.pipeline(
        "argv",
        "inputs:\n  values: { type: list }\nsteps:\n  - id: each\n    for_each: \"{{ inputs.values }}\"\n    steps:\n      - id: argv\n        action: shell\n        run: [printf, '[%s]', '{{ item }}']\n      - id: variable\n        action: shell\n        depends_on: [argv]\n        shell: true\n        run: 'printf \"[%s]\" \"$VALUE\"'\n        env: { VALUE: '{{ item }}' }\n      - id: stdin\n        action: shell\n        depends_on: [variable]\n        run: [cat]\n        stdin: '{{ argv.output }}{{ variable.output }}'\noutputs:\n  seen: \"{{ each.output }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[("values", json!(HOSTILE))]).await;
    assert_run(&result, RunStatus::Succeeded);
    let expected: Vec<String> = HOSTILE
        .iter()
        .map(|value| format!("[{value}][{value}]"))
        .collect();
    assert_eq!(
        finished.outcome.outputs.get("seen"),
        Some(&json!(expected)),
        "each value arrives unchanged, as one argument, one variable and as input"
    );
    no_commands_ran(&lab);
}

#[tokio::test]
async fn file_actions_refuse_paths_that_leave_the_workspace() {
    let lab = Lab::new();
    let outside = tempfile::tempdir().expect("a folder outside the workspace");
    std::fs::write(outside.path().join("secret.txt"), "secret").expect("a file outside");
    std::os::unix::fs::symlink(outside.path(), lab.path("link")).expect("a link that points out");
    let escape = format!(
        "../{}-escape.txt",
        lab.dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let absolute = outside.path().join("absolute.txt").display().to_string();
    let file = lab.pipeline(
        "escape",
        "inputs:\n  path: { type: string }\nsteps:\n  - id: write\n    action: file.write\n    path: \"{{ inputs.path }}\"\n    content: escaped\n    on_failure: continue\n  - id: read\n    action: file.read\n    path: \"{{ inputs.path }}\"\n    on_failure: continue\n  - id: list\n    action: file.list\n    path: \"{{ inputs.path }}\"\n    on_failure: continue\n  - id: shell\n    action: shell\n    cwd: \"{{ inputs.path }}\"\n    run: [pwd]\n    on_failure: continue\n",
    );
    for path in [
        escape.as_str(),
        absolute.as_str(),
        "link/secret.txt",
        "link/new.txt",
        "sub/../../x.txt",
        "link",
    ] {
        let (_, result) = lab.run(&file, &[("path", json!(path))]).await;
        assert_run(&result, RunStatus::Succeeded);
        for step in ["write", "read", "list", "shell"] {
            if step == "list" && !path.starts_with("link") && path != escape && path != absolute {
                continue;
            }
            assert_eq!(
                status(&result, step),
                StepStatus::Failed,
                "`{step}` must refuse `{path}`"
            );
            let error = result
                .step(step)
                .and_then(|s| s.error.clone())
                .unwrap_or_default();
            assert!(
                error.contains("outside the workspace") || error.contains("inside the workspace"),
                "`{step}` on `{path}` says why: {error}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt"))
            .ok()
            .as_deref(),
        Some("secret"),
        "the file outside is untouched"
    );
    assert!(
        !outside.path().join("new.txt").exists(),
        "nothing is written through the link"
    );
    assert!(
        !outside.path().join("absolute.txt").exists(),
        "nothing is written at an absolute path"
    );
    assert!(
        !lab.dir.path().join(&escape).exists(),
        "nothing is written above the workspace"
    );
}

#[tokio::test]
async fn a_program_that_is_not_installed_is_named() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "missing",
        "steps:\n  - id: tool\n    action: shell\n    run: [orchestra-no-such-program, --help]\n    retry: { attempts: 3, delay: 10ms }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let tool = result.step("tool").expect("the step was tried");
    assert_eq!(
        tool.error.as_deref(),
        Some("program `orchestra-no-such-program` not found"),
        "the error names the program"
    );
    assert_eq!(tool.attempts, 1, "a missing program is not tried again");
    lab.assert_store_intact();
}

#[tokio::test]
async fn http_steps_report_refusals_hangs_and_bad_statuses() {
    let lab = Lab::new();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}", listener.local_addr().expect("its address"))
    };
    let hanging = Server::start(Answer::Hang);
    let failing = Server::start(Answer::Respond(
        500,
        "Internal Server Error",
        "text/plain",
        "down".to_owned(),
    ));
    let missing = Server::start(Answer::Respond(
        404,
        "Not Found",
        "text/plain",
        "no".to_owned(),
    ));
    let json_ok = Server::start(Answer::Respond(
        200,
        "OK",
        "application/json",
        r#"{"n": 41}"#.to_owned(),
    ));
    let file = lab.pipeline(
        "http",
        "inputs:\n  closed: { type: string }\n  hanging: { type: string }\n  failing: { type: string }\n  missing: { type: string }\n  ok: { type: string }\nsteps:\n  - id: refused\n    action: http\n    url: \"{{ inputs.closed }}/x\"\n    on_failure: continue\n  - id: hang\n    action: http\n    url: \"{{ inputs.hanging }}/x\"\n    timeout: 400ms\n    on_failure: continue\n  - id: error\n    action: http\n    url: \"{{ inputs.failing }}/x\"\n    retry: { attempts: 3, delay: 10ms }\n    on_failure: continue\n  - id: absent\n    action: http\n    url: \"{{ inputs.missing }}/x\"\n    retry: { attempts: 3, delay: 10ms }\n    on_failure: continue\n  - id: fine\n    action: http\n    method: POST\n    url: \"{{ inputs.ok }}/x\"\n    body: { a: 1 }\n  - id: use\n    action: template\n    depends_on: [fine]\n    template: \"{{ fine.output.n + 1 }} {{ fine.exit_code }}\"\noutputs:\n  use: \"{{ use.output }}\"\n",
    );
    let (finished, result) = lab
        .run(
            &file,
            &[
                ("closed", json!(closed)),
                ("hanging", json!(hanging.url)),
                ("failing", json!(failing.url)),
                ("missing", json!(missing.url)),
                ("ok", json!(json_ok.url)),
            ],
        )
        .await;
    assert_run(&result, RunStatus::Succeeded);
    assert!(
        error(&result, "refused").contains("connection was refused")
            && error(&result, "refused").contains(&closed),
        "{}",
        error(&result, "refused")
    );
    assert!(
        error(&result, "hang").contains("timed out after 400ms"),
        "{}",
        error(&result, "hang")
    );
    assert!(
        error(&result, "error").contains("answered 500 Internal Server Error")
            && error(&result, "error").contains("after 3 attempts"),
        "{}",
        error(&result, "error")
    );
    assert_eq!(failing.count(), 3, "a 500 is tried again");
    assert!(
        error(&result, "absent").contains("answered 404 Not Found, expected a 2xx status"),
        "{}",
        error(&result, "absent")
    );
    assert_eq!(missing.count(), 1, "a 404 is not tried again");
    assert_eq!(
        finished.outcome.outputs.get("use"),
        Some(&json!("42 200")),
        "a JSON answer is parsed"
    );
}

#[tokio::test]
async fn unknown_runs_and_invalid_pipelines_are_refused_with_a_sentence() {
    let lab = Lab::new();
    let resume = lab
        .project
        .resume("no-such-run", tokio_util::sync::CancellationToken::new())
        .await;
    assert_eq!(
        resume.err().map(|e| e.to_string()).as_deref(),
        Some("no run has the id `no-such-run`; `orchestra runs` lists them")
    );
    let result = lab
        .project
        .result("nope")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(result.contains("no run has the id `nope`"), "{result}");
    let cancel = lab
        .project
        .cancel("nope")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(cancel.contains("no run has the id `nope`"), "{cancel}");

    let file = lab.pipeline(
        "broken",
        "steps:\n  - id: a\n    action: shel\n    run: [ls]\n",
    );
    let started = lab.project.start(&file, common::options(&[])).await;
    match started {
        Err(ApiError::Invalid(report)) => {
            let first = report
                .diagnostics
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_default();
            assert!(
                first.contains("shel"),
                "the report says what is wrong: {first}"
            );
        }
        other => panic!(
            "an invalid pipeline must be refused with its report, not {:?}",
            other.map(|f| f.run_id)
        ),
    }
    assert!(
        lab.project.runs(10).expect("the runs list").is_empty(),
        "an invalid pipeline leaves no run behind"
    );

    let missing = lab
        .project
        .start(&lab.path("absent.yaml"), common::options(&[]))
        .await;
    let message = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("absent.yaml") && message.contains("no such file"),
        "{message}"
    );
}

#[tokio::test]
async fn a_damaged_run_store_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = dir.path().join(".orchestra").join("runs.db");
    std::fs::create_dir_all(store.parent().expect("a parent")).expect("the folder");
    let garbage = b"this is not a database, but someone's notes\n".repeat(200);
    std::fs::write(&store, &garbage).expect("write the garbage");
    let opened = Project::open(dir.path(), None);
    let message = opened.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("is not a database Orchestra can read")
            && message.contains("nothing was changed"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&store).expect("the file is still there"),
        garbage,
        "the file is never overwritten"
    );
}

#[tokio::test]
async fn a_truncated_run_store_is_refused_and_left_as_it_is() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "fill",
        &common::trace("a", "a", "").replacen("  - id", "steps:\n  - id", 1),
    );
    for _ in 0..20 {
        lab.run(&file, &[]).await;
    }
    let store = lab.path(".orchestra/runs.db");
    drop(lab.project);
    let whole = std::fs::read(&store).expect("the store");
    let half = &whole[..whole.len() / 2];
    let damaged = tempfile::tempdir().expect("a folder");
    let copy = damaged.path().join(".orchestra").join("runs.db");
    std::fs::create_dir_all(copy.parent().expect("a parent")).expect("the folder");
    std::fs::write(&copy, half).expect("write half of the store");
    match Project::open(damaged.path(), None) {
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("runs.db"),
                "the error names the file: {message}"
            );
        }
        Ok(project) => {
            let listed = project.runs(100);
            let checked = project.store().integrity_check();
            assert!(
                listed.is_err() || checked.map_or(true, |report| report != "ok"),
                "a store cut in half must not pass as intact"
            );
        }
    }
    assert_eq!(
        std::fs::read(&copy).expect("the file is still there"),
        half,
        "the damaged file is never rewritten"
    );
}
