//! The Orchestra engine: actions, the compiler, the scheduler, templates, and run results.
//!
//! - [`actions`]: one file per action, declaring its parameters and how it runs; [`CATALOG`]
//!   hands the declarations to the format crate for loading and validation.
//! - [`compile`] turns a valid pipeline into the [`Plan`] the scheduler runs and the studio draws.
//! - [`run::run`] executes a plan. Every decision is an event ([`RunEvent`]) committed through a
//!   [`services::RunSink`] before anything acts on it, so a run is the fold of its events
//!   ([`run::RunState`]) and resumes from its stored log.
//! - The engine does no ambient IO of its own: the sink, the clock, randomness and the model
//!   client come in as [`Services`]; only actions touch files, programs and the network.

pub mod actions;
mod compile;
pub mod event;
pub mod models;
mod plan;
pub mod qc;
pub mod report;
pub mod result;
pub mod retry;
pub mod run;
pub mod services;
pub mod state;
pub mod templates;
pub mod versioning;
pub mod workspace;
mod writers;

pub use actions::{ACTIONS, BUILTIN_TOOLS, CATALOG};
pub use compile::{CompileError, compile};
pub use event::{Record, RunEvent, StepKey};
pub use plan::{
    AutoAnswer, AutoValue, Edge, Graph, Plan, PlannedStep, RetryPolicy, Work, describe_duration,
};
pub use report::PipelineResult;
pub use result::{CheckResult, Finding, RunStatus, StepResult, Usage};
pub use services::Services;
pub use state::StepStatus;

/// Cuts text to at most `max` bytes, at a character boundary, and returns how many bytes were
/// dropped (0 when it was short enough).
pub(crate) fn cut_to(text: &mut String, max: usize) -> usize {
    if text.len() <= max {
        return 0;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    dropped
}

/// The SHA-256 of some bytes as lowercase hex: how artifacts and cache keys are fingerprinted.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
