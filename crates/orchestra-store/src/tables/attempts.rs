//! `attempts`: each attempt of each step, with its rendered inputs (the exact command or prompt).

use orchestra_engine::StepKey;

use crate::summaries::AttemptChange;
use rusqlite::{Connection, Row, params};
use serde_json::Value;

pub(crate) const CREATE: &str = "
CREATE TABLE attempts (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    inputs TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (run_id, step, attempt)
) STRICT, WITHOUT ROWID;
";

/// One attempt of a step.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRow {
    /// The step's key.
    pub step: String,
    /// The attempt, from 1.
    pub attempt: u32,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// Its rendered inputs.
    pub inputs: Value,
    /// Why it failed.
    pub error: Option<String>,
}

/// Writes what a commit changed for one attempt: a new attempt with what is known of it, or
/// the end of one started earlier.
pub(crate) fn upsert(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    change: &AttemptChange<'_>,
) -> rusqlite::Result<()> {
    match change.started {
        Some((at, inputs)) => connection
            .prepare_cached(
                "INSERT OR REPLACE INTO attempts (run_id, step, attempt, started_at, finished_at, inputs, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                run,
                step.as_str(),
                change.attempt,
                at,
                change.finished_at,
                inputs.to_string(),
                change.error
            ])?,
        None => connection
            .prepare_cached(
                "UPDATE attempts SET finished_at = COALESCE(?4, finished_at), error = COALESCE(?5, error)
                 WHERE run_id = ?1 AND step = ?2 AND attempt = ?3",
            )?
            .execute(params![
                run,
                step.as_str(),
                change.attempt,
                change.finished_at,
                change.error
            ])?,
    };
    Ok(())
}

pub(crate) fn finished(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    at: &str,
) -> rusqlite::Result<()> {
    connection.prepare_cached("UPDATE attempts SET finished_at = COALESCE(finished_at, ?3)
         WHERE run_id = ?1 AND step = ?2 AND attempt = (SELECT MAX(attempt) FROM attempts WHERE run_id = ?1 AND step = ?2)")?.execute(
        params![run, step.as_str(), at],
    )?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AttemptRow> {
    let inputs: String = row.get(4)?;
    Ok(AttemptRow {
        step: row.get(0)?,
        attempt: row.get(1)?,
        started_at: row.get(2)?,
        finished_at: row.get(3)?,
        inputs: serde_json::from_str(&inputs).unwrap_or(Value::Null),
        error: row.get(5)?,
    })
}

pub(crate) fn all(connection: &Connection, run: &str) -> rusqlite::Result<Vec<AttemptRow>> {
    let mut statement = connection.prepare_cached(
        "SELECT step, attempt, started_at, finished_at, inputs, error FROM attempts WHERE run_id = ?1 ORDER BY started_at, step, attempt",
    )?;

    statement.query_map(params![run], from_row)?.collect()
}
