//! `orchestra validate FILE…`

use std::path::{Path, PathBuf};

use orchestra_pipeline::Severity;
use serde_json::json;

use crate::Outcome;
use crate::render;

pub fn run(
    files: &[PathBuf],
    json: bool,
    deny_warnings: bool,
    global_dir: Option<&Path>,
) -> Outcome {
    let mut outcome = Outcome::Clean;
    let mut reports = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let checked = match super::check(path, global_dir) {
            Ok(checked) => checked,
            Err(unusable) => {
                outcome = unusable;
                continue;
            }
        };
        let report = checked.report;
        let file_errors = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let file_warnings = report.diagnostics.len() - file_errors;
        errors += file_errors;
        warnings += file_warnings;
        if json {
            reports.push(render::report_json(&report));
        } else {
            for diagnostic in &report.diagnostics {
                anstream::println!("{}\n", render::diagnostic(&report.source, diagnostic));
            }
        }
        if (file_errors > 0 || (deny_warnings && file_warnings > 0)) && outcome == Outcome::Clean {
            outcome = Outcome::Problems;
        }
    }
    if json {
        let printed =
            super::print_json(&json!({ "files": reports, "errors": errors, "warnings": warnings }));
        return if printed == Outcome::Clean {
            outcome
        } else {
            printed
        };
    }
    anstream::println!("{}", summary(files.len(), errors, warnings));
    outcome
}

/// The last line: how many files were checked and what was found.
fn summary(files: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let checked = plural(files, "file");
    match (errors, warnings) {
        (0, 0) => format!("{checked} checked: no problems"),
        (0, w) => format!("{checked} checked: {}", plural(w, "warning")),
        (e, 0) => format!("{checked} checked: {}", plural(e, "error")),
        (e, w) => format!(
            "{checked} checked: {} and {}",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}
