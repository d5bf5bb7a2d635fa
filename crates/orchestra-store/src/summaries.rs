//! The changes one commit makes to the `steps` summary.
//!
//! A step that is queued, started and finished in one commit (a quick step, or a read-only one
//! whose start goes out with its end) would otherwise cost three statements. Consecutive step
//! events are gathered per step and each step's row is written once. Any other event that
//! touches the summary (a route starting steps over, a resumed run, an approval) writes what was
//! gathered first, so the summary changes in the log's order. (Attempts need no summary: they
//! are read from the events themselves.)

use indexmap::IndexMap;
use orchestra_engine::{RunEvent, StepKey, StepResult};
use rusqlite::Connection;

use crate::tables;

/// What the gathered events change for one step.
#[derive(Default)]
pub(crate) struct StepChange<'a> {
    /// It was queued in this commit: what its row said before is forgotten.
    pub fresh: bool,
    pub queued_at: Option<&'a str>,
    pub started_at: Option<&'a str>,
    pub attempts: Option<u32>,
    /// Its status word; empty when the commit does not change it.
    pub status: &'static str,
    pub finished: Option<(&'a StepResult, &'a str)>,
}

/// The summary changes gathered so far in a commit.
#[derive(Default)]
pub(crate) struct Gathered<'a> {
    steps: IndexMap<&'a StepKey, StepChange<'a>>,
}

impl<'a> Gathered<'a> {
    /// Takes in a step event; `false` for an event that is not one.
    pub(crate) fn take(&mut self, event: &'a RunEvent, at: &'a str) -> bool {
        match event {
            RunEvent::StepQueued { step } => {
                *self.step(step) = StepChange {
                    fresh: true,
                    queued_at: Some(at),
                    status: "queued",
                    ..StepChange::default()
                };
            }
            RunEvent::StepStarted { step, attempt, .. } => {
                let change = self.step(step);
                change.status = "running";
                change.attempts = Some(*attempt);
                change.started_at.get_or_insert(at);
            }
            RunEvent::StepFinished { step, result } => {
                let change = self.step(step);
                change.status = result.status.as_str();
                change.attempts = Some(result.attempts);
                change.finished = Some((result, at));
            }
            _ => return false,
        }
        true
    }

    fn step(&mut self, step: &'a StepKey) -> &mut StepChange<'a> {
        self.steps.entry(step).or_default()
    }

    /// Writes what was gathered.
    pub(crate) fn write(&mut self, connection: &Connection, run: &str) -> rusqlite::Result<()> {
        for (step, change) in self.steps.drain(..) {
            tables::steps::upsert(connection, run, step, &change)?;
        }
        Ok(())
    }
}
