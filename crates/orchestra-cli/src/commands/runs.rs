//! `orchestra runs`: the runs of the project, newest first.

use std::path::Path;

use orchestra_api::{RunRow, human_duration};

use super::run::{current_project, report_error};
use crate::Outcome;

/// How many runs are listed.
const LIMIT: usize = 50;

pub fn run(json: bool, global_dir: Option<&Path>) -> Outcome {
    let project = match current_project(global_dir) {
        Ok(project) => project,
        Err(error) => return report_error(&error),
    };
    let runs = match project.runs(LIMIT) {
        Ok(runs) => runs,
        Err(error) => return report_error(&error),
    };
    if json {
        let rows: Vec<serde_json::Value> = runs.iter().map(row_json).collect();
        return super::print_json(&rows);
    }
    if runs.is_empty() {
        anstream::println!(
            "no runs yet in {}; start one with `orchestra run FILE`",
            project.root().display()
        );
        return Outcome::Clean;
    }
    anstream::println!(
        "{:36}  {:20}  {:11}  {:20}  {:>8}",
        "run",
        "pipeline",
        "status",
        "started",
        "time"
    );
    for run in &runs {
        anstream::println!(
            "{:36}  {:20}  {:11}  {:20}  {:>8}",
            run.id,
            run.pipeline,
            run.status.as_str(),
            local_time(&run.started_at),
            run.duration_ms().map(human_duration).unwrap_or_default()
        );
    }
    Outcome::Clean
}

fn row_json(run: &RunRow) -> serde_json::Value {
    serde_json::json!({
        "id": run.id,
        "pipeline": run.pipeline,
        "file": run.file,
        "status": run.status.as_str(),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms(),
        "error": run.error,
    })
}

/// A stored time shown in the machine's time zone, to the second.
pub fn local_time(stored: &str) -> String {
    stored.parse::<jiff::Timestamp>().map_or_else(
        |_| stored.to_owned(),
        |at| {
            at.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}
