//! The Orchestra run store: every run, step, attempt, event, artifact and output, in `SQLite`.
//!
//! The store lives at `<project>/.orchestra/runs.db`, in WAL mode with `synchronous=NORMAL`, and
//! each table's migration sits next to the code that reads and writes it (`tables/`). The
//! `events` table is the source of truth: every event a run emits is committed there (with the
//! tables that summarise it, in one transaction) before it is shown to anyone, and a run resumes
//! by folding its events. One process owns a running run and proves it with a heartbeat; a run
//! whose owner died shows as interrupted, never as running forever.

mod checkpointer;
mod summaries;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use orchestra_engine::services::{Control, RunSink, SinkError};
use orchestra_engine::{Record, RunEvent, RunStatus, StepResult};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde_json::{Map, Value};

pub use tables::artifacts::ArtifactRow;
pub use tables::attempts::AttemptRow;
pub use tables::runs::RunRow;
pub use tables::steps::{StepLine, StepRow};

/// How long an owner may stay silent before its run counts as interrupted. Owners beat every
/// second; this leaves room for a busy machine.
const STALE_AFTER_SECONDS: i64 = 15;
/// How long an owner on this machine whose process still exists may stay silent (a process
/// stopped with Ctrl-Z, a machine asleep) before its run counts as interrupted.
const STALE_HERE_SECONDS: i64 = 600;

/// A failure of the store, as a sentence that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a `SQLite` database (damaged, or something else).
    #[error(
        "the run store `{0}` is not a database Orchestra can read (it may be damaged); move it aside to start a new one, nothing was changed"
    )]
    NotADatabase(PathBuf),
    /// The file or its folder cannot be written.
    #[error(
        "the run store `{0}` cannot be written (read-only file or folder); nothing was changed"
    )]
    ReadOnly(PathBuf),
    /// The store was made by a newer Orchestra.
    #[error("the run store `{0}` was made by a newer Orchestra; update Orchestra to use it")]
    Newer(PathBuf),
    /// The run changed while a command looked at it.
    #[error(
        "run `{0}` changed while this command looked at it (another process may have taken it over); see `orchestra runs`"
    )]
    Changed(String),
    /// No run has that id.
    #[error("no run has the id `{0}`; `orchestra runs` lists them")]
    NoSuchRun(String),
    /// More than one run starts with the id given.
    #[error("more than one run starts with `{0}`; give more of its id")]
    Ambiguous(String),
    /// Anything else `SQLite` reported.
    #[error("the run store `{path}` failed: {message}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What `SQLite` said.
        message: String,
    },
}

/// A function told of every event after it is committed: the run, the event's place in the
/// run's log, and the event.
pub type Subscriber = Arc<dyn Fn(&str, u64, &RunEvent) + Send + Sync>;

/// The run store of one project.
pub struct Store {
    path: PathBuf,
    /// Started by the first commit, so that a store opened only to read (`orchestra runs`,
    /// `show`) starts no thread. Stops (and closes its connection) before `connection` closes,
    /// so that the writer's connection is the last and leaves the database whole, without its
    /// log.
    checkpointer: std::sync::OnceLock<Option<checkpointer::Checkpointer>>,
    connection: Mutex<Connection>,
    subscribers: Mutex<Vec<Subscriber>>,
    owner: (i64, String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`, creating its folder, and migrates it. A file that
    /// is not a database, or that cannot be written, is refused and left as it is.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|_| StoreError::ReadOnly(path.to_path_buf()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection =
            Connection::open_with_flags(path, flags).map_err(|error| classify(path, &error))?;
        configure(&connection).map_err(|error| classify(path, &error))?;
        tables::migrations()
            .to_latest(&mut connection)
            .map_err(|error| match error {
                rusqlite_migration::Error::RusqliteError { err, .. } => classify(path, &err),
                rusqlite_migration::Error::MigrationDefinition(_)
                | rusqlite_migration::Error::SpecifiedSchemaVersion(_) => {
                    StoreError::Newer(path.to_path_buf())
                }
                other => StoreError::Sqlite {
                    path: path.to_path_buf(),
                    message: other.to_string(),
                },
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            checkpointer: std::sync::OnceLock::new(),
            connection: Mutex::new(connection),
            subscribers: Mutex::new(Vec::new()),
            owner: (i64::from(std::process::id()), host_name()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `subscriber` with every event committed from now on.
    pub fn subscribe(&self, subscriber: Subscriber) {
        if let Ok(mut subscribers) = self.subscribers.lock() {
            subscribers.push(subscriber);
        }
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.lock().map_err(|_| StoreError::Sqlite {
            path: self.path.clone(),
            message: "the connection was poisoned by a crash".to_owned(),
        })?;
        work(&mut connection).map_err(|error| classify(&self.path, &error))
    }

    /// Commits events of a run, with the summaries they change, in one transaction, then tells
    /// the subscribers. The events are numbered from the end of the run's log.
    pub fn append(&self, run: &str, events: &[(Timestamp, RunEvent)]) -> Result<(), StoreError> {
        self.checkpointer
            .get_or_init(|| checkpointer::Checkpointer::start(&self.path));
        let owner = (self.owner.0, self.owner.1.as_str());
        let first = self.with(|connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut seq = tables::events::last_seq(&transaction, run)?;
            let first = seq + 1;
            let times: Vec<String> = events.iter().map(|(at, _)| at.to_string()).collect();
            let mut gathered = summaries::Gathered::default();
            for ((_, event), when) in events.iter().zip(&times) {
                seq += 1;
                let body = serde_json::to_string(event).unwrap_or_default();
                if let RunEvent::RunStarted {
                    pipeline,
                    inputs,
                    snapshot,
                    file,
                    workspace,
                    parent,
                } = event
                {
                    let inputs = serde_json::to_string(inputs).unwrap_or_default();
                    tables::runs::insert(
                        &transaction,
                        &tables::runs::NewRun {
                            id: run,
                            pipeline,
                            file,
                            snapshot,
                            workspace,
                            inputs: &inputs,
                            parent: parent
                                .as_ref()
                                .map(|parent| (parent.run.as_str(), parent.step.as_str())),
                            at: when,
                            owner,
                        },
                    )?;
                }
                tables::events::insert(&transaction, run, seq, when, event, &body)?;
                if !gathered.take(event, when) {
                    // What was gathered goes first wherever order matters: before a route
                    // starts steps over, a resumed run resets them, or a step waits.
                    if matches!(
                        event,
                        RunEvent::RunResumed
                            | RunEvent::RouteTaken { .. }
                            | RunEvent::WaitingForApproval { .. }
                            | RunEvent::WaitingForMessage { .. }
                    ) {
                        gathered.write(&transaction, run)?;
                    }
                    summarise(&transaction, run, event, when, owner)?;
                }
            }
            gathered.write(&transaction, run)?;
            transaction.commit()?;
            Ok(first)
        })?;
        let subscribers = self
            .subscribers
            .lock()
            .map(|subscribers| subscribers.clone())
            .unwrap_or_default();
        for (seq, (_, event)) in (first..).zip(events) {
            for subscriber in &subscribers {
                subscriber(run, seq, event);
            }
        }
        Ok(())
    }

    /// The runs, newest first (sub-pipelines' runs are not listed on their own).
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let now = Timestamp::now();
        let runs = self.with(|connection| tables::runs::list(connection, limit))?;
        Ok(runs
            .into_iter()
            .map(|run| self.with_liveness(run, now))
            .collect())
    }

    /// The run with this id, or the one run whose id starts with it.
    pub fn run(&self, id: &str) -> Result<RunRow, StoreError> {
        let id = self.resolve_id(id)?;
        let run = self
            .with(|connection| tables::runs::get(connection, &id))?
            .ok_or_else(|| StoreError::NoSuchRun(id.clone()))?;
        Ok(self.with_liveness(run, Timestamp::now()))
    }

    /// The full id of the run whose id is or starts with `id`.
    pub fn resolve_id(&self, id: &str) -> Result<String, StoreError> {
        if self
            .with(|connection| tables::runs::get(connection, id))?
            .is_some()
        {
            return Ok(id.to_owned());
        }
        let matches = if id.len() >= 4 {
            self.with(|connection| tables::runs::ids_starting_with(connection, id))?
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(StoreError::NoSuchRun(id.to_owned())),
            _ => Err(StoreError::Ambiguous(id.to_owned())),
        }
    }

    /// A run shows as interrupted when it says it runs but its owner is gone. On this machine:
    /// the owner's process does not exist, or it has been silent for ten minutes (stopped, or its
    /// id reused by another program). Elsewhere: it has been silent for 15 seconds.
    fn with_liveness(&self, mut run: RunRow, now: Timestamp) -> RunRow {
        if run.status != RunStatus::Running {
            return run;
        }
        let silent_for = run
            .heartbeat_at
            .as_deref()
            .and_then(|at| at.parse::<Timestamp>().ok())
            .map_or(i64::MAX, |at| now.duration_since(at).as_secs());
        let gone = match (run.owner_pid, run.owner_host.as_deref()) {
            (Some(pid), Some(host)) if host == self.owner.1 => {
                !process_alive(pid) || silent_for > STALE_HERE_SECONDS
            }
            _ => silent_for > STALE_AFTER_SECONDS,
        };
        if gone {
            run.status = RunStatus::Interrupted;
        }
        run
    }

    /// Whether a live process other than this one owns the run.
    pub fn owned_elsewhere(&self, run: &RunRow) -> bool {
        run.status == RunStatus::Running
            && (run.owner_pid, run.owner_host.as_deref())
                != (Some(self.owner.0), Some(self.owner.1.as_str()))
    }

    /// Makes this process the owner of a run that is as `seen`: refused when the run changed
    /// since (another process took it over, or its owner came back to life).
    pub fn claim(&self, seen: &RunRow) -> Result<(), StoreError> {
        let at = Timestamp::now().to_string();
        let owner = (self.owner.0, self.owner.1.as_str());
        if self.with(|connection| tables::runs::claim(connection, seen, &at, owner))? {
            Ok(())
        } else {
            Err(StoreError::Changed(seen.id.clone()))
        }
    }

    /// Every event of a run, in order.
    pub fn events(&self, run: &str) -> Result<Vec<Record>, StoreError> {
        let records = self.with(|connection| tables::events::all(connection, run))?;
        records
            .into_iter()
            .map(|record| {
                record.map_err(|message| StoreError::Sqlite {
                    path: self.path.clone(),
                    message,
                })
            })
            .collect()
    }

    /// The steps of a run.
    pub fn steps(&self, run: &str) -> Result<Vec<StepRow>, StoreError> {
        self.with(|connection| tables::steps::all(connection, run))
    }

    /// The steps of a run in brief, without their outputs.
    pub fn step_lines(&self, run: &str) -> Result<Vec<StepLine>, StoreError> {
        self.with(|connection| tables::steps::lines(connection, run))
    }

    /// The attempts of a run's steps.
    pub fn attempts(&self, run: &str) -> Result<Vec<AttemptRow>, StoreError> {
        self.with(|connection| tables::attempts::all(connection, run))
    }

    /// The files a run produced.
    pub fn artifacts(&self, run: &str) -> Result<Vec<ArtifactRow>, StoreError> {
        self.with(|connection| tables::artifacts::all(connection, run))
    }

    /// The tokens a run's model steps used, and their cost.
    pub fn usage(&self, run: &str) -> Result<orchestra_engine::Usage, StoreError> {
        self.with(|connection| tables::events::usage(connection, run))
    }

    /// What a run returned.
    pub fn outputs(&self, run: &str) -> Result<Map<String, Value>, StoreError> {
        self.with(|connection| tables::outputs::all(connection, run))
    }

    /// Asks the process that runs `run` to stop it.
    pub fn request_cancel(&self, run: &str) -> Result<(), StoreError> {
        let at = Timestamp::now().to_string();
        let changed = self.with(|connection| tables::runs::request_cancel(connection, run, &at))?;
        if changed == 0 {
            Err(StoreError::NoSuchRun(run.to_owned()))
        } else {
            Ok(())
        }
    }

    /// Runs `PRAGMA integrity_check`; `ok` for a sound database.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.with(|connection| connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)))
    }
}

/// Updates the summary tables an event changes.
fn summarise(
    connection: &Connection,
    run: &str,
    event: &RunEvent,
    at: &str,
    owner: (i64, &str),
) -> rusqlite::Result<()> {
    match event {
        RunEvent::RunResumed => {
            tables::runs::resume(connection, run, at, owner)?;
            tables::steps::resume(connection, run)
        }
        RunEvent::WaitingForApproval { step, .. } | RunEvent::WaitingForMessage { step } => {
            tables::steps::set_status(connection, run, step, "waiting")
        }
        RunEvent::RouteTaken { reset, .. } => {
            for step in reset {
                tables::steps::reset(connection, run, step)?;
            }
            Ok(())
        }
        RunEvent::Artifact {
            step,
            path,
            sha256,
            size,
        } => tables::artifacts::record(connection, run, step, path, sha256, *size, at),
        RunEvent::RunFinished {
            status,
            outputs,
            error,
        } => {
            tables::runs::finish(connection, run, *status, error.as_deref(), at)?;
            tables::outputs::record(connection, run, outputs)
        }
        // A step's queueing, start and end are gathered per commit (see `summaries`); attempts
        // are read from the events (see `tables::attempts`).
        RunEvent::StepQueued { .. }
        | RunEvent::StepStarted { .. }
        | RunEvent::AttemptFailed { .. }
        | RunEvent::StepFinished { .. }
        | RunEvent::RunStarted { .. }
        | RunEvent::AutoResolved { .. }
        | RunEvent::RepositoryOpened { .. }
        | RunEvent::WorktreeForked { .. }
        | RunEvent::Merged { .. }
        | RunEvent::MergeConflicted { .. }
        | RunEvent::OutputChunk { .. }
        | RunEvent::Usage { .. }
        | RunEvent::ModelPrepared { .. }
        | RunEvent::ToolCalled { .. }
        | RunEvent::ToolReturned { .. }
        | RunEvent::ConversationMessage { .. }
        | RunEvent::ApprovalAnswered { .. }
        | RunEvent::ItemsResolved { .. }
        | RunEvent::PassStarted { .. }
        | RunEvent::CancelRequested => Ok(()),
    }
}

impl RunSink for Store {
    fn record(&self, run: &str, events: &[(Timestamp, RunEvent)]) -> Result<(), SinkError> {
        self.append(run, events)
            .map_err(|error| SinkError(error.to_string()))
    }

    fn heartbeat(&self, run: &str, at: Timestamp) -> Result<Control, SinkError> {
        let at = at.to_string();
        let owner = (self.owner.0, self.owner.1.as_str());
        self.with(|connection| tables::runs::heartbeat(connection, run, &at, owner))
            .map(|beat| Control {
                cancel_requested: beat.unwrap_or(false),
                taken_over: beat.is_none(),
            })
            .map_err(|error| SinkError(error.to_string()))
    }

    fn cached(&self, hash: &str) -> Result<Option<(String, StepResult)>, SinkError> {
        self.with(|connection| tables::steps::cached(connection, hash))
            .map_err(|error| SinkError(error.to_string()))
    }
}

/// WAL once (it is a property of the file), and for this connection: `synchronous=NORMAL`
/// (durable across a crash of the process, which is what a run needs), foreign keys, and a
/// wait for another writer instead of failing at once.
fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every statement the store runs stays prepared.
    connection.set_prepared_statement_cache_capacity(64);
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    // Checkpoints happen in the background (see `checkpointer`) and when the store closes; a
    // commit checkpoints only if they fall behind by 40 MB of log, and the log file is cut back
    // to 64 MB after a checkpoint.
    connection.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    connection.pragma_update(None, "journal_size_limit", 64 << 20)?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn classify(path: &Path, error: &rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase(path.to_path_buf()),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            StoreError::ReadOnly(path.to_path_buf())
        }
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            message: error.to_string(),
        },
    }
}

/// Whether a process with this id exists on this machine.
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(error) => error == rustix::io::Errno::PERM,
    }
}

fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
