//! Running a plan: the scheduler, step execution, and the state every decision is made from.
//!
//! A run is a fold of its events. The scheduler decides what happens next by reading the state,
//! and changes it only by committing events (durably, through the [`RunSink`]); so the state of
//! a live run equals the state rebuilt from its stored log, and a run whose process died resumes
//! exactly where its log ends.

pub mod auto;
mod checks;
mod context;
mod inputs;
mod judge;
mod repo;
mod scope;
mod state;
mod step;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use inputs::{InputError, resolve_inputs};
pub use repo::git_work_done;
pub use state::{
    Answer, Conversation, FoldError, Fork, GitState, Handed, RunState, Snapshot, StepState,
    Waiting, WaitingFor,
};

use self::context::{Frame, Scope};
use self::scope::ScopeEnd;
use crate::actions::{ApprovalState, Env, Failure};
use crate::event::{RunEvent, StepKey};
use crate::models::ModelClient;
use crate::plan::{AutoAnswer, Plan};
use crate::result::{RunStatus, StepResult};
use crate::services::{Services, SinkError};
use crate::state::StepStatus;
use crate::templates::{Templates, context_value};
use crate::workspace::Workspace;

/// How deeply pipelines may run each other through `pipeline` steps.
const MAX_DEPTH: u32 = 8;

/// Everything needed to start (or resume) a run.
pub struct RunRequest {
    /// The run's id.
    pub run_id: String,
    /// The compiled pipeline.
    pub plan: Plan,
    /// The text of the pipeline file as it was when the run started.
    pub snapshot: String,
    /// Where the pipeline file is; sub-pipelines are found from its folder.
    pub pipeline_file: PathBuf,
    /// The folder file steps and programs work in (created if it does not exist).
    pub workspace: PathBuf,
    /// The inputs given (text from a command line is converted to each input's type).
    pub inputs: Map<String, Value>,
    /// The run's events so far, for a resumed run; empty for a new run.
    pub history: Vec<RunEvent>,
    /// Results taken from an earlier run (`--from STEP --reuse RUN`), by step.
    pub reuse: Vec<(StepKey, StepResult)>,
    /// The run and step that started this run, for a sub-pipeline.
    pub parent: Option<(String, StepKey)>,
    /// The user's global folder, where sub-pipelines' prompt layers are also looked up.
    pub global_dir: Option<PathBuf>,
    /// Answers to the plan's `<AUTO>` values known before the run (pins, an earlier run's); the
    /// orchestrator model chooses the rest when a new run starts.
    pub auto: Vec<AutoAnswer>,
    /// The repository the run works in, when its pipeline names one (`workspace.repo`): the run
    /// gets a branch and a worktree of its own, and the workspace lies in the worktree.
    pub repo: Option<crate::versioning::RepoRequest>,
}

/// Settings of the scheduler.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How often the owner of a run proves it is alive and checks for a cancel request.
    pub heartbeat: Duration,
    /// Cancelling this stops the run (a shell's Ctrl-C): running steps are stopped, their
    /// process groups killed, and what finished is kept.
    pub cancel: CancellationToken,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(1),
            cancel: CancellationToken::new(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// Its status.
    pub status: RunStatus,
    /// What it returned.
    pub outputs: Map<String, Value>,
    /// Why it did not succeed.
    pub error: Option<String>,
}

/// A run that could not start or could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The inputs do not fit the pipeline.
    #[error(transparent)]
    Inputs(#[from] InputError),
    /// The run's log cannot be folded into a state.
    #[error(transparent)]
    Log(#[from] FoldError),
    /// The run store failed; nothing more can be recorded, so the run stopped.
    #[error("the run store failed, so the run stopped: {0}")]
    Store(SinkError),
    /// The workspace folder cannot be used.
    #[error("the workspace `{path}` cannot be used: {reason}")]
    Workspace {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// There is nothing to resume.
    #[error("this run has already finished ({0}); there is nothing to resume")]
    Finished(&'static str),
}

/// What every part of a running run shares.
pub(crate) struct Shared {
    run_id: String,
    plan: Plan,
    snapshot_file: PathBuf,
    pipeline_dir: PathBuf,
    services: Services,
    templates: Templates,
    /// Made when the first HTTP step runs: making one reads the system's certificates.
    http: std::sync::OnceLock<Option<reqwest::Client>>,
    workspace: Workspace,
    state: Mutex<RunState>,
    cancel: CancellationToken,
    concurrency: Option<Arc<Semaphore>>,
    /// The inputs, as templates see them.
    inputs: minijinja::Value,
    /// `run`, as templates see it.
    run_value: minijinja::Value,
    /// The same, as JSON.
    run_json: Map<String, Value>,
    /// Why the run must stop for a reason that is not a step's (the store failed).
    fatal: Mutex<Option<String>>,
    /// The circuit breaker tripped.
    tripped: Mutex<Option<String>>,
    /// The run's repository, branch and worktree, when its pipeline names one.
    repo: Option<repo::RunRepo>,
    /// Events that go out with the next commit: the starts of read-only actions (see
    /// [`Effects::ReadOnly`](crate::actions::Effects)).
    deferred: Mutex<Vec<(Timestamp, RunEvent)>>,
    /// While this holds a list, commits are staged: applied to the state and kept here, to be
    /// recorded together by [`Shared::flush`]. The scheduler stages only while it settles steps
    /// that ended, a stretch in which nothing outside the run is touched and no one is shown
    /// anything, so "durable before visible" still holds; it turns many commits into one.
    staged: Mutex<Option<Vec<(Timestamp, RunEvent)>>>,
    /// The concurrency places of steps whose work ended and whose end is not recorded yet.
    held_places: Mutex<HashMap<StepKey, tokio::sync::OwnedSemaphorePermit>>,
    global_dir: Option<PathBuf>,
    depth: u32,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Commits events durably, then applies them to the state, in one critical section so that
    /// the order of the log and the order of the state never differ.
    fn commit(&self, events: Vec<RunEvent>) -> Result<(), SinkError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut state = self
            .state
            .lock()
            .map_err(|_| SinkError("the run's state was poisoned by a crash".to_owned()))?;
        let mut stamped = self
            .deferred
            .lock()
            .map(|mut deferred| std::mem::take(&mut *deferred))
            .unwrap_or_default();
        let at = self.services.clock.now();
        stamped.extend(events.into_iter().map(|event| (at, event)));
        let stamped = queued_first(&state, stamped);
        // An event the state machine would refuse never reaches the log.
        if let Err(error) = state.admits(stamped.iter().map(|(_, event)| event)) {
            let message = format!("the engine made a move its state machine refuses: {error}");
            self.stop(message.clone());
            return Err(SinkError(message));
        }
        let mut staged = self
            .staged
            .lock()
            .map_err(|_| SinkError("the run's state was poisoned by a crash".to_owned()))?;
        if staged.is_none()
            && let Err(error) = self.services.sink.record(&self.run_id, &stamped)
        {
            self.stop(error.0.clone());
            return Err(error);
        }
        for (_, event) in &stamped {
            if let Err(error) = state.apply(event) {
                let message = error.to_string();
                self.stop(message.clone());
                return Err(SinkError(message));
            }
        }
        if let Some(staged) = staged.as_mut() {
            staged.extend(stamped);
        }
        Ok(())
    }

    /// Keeps the concurrency place of a step whose work ended until its end is recorded.
    fn hold_place(&self, step: StepKey, permit: tokio::sync::OwnedSemaphorePermit) {
        if let Ok(mut held) = self.held_places.lock() {
            held.insert(step, permit);
        }
    }

    /// Gives back the places of steps whose end is now recorded.
    fn release_places(&self, steps: &[StepKey]) {
        if let Ok(mut held) = self.held_places.lock() {
            for step in steps {
                held.remove(step);
            }
        }
    }

    /// From now until [`Shared::flush`], commits are staged.
    fn stage(&self) {
        if let Ok(mut staged) = self.staged.lock() {
            staged.get_or_insert_with(Vec::new);
        }
    }

    /// Records what was staged, in one commit, and stops staging.
    fn flush(&self) -> Result<(), SinkError> {
        // The state's lock first, as in `commit`: nothing else is recorded in between.
        let _state = self
            .state
            .lock()
            .map_err(|_| SinkError("the run's state was poisoned by a crash".to_owned()))?;
        let staged = self
            .staged
            .lock()
            .map_err(|_| SinkError("the run's state was poisoned by a crash".to_owned()))?
            .take()
            .unwrap_or_default();
        if staged.is_empty() {
            return Ok(());
        }
        self.services
            .sink
            .record(&self.run_id, &staged)
            .inspect_err(|error| self.stop(error.0.clone()))
    }

    /// Keeps an event to go out with the next commit, whoever makes it.
    fn defer(&self, event: RunEvent) {
        let at = self.services.clock.now();
        if let Ok(mut deferred) = self.deferred.lock() {
            deferred.push((at, event));
        }
    }

    /// Stops the run for a reason that is not a step's.
    fn stop(&self, reason: String) {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert(reason);
        }
        self.cancel.cancel();
    }

    /// `run`, as templates see it now: its id, pipeline and branch, and the paths of a merge's
    /// conflicts handed to a step to resolve.
    fn run_value(&self) -> minijinja::Value {
        let handed = self.repo.as_ref().and_then(|_| {
            let state = self.state.lock().ok()?;
            state
                .git
                .as_ref()?
                .handed
                .as_ref()
                .map(|handed| handed.paths.clone())
        });
        match handed {
            Some(paths) => {
                let mut value = self.run_json.clone();
                value.insert("conflicts".into(), Value::from(paths));
                context_value(&Value::Object(value))
            }
            None => self.run_value.clone(),
        }
    }

    fn template_root(
        self: &Arc<Self>,
        scope: &str,
        frame: &Frame,
        own: Option<(&str, &StepResult)>,
    ) -> minijinja::Value {
        Scope::value(self, scope, frame, own)
    }
}

/// The events with a `StepQueued` before the first event of each step that leaves `Pending` by
/// starting or ending after it ran. The scheduler launches a step without a commit of its own, so
/// the step's first commit records both that it was queued and what it did: one commit fewer per
/// step.
fn queued_first(
    state: &RunState,
    events: Vec<(Timestamp, RunEvent)>,
) -> Vec<(Timestamp, RunEvent)> {
    let mut queued: std::collections::HashSet<StepKey> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(events.len() + 1);
    for (at, event) in events {
        let leaves_pending = match &event {
            RunEvent::StepStarted { step, .. } => Some(step),
            RunEvent::StepFinished { step, result }
                if matches!(result.status, StepStatus::Succeeded | StepStatus::Failed)
                    && !(result.reused_from.is_some() && result.attempts == 0) =>
            {
                Some(step)
            }
            _ => None,
        };
        if let Some(step) = leaves_pending
            && state.status(step) == StepStatus::Pending
            && queued.insert(step.clone())
        {
            out.push((at, RunEvent::StepQueued { step: step.clone() }));
        }
        out.push((at, event));
    }
    out
}

/// An action's view of its run.
struct StepEnv<'a> {
    shared: &'a Arc<Shared>,
    cancel: &'a CancellationToken,
    /// The step's workspace: the run's, or a parallel writer's own worktree.
    workspace: &'a Workspace,
}

impl Env for StepEnv<'_> {
    fn workspace(&self) -> &Workspace {
        self.workspace
    }

    fn pipeline_dir(&self) -> &Path {
        &self.shared.pipeline_dir
    }

    fn pipeline_file(&self) -> &Path {
        &self.shared.snapshot_file
    }

    fn plan(&self) -> &Plan {
        &self.shared.plan
    }

    fn http(&self) -> Result<&reqwest::Client, Failure> {
        self.shared
            .http
            .get_or_init(http_client)
            .as_ref()
            .ok_or_else(|| {
                Failure::fatal("the HTTP client cannot be set up (no TLS support on this machine?)")
            })
    }

    fn models(&self) -> &dyn ModelClient {
        self.shared.services.models.as_ref()
    }

    fn cancel(&self) -> &CancellationToken {
        self.cancel
    }

    fn emit(&self, event: RunEvent) -> Result<(), Failure> {
        self.shared
            .commit(vec![event])
            .map_err(|error| Failure::fatal(error.0))
    }

    fn approval(&self, step: &StepKey) -> ApprovalState {
        let Ok(state) = self.shared.state.lock() else {
            return ApprovalState::NotAsked;
        };
        if let Some(answer) = state.answers.get(step) {
            return ApprovalState::Answered {
                approved: answer.approved,
                comment: answer.comment.clone(),
                by: answer.by.clone(),
            };
        }
        match state.waiting.get(step) {
            Some(waiting) => ApprovalState::Asked {
                deadline: waiting.deadline,
            },
            None => ApprovalState::NotAsked,
        }
    }

    fn conversation(&self, step: &StepKey) -> Conversation {
        self.shared
            .state
            .lock()
            .ok()
            .and_then(|state| state.conversations.get(step).cloned())
            .unwrap_or_default()
    }

    fn now(&self) -> Timestamp {
        self.shared.services.clock.now()
    }

    fn run_child<'a>(
        &'a self,
        step: &'a StepKey,
        path: &'a str,
        inputs: Map<String, Value>,
        cancel_child: CancellationToken,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(run_child(
            self.shared,
            self.workspace,
            step,
            path,
            inputs,
            cancel_child,
        ))
    }
}

/// Starts a new run, or resumes one whose `history` is given, and drives it until it ends or
/// pauses for an approval.
pub async fn run(
    request: RunRequest,
    services: Services,
    options: RunOptions,
) -> Result<RunOutcome, RunError> {
    run_at_depth(request, services, options, 0).await
}

fn run_at_depth(
    request: RunRequest,
    services: Services,
    options: RunOptions,
    depth: u32,
) -> BoxFuture<'static, Result<RunOutcome, RunError>> {
    Box::pin(async move {
        let resuming = !request.history.is_empty();
        let mut state = RunState::fold(&request.history)?;
        if resuming
            && let Some(status) = state.status
            && matches!(status, RunStatus::Succeeded | RunStatus::Rejected)
        {
            return Err(RunError::Finished(status.as_str()));
        }
        let inputs = if resuming {
            state.inputs.clone()
        } else {
            resolve_inputs(&request.plan.inputs, &request.inputs)?
        };
        // A run with a repository works in its own worktree, which must exist before its
        // workspace folder is made inside it.
        let (run_repo, opened) = match (request.repo, &services.versioning) {
            (Some(repo_request), Some(vcs)) => {
                let folder = repo_request.path.display().to_string();
                let (run_repo, opened) = repo::RunRepo::open(
                    Arc::clone(vcs),
                    repo_request,
                    &request.run_id,
                    &request.plan.pipeline,
                    &state,
                )
                .await
                .map_err(|reason| RunError::Workspace {
                    path: folder,
                    reason,
                })?;
                (Some(run_repo), opened)
            }
            (Some(repo_request), None) => {
                return Err(RunError::Workspace {
                    path: repo_request.path.display().to_string(),
                    reason: "this program was built without git support, and the pipeline names a `workspace.repo`".to_owned(),
                });
            }
            (None, _) => (None, None),
        };
        let mut opened = opened;
        // The events that open the run (its start, its repository) and nothing after them.
        let opening_len = 1 + usize::from(opened.is_some());
        let root = run_repo
            .as_ref()
            .map_or_else(|| request.workspace.clone(), repo::RunRepo::workspace_root);
        std::fs::create_dir_all(&root).map_err(|error| RunError::Workspace {
            path: root.display().to_string(),
            reason: error.to_string(),
        })?;
        let workspace = Workspace::new(&root).map_err(|error| RunError::Workspace {
            path: root.display().to_string(),
            reason: error.to_string(),
        })?;
        // A resumed run continues from its log; its state must not already hold a cancel.
        state.cancel_requested = false;
        // `<AUTO>` values are chosen once, when the run starts; a resumed run uses its answers
        // (and has only the values it never got chosen, if its start failed at that).
        let mut plan = request.plan;
        let recorded = state.auto.clone();
        let chosen = auto::choose(
            services.models.as_ref(),
            &plan,
            &request.pipeline_file,
            if resuming { &recorded } else { &request.auto },
            &mut crate::result::Usage::default(),
        )
        .await;
        if let Ok(answers) = &chosen {
            auto::apply(&mut plan, answers);
        }
        let mut run_json = Map::new();
        run_json.insert("id".into(), Value::from(request.run_id.clone()));
        run_json.insert("pipeline".into(), Value::from(plan.pipeline.clone()));
        if let Some(repo) = &run_repo {
            run_json.insert("branch".into(), Value::from(repo.branch()));
            run_json.insert("conflicts".into(), Value::Array(Vec::new()));
        }
        let shared = Arc::new(Shared {
            run_id: request.run_id.clone(),
            pipeline_dir: request
                .pipeline_file
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            snapshot_file: request.pipeline_file.clone(),
            concurrency: plan.concurrency.map(|limit| {
                Arc::new(Semaphore::new(usize::try_from(limit).unwrap_or(usize::MAX)))
            }),
            inputs: context_value(&Value::Object(inputs.clone())),
            run_value: context_value(&Value::Object(run_json.clone())),
            run_json,
            plan,
            templates: Templates::new(),
            http: std::sync::OnceLock::new(),
            workspace,
            state: Mutex::new(state),
            cancel: options.cancel.child_token(),
            fatal: Mutex::new(None),
            tripped: Mutex::new(None),
            repo: run_repo,
            deferred: Mutex::new(Vec::new()),
            staged: Mutex::new(None),
            held_places: Mutex::new(HashMap::new()),
            services,
            global_dir: request.global_dir,
            depth,
        });
        let mut opening = Vec::new();
        if resuming {
            opening.push(RunEvent::RunResumed);
            opening.extend(opened.take());
        } else {
            opening.push(RunEvent::RunStarted {
                pipeline: shared.plan.pipeline.clone(),
                inputs,
                snapshot: request.snapshot,
                file: shared.snapshot_file.display().to_string(),
                workspace: shared.workspace.root().display().to_string(),
                parent: request
                    .parent
                    .map(|(run, step)| crate::event::Parent { run, step }),
            });
            opening.extend(opened.take());
            for (step, result) in request.reuse {
                opening.push(RunEvent::StepFinished { step, result });
            }
        }
        match chosen {
            Ok(answers) if answers.is_empty() || answers == recorded => {}
            Ok(answers) => opening.insert(1, RunEvent::AutoResolved { answers }),
            // Nothing can run with a value nobody chose: the run ends before its steps.
            Err(reason) => {
                // The branch and worktree are recorded, so that cleanup finds them.
                opening.truncate(opening_len);
                opening.push(RunEvent::RunFinished {
                    status: RunStatus::Failed,
                    outputs: Map::new(),
                    error: Some(reason.clone()),
                });
                shared.commit(opening).map_err(RunError::Store)?;
                return Ok(RunOutcome {
                    status: RunStatus::Failed,
                    outputs: Map::new(),
                    error: Some(reason),
                });
            }
        }
        shared.commit(opening).map_err(RunError::Store)?;

        let beating = CancellationToken::new();
        let heartbeat = tokio::spawn(beat(
            Arc::clone(&shared),
            options.heartbeat,
            beating.clone(),
        ));
        let end = scope::run_scope(
            &shared,
            String::new(),
            &shared.plan.graph,
            Frame::root(shared.cancel.clone()),
        )
        .await;
        // The heartbeat ends before the run does, so that nothing of the run (its store) is
        // still held once it returns.
        beating.cancel();
        let _ = heartbeat.await;

        if let Some(reason) = shared.fatal.lock().ok().and_then(|fatal| fatal.clone()) {
            return Err(RunError::Store(SinkError(reason)));
        }
        let tripped = shared
            .tripped
            .lock()
            .ok()
            .and_then(|tripped| tripped.clone());
        let (status, error) = match (end, tripped) {
            (_, Some(reason)) => (RunStatus::Failed, Some(reason)),
            (ScopeEnd::Done, None) => (RunStatus::Succeeded, None),
            (ScopeEnd::Failed(error), None) => (RunStatus::Failed, Some(error)),
            (ScopeEnd::Rejected(error), None) => (RunStatus::Rejected, Some(error)),
            (ScopeEnd::Paused, None) => (RunStatus::Waiting, None),
            (ScopeEnd::Cancelled, None) => (
                RunStatus::Cancelled,
                Some("the run was cancelled".to_owned()),
            ),
        };
        let (outputs, output_errors) = if status == RunStatus::Succeeded {
            render_outputs(&shared)
        } else {
            (Map::new(), Vec::new())
        };
        let error = if output_errors.is_empty() {
            error
        } else {
            Some(output_errors.join("; "))
        };
        shared
            .commit(vec![RunEvent::RunFinished {
                status,
                outputs: outputs.clone(),
                error: error.clone(),
            }])
            .map_err(RunError::Store)?;
        Ok(RunOutcome {
            status,
            outputs,
            error,
        })
    })
}

/// The run's HTTP client. A server that accepts a connection and then says nothing fails the
/// step after a while even when the step has no `timeout`; a slow but steady download does not.
fn http_client() -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_mins(5))
        .user_agent(concat!("orchestra/", env!("CARGO_PKG_VERSION")))
        .build()
        .ok()
}

/// How many heartbeats in a row may fail (the store busy with another writer) before the run
/// stops: it cannot prove it is alive, and another process could take it over.
const MISSED_BEATS: u32 = 5;

/// Proves the owner is alive every `every` until `until` is cancelled; stops the run when
/// someone asks (and goes on beating while it winds down), or when another process took it over.
async fn beat(shared: Arc<Shared>, every: Duration, until: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    let mut missed = 0;
    let mut asked = false;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = until.cancelled() => return,
        }
        match shared
            .services
            .sink
            .heartbeat(&shared.run_id, shared.services.clock.now())
        {
            Ok(control) if control.taken_over => {
                shared.stop(
                    "another process took this run over (this one had been silent too long)"
                        .to_owned(),
                );
                return;
            }
            Ok(control) => {
                missed = 0;
                if control.cancel_requested && !asked {
                    asked = true;
                    let _ = shared.commit(vec![RunEvent::CancelRequested]);
                    shared.cancel.cancel();
                }
            }
            Err(error) => {
                missed += 1;
                if missed >= MISSED_BEATS {
                    shared.stop(format!(
                        "the run store did not take {MISSED_BEATS} heartbeats in a row: {error}"
                    ));
                    return;
                }
            }
        }
    }
}

/// Renders the pipeline's outputs after the last step. An output that cannot be rendered (it
/// reads a step that was skipped) is left empty and reported.
fn render_outputs(shared: &Arc<Shared>) -> (Map<String, Value>, Vec<String>) {
    let root = shared.template_root("", &Frame::root(shared.cancel.clone()), None);
    let mut outputs = Map::new();
    let mut errors = Vec::new();
    for (name, template) in &shared.plan.outputs {
        match shared
            .templates
            .render_value(&Value::String(template.clone()), &root)
        {
            Ok(value) => {
                outputs.insert(name.clone(), value);
            }
            Err(error) => {
                errors.push(format!(
                    "the output `{name}` could not be rendered: {error}"
                ));
                outputs.insert(name.clone(), Value::Null);
            }
        }
    }
    (outputs, errors)
}

/// Runs a `pipeline` step's file as a child run.
async fn run_child(
    shared: &Arc<Shared>,
    workspace: &Workspace,
    step: &StepKey,
    path: &str,
    inputs: Map<String, Value>,
    cancel_child: CancellationToken,
) -> Result<Value, Failure> {
    if shared.depth + 1 >= MAX_DEPTH {
        return Err(Failure::fatal(format!(
            "pipelines run each other more than {MAX_DEPTH} deep (does `{path}` run itself?)"
        )));
    }
    let file = shared.pipeline_dir.join(path);
    let checked = orchestra_pipeline::check_file(&file, &crate::CATALOG, shared.global_dir.clone())
        .map_err(|error| {
            Failure::fatal(format!("the pipeline `{path}` cannot be read: {error}"))
        })?;
    let errors: Vec<String> = checked
        .report
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| match d.span {
            Some(span) => format!("{path}:{}:{}: {}", span.line, span.column, d.message),
            None => format!("{path}: {}", d.message),
        })
        .collect();
    let Some(pipeline) = checked.valid() else {
        return Err(Failure::fatal(format!(
            "the pipeline `{path}` has errors: {}",
            errors.join("; ")
        )));
    };
    let pipeline = orchestra_pipeline::Library::for_pipeline(&file, shared.global_dir.clone())
        .with_agent_files(pipeline)
        .map_err(Failure::fatal)?;
    let plan = crate::compile(&pipeline, &crate::CATALOG)
        .map_err(|error| Failure::fatal(error.to_string()))?;
    let child_dir = file
        .parent()
        .map_or_else(|| shared.pipeline_dir.clone(), Path::to_path_buf);
    // A child run works in its parent step's workspace unless it names its own; in a run with a
    // repository always in the parent step's (its own root would lie in the user's working
    // tree). The parent step's commit records what it changed: a child makes no branch.
    let workspace = match &pipeline.workspace.root {
        Some(root) if shared.repo.is_none() => child_dir.join(root),
        _ => workspace.root().to_path_buf(),
    };
    let request = RunRequest {
        run_id: shared.services.ids.run_id(),
        plan,
        snapshot: checked.report.source.text().to_owned(),
        pipeline_file: file,
        workspace,
        inputs,
        history: Vec::new(),
        reuse: Vec::new(),
        parent: Some((shared.run_id.clone(), step.clone())),
        global_dir: shared.global_dir.clone(),
        auto: Vec::new(),
        repo: None,
    };
    let options = RunOptions {
        cancel: cancel_child,
        ..RunOptions::default()
    };
    let outcome = run_at_depth(request, shared.services.clone(), options, shared.depth + 1)
        .await
        .map_err(|error| Failure::fatal(format!("the pipeline `{path}` could not run: {error}")))?;
    match outcome.status {
        RunStatus::Succeeded => Ok(Value::Object(outcome.outputs)),
        RunStatus::Cancelled => Err(Failure::cancelled()),
        RunStatus::Waiting => Err(Failure::fatal(format!(
            "the pipeline `{path}` paused for an approval, and approvals inside a `pipeline` step cannot be answered yet; its run is kept"
        ))),
        status => Err(Failure::fatal(format!(
            "the pipeline `{path}` ended {}: {}",
            status.as_str(),
            outcome.error.unwrap_or_default()
        ))),
    }
}
