//! `steps`: the latest state of each step of each run, and the cache of results by inputs.

use orchestra_engine::{StepKey, StepResult};

use crate::summaries::StepChange;
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

/// Writes what a commit changed for one step. A step queued in the commit starts its row over;
/// otherwise what the commit does not say is kept.
pub(crate) fn upsert(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    change: &StepChange<'_>,
) -> rusqlite::Result<()> {
    let (result, finished_at, inputs_hash) = match change.finished {
        Some((result, at)) => (
            Some(serde_json::to_string(result).unwrap_or_default()),
            Some(at),
            result.inputs_hash.as_deref(),
        ),
        None => (None, None, None),
    };
    connection
        .prepare_cached(
            "INSERT INTO steps (run_id, step, status, attempts, queued_at, started_at, finished_at, result, inputs_hash)
             VALUES (?1, ?2, ?3, COALESCE(?4, 0), ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (run_id, step) DO UPDATE SET
                status = ?3,
                attempts = CASE WHEN ?10 THEN COALESCE(?4, 0) ELSE COALESCE(?4, attempts) END,
                queued_at = CASE WHEN ?10 THEN ?5 ELSE COALESCE(queued_at, ?5) END,
                started_at = CASE WHEN ?10 THEN ?6 ELSE COALESCE(started_at, ?6) END,
                finished_at = CASE WHEN ?10 THEN ?7 ELSE COALESCE(?7, finished_at) END,
                result = CASE WHEN ?10 THEN ?8 ELSE COALESCE(?8, result) END,
                inputs_hash = CASE WHEN ?10 THEN ?9 ELSE COALESCE(?9, inputs_hash) END",
        )?
        .execute(params![
            run,
            step.as_str(),
            change.status,
            change.attempts,
            change.queued_at,
            change.started_at,
            finished_at,
            result,
            inputs_hash,
            change.fresh
        ])?;
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

/// A resumed run: what was in flight, failed, or was skipped for want of it is pending again, as
/// the run's fold says.
pub(crate) fn resume(connection: &Connection, run: &str) -> rusqlite::Result<()> {
    connection.prepare_cached("UPDATE steps SET status = 'pending' WHERE run_id = ?1 AND (status IN ('queued', 'running', 'waiting', 'failed', 'cancelled')
         OR (status = 'skipped' AND result ->> '$.skipped' IN ('upstream', 'not_routed', 'failure')))")?.execute(
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
