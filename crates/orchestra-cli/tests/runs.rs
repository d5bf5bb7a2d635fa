//! Journeys of running pipelines with the real binary: run the examples, list runs, show what a
//! run produced, answer approvals, and the exit codes scripts rely on.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::Project;
use serde_json::Value;

#[test]
fn hello_runs_for_real_with_progress_and_a_summary() {
    let project = Project::with_examples();
    let (code, stdout, stderr) = project.orchestra(&["run", "pipelines/hello.yaml"]);
    assert_eq!(code, Some(0), "hello succeeds: {stdout}{stderr}");
    assert!(
        stderr.contains("✓ machine") && stderr.contains("✓ greeting"),
        "off a terminal, progress is a plain line per step: {stderr}"
    );
    assert!(
        stdout.contains("step")
            && stdout.contains("status")
            && stdout.contains("greeting  succeeded"),
        "a summary table: {stdout}"
    );
    assert!(
        stdout.contains("Hello, world! This pipeline ran on Linux"),
        "the output is shown: {stdout}"
    );
    assert!(stdout.contains("succeeded in"), "the run's end: {stdout}");
}

#[test]
fn the_data_report_example_writes_its_report_and_passes_qc() {
    let project = Project::with_examples();
    let (code, stdout, stderr) = project.orchestra(&["run", "pipelines/data-report.yaml"]);
    assert_eq!(code, Some(0), "the data report succeeds: {stdout}{stderr}");
    let run = project.newest_run();
    let report = project
        .dir
        .path()
        .join(format!("pipelines/reports/{run}.md"));
    let text = std::fs::read_to_string(&report).expect("the report file was written");
    assert!(
        text.starts_with("# Quarterly sales") && text.contains("| East |"),
        "{text}"
    );

    let (code, qc, _) = project.orchestra(&["show", &run, "--qc"]);
    assert_eq!(code, Some(0));
    assert!(
        qc.contains("100/100") && qc.contains("production ready"),
        "{qc}"
    );

    let (_, json, _) = project.orchestra(&["show", &run, "--qc", "--json"]);
    let qc: Value = serde_json::from_str(&json).expect("the QC report is JSON");
    assert_eq!(qc["score"], Value::from(100));
    assert_eq!(qc["production_ready"], Value::from(true));

    let (_, markdown, _) = project.orchestra(&["show", &run, "--report", "md"]);
    assert!(
        markdown.contains("## Quality") || markdown.contains("Quality"),
        "{markdown}"
    );
    let (_, html, _) = project.orchestra(&["show", &run, "--report", "html"]);
    assert!(html.starts_with("<!doctype html>"), "a whole HTML page");
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the page is self-contained"
    );
    let (_, log, _) = project.orchestra(&["show", &run, "--log"]);
    assert!(
        log.contains("`save` wrote `reports/"),
        "the log names the file written: {log}"
    );
}

#[test]
fn runs_lists_newest_first_with_id_pipeline_status_start_and_duration() {
    let project = Project::with_examples();
    project.orchestra(&["run", "pipelines/hello.yaml"]);
    project.orchestra(&["run", "pipelines/data-report.yaml"]);
    let (code, table, _) = project.orchestra(&["runs"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("run")
            && lines[0].contains("pipeline")
            && lines[0].contains("status")
            && lines[0].contains("started"),
        "{table}"
    );
    assert!(
        lines[1].contains("data-report") && lines[2].contains("hello"),
        "newest first: {table}"
    );
    let (_, json, _) = project.orchestra(&["runs", "--json"]);
    let runs: Value = serde_json::from_str(&json).expect("JSON");
    for field in ["id", "pipeline", "status", "started_at", "duration_ms"] {
        assert!(
            runs[0].get(field).is_some(),
            "`{field}` is in runs --json: {json}"
        );
    }
}

#[test]
fn exit_codes_say_how_the_run_went() {
    let project = Project::empty();
    project.write("fails.yaml", "orchestra: 1\nid: fails\nsteps:\n  - id: broken\n    action: shell\n    run: [sh, -c, 'echo no >&2; exit 4']\n");
    let (code, stdout, stderr) = project.orchestra(&["run", "fails.yaml"]);
    assert_eq!(code, Some(1), "a failed run exits 1");
    assert!(
        format!("{stdout}{stderr}").contains("step `broken` failed: `sh` exited with status 4: no"),
        "{stdout}{stderr}"
    );

    project.write(
        "invalid.yaml",
        "orchestra: 1\nid: invalid\nsteps:\n  - id: a\n    action: shel\n",
    );
    let (code, _, stderr) = project.orchestra(&["run", "invalid.yaml"]);
    assert_eq!(code, Some(2), "an invalid pipeline exits 2");
    assert!(
        stderr.contains("invalid.yaml:5:") && stderr.contains("shel"),
        "the problems are shown with where they are: {stderr}"
    );

    project.write("inputs.yaml", "orchestra: 1\nid: inputs\ninputs:\n  n: { type: integer }\nsteps:\n  - id: a\n    action: template\n    template: \"{{ inputs.n + 1 }}\"\noutputs:\n  n: \"{{ a.output }}\"\n");
    let (code, _, stderr) = project.orchestra(&["run", "inputs.yaml", "--input", "n=many"]);
    assert_eq!(code, Some(2), "an input of the wrong type is a usage error");
    assert!(
        stderr.contains("`n`") && stderr.contains("whole number"),
        "{stderr}"
    );
    let (code, _, stderr) = project.orchestra(&["run", "inputs.yaml"]);
    assert_eq!(code, Some(2), "a missing input is a usage error");
    assert!(stderr.contains("`n`"), "{stderr}");
    let (code, stdout, _) = project.orchestra(&["run", "inputs.yaml", "--input", "n=41", "--json"]);
    assert_eq!(code, Some(0));
    let result: Value =
        serde_json::from_str(&stdout).expect("run --json prints the result as JSON");
    assert_eq!(
        result["outputs"]["n"],
        Value::from("42"),
        "the input is converted to its type: {stdout}"
    );
    assert_eq!(result["status"], Value::from("succeeded"));

    project.write(
        "gate.yaml",
        "orchestra: 1\nid: gate\nsteps:\n  - id: ok\n    action: approval\n    message: Go?\n",
    );
    let (code, stdout, _) = project.orchestra(&["run", "gate.yaml"]);
    assert_eq!(code, Some(3), "a run waiting for approval exits 3");
    assert!(
        stdout.contains("orchestra approve"),
        "it says how to answer: {stdout}"
    );
    let run = project.newest_run();
    let (code, _, _) = project.orchestra(&["approve", &run, "ok"]);
    assert_eq!(code, Some(0), "approving finishes the run");
}

#[test]
fn unknown_runs_are_named_in_a_sentence() {
    let project = Project::empty();
    for args in [
        vec!["show", "nope"],
        vec!["resume", "nope"],
        vec!["cancel", "nope"],
        vec!["approve", "nope", "x"],
    ] {
        let (code, stdout, stderr) = project.orchestra(&args);
        assert_eq!(
            code,
            Some(2),
            "`{}` of an unknown run is a usage error",
            args[0]
        );
        assert!(
            stderr.contains("no run has the id `nope`"),
            "{stdout}{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Error {"),
            "no panic or debug output: {stderr}"
        );
    }
}

#[test]
fn a_read_only_run_store_is_refused_and_never_written() {
    let project = Project::with_examples();
    let (code, _, _) = project.orchestra(&["run", "pipelines/hello.yaml"]);
    assert_eq!(code, Some(0));
    let store = project.dir.path().join(".orchestra/runs.db");
    let before = std::fs::read(&store).expect("the store");
    let open_to_all = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("permissions");
    };
    // The folders may be entered and read by anyone; the store and its folder written by none.
    open_to_all(project.dir.path(), 0o755);
    open_to_all(project.global.path(), 0o777);
    open_to_all(&project.dir.path().join(".orchestra"), 0o555);
    open_to_all(&store, 0o444);
    let binary = project.global.path().join("orchestra");
    std::fs::copy(env!("CARGO_BIN_EXE_orchestra"), &binary)
        .expect("a copy of the binary anyone can run");
    open_to_all(&binary, 0o755);
    let mut command = Command::new(&binary);
    command
        .args(["run", "pipelines/hello.yaml"])
        .current_dir(project.dir.path())
        .env("ORCHESTRA_HOME", project.global.path())
        .env("NO_COLOR", "1");
    // Root may write anything, so as root the binary runs as `nobody`.
    if rustix::process::geteuid().is_root() {
        use std::os::unix::process::CommandExt;
        command.uid(65534).gid(65534);
    }
    let output = command.output().expect("orchestra runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a store that cannot be written stops the command: {stderr}"
    );
    assert!(
        stderr.contains("runs.db")
            && stderr.contains("cannot be written")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    open_to_all(&project.dir.path().join(".orchestra"), 0o755);
    assert_eq!(
        std::fs::read(&store).expect("the store"),
        before,
        "the store is never written"
    );
}
