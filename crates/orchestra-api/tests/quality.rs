//! The quality-control report of real runs: rule checks on outputs and produced files, each
//! step's declared checks, the score, and the report's exports.

mod common;

use common::{Lab, assert_run};
use orchestra_api::{RunStatus, Severity, report_html, report_markdown};

#[tokio::test]
async fn a_clean_run_is_production_ready_and_ordinary_markdown_is_not_flagged() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "clean",
        "steps:\n  - id: doc\n    action: template\n    template: \"# Notes\\n\\nSee [the guide](guide.md) and [setup](setup.md).\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\"\n    qc:\n      - not_empty\n      - no_template_artifacts\n      - contains: \"# Notes\"\n      - regex: \"\\\\[the guide\\\\]\"\n      - max_length: 500\n  - id: save\n    action: file.write\n    depends_on: [doc]\n    path: notes.md\n    content: \"{{ doc.output }}\"\n    qc:\n      - file_exists: notes.md\n      - command: [grep, -q, guide, notes.md]\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let qc = result.qc();
    assert!(
        qc.issues.is_empty(),
        "nothing is wrong with links and tables: {:?}",
        qc.issues
    );
    assert_eq!(qc.score, 100);
    assert!(qc.production_ready);
    assert!(
        qc.checks >= 7,
        "the declared checks and the rules were all applied: {}",
        qc.checks
    );
}

#[tokio::test]
async fn problems_are_reported_with_severity_step_file_and_line() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "sloppy",
        "steps:\n  - id: draft\n    action: template\n    template: \"# Plan\\n\\nTODO: write the plan\\n\"\n    qc:\n      - contains: \"## Budget\"\n      - regex: \"[0-9]+ people\"\n      - max_length: 5\n      - json_schema: { type: object }\n  - id: blank\n    action: template\n    template: \"   \"\n    qc: [not_empty]\n  - id: markup\n    action: template\n    template: \"<script>alert(1)</script> TBD\"\n  - id: save\n    action: file.write\n    path: out.md\n    content: \"Dear {% raw %}{{ name }}{% endraw %},\\n\\nHello [your name].\\n\"\n    qc:\n      - file_exists: missing.md\n      - command: [grep, -q, Budget, out.md]\noutputs:\n  markup: \"{{ markup.output }}\"\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let qc = result.qc();
    let find = |rule: &str| {
        qc.issues
            .iter()
            .find(|issue| issue.rule.starts_with(rule))
            .unwrap_or_else(|| panic!("an issue `{rule}` is reported: {:#?}", qc.issues))
    };
    let placeholder = qc
        .issues
        .iter()
        .find(|issue| issue.rule == "placeholder" && issue.step.as_deref() == Some("draft"))
        .expect("the TODO in the draft is found");
    assert_eq!(
        (placeholder.severity, placeholder.line),
        (Severity::Major, Some(3)),
        "the TODO is on line 3"
    );
    let template = find("unrendered_template");
    assert_eq!(
        template.file.as_deref(),
        Some("out.md"),
        "the file is named"
    );
    assert_eq!(template.line, Some(1));
    assert!(
        template.message.contains("{{ name }}"),
        "{}",
        template.message
    );
    assert!(
        qc.issues.iter().any(|issue| issue.rule == "placeholder"
            && issue.file.as_deref() == Some("out.md")
            && issue.line == Some(3)),
        "`[your name]` in the file is a placeholder on line 3: {:#?}",
        qc.issues
    );
    assert_eq!(find("empty_output").step.as_deref(), Some("blank"));
    assert_eq!(find("not_empty").severity, Severity::Critical);
    assert_eq!(find("file_exists").severity, Severity::Critical);
    assert_eq!(find("max_length").severity, Severity::Minor);
    assert!(find("contains").message.contains("## Budget"));
    assert!(find("regex").message.contains("people"));
    assert!(
        find("json_schema").message.contains("not JSON")
            || find("json_schema").message.contains("schema")
    );
    assert!(
        find("command")
            .message
            .contains("`grep` exited with status 1"),
        "{}",
        find("command").message
    );
    assert_eq!(
        qc.issues[0].severity,
        Severity::Critical,
        "the most serious come first"
    );
    assert!(!qc.production_ready);
    assert_eq!(qc.score, 0, "this many problems take the whole score");
    assert!(!qc.recommendations.is_empty(), "the report says what to do");

    let markdown = report_markdown(&result, &qc);
    assert!(
        markdown.contains("TODO") && markdown.contains("critical"),
        "{markdown}"
    );
    let html = report_html(&result, &qc);
    assert!(
        !html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "text from the run is escaped in the HTML report"
    );
    assert!(html.contains("out.md"), "the issues are in the page");
    let json = serde_json::to_value(&qc).expect("the report is JSON");
    assert_eq!(json["production_ready"], serde_json::Value::from(false));
    assert!(json["issues"][0]["severity"] == "critical");
}
