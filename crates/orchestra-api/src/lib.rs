//! The one Orchestra API. The command line (and the studio) are thin shells over it: each of
//! their commands is a few lines over a function here.
//!
//! A [`Project`] is a folder with its run store (`.orchestra/runs.db`). Through it a shell
//! validates pipelines, starts, resumes, approves, converses with and cancels runs, lists them, and reads their
//! results.

pub mod auth;
mod auto;
mod git;
mod orchestrator;
mod project;

pub use auto::pin_file;
pub use git::{Change, Cleanup, CommitDiff, FileChange, Revision};
pub use orchestra_engine::AutoAnswer;
pub use orchestra_engine::event::{SkipReason, Stream};
pub use orchestra_engine::models::{Message, Prepared, ToolCall};
pub use orchestra_engine::qc::{QcIssue, QcReport, Severity};
pub use orchestra_engine::report::{human_duration, log_markdown, report_html, report_markdown};
pub use orchestra_engine::run::{GitState, Snapshot};
pub use orchestra_engine::run::{RunState, Waiting, WaitingFor};
pub use orchestra_engine::versioning::short_commit;
pub use orchestra_engine::{PipelineResult, Record, RunEvent, RunStatus, StepKey, StepStatus};
pub use orchestra_llm::Mode as ModelMode;
pub use orchestra_llm::prompts::layer_schema;
pub use orchestra_store::{ArtifactRow, AttemptRow, RunRow, StepLine, StepRow, Store, StoreError};
pub use orchestrator::{Draft, Explanation};
pub use project::{ApiError, Finished, Overview, Project, StartOptions, StepPrompt};
