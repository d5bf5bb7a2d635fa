//! `attempts`: each attempt of each step, with its rendered inputs (the exact command or prompt),
//! read from the run's events.

use rusqlite::{Connection, Row, params};
use serde_json::Value;

/// A view over `events`, not a table: an attempt is a `step_started` event, ended by the next
/// `attempt_failed` or `step_finished` event of its step. An attempt cut short (its run died or
/// paused, and the step started again) is ended by the next `step_started`: it has no end time.
/// Each attempt is written once, in the log, and a step's commit touches one page fewer. Listing
/// a run's attempts reads its events (each attempt looks ahead for its end): quick for a
/// listing, and never on a run's hot path.
pub(crate) const CREATE: &str = "
CREATE VIEW attempts AS
SELECT started.run_id AS run_id,
       started.step AS step,
       started.body ->> '$.attempt' AS attempt,
       started.at AS started_at,
       CASE WHEN ended.kind <> 'step_started' THEN ended.at END AS finished_at,
       started.body -> '$.inputs' AS inputs,
       CASE ended.kind
           WHEN 'attempt_failed' THEN ended.body ->> '$.error'
           WHEN 'step_finished' THEN ended.body ->> '$.result.error'
       END AS error,
       started.seq AS seq
FROM events AS started
LEFT JOIN events AS ended ON ended.run_id = started.run_id AND ended.seq = (
    SELECT MIN(later.seq) FROM events AS later
    WHERE later.run_id = started.run_id AND later.seq > started.seq AND later.step = started.step
      AND later.kind IN ('attempt_failed', 'step_finished', 'step_started')
)
WHERE started.kind = 'step_started';
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
        "SELECT step, attempt, started_at, finished_at, inputs, error FROM attempts WHERE run_id = ?1 ORDER BY seq",
    )?;

    statement.query_map(params![run], from_row)?.collect()
}
