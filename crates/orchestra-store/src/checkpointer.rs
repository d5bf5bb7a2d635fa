//! Copies the write-ahead log back into the database in the background, on a connection of its
//! own, so that no commit of a run waits for a checkpoint.
//!
//! In WAL mode a commit only appends to the log; a checkpoint copies the log's pages into the
//! database so that the log can start over. Left to the committing connection, every so many
//! commits one of them does that work and takes several times as long. A passive checkpoint from
//! another connection runs beside the writer and never blocks it; the writer starts the log over
//! by itself at its next commit once everything in it has been copied. If this thread cannot
//! keep up (a reader holding an old snapshot), the writer's own automatic checkpoint, set high,
//! still bounds the log.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(20);

/// The background checkpointer of one store; it stops when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the store at `path`, or nothing if a second connection cannot be
    /// opened (the writer then checkpoints by itself).
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("orchestra-checkpoint".to_owned())
            .spawn(move || run(&connection, &signal))
            .ok()?;
        Some(Self {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(connection: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (stopped, wake) = stop;
    let Ok(mut guard) = stopped.lock() else {
        return;
    };
    while !*guard {
        guard = match wake.wait_timeout(guard, EVERY) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
        // A checkpoint that cannot finish now (a reader in the way) is simply tried again.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut guard) = stopped.lock() {
            *guard = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
