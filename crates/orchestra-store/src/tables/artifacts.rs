//! `artifacts`: files runs produced, with their checksum, size and producing step.

use orchestra_engine::StepKey;
use rusqlite::{Connection, params};

pub(crate) const CREATE: &str = "
CREATE TABLE artifacts (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    step TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, path)
) STRICT, WITHOUT ROWID;
";

/// A file a run produced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ArtifactRow {
    /// The path, relative to the workspace.
    pub path: String,
    /// The step that wrote it last.
    pub step: String,
    /// The SHA-256 of its content.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

pub(crate) fn record(
    connection: &Connection,
    run: &str,
    step: &StepKey,
    path: &str,
    sha256: &str,
    size: u64,
    at: &str,
) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT OR REPLACE INTO artifacts (run_id, path, step, sha256, size, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
        params![run, path, step.as_str(), sha256, i64::try_from(size).unwrap_or(i64::MAX), at],
    )?;
    Ok(())
}

pub(crate) fn all(connection: &Connection, run: &str) -> rusqlite::Result<Vec<ArtifactRow>> {
    let mut statement = connection.prepare_cached(
        "SELECT path, step, sha256, size FROM artifacts WHERE run_id = ?1 ORDER BY path",
    )?;

    statement
        .query_map(params![run], |row| {
            let size: i64 = row.get(3)?;
            Ok(ArtifactRow {
                path: row.get(0)?,
                step: row.get(1)?,
                sha256: row.get(2)?,
                size: u64::try_from(size).unwrap_or(0),
            })
        })?
        .collect()
}
