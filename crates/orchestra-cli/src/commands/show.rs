//! `orchestra show RUN`: what a run produced, its log, outputs, quality report, or a full report.

use std::path::Path;

use orchestra_api::{
    GitState, Overview, PipelineResult, log_markdown, report_html, report_markdown, short_commit,
};
use serde_json::json;

use super::run::{current_project, print_overview, report_error};
use crate::Outcome;
use crate::progress::sanitize;

/// What `show` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Summary,
    Log,
    Outputs,
    Qc,
    Markdown,
    Html,
}

pub fn run(run_id: &str, view: View, json: bool, global_dir: Option<&Path>) -> Outcome {
    let project = match current_project(global_dir) {
        Ok(project) => project,
        Err(error) => return report_error(&error),
    };
    // The summary for people reads only the store's summaries; every other view reads the log.
    let result = match (view, json) {
        (View::Summary, false) => {
            return match project.overview(run_id) {
                Ok(overview) => {
                    summary(&overview);
                    match project.run_git(&overview.run.id) {
                        Ok(Some(git)) => commits(&git),
                        Ok(None) => {}
                        Err(error) => return report_error(&error),
                    }
                    Outcome::Clean
                }
                Err(error) => report_error(&error),
            };
        }
        _ => match project.result(run_id) {
            Ok(result) => result,
            Err(error) => return report_error(&error),
        },
    };
    match (view, json) {
        (View::Summary, false) | (View::Summary | View::Markdown | View::Html, true) => {
            let qc = result.qc();
            super::print_json(&json!({ "result": result, "qc": qc }))
        }
        (View::Log, true) => super::print_json(&result.log),
        (View::Outputs, true) => super::print_json(&result.outputs),
        (View::Qc, true) => super::print_json(&result.qc()),
        (View::Log, false) => {
            anstream::print!("{}", sanitize_block(&log_markdown(&result)));
            Outcome::Clean
        }
        (View::Outputs, false) => {
            for (name, value) in &result.outputs {
                let text = match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => serde_json::to_string_pretty(other).unwrap_or_default(),
                };
                anstream::println!("{name}:\n{}\n", sanitize_block(&text));
            }
            Outcome::Clean
        }
        (View::Qc, false) => {
            qc(&result);
            Outcome::Clean
        }
        (View::Markdown, false) => {
            anstream::print!("{}", report_markdown(&result, &result.qc()));
            Outcome::Clean
        }
        (View::Html, false) => {
            anstream::print!("{}", report_html(&result, &result.qc()));
            Outcome::Clean
        }
    }
}

fn summary(overview: &Overview) {
    let run = &overview.run;
    anstream::println!("run {} of {} ({})", run.id, run.pipeline, run.file);
    anstream::println!("status: {}", run.status.as_str());
    if let Some(error) = &run.error {
        anstream::println!("error: {}", sanitize(error));
    }
    print_overview(overview);
}

/// The run's branch and the commits it made: the snapshots of its checkpoints.
fn commits(git: &GitState) {
    let repo = &git.repo;
    anstream::println!(
        "\nbranch {} of {} ({}), from {}",
        sanitize(&repo.branch),
        sanitize(&repo.name),
        sanitize(&repo.path),
        short_commit(&repo.base)
    );
    anstream::println!("worktree {}", sanitize(&repo.worktree));
    if !repo.dirty.is_empty() {
        anstream::println!(
            "the repository had {} uncommitted changes when the run started, which it did not see",
            repo.dirty.len()
        );
    }
    if git.snapshots.is_empty() {
        anstream::println!("no step changed a file");
        return;
    }
    anstream::println!("commits (a step's shows what it changed: git show <commit>):");
    for snapshot in &git.snapshots {
        let what = match &snapshot.merged {
            Some(writer) if *writer == snapshot.step => format!("merge of {writer}"),
            Some(writer) => format!("merge of {writer} before {}", snapshot.step),
            None if snapshot.branch == repo.branch => snapshot.step.to_string(),
            None => format!("{} (on {})", snapshot.step, sanitize(&snapshot.branch)),
        };
        anstream::println!("  {}  {what}", short_commit(&snapshot.commit));
    }
}

fn qc(result: &PipelineResult) {
    let report = result.qc();
    let ready = if report.production_ready {
        "production ready"
    } else {
        "not production ready"
    };
    anstream::println!(
        "quality of run {}: {}/100, {ready} ({} checks)",
        result.run_id,
        report.score,
        report.checks
    );
    if report.issues.is_empty() {
        anstream::println!("no issues found");
    }
    for issue in &report.issues {
        let place = match (&issue.file, issue.line) {
            (Some(file), Some(line)) => format!(" [{file}:{line}]"),
            (Some(file), None) => format!(" [{file}]"),
            (None, Some(line)) => format!(" [line {line}]"),
            (None, None) => String::new(),
        };
        anstream::println!(
            "  {:8} {}{place}",
            issue.severity.as_str(),
            sanitize(&issue.message)
        );
    }
    for advice in &report.recommendations {
        anstream::println!("  → {advice}");
    }
}

fn sanitize_block(text: &str) -> String {
    text.lines().map(sanitize).collect::<Vec<_>>().join("\n") + "\n"
}
