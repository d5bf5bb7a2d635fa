//! `orchestra new --describe` and `orchestra compile --explain`: the orchestrator model drafts a
//! pipeline, or explains one. Nothing runs.

use std::path::Path;

use orchestra_api::{ApiError, Project};

use crate::Outcome;
use crate::progress::sanitize_lines;

pub fn explain(file: &Path, json: bool, global_dir: Option<&Path>) -> Outcome {
    let explained = with_runtime(|| async {
        let project = Project::discover(file, global_dir.map(Path::to_path_buf))?;
        project.explain(file).await
    });
    match explained {
        Ok(explanation) if json => super::print_json(&explanation),
        Ok(explanation) => {
            anstream::println!("intention\n  {}\n", sanitize_lines(&explanation.intention));
            anstream::println!("architecture");
            for (at, point) in explanation.architecture.iter().enumerate() {
                anstream::println!("  {}. {}", at + 1, sanitize_lines(point));
            }
            let whence = if explanation.cached {
                "kept from when it was written; it changes when the file does"
            } else {
                "just written"
            };
            anstream::println!("\n(by {}, {whence})", explanation.model);
            Outcome::Clean
        }
        Err(error) => super::run::report_error(&error),
    }
}

pub fn draft(description: &str, out: &Path, global_dir: Option<&Path>) -> Outcome {
    let drafted = with_runtime(|| async {
        let here = std::env::current_dir().unwrap_or_default();
        let project = Project::discover(&here, global_dir.map(Path::to_path_buf))?;
        project.draft(description, out).await
    });
    match drafted {
        Ok(draft) => {
            anstream::println!(
                "wrote {} ({} round{}); it is valid and has not run: read it, then `orchestra run {}`",
                draft.path.display(),
                draft.rounds,
                if draft.rounds == 1 { "" } else { "s" },
                draft.path.display()
            );
            Outcome::Clean
        }
        Err(error) => super::run::report_error(&error),
    }
}

fn with_runtime<T, F: Future<Output = Result<T, ApiError>>>(
    work: impl FnOnce() -> F,
) -> Result<T, ApiError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| ApiError::Refused(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(work())
}
