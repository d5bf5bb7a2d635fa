//! The one Orchestra API. The command line (and the studio) are thin shells over it: each of
//! their commands is a few lines over a function here.
//!
//! A [`Project`] is a folder with its run store (`.orchestra/runs.db`). Through it a shell
//! validates pipelines, starts, resumes, approves, converses with and cancels runs, lists them, and reads their
//! results.

pub mod auth;
mod auto;
mod documents;
pub use documents::within;
mod git;
pub mod json;
mod orchestrator;
mod project;
pub mod settings;

pub use auto::pin_file;
pub use git::{Change, Cleanup, CommitDiff, FileChange, Revision};
pub use orchestra_engine::AutoAnswer;
pub use orchestra_engine::event::{SkipReason, Stream};
pub use orchestra_engine::models::{Message, Prepared, ToolCall};
pub use orchestra_engine::qc::{QcIssue, QcReport, Severity};
pub use orchestra_engine::report::{human_duration, log_markdown, report_html, report_markdown};
pub use orchestra_engine::run::{GitState, Snapshot, git_work_done};
pub use orchestra_engine::run::{RunState, Waiting, WaitingFor};
pub use orchestra_engine::versioning::short_commit;
pub use orchestra_engine::{PipelineResult, Record, RunEvent, RunStatus, StepKey, StepStatus};
pub use orchestra_llm::Mode as ModelMode;
pub use orchestra_llm::prompts::layer_schema;
pub use orchestra_store::{ArtifactRow, AttemptRow, RunRow, StepLine, StepRow, Store, StoreError};
pub use orchestrator::{Draft, Explanation};
pub use project::{ApiError, Finished, Overview, Project, StartOptions, StepPrompt};

/// The user's global Orchestra folder, where personalities, settings and keys shared by every
/// project live: `$ORCHESTRA_HOME`, else `$XDG_CONFIG_HOME/orchestra`, else
/// `~/.config/orchestra`.
pub fn global_dir() -> Option<std::path::PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(std::path::PathBuf::from)
    };
    from_env("ORCHESTRA_HOME")
        .or_else(|| from_env("XDG_CONFIG_HOME").map(|dir| dir.join("orchestra")))
        .or_else(|| from_env("HOME").map(|home| home.join(".config").join("orchestra")))
}

/// Every action a step can do, in the order of the registry.
pub fn actions() -> &'static [&'static orchestra_pipeline::ActionSpec] {
    orchestra_engine::CATALOG.actions
}
