//! `orchestra cancel RUN`: stop a run.

use std::path::Path;

use super::run::{current_project, report_error};
use crate::Outcome;

pub fn run(run_id: &str, global_dir: Option<&Path>) -> Outcome {
    let project = match current_project(global_dir) {
        Ok(project) => project,
        Err(error) => return report_error(&error),
    };
    match project.cancel(run_id) {
        Ok(done) => {
            anstream::println!("{done}");
            Outcome::Clean
        }
        Err(error) => report_error(&error),
    }
}
