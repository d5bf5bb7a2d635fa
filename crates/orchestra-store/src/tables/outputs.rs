//! `outputs`: what each finished run returned.

use rusqlite::{Connection, params};
use serde_json::{Map, Value};

pub(crate) const CREATE: &str = "
CREATE TABLE outputs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) STRICT, WITHOUT ROWID;
";

pub(crate) fn record(
    connection: &Connection,
    run: &str,
    outputs: &Map<String, Value>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached("DELETE FROM outputs WHERE run_id = ?1")?
        .execute(params![run])?;
    for (position, (name, value)) in outputs.iter().enumerate() {
        connection
            .prepare_cached(
                "INSERT INTO outputs (run_id, name, position, value) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                run,
                name,
                i64::try_from(position).unwrap_or(i64::MAX),
                value.to_string()
            ])?;
    }
    Ok(())
}

pub(crate) fn all(connection: &Connection, run: &str) -> rusqlite::Result<Map<String, Value>> {
    let mut statement = connection
        .prepare_cached("SELECT name, value FROM outputs WHERE run_id = ?1 ORDER BY position")?;
    let rows = statement.query_map(params![run], |row| {
        let name: String = row.get(0)?;
        let value: String = row.get(1)?;
        Ok((name, serde_json::from_str(&value).unwrap_or(Value::Null)))
    })?;
    rows.collect()
}
