//! `orchestra cleanup`: remove the branches and worktrees of runs that finished some time ago.

use std::path::Path;

use orchestra_pipeline::model::Duration;

use super::run::{current_project, report_error};
use crate::Outcome;
use crate::progress::sanitize;

pub fn run(older_than: &str, force: bool, json: bool, global_dir: Option<&Path>) -> Outcome {
    let age = match Duration::parse(older_than) {
        Ok(age) => age,
        Err(message) => {
            anstream::eprintln!("error: --older-than: {message}");
            return Outcome::Unusable;
        }
    };
    let project = match current_project(global_dir) {
        Ok(project) => project,
        Err(error) => return report_error(&error),
    };
    let span = jiff::SignedDuration::from_millis(i64::try_from(age.millis()).unwrap_or(i64::MAX));
    let cutoff = jiff::Timestamp::now()
        .checked_sub(span)
        .unwrap_or(jiff::Timestamp::MIN);
    let report = match project.cleanup(cutoff, force) {
        Ok(report) => report,
        Err(error) => return report_error(&error),
    };
    if json {
        return super::print_json(&report);
    }
    for worktree in &report.worktrees {
        anstream::println!("removed worktree {}", sanitize(worktree));
    }
    for branch in &report.branches {
        anstream::println!("removed branch {}", sanitize(branch));
    }
    for kept in &report.kept {
        anstream::println!("kept {}", sanitize(kept));
    }
    if report.worktrees.is_empty() && report.branches.is_empty() {
        anstream::println!(
            "nothing to remove: no run that finished more than {older_than} ago has a branch or worktree left"
        );
    }
    Outcome::Clean
}
