//! A project: a folder of pipelines with its run store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use orchestra_engine::event::StepKey;
use orchestra_engine::models::{Message, ModelClient, ModelSettings, NoModelProvider, Prepared};
use orchestra_engine::run::{RunOptions, RunOutcome, RunRequest, RunState, WaitingFor};
use orchestra_engine::services::Services;
use orchestra_engine::{
    CATALOG, PipelineResult, Plan, RunEvent, RunStatus, StepStatus, Work, compile,
};
use orchestra_llm::{LlmClient, Mode};
use orchestra_pipeline::{Checked, Library, Report, Source, check, check_file};
use orchestra_store::{RunRow, StepLine, Store, StoreError, Subscriber};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

/// Something an API call could not do, as a sentence.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The pipeline file cannot be read.
    #[error("cannot read `{path}`: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The pipeline has errors; the report lists them.
    #[error("`{}` has errors, so it cannot run", .0.source.name())]
    Invalid(Box<Report>),
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run could not start or go on.
    #[error(transparent)]
    Run(#[from] orchestra_engine::run::RunError),
    /// The request does not fit the run's state.
    #[error("{0}")]
    Refused(String),
}

/// How to start a run.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// The inputs, by name (text is converted to each input's type).
    pub inputs: Map<String, Value>,
    /// Re-run from this step, reusing the results of the steps before it from `reuse`.
    pub from: Option<String>,
    /// The earlier run whose results `from` reuses.
    pub reuse: Option<String>,
    /// Cancelling this stops the run.
    pub cancel: CancellationToken,
    /// The new run's id, when the caller needs to know it before the run starts (the studio
    /// follows the run's events by it); a fresh id otherwise.
    pub run_id: Option<String>,
}

/// The results an earlier run lends a re-run, and the commit its branch starts from (for a
/// pipeline with a repository).
type Reusable = (Vec<(StepKey, orchestra_engine::StepResult)>, Option<String>);

/// A run that ended or paused.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// The run's id.
    pub run_id: String,
    /// How it ended.
    pub outcome: RunOutcome,
}

/// A run in brief, as a shell shows it after the run or in `show`.
#[derive(Clone, Debug, PartialEq)]
pub struct Overview {
    /// The run.
    pub run: RunRow,
    /// A line per step, in the order they were reached.
    pub steps: Vec<StepLine>,
    /// What it returned.
    pub outputs: Map<String, Value>,
    /// The files it produced.
    pub artifacts: Vec<orchestra_store::ArtifactRow>,
    /// The tokens its model steps used, and their cost.
    pub usage: orchestra_engine::Usage,
}

/// A folder of pipelines and its run store.
pub struct Project {
    root: PathBuf,
    store: Arc<Store>,
    global_dir: Option<PathBuf>,
    /// The runs this process is running now, which no other call may take over.
    driving: Arc<Mutex<HashSet<String>>>,
    /// Where LLM steps get their answers.
    models: Mode,
}

/// Marks a run as run by this process while it lives.
struct Driving {
    runs: Arc<Mutex<HashSet<String>>>,
    run: String,
}

impl Drop for Driving {
    fn drop(&mut self) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.remove(&self.run);
        }
    }
}

/// Files or folders that mark the root of a project.
const MARKERS: &[&str] = &["orchestra.yaml", ".orchestra", ".git"];

impl Project {
    /// The project at `root`, with its store at `root/.orchestra/runs.db`.
    pub fn open(root: &Path, global_dir: Option<PathBuf>) -> Result<Self, ApiError> {
        let store = Store::open(&root.join(".orchestra").join("runs.db"))?;
        Ok(Self {
            root: root.to_path_buf(),
            store: Arc::new(store),
            global_dir,
            driving: Arc::new(Mutex::new(HashSet::new())),
            models: Mode::Live,
        })
    }

    /// The project that holds `path` (a folder or a file): the nearest enclosing folder with
    /// `orchestra.yaml`, `.orchestra/` or `.git`, else the folder itself.
    pub fn discover(path: &Path, global_dir: Option<PathBuf>) -> Result<Self, ApiError> {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let start = if absolute.is_file() {
            absolute.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            absolute
        };
        let root = start
            .ancestors()
            .find(|dir| MARKERS.iter().any(|marker| dir.join(marker).exists()))
            .map_or_else(|| start.clone(), Path::to_path_buf);
        Self::open(&root, global_dir)
    }

    /// Where LLM steps get their answers.
    pub(crate) fn models(&self) -> &Mode {
        &self.models
    }

    /// The user's global Orchestra folder.
    pub fn global_dir(&self) -> Option<&Path> {
        self.global_dir.as_deref()
    }

    /// The project's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Calls `subscriber` with every event committed from now on (progress for a shell).
    pub fn subscribe(&self, subscriber: Subscriber) {
        self.store.subscribe(subscriber);
    }

    fn services(&self) -> Services {
        let mut services =
            Services::new(Arc::clone(&self.store) as Arc<dyn orchestra_engine::services::RunSink>);
        services.models = self.model_client();
        services.versioning = Some(Arc::new(crate::git::Git));
        services
    }

    /// Where this project's LLM steps get their answers: live models (the default), live models
    /// with every exchange saved to a file, or a recording.
    /// A recording to replay is read here, so that a missing or broken file is refused before
    /// a run starts rather than by its first LLM step.
    pub fn set_models(&mut self, mode: &Mode) -> Result<(), ApiError> {
        if let Mode::Replay(path) = mode {
            orchestra_llm::transport::Replay::open(path).map_err(ApiError::Refused)?;
        }
        self.models = mode.clone();
        Ok(())
    }

    /// The model client of the project's settings. Settings that cannot be read make every LLM
    /// step fail with the reason, and leave the other steps running.
    pub fn model_client(&self) -> Arc<dyn ModelClient> {
        match LlmClient::new(self.global_dir.as_deref(), Some(&self.root), &self.models) {
            Ok(client) => Arc::new(client),
            Err(reason) => Arc::new(NoModelProvider { reason }),
        }
    }

    /// Loads and validates a pipeline file.
    pub fn check(&self, file: &Path) -> Result<Checked, ApiError> {
        check_file(file, &CATALOG, self.global_dir.clone()).map_err(|error| ApiError::Unreadable {
            path: file.to_path_buf(),
            reason: describe_io(&error),
        })
    }

    /// Validates the pipeline snapshot a run started with, against today's library.
    fn check_snapshot(&self, row: &RunRow) -> Checked {
        check(
            Source::new(row.file.clone(), row.snapshot.clone()),
            &orchestra_pipeline::Context {
                catalog: &CATALOG,
                library: Some(&Library::for_pipeline(
                    Path::new(&row.file),
                    self.global_dir.clone(),
                )),
            },
        )
    }

    /// Where a run works: the pipeline's `workspace.root` (relative to its file), or a folder of
    /// the run's own under `.orchestra/runs/`.
    fn workspace(
        &self,
        file: &Path,
        pipeline: &orchestra_pipeline::Pipeline,
        run_id: &str,
    ) -> PathBuf {
        let folder = file
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        match &pipeline.workspace.root {
            Some(root) => folder.join(root),
            None => self.root.join(".orchestra").join("runs").join(run_id),
        }
    }

    /// Starts a run of a pipeline file and drives it until it ends or pauses for an approval.
    pub async fn start(&self, file: &Path, options: StartOptions) -> Result<Finished, ApiError> {
        let checked = self.check(file)?;
        let (plan, pipeline, snapshot) = plan(checked, self.global_dir.clone())?;
        let (reuse, base) = match (&options.from, &options.reuse) {
            (Some(from), Some(reuse)) => self.reusable(&plan, from, reuse)?,
            (None, None) => (Vec::new(), None),
            _ => return Err(ApiError::Refused("`--from` and `--reuse` go together: re-run from a step, reusing an earlier run's results".to_owned())),
        };
        let auto = self.known_answers(file, &plan, options.reuse.as_deref())?;
        let pipeline_id = plan.pipeline.clone();
        let has_auto = !plan.auto.is_empty();
        let run_id = options
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let _driving = self.drive(&run_id)?;
        let request = RunRequest {
            workspace: self.workspace(file, &pipeline, &run_id),
            repo: self.repo_request(file, &pipeline, base)?,
            run_id: run_id.clone(),
            plan,
            snapshot,
            pipeline_file: file.to_path_buf(),
            inputs: options.inputs,
            history: Vec::new(),
            reuse,
            parent: None,
            global_dir: self.global_dir.clone(),
            auto,
        };
        let run_options = RunOptions {
            cancel: options.cancel,
            ..RunOptions::default()
        };
        let outcome = orchestra_engine::run::run(request, self.services(), run_options).await?;
        // What the orchestrator chose for this run is what the next run starts from (read back
        // from the log only when the pipeline has such values).
        if has_auto && let Ok(state) = self.state(&run_id) {
            self.remember(&pipeline_id, &state.auto);
        }
        Ok(Finished { run_id, outcome })
    }

    /// What each LLM step of a pipeline will send: its model, its composed system prompt and
    /// its prompt (a template, rendered when the step runs). Nothing is sent.
    pub fn prompts(&self, file: &Path) -> Result<Vec<StepPrompt>, ApiError> {
        let (mut plan, _, _) = plan(self.check(file)?, self.global_dir.clone())?;
        // `<AUTO>` values already chosen (pinned, or shown before) are shown as a run uses them.
        let known = self.known_answers(file, &plan, None)?;
        orchestra_engine::run::auto::apply(&mut plan, &known);
        let client = self.model_client();
        let mut steps = Vec::new();
        llm_steps(&plan.graph, "", &mut steps);
        let prompts = steps
            .into_iter()
            .map(|(step, action, params)| {
                let settings = ModelSettings::for_step(&params, &plan.models, file);
                StepPrompt {
                    step,
                    action,
                    prepared: client.prepare(&settings).map_err(|error| error.to_string()),
                    prompt: params
                        .get("prompt")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }
            })
            .collect();
        Ok(prompts)
    }

    /// The results of an earlier run that a re-run from `from` reuses: every step that is not
    /// `from` and does not come after it. For a run with a repository, the steps that had
    /// succeeded when the earlier run reached `from`, and its branch's commit then, which the
    /// new run's branch starts from.
    fn reusable(&self, plan: &Plan, from: &str, reuse: &str) -> Result<Reusable, ApiError> {
        if !plan.graph.steps.iter().any(|step| step.id == from) {
            return Err(ApiError::Refused(format!(
                "the pipeline has no top-level step `{from}` to re-run from"
            )));
        }
        let earlier = self.store.run(reuse)?;
        if earlier.pipeline != plan.pipeline {
            return Err(ApiError::Refused(format!(
                "run `{}` ran the pipeline `{}`, not `{}`; its results cannot be reused",
                earlier.id, earlier.pipeline, plan.pipeline
            )));
        }
        let after = downstream(plan, from);
        let (at, _) = crate::git::checkpoint(&self.history(&earlier.id)?, from)?;
        if let Some(git) = &at.git {
            let reused = at
                .steps
                .iter()
                .filter(|(key, step)| {
                    let top = key
                        .as_str()
                        .split(['/', '[', '#'])
                        .next()
                        .unwrap_or_default();
                    !after.iter().any(|later| later == top)
                        && at.status(&StepKey::new("", top)) == StepStatus::Succeeded
                        && step.status == StepStatus::Succeeded
                })
                .filter_map(|(key, step)| {
                    let result = step.result.clone()?;
                    let reused = orchestra_engine::StepResult {
                        reused_from: Some(format!("{}/{key}", earlier.id)),
                        attempts: 0,
                        ..result
                    };
                    Some((key.clone(), reused))
                })
                .collect();
            return Ok((reused, Some(git.head.clone())));
        }
        let rows = self.store.steps(&earlier.id)?;
        let top = |key: &str| {
            key.split(['/', '[', '#'])
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        // A top-level step is reused when it succeeded and comes before `from`; a step inside a
        // body only when its container is reused (a container that runs again starts its items
        // and passes afresh).
        let reused_tops: std::collections::HashSet<String> = rows
            .iter()
            .filter(|row| {
                top(&row.step) == row.step
                    && row.status == StepStatus::Succeeded.as_str()
                    && !after.contains(&row.step)
            })
            .map(|row| row.step.clone())
            .collect();
        let reused = rows
            .into_iter()
            .filter_map(|row| {
                let result = row.result?;
                (result.status == StepStatus::Succeeded && reused_tops.contains(&top(&row.step)))
                    .then(|| {
                        let reused = orchestra_engine::StepResult {
                            reused_from: Some(format!("{}/{}", earlier.id, row.step)),
                            attempts: 0,
                            ..result
                        };
                        (StepKey::new("", &row.step), reused)
                    })
            })
            .collect();
        Ok((reused, None))
    }

    /// Resumes an interrupted, failed, cancelled or paused run: finished steps keep their
    /// results, the rest start over. The pipeline is the snapshot the run started with.
    pub async fn resume(&self, run: &str, cancel: CancellationToken) -> Result<Finished, ApiError> {
        let row = self.store.run(run)?;
        self.may_take_over(&row)?;
        let (plan, pipeline, snapshot) = self.snapshot_plan(&row)?;
        self.store.claim(&row)?;
        self.continue_run(&row, plan, &pipeline, snapshot, cancel)
            .await
    }

    /// Replays a run from one of its top-level steps: a new run starts with the results the
    /// earlier one had when it reached `step`, and, for a pipeline with a repository, on a new
    /// branch from the earlier run's branch at that moment; it runs `step` and what follows
    /// with the pipeline file as it is now and the earlier run's inputs.
    pub async fn replay(
        &self,
        run: &str,
        step: &str,
        cancel: CancellationToken,
    ) -> Result<Finished, ApiError> {
        let row = self.store.run(run)?;
        let state = self.state(&row.id)?;
        let (_, reached) = crate::git::checkpoint(&self.history(&row.id)?, step)?;
        if !reached {
            return Err(ApiError::Refused(format!(
                "run `{}` never reached the step `{step}`, so there is no checkpoint to replay from",
                row.id
            )));
        }
        let options = StartOptions {
            inputs: state.inputs,
            from: Some(step.to_owned()),
            reuse: Some(row.id.clone()),
            cancel,
            run_id: None,
        };
        self.start(Path::new(&row.file), options).await
    }

    /// The plan of the pipeline snapshot a run started with, refused when it no longer
    /// validates (a prompt layer or sub-pipeline it needs is gone).
    fn snapshot_plan(
        &self,
        row: &RunRow,
    ) -> Result<(Plan, orchestra_pipeline::Pipeline, String), ApiError> {
        plan(self.check_snapshot(row), self.global_dir.clone()).map_err(|error| match error {
                ApiError::Invalid(report) => ApiError::Refused(format!(
                    "the pipeline run `{}` started with no longer validates ({} errors; first: {}), so it cannot go on",
                    row.id,
                    report.diagnostics.iter().filter(|d| d.is_error()).count(),
                    report.diagnostics.first().map(|d| d.message.clone()).unwrap_or_default()
                )),
                other => other,
            })
    }

    /// Drives a run this process has claimed from where its log ends.
    async fn continue_run(
        &self,
        row: &RunRow,
        plan: Plan,
        pipeline: &orchestra_pipeline::Pipeline,
        snapshot: String,
        cancel: CancellationToken,
    ) -> Result<Finished, ApiError> {
        let _driving = self.drive(&row.id)?;
        let request = RunRequest {
            repo: self.repo_request(Path::new(&row.file), pipeline, None)?,
            run_id: row.id.clone(),
            plan,
            snapshot,
            pipeline_file: PathBuf::from(&row.file),
            workspace: PathBuf::from(&row.workspace),
            inputs: Map::new(),
            history: self.history(&row.id)?,
            reuse: Vec::new(),
            parent: None,
            global_dir: self.global_dir.clone(),
            // A resumed run uses the answers it started with, from its log.
            auto: Vec::new(),
        };
        let outcome = orchestra_engine::run::run(
            request,
            self.services(),
            RunOptions {
                cancel,
                ..RunOptions::default()
            },
        )
        .await?;
        Ok(Finished {
            run_id: row.id.clone(),
            outcome,
        })
    }

    /// Marks a run as run by this process, refusing one it already runs.
    fn drive(&self, run: &str) -> Result<Driving, ApiError> {
        let mut runs = self.driving.lock().map_err(|_| {
            ApiError::Refused("the project's state was poisoned by a crash".to_owned())
        })?;
        if !runs.insert(run.to_owned()) {
            return Err(ApiError::Refused(format!(
                "run `{run}` is already running here"
            )));
        }
        Ok(Driving {
            runs: Arc::clone(&self.driving),
            run: run.to_owned(),
        })
    }

    /// Whether this process runs the run now.
    fn is_driving(&self, run: &str) -> bool {
        self.driving.lock().map_or(true, |runs| runs.contains(run))
    }

    /// A run's events, in order.
    fn history(&self, run: &str) -> Result<Vec<RunEvent>, ApiError> {
        Ok(self
            .store
            .events(run)?
            .into_iter()
            .map(|record| record.event)
            .collect())
    }

    /// A run may be taken over unless a live process owns it or it already ended well.
    fn may_take_over(&self, row: &RunRow) -> Result<(), ApiError> {
        if self.is_driving(&row.id) {
            return Err(ApiError::Refused(format!(
                "run `{}` is already running here",
                row.id
            )));
        }
        if self.store.owned_elsewhere(row) {
            return Err(ApiError::Refused(format!(
                "run `{}` is still running in process {} on {}; use it there, or cancel it",
                row.id,
                row.owner_pid.unwrap_or_default(),
                row.owner_host.clone().unwrap_or_default()
            )));
        }
        if matches!(row.status, RunStatus::Succeeded | RunStatus::Rejected) {
            return Err(ApiError::Refused(format!(
                "run `{}` has already {}; there is nothing to resume",
                row.id,
                row.status.as_str()
            )));
        }
        Ok(())
    }

    /// Answers an approval of a paused run, then resumes it: only the branch the answer
    /// chooses goes on. `step` is the approval's id, or its full key inside a body
    /// (`review[2]/approve`). The approval may be an `approval` step's, a tool call's that an
    /// agent waits to make, or the end of an interactive conversation (approved: the last reply
    /// is the step's output; rejected: the step is rejected).
    pub async fn approve(
        &self,
        run: &str,
        step: &str,
        approved: bool,
        comment: Option<String>,
        cancel: CancellationToken,
    ) -> Result<Finished, ApiError> {
        self.answer(run, step, None, cancel, |step, by| {
            RunEvent::ApprovalAnswered {
                step,
                approved,
                comment,
                by,
            }
        })
        .await
    }

    /// Gives the person's next message to an interactive step that waits for it, then resumes
    /// the run, which goes on until the step waits again or the run ends.
    pub async fn reply(
        &self,
        run: &str,
        step: &str,
        text: String,
        cancel: CancellationToken,
    ) -> Result<Finished, ApiError> {
        self.answer(run, step, Some(WaitingFor::Reply), cancel, |step, by| {
            RunEvent::ConversationMessage {
                step,
                message: Message::User { text },
                // A person's turn is the one that names who wrote it.
                by: Some(by.unwrap_or_else(|| "someone".to_owned())),
            }
        })
        .await
    }

    /// Records a person's answer to what a step of a paused run waits for (any wait, or only
    /// `kind`), then resumes the run.
    async fn answer(
        &self,
        run: &str,
        step: &str,
        kind: Option<WaitingFor>,
        cancel: CancellationToken,
        answer: impl FnOnce(StepKey, Option<String>) -> RunEvent,
    ) -> Result<Finished, ApiError> {
        let row = self.store.run(run)?;
        self.may_take_over(&row)?;
        if !matches!(row.status, RunStatus::Waiting | RunStatus::Interrupted) {
            return Err(ApiError::Refused(format!(
                "run `{}` is over ({}); it waits for nobody",
                row.id,
                row.status.as_str()
            )));
        }
        let (plan, pipeline, snapshot) = self.snapshot_plan(&row)?;
        let state = self.state(&row.id)?;
        let key = waiting_step(&state, &row.id, step)?;
        if state.answers.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "`{key}` of run `{}` is already answered; resume the run with `orchestra resume {}`",
                row.id, row.id
            )));
        }
        if let (Some(kind), Some(waiting)) = (kind, state.waiting.get(&key))
            && waiting.kind != kind
        {
            return Err(ApiError::Refused(match waiting.kind {
                WaitingFor::Approval => format!(
                    "`{key}` waits for an approval, not a message ({}); approve or reject it",
                    waiting.message
                ),
                WaitingFor::Reply => format!("`{key}` waits for a message, not an approval"),
            }));
        }
        self.store.claim(&row)?;
        let by = std::env::var("USER").ok().filter(|user| !user.is_empty());
        self.store
            .append(&row.id, &[(jiff::Timestamp::now(), answer(key, by))])?;
        self.continue_run(&row, plan, &pipeline, snapshot, cancel)
            .await
    }

    /// A run's state, as the fold of its log: which steps wait for a person and for what, and
    /// the conversations of its agent steps.
    pub fn state(&self, run: &str) -> Result<RunState, ApiError> {
        Ok(RunState::fold(&self.history(run)?).map_err(orchestra_engine::run::RunError::from)?)
    }

    /// Stops a run: asks the process that runs it, or, for a run nobody runs (paused or
    /// interrupted), marks it cancelled. Returns what happened, as a sentence.
    pub fn cancel(&self, run: &str) -> Result<String, ApiError> {
        let row = self.store.run(run)?;
        if row.status.is_finished() && row.status != RunStatus::Interrupted {
            return Err(ApiError::Refused(format!(
                "run `{}` has already {}",
                row.id,
                row.status.as_str()
            )));
        }
        if self.store.owned_elsewhere(&row) || self.is_driving(&row.id) {
            self.store.request_cancel(&row.id)?;
            return Ok(format!(
                "asked process {} to stop run `{}`",
                row.owner_pid.unwrap_or_default(),
                row.id
            ));
        }
        // Nobody runs it: the steps waiting for a person are cancelled, then the run.
        let state = self.state(&row.id)?;
        self.store.claim(&row)?;
        let now = jiff::Timestamp::now();
        let mut events = vec![(now, RunEvent::CancelRequested)];
        for step in state.waiting.keys() {
            let result = orchestra_engine::StepResult {
                status: StepStatus::Cancelled,
                error: Some("the run was cancelled before anyone answered".to_owned()),
                ..orchestra_engine::StepResult::failed("", 1, 0)
            };
            events.push((
                now,
                RunEvent::StepFinished {
                    step: step.clone(),
                    result,
                },
            ));
        }
        events.push((
            now,
            RunEvent::RunFinished {
                status: RunStatus::Cancelled,
                outputs: Map::new(),
                error: Some("the run was cancelled".to_owned()),
            },
        ));
        self.store.append(&row.id, &events)?;
        Ok(format!("run `{}` is cancelled", row.id))
    }

    /// The runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, ApiError> {
        Ok(self.store.runs(limit)?)
    }

    /// A run in brief: its row, a line per step, its outputs and files. Read from the store's
    /// summaries without what the steps produced, so it stays small for a run of any size.
    pub fn overview(&self, run: &str) -> Result<Overview, ApiError> {
        let row = self.store.run(run)?;
        Ok(Overview {
            steps: self.store.step_lines(&row.id)?,
            outputs: self.store.outputs(&row.id)?,
            artifacts: self.store.artifacts(&row.id)?,
            usage: self.store.usage(&row.id)?,
            run: row,
        })
    }

    /// Everything a run produced, from its log; its steps are named from the pipeline snapshot
    /// it ran.
    pub fn result(&self, run: &str) -> Result<PipelineResult, ApiError> {
        let row = self.store.run(run)?;
        let records = self.store.events(&row.id)?;
        let plan = self
            .check_snapshot(&row)
            .valid()
            .and_then(|pipeline| compile(pipeline, &CATALOG).ok());
        Ok(PipelineResult::from_log(
            &row.id,
            &records,
            plan.as_ref(),
            Some(row.status),
        ))
    }
}

/// The waiting approval that `step` names: its full key, or its id when only one waiting step
/// has it.
fn waiting_step(state: &RunState, run: &str, step: &str) -> Result<StepKey, ApiError> {
    let mut waiting: Vec<&StepKey> = state.waiting.keys().collect();
    waiting.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    if let Some(key) = waiting.iter().find(|key| key.as_str() == step) {
        return Ok((*key).clone());
    }
    let named: Vec<&&StepKey> = waiting.iter().filter(|key| key.id() == step).collect();
    let list = |keys: &[&StepKey]| {
        keys.iter()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match named.as_slice() {
        [one] => Ok((**one).clone()),
        [] if waiting.is_empty() => Err(ApiError::Refused(format!("run `{run}` waits for nobody"))),
        [] => Err(ApiError::Refused(format!(
            "run `{run}` does not wait for `{step}`; it waits for {}",
            list(&waiting)
        ))),
        many => Err(ApiError::Refused(format!(
            "more than one step of run `{run}` that waits is called `{step}`: {}; name one by its full key",
            list(&many.iter().map(|key| **key).collect::<Vec<_>>())
        ))),
    }
}

/// Compiles a checked pipeline, with the agents its steps name from agent files; a pipeline
/// with errors is refused.
pub(crate) fn plan(
    checked: Checked,
    global_dir: Option<PathBuf>,
) -> Result<(Plan, orchestra_pipeline::Pipeline, String), ApiError> {
    let Some(pipeline) = checked.valid() else {
        return Err(ApiError::Invalid(Box::new(checked.report)));
    };
    let library = Library::for_pipeline(Path::new(checked.report.source.name()), global_dir);
    let pipeline = library
        .with_agent_files(pipeline)
        .map_err(ApiError::Refused)?;
    let plan =
        compile(&pipeline, &CATALOG).map_err(|error| ApiError::Refused(error.to_string()))?;
    Ok((plan, pipeline, checked.report.source.text().to_owned()))
}

/// What one LLM step will send.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPrompt {
    /// The step, inside the bodies that hold it (`per_topic/notes`).
    pub step: String,
    /// `generate` or `agent`.
    pub action: String,
    /// Its model and system prompt, or why they cannot be worked out.
    pub prepared: Result<Prepared, String>,
    /// Its prompt, as written.
    pub prompt: String,
}

/// Every LLM step of a graph and its bodies: its key, its action and its parameters.
fn llm_steps(
    graph: &orchestra_engine::Graph,
    scope: &str,
    found: &mut Vec<(String, String, Map<String, Value>)>,
) {
    for step in &graph.steps {
        let key = if scope.is_empty() {
            step.id.clone()
        } else {
            format!("{scope}/{}", step.id)
        };
        match &step.work {
            Work::Action { action, params } if action == "generate" || action == "agent" => {
                let params = params
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                found.push((key, action.clone(), params));
            }
            Work::Action { .. } => {}
            Work::ForEach { body, .. } | Work::While { body, .. } | Work::Until { body, .. } => {
                llm_steps(body, &key, found);
            }
        }
    }
}

/// The top-level steps at or after `from`, along the plan's edges that are not loops.
fn downstream(plan: &Plan, from: &str) -> Vec<String> {
    let mut found = vec![from.to_owned()];
    let mut at = 0;
    while at < found.len() {
        let current = found[at].clone();
        for edge in plan
            .graph
            .edges
            .iter()
            .filter(|edge| !edge.back && edge.from == current)
        {
            if !found.contains(&edge.to) {
                found.push(edge.to.clone());
            }
        }
        at += 1;
    }
    found
}

fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".to_owned(),
        _ => error.to_string(),
    }
}
