//! `steps`: the latest state of each step of each run, and the cache of results by inputs.

use orchestra_engine::{StepKey, StepResult};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) const CREATE: &str = "
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    result TEXT,
    inputs_hash TEXT,
    PRIMARY KEY (run_id, step)
) STRICT, WITHOUT ROWID;
CREATE INDEX steps_by_inputs ON steps (inputs_hash, finished_at) WHERE inputs_hash IS NOT NULL AND status = 'succeeded';
";

/// One step of a run, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    /// The step's key.
    pub step: String,
    /// Its status word.
    pub status: String,
    /// Its attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: Option<String>,
    /// When its first attempt started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Its result, once finished.
    pub result: Option<StepResult>,
}

pub(crate) fn queued(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    at: &str,
) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT INTO steps (run_id, step, status, queued_at) VALUES (?1, ?2, 'queued', ?3)
         ON CONFLICT (run_id, step) DO UPDATE SET status = 'queued', queued_at = ?3, attempts = 0, started_at = NULL, finished_at = NULL")?.execute(
        params![run, step.as_str(), at],
    )?;
    Ok(())
}

pub(crate) fn started(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    attempt: u32,
    at: &str,
) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT INTO steps (run_id, step, status, attempts, started_at) VALUES (?1, ?2, 'running', ?3, ?4)
         ON CONFLICT (run_id, step) DO UPDATE SET status = 'running', attempts = ?3, started_at = COALESCE(started_at, ?4)")?.execute(
        params![run, step.as_str(), attempt, at],
    )?;
    Ok(())
}

pub(crate) fn set_status(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    status: &str,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO steps (run_id, step, status) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id, step) DO UPDATE SET status = ?3",
        )?
        .execute(params![run, step.as_str(), status])?;
    Ok(())
}

pub(crate) fn finished(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    result: &StepResult,
    at: &str,
) -> rusqlite::Result<()> {
    let body = serde_json::to_string(result).unwrap_or_default();
    connection.prepare_cached("INSERT INTO steps (run_id, step, status, attempts, finished_at, result, inputs_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (run_id, step) DO UPDATE SET status = ?3, attempts = ?4, finished_at = ?5, result = ?6, inputs_hash = ?7")?.execute(
        params![run, step.as_str(), result.status.as_str(), result.attempts, at, body, result.inputs_hash],
    )?;
    Ok(())
}

/// A route back started these steps over; steps inside them are forgotten, as the run forgets
/// them.
pub(crate) fn reset(connection: &Connection, run: &str, step: &StepKey) -> rusqlite::Result<()> {
    connection
        .prepare_cached("UPDATE steps SET status = 'pending' WHERE run_id = ?1 AND step = ?2")?
        .execute(params![run, step.as_str()])?;
    let inside_item = format!("{}[", step.as_str());
    let inside_pass = format!("{}#", step.as_str());
    connection.prepare_cached("DELETE FROM steps WHERE run_id = ?1 AND (substr(step, 1, length(?2)) = ?2 OR substr(step, 1, length(?3)) = ?3)")?.execute(
        params![run, inside_item, inside_pass],
    )?;
    Ok(())
}

/// A resumed run: what was in flight is pending again.
pub(crate) fn resume(connection: &Connection, run: &str) -> rusqlite::Result<()> {
    connection.prepare_cached("UPDATE steps SET status = 'pending' WHERE run_id = ?1 AND status IN ('queued', 'running', 'waiting', 'failed', 'cancelled')")?.execute(
        params![run],
    )?;
    Ok(())
}

pub(crate) fn all(connection: &Connection, run: &str) -> rusqlite::Result<Vec<StepRow>> {
    let mut statement = connection.prepare_cached(
        "SELECT step, status, attempts, queued_at, started_at, finished_at, result FROM steps WHERE run_id = ?1
         ORDER BY COALESCE(queued_at, started_at, finished_at), step",
    )?;
    let rows = statement.query_map(params![run], |row| {
        let result: Option<String> = row.get(6)?;
        Ok(StepRow {
            step: row.get(0)?,
            status: row.get(1)?,
            attempts: row.get(2)?,
            queued_at: row.get(3)?,
            started_at: row.get(4)?,
            finished_at: row.get(5)?,
            result: result.and_then(|body| serde_json::from_str(&body).ok()),
        })
    })?;
    rows.collect()
}

/// One step of a run in brief: everything but what it produced, so that a run of any size can
/// be summarised without reading its outputs into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    /// The step's key.
    pub step: String,
    /// Its status word.
    pub status: String,
    /// Its attempts so far.
    pub attempts: u32,
    /// How long it took, in milliseconds, once finished.
    pub duration_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Why it was skipped.
    pub skipped: Option<String>,
    /// Where a reused result came from.
    pub reused_from: Option<String>,
}

pub(crate) fn lines(connection: &Connection, run: &str) -> rusqlite::Result<Vec<StepLine>> {
    let mut statement = connection.prepare_cached(
        "SELECT step, status, attempts, json_extract(result, '$.duration_ms'), json_extract(result, '$.error'),
                json_extract(result, '$.skipped'), json_extract(result, '$.reused_from')
         FROM steps WHERE run_id = ?1 ORDER BY COALESCE(queued_at, started_at, finished_at), step",
    )?;
    let rows = statement.query_map(params![run], |row| {
        Ok(StepLine {
            step: row.get(0)?,
            status: row.get(1)?,
            attempts: row.get(2)?,
            duration_ms: row
                .get::<_, Option<i64>>(3)?
                .and_then(|ms| u64::try_from(ms).ok()),
            error: row.get(4)?,
            skipped: row.get(5)?,
            reused_from: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// The newest succeeded result with these inputs, and where it came from.
pub(crate) fn cached(
    connection: &Connection,
    hash: &str,
) -> rusqlite::Result<Option<(String, StepResult)>> {
    let found: Option<(String, String, String)> = connection
        .prepare_cached("SELECT run_id, step, result FROM steps WHERE inputs_hash = ?1 AND status = 'succeeded' AND result IS NOT NULL
             ORDER BY finished_at DESC LIMIT 1")?.query_row(
            params![hash],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    Ok(found.and_then(|(run, step, body)| {
        serde_json::from_str(&body)
            .ok()
            .map(|result| (format!("{run}/{step}"), result))
    }))
}
