//! `events`: every event of every run, in order. The source of truth: a run resumes from it.

use orchestra_engine::{Record, RunEvent};
use rusqlite::{Connection, params};

pub(crate) const CREATE: &str = "
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
";

/// The number of the run's last event, 0 for none.
pub(crate) fn last_seq(connection: &Connection, run: &str) -> rusqlite::Result<u64> {
    let last: Option<i64> = connection
        .prepare_cached("SELECT MAX(seq) FROM events WHERE run_id = ?1")?
        .query_row(params![run], |row| row.get(0))?;
    Ok(u64::try_from(last.unwrap_or(0)).unwrap_or(0))
}

pub(crate) fn insert(
    connection: &Connection,
    run: &str,
    seq: u64,
    at: &str,
    event: &RunEvent,
    body: &str,
) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT INTO events (run_id, seq, at, kind, step, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
        params![
            run,
            i64::try_from(seq).unwrap_or(i64::MAX),
            at,
            event.kind(),
            event.step().map(orchestra_engine::StepKey::as_str),
            body
        ],
    )?;
    Ok(())
}

/// The tokens a run's model steps used, and their cost while every cost is known, added up in
/// SQL from the run's `usage` events without reading the rest of its log.
pub(crate) fn usage(
    connection: &Connection,
    run: &str,
) -> rusqlite::Result<orchestra_engine::Usage> {
    connection
        .prepare_cached(
            "SELECT COUNT(*),
                    COALESCE(SUM(json_extract(body, '$.usage.prompt_tokens')), 0),
                    COALESCE(SUM(json_extract(body, '$.usage.completion_tokens')), 0),
                    COALESCE(SUM(json_extract(body, '$.usage.total_tokens')), 0),
                    COUNT(json_extract(body, '$.usage.cost_usd')),
                    SUM(json_extract(body, '$.usage.cost_usd'))
             FROM events WHERE run_id = ?1 AND kind = 'usage'",
        )?
        .query_row(params![run], |row| {
            let count = |at: usize| -> rusqlite::Result<u64> {
                Ok(u64::try_from(row.get::<_, i64>(at)?).unwrap_or(0))
            };
            let events = count(0)?;
            let priced = count(4)?;
            Ok(orchestra_engine::Usage {
                prompt_tokens: count(1)?,
                completion_tokens: count(2)?,
                total_tokens: count(3)?,
                cost_usd: if events > 0 && priced == events {
                    row.get::<_, Option<f64>>(5)?
                } else {
                    None
                },
            })
        })
}

/// Every event of a run, in order. An event this version cannot read (the log of a newer
/// Orchestra) is an error, not skipped: a resumed run must see its whole history.
pub(crate) fn all(
    connection: &Connection,
    run: &str,
) -> rusqlite::Result<Vec<Result<Record, String>>> {
    let mut statement = connection
        .prepare_cached("SELECT seq, at, body FROM events WHERE run_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map(params![run], |row| {
        let seq: i64 = row.get(0)?;
        let at: String = row.get(1)?;
        let body: String = row.get(2)?;
        Ok((seq, at, body))
    })?;
    let mut records = Vec::new();
    for row in rows {
        let (seq, at, body) = row?;
        let record = match (serde_json::from_str::<RunEvent>(&body), at.parse()) {
            (Ok(event), Ok(at)) => Ok(Record {
                seq: u64::try_from(seq).unwrap_or(0),
                at,
                event,
            }),
            (Err(error), _) => Err(format!("event {seq} cannot be read: {error}")),
            (_, Err(error)) => Err(format!("event {seq} has a bad time: {error}")),
        };
        records.push(record);
    }
    Ok(records)
}
