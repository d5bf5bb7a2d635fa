//! The changes one commit makes to the `steps` and `attempts` summaries.
//!
//! A step that is queued, started and finished in one commit (a quick step, or a read-only one
//! whose start goes out with its end) would otherwise cost five statements. Consecutive step
//! events are gathered per step and written once each: one row of `steps`, one row per attempt.
//! Any other event that touches the summaries (a route starting steps over, a resumed run, an
//! approval) writes what was gathered first, so the summaries change in the log's order.

use indexmap::IndexMap;
use orchestra_engine::{RunEvent, StepKey, StepResult};
use rusqlite::Connection;
use serde_json::Value;

use crate::tables;

/// What the gathered events change for one step.
#[derive(Default)]
pub(crate) struct StepChange<'a> {
    /// It was queued in this commit: what its row said before is forgotten.
    pub fresh: bool,
    pub queued_at: Option<&'a str>,
    pub started_at: Option<&'a str>,
    pub attempts: Option<u32>,
    pub status: &'static str,
    pub finished: Option<(&'a StepResult, &'a str)>,
    pub attempt_rows: Vec<AttemptChange<'a>>,
    /// It finished with no attempt started in this commit: the latest stored attempt ends.
    pub finish_latest: Option<&'a str>,
}

/// What the gathered events change for one attempt.
pub(crate) struct AttemptChange<'a> {
    pub attempt: u32,
    /// When it started and its rendered inputs, if it started in this commit.
    pub started: Option<(&'a str, &'a Value)>,
    pub finished_at: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The summary changes gathered so far in a commit.
#[derive(Default)]
pub(crate) struct Gathered<'a> {
    steps: IndexMap<&'a StepKey, StepChange<'a>>,
}

impl<'a> Gathered<'a> {
    /// Takes in a step event; `false` for an event that is not one (write what was gathered,
    /// then handle it alone).
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
            RunEvent::StepStarted {
                step,
                attempt,
                inputs,
            } => {
                let change = self.step(step);
                change.status = "running";
                change.attempts = Some(*attempt);
                change.started_at.get_or_insert(at);
                change.attempt_rows.push(AttemptChange {
                    attempt: *attempt,
                    started: Some((at, inputs)),
                    finished_at: None,
                    error: None,
                });
            }
            RunEvent::AttemptFailed {
                step,
                attempt,
                error,
                ..
            } => {
                let change = self.step(step);
                match change
                    .attempt_rows
                    .iter_mut()
                    .find(|row| row.attempt == *attempt)
                {
                    Some(row) => {
                        row.finished_at = Some(at);
                        row.error = Some(error);
                    }
                    None => change.attempt_rows.push(AttemptChange {
                        attempt: *attempt,
                        started: None,
                        finished_at: Some(at),
                        error: Some(error),
                    }),
                }
            }
            RunEvent::StepFinished { step, result } => {
                let change = self.step(step);
                change.status = result.status.as_str();
                change.attempts = Some(result.attempts);
                change.finished = Some((result, at));
                match change.attempt_rows.last_mut() {
                    Some(row) => {
                        row.finished_at.get_or_insert(at);
                    }
                    None => change.finish_latest = Some(at),
                }
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
            if change.status.is_empty() {
                // Only an attempt's failure: the step's row stays as it was.
            } else {
                tables::steps::upsert(connection, run, step, &change)?;
            }
            for row in &change.attempt_rows {
                tables::attempts::upsert(connection, run, step, row)?;
            }
            if let Some(at) = change.finish_latest {
                tables::attempts::finished(connection, run, step, at)?;
            }
        }
        Ok(())
    }
}
