//! `runs`: one row per run, with the snapshot of the pipeline file it ran and who owns it.

use orchestra_engine::RunStatus;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

pub(crate) const CREATE: &str = "
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    file TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    workspace TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    parent_run TEXT,
    parent_step TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    owner_pid INTEGER,
    owner_host TEXT,
    heartbeat_at TEXT,
    cancel_requested_at TEXT
) STRICT;
CREATE INDEX runs_by_start ON runs (started_at);
";

/// One run, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// The run's id.
    pub id: String,
    /// The pipeline's id.
    pub pipeline: String,
    /// The pipeline file's path.
    pub file: String,
    /// The text of the pipeline file as it ran.
    pub snapshot: String,
    /// The folder the run worked in.
    pub workspace: String,
    /// The inputs.
    pub inputs: Value,
    /// How it stands. A run whose owner died shows as interrupted.
    pub status: RunStatus,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// The run that started it, for a sub-pipeline's run.
    pub parent_run: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// The process that runs it.
    pub owner_pid: Option<i64>,
    /// The machine that process is on.
    pub owner_host: Option<String>,
    /// When its owner last proved it was alive.
    pub heartbeat_at: Option<String>,
}

impl RunRow {
    /// How long it ran: to its end, or, while it runs, to its owner's last heartbeat.
    pub fn duration_ms(&self) -> Option<u64> {
        let start: jiff::Timestamp = self.started_at.parse().ok()?;
        let end: jiff::Timestamp = match &self.finished_at {
            Some(end) => end.parse().ok()?,
            None => self.heartbeat_at.as_deref()?.parse().ok()?,
        };
        u64::try_from(end.duration_since(start).as_millis()).ok()
    }
}

const COLUMNS: &str = "id, pipeline, file, snapshot, workspace, inputs, status, error, parent_run, started_at, finished_at, owner_pid, owner_host, heartbeat_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    let inputs: String = row.get(5)?;
    let status: String = row.get(6)?;
    Ok(RunRow {
        id: row.get(0)?,
        pipeline: row.get(1)?,
        file: row.get(2)?,
        snapshot: row.get(3)?,
        workspace: row.get(4)?,
        inputs: serde_json::from_str(&inputs).unwrap_or(Value::Null),
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Interrupted),
        error: row.get(7)?,
        parent_run: row.get(8)?,
        started_at: row.get(9)?,
        finished_at: row.get(10)?,
        owner_pid: row.get(11)?,
        owner_host: row.get(12)?,
        heartbeat_at: row.get(13)?,
    })
}

/// What `insert` needs.
pub(crate) struct NewRun<'a> {
    pub id: &'a str,
    pub pipeline: &'a str,
    pub file: &'a str,
    pub snapshot: &'a str,
    pub workspace: &'a str,
    pub inputs: &'a str,
    pub parent: Option<(&'a str, &'a str)>,
    pub at: &'a str,
    pub owner: (i64, &'a str),
}

pub(crate) fn insert(connection: &Connection, run: &NewRun<'_>) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT INTO runs (id, pipeline, file, snapshot, workspace, inputs, status, parent_run, parent_step, started_at, owner_pid, owner_host, heartbeat_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9, ?10, ?11, ?9)")?.execute(
        params![
            run.id,
            run.pipeline,
            run.file,
            run.snapshot,
            run.workspace,
            run.inputs,
            run.parent.map(|(run, _)| run),
            run.parent.map(|(_, step)| step),
            run.at,
            run.owner.0,
            run.owner.1
        ],
    )?;
    Ok(())
}

/// A resumed run is running again, owned by this process.
pub(crate) fn resume(
    connection: &Connection,
    id: &str,
    at: &str,
    owner: (i64, &str),
) -> rusqlite::Result<()> {
    connection.prepare_cached("UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, owner_pid = ?2, owner_host = ?3,
         heartbeat_at = ?4, cancel_requested_at = NULL WHERE id = ?1")?.execute(
        params![id, owner.0, owner.1, at],
    )?;
    Ok(())
}

pub(crate) fn finish(
    connection: &Connection,
    id: &str,
    status: RunStatus,
    error: Option<&str>,
    at: &str,
) -> rusqlite::Result<()> {
    // A paused run has no owner: whoever answers its approval resumes it.
    let finished_at = (status != RunStatus::Waiting).then_some(at);
    connection.prepare_cached("UPDATE runs SET status = ?2, error = ?3, finished_at = ?4, owner_pid = NULL, owner_host = NULL WHERE id = ?1")?.execute(
        params![id, status.as_str(), error, finished_at],
    )?;
    Ok(())
}

/// Proves the owner is alive; returns whether someone asked the run to stop, or `None` when the
/// run is no longer this owner's (another process took it over).
pub(crate) fn heartbeat(
    connection: &Connection,
    id: &str,
    at: &str,
    owner: (i64, &str),
) -> rusqlite::Result<Option<bool>> {
    let changed = connection
        .prepare_cached(
            "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1 AND owner_pid = ?3 AND owner_host = ?4",
        )?
        .execute(params![id, at, owner.0, owner.1])?;
    if changed == 0 {
        return Ok(None);
    }
    let requested: Option<String> = connection
        .prepare_cached("SELECT cancel_requested_at FROM runs WHERE id = ?1")?
        .query_row(params![id], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(Some(requested.is_some()))
}

/// Makes this process the run's owner, if the run is still as `seen` (its owner, last
/// heartbeat and end unchanged): of two processes that both found it free, one wins. Returns
/// whether this one did.
pub(crate) fn claim(
    connection: &Connection,
    seen: &RunRow,
    at: &str,
    owner: (i64, &str),
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached(
            "UPDATE runs SET status = 'running', owner_pid = ?5, owner_host = ?6, heartbeat_at = ?7, cancel_requested_at = NULL
             WHERE id = ?1 AND owner_pid IS ?2 AND owner_host IS ?3 AND heartbeat_at IS ?4 AND finished_at IS ?8",
        )?
        .execute(params![
            seen.id,
            seen.owner_pid,
            seen.owner_host,
            seen.heartbeat_at,
            owner.0,
            owner.1,
            at,
            seen.finished_at
        ])?;
    Ok(changed == 1)
}

pub(crate) fn request_cancel(
    connection: &Connection,
    id: &str,
    at: &str,
) -> rusqlite::Result<usize> {
    connection
        .prepare_cached("UPDATE runs SET cancel_requested_at = ?2 WHERE id = ?1")?
        .execute(params![id, at])
}

pub(crate) fn get(connection: &Connection, id: &str) -> rusqlite::Result<Option<RunRow>> {
    connection
        .prepare_cached(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"))?
        .query_row(params![id], from_row)
        .optional()
}

/// The ids that start with `prefix`, at most a few.
pub(crate) fn ids_starting_with(
    connection: &Connection,
    prefix: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut statement = connection.prepare_cached(
        "SELECT id FROM runs WHERE id >= ?1 AND id < ?1 || char(1114111) ORDER BY id LIMIT 3",
    )?;

    statement
        .query_map(params![prefix], |row| row.get(0))?
        .collect()
}

pub(crate) fn list(connection: &Connection, limit: usize) -> rusqlite::Result<Vec<RunRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE parent_run IS NULL ORDER BY started_at DESC, id DESC LIMIT ?1"
    ))?;

    statement
        .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], from_row)?
        .collect()
}
