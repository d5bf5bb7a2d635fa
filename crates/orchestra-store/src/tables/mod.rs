//! The tables of the run store, one module each: its migration next to the code that reads and
//! writes it.

pub(crate) mod artifacts;
pub(crate) mod attempts;
pub(crate) mod events;
pub(crate) mod outputs;
pub(crate) mod runs;
pub(crate) mod steps;

use rusqlite_migration::{M, Migrations};

/// Every migration, in the order it was added. A table's change is a new migration in its own
/// module, appended here; existing entries never change.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(runs::CREATE),
        M::up(events::CREATE),
        M::up(steps::CREATE),
        M::up(attempts::CREATE),
        M::up(artifacts::CREATE),
        M::up(outputs::CREATE),
    ])
}
