//! What a run needs from the world, as traits: a durable sink for its events, a clock, a source
//! of randomness and a model client. The engine does no ambient IO beyond its actions; tests and
//! shells hand it these.

use std::sync::Arc;

use crate::event::RunEvent;
use crate::models::{ModelClient, NoModelProvider};
use crate::result::StepResult;
use jiff::Timestamp;

/// A failure of the run store, as a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// What the owner of a run learns on each heartbeat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// Someone asked for the run to stop.
    pub cancel_requested: bool,
    /// Another process took the run over (this one was thought dead): this one must stop.
    pub taken_over: bool,
}

/// Where a run's events go. `record` commits them durably and only then shows them to
/// subscribers (the CLI's progress, the studio): nothing is ever shown that a crash could take
/// back.
pub trait RunSink: Send + Sync {
    /// Commits events of run `run`, in order, in one transaction, then publishes them.
    fn record(&self, run: &str, events: &[(Timestamp, RunEvent)]) -> Result<(), SinkError>;

    /// Proves the run's owner is alive, and reports requests from elsewhere (a cancel).
    fn heartbeat(&self, run: &str, at: Timestamp) -> Result<Control, SinkError>;

    /// The latest succeeded result of a step whose action and rendered inputs hash to `hash`,
    /// with where it came from (`run/step`), for `cache: true`.
    fn cached(&self, hash: &str) -> Result<Option<(String, StepResult)>, SinkError>;
}

/// The time, for events and deadlines.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Numbers in `[0, 1)`, for retry jitter.
pub trait RandomSource: Send + Sync {
    /// The next number.
    fn chance(&self) -> f64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The thread-local random generator.
#[derive(Debug, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn chance(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// New run ids.
pub trait IdSource: Send + Sync {
    /// A new, unique run id.
    fn run_id(&self) -> String;
}

/// Time-ordered UUIDs (version 7), so that run ids sort by when the runs started.
#[derive(Debug, Default)]
pub struct UuidIds;

impl IdSource for UuidIds {
    fn run_id(&self) -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

/// Everything a run needs from outside the engine.
#[derive(Clone)]
pub struct Services {
    /// Where events go.
    pub sink: Arc<dyn RunSink>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for jitter.
    pub random: Arc<dyn RandomSource>,
    /// Language models.
    pub models: Arc<dyn ModelClient>,
    /// New run ids (for sub-pipelines' runs).
    pub ids: Arc<dyn IdSource>,
    /// Version control, for runs whose pipeline names a repository.
    pub versioning: Option<Arc<dyn crate::versioning::Versioning>>,
}

impl Services {
    /// Services with the system clock, thread randomness and no model provider.
    pub fn new(sink: Arc<dyn RunSink>) -> Self {
        Self {
            sink,
            clock: Arc::new(SystemClock),
            random: Arc::new(ThreadRandom),
            models: Arc::new(NoModelProvider::default()),
            ids: Arc::new(UuidIds),
            versioning: None,
        }
    }
}
