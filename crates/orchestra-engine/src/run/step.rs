//! Running one step: an action with its attempts, retries and timeout, or a body of steps for
//! each item or in a loop.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use orchestra_pipeline::ParamKind;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use super::context::Frame;
use super::scope::{ScopeEnd, run_scope};
use super::{Shared, StepEnv};
use crate::actions::{self, ActionOutput, Call, Done, Effects};
use crate::event::{RunEvent, StepKey};
use crate::plan::{Graph, PlannedStep, Work, describe_duration};
use crate::result::StepResult;
use crate::retry::retry_delay;
use crate::state::StepStatus;
use crate::templates::context_value;

/// How a step ended, as the scheduler needs to know it.
pub(crate) enum StepOutcome {
    /// It finished with a result (succeeded, failed or cancelled).
    Finished(StepResult),
    /// A person said no: its `on_false` applies, or the run ends as rejected.
    Rejected(StepResult, String),
    /// A body it runs ended as rejected: the run ends as rejected.
    BodyRejected(StepResult, String),
    /// It waits for a person; the run pauses.
    Parked,
}

/// Runs a step that the scheduler has queued.
pub(crate) async fn execute(
    shared: &Arc<Shared>,
    scope: &str,
    key: &StepKey,
    step: &PlannedStep,
    frame: &Frame,
    joins: &[StepKey],
) -> StepOutcome {
    // A join first brings back the work of the parallel writers before it.
    // Only an action that writes, in the run's worktree, can resolve a conflict handed to it.
    let resolves = !step.own_worktree
        && matches!(step.work, Work::Action { .. })
        && crate::writers::may_write(step);
    if let Some(repo) = &shared.repo
        && !joins.is_empty()
        && let Err(error) = repo.merge_writers(shared, Some(key), resolves, joins).await
    {
        return StepOutcome::Finished(StepResult::failed(error, 0, 0));
    }
    let outcome = run_work(shared, scope, key, step, frame).await;
    // A step that succeeded is checked against its declared `qc:` checks.
    match outcome {
        StepOutcome::Finished(mut result)
            if result.status == StepStatus::Succeeded && !step.qc.is_empty() =>
        {
            result.checks = super::checks::run_checks(shared, scope, frame, step, &result).await;
            StepOutcome::Finished(result)
        }
        other => other,
    }
}

async fn run_work(
    shared: &Arc<Shared>,
    scope: &str,
    key: &StepKey,
    step: &PlannedStep,
    frame: &Frame,
) -> StepOutcome {
    match &step.work {
        Work::Action { action, params } => {
            run_action(shared, scope, key, step, action, params, frame).await
        }
        Work::ForEach {
            items,
            max_parallel,
            body,
        } => {
            run_container(shared, key, step, frame, |frame| {
                for_each(shared, scope, key, items, *max_parallel, body, frame)
            })
            .await
        }
        Work::While {
            condition,
            max_iterations,
            body,
        } => {
            let check = Check::Before(condition);
            run_loop(shared, key, step, frame, check, *max_iterations, body).await
        }
        Work::Until {
            condition,
            max_iterations,
            body,
        } => {
            let check = Check::After(condition);
            run_loop(shared, key, step, frame, check, *max_iterations, body).await
        }
    }
}

/// Runs a `while` or `until` step: its body again and again, as its check says.
async fn run_loop(
    shared: &Arc<Shared>,
    key: &StepKey,
    step: &PlannedStep,
    frame: &Frame,
    check: Check<'_>,
    max_iterations: u32,
    body: &Graph,
) -> StepOutcome {
    run_container(shared, key, step, frame, |frame| {
        repeat(shared, key, check, max_iterations, body, frame)
    })
    .await
}

fn elapsed_ms(shared: &Shared, since: jiff::Timestamp) -> u64 {
    let span = shared.services.clock.now().duration_since(since);
    u64::try_from(span.as_millis()).unwrap_or(0)
}

async fn run_action(
    shared: &Arc<Shared>,
    scope: &str,
    key: &StepKey,
    step: &PlannedStep,
    name: &str,
    params: &indexmap::IndexMap<String, Value>,
    frame: &Frame,
) -> StepOutcome {
    let Some(action) = actions::action(name) else {
        return StepOutcome::Finished(StepResult::failed(
            format!("there is no action `{name}`"),
            0,
            0,
        ));
    };
    let root = shared.template_root(scope, frame, None);
    let rendered = match render_params(shared, &action.spec, params, &root) {
        Ok(rendered) => rendered,
        Err(error) => return StepOutcome::Finished(StepResult::failed(error, 0, 0)),
    };
    let inputs = Value::Object(rendered.clone());
    let hash = step
        .cache
        .then(|| inputs_hash(name, &inputs, shared.workspace.root()));
    if let Some(hash) = &hash {
        match shared.services.sink.cached(hash) {
            Ok(Some((from, mut result))) => {
                result.reused_from = Some(from);
                result.attempts = 0;
                result.inputs_hash = Some(hash.clone());
                return StepOutcome::Finished(result);
            }
            Ok(None) => {}
            Err(error) => {
                shared.stop(error.0);
                return StepOutcome::Finished(cancelled(0, 0));
            }
        }
    }
    // The run's concurrency limit counts steps that do work; bodies do not hold a place.
    // A step that must wait for a place is shown as queued while it waits.
    let permit = match &shared.concurrency {
        Some(limit) => {
            if let Ok(permit) = Arc::clone(limit).try_acquire_owned() {
                Some(permit)
            } else {
                if shared
                    .commit(vec![RunEvent::StepQueued { step: key.clone() }])
                    .is_err()
                {
                    return StepOutcome::Finished(cancelled(0, 0));
                }
                tokio::select! {
                    permit = Arc::clone(limit).acquire_owned() => permit.ok(),
                    () = frame.cancel.cancelled() => return StepOutcome::Finished(cancelled(0, 0)),
                }
            }
        }
        None => None,
    };
    let _place = Place {
        shared,
        key,
        permit,
    };
    // In a run with a repository, a parallel writer works in a worktree of its own.
    let checkout = match &shared.repo {
        Some(repo) => match repo.checkout(shared, key, step.own_worktree).await {
            Ok(checkout) => Some(checkout),
            Err(error) => return StepOutcome::Finished(StepResult::failed(error, 0, 0)),
        },
        None => None,
    };
    let env = StepEnv {
        shared,
        cancel: &frame.cancel,
        workspace: checkout
            .as_ref()
            .map_or(&shared.workspace, super::repo::StepCheckout::workspace),
    };
    // The attempts, with their retries; a `return` inside ends them with the step's outcome.
    let mut outcome = async {
        let first_start = shared.services.clock.now();
        let policy = &step.retry;
        let mut attempt = 1;
        loop {
            let start = RunEvent::StepStarted {
                step: key.clone(),
                attempt,
                inputs: inputs.clone(),
            };
            // A read-only action's start goes out with its end; any other's is durable before the
            // action touches anything.
            if action.effects == Effects::ReadOnly {
                shared.defer(start);
            } else if shared.commit(vec![start]).is_err() {
                return StepOutcome::Finished(cancelled(attempt, 0));
            }
            let call = Call {
                step: key,
                action: name,
                params: &rendered,
                env: &env,
                timeout: step
                    .timeout
                    .as_ref()
                    .map(orchestra_pipeline::model::Duration::to_std),
            };
            let outcome = (action.run)(call).await;
            let duration = elapsed_ms(shared, first_start);
            let failure = match outcome {
                Ok(Done::Parked) => return StepOutcome::Parked,
                Ok(Done::Output(output)) => {
                    let rejection = output.rejection.clone();
                    let mut result = from_output(output, StepStatus::Succeeded, attempt, duration);
                    result.inputs_hash.clone_from(&hash);
                    return match rejection {
                        Some(reason) => StepOutcome::Rejected(result, reason),
                        None => StepOutcome::Finished(result),
                    };
                }
                Err(failure) if failure.cancelled => {
                    return StepOutcome::Finished(cancelled(attempt, duration));
                }
                Err(failure) => failure,
            };
            let again = failure.retryable && attempt < policy.attempts;
            // The engine's backoff, but never sooner than the other side asked (`Retry-After`).
            let delay = again.then(|| {
                let backoff = retry_delay(policy, attempt, shared.services.random.chance());
                failure
                    .retry_after
                    .map_or(backoff, |asked| backoff.max(asked))
            });
            let event = RunEvent::AttemptFailed {
                step: key.clone(),
                attempt,
                error: failure.message.clone(),
                retry_in_ms: delay
                    .map(|delay| u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            };
            if shared.commit(vec![event]).is_err() {
                return StepOutcome::Finished(cancelled(attempt, duration));
            }
            let Some(delay) = delay else {
                let mut result = from_output(
                    failure.partial.map(|partial| *partial).unwrap_or_default(),
                    StepStatus::Failed,
                    attempt,
                    duration,
                );
                result.error = Some(describe_failure(&failure.message, attempt));
                return StepOutcome::Finished(result);
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = frame.cancel.cancelled() => return StepOutcome::Finished(cancelled(attempt, duration)),
            }
            attempt += 1;
        }
    }
    .await;
    // What the step changed is committed before its end is recorded; a step that cannot write
    // commits nothing (another step may be writing in the same worktree).
    if let (Some(repo), Some(checkout)) = (&shared.repo, &checkout)
        && crate::writers::may_write(step)
        && let StepOutcome::Finished(result) | StepOutcome::Rejected(result, _) = &mut outcome
        && let Err(error) = repo.commit_step(shared, key, checkout, result).await
    {
        result.status = StepStatus::Failed;
        result.error = Some(error);
    }
    outcome
}

/// A step's place under the run's concurrency limit. When the step's work ends the place is not
/// given back at once but handed to the scheduler, which gives it back once the step's end is
/// recorded: so the log never shows more steps running than the limit allows.
struct Place<'a> {
    shared: &'a Shared,
    key: &'a StepKey,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.shared.hold_place(self.key.clone(), permit);
        }
    }
}

fn describe_failure(message: &str, attempts: u32) -> String {
    if attempts > 1 {
        format!("{message} (after {attempts} attempts)")
    } else {
        message.to_owned()
    }
}

fn cancelled(attempts: u32, duration_ms: u64) -> StepResult {
    StepResult {
        status: StepStatus::Cancelled,
        error: Some("the run was stopped".to_owned()),
        ..StepResult::failed("", attempts, duration_ms)
    }
}

fn from_output(
    output: ActionOutput,
    status: StepStatus,
    attempts: u32,
    duration_ms: u64,
) -> StepResult {
    StepResult {
        status,
        output: output.output,
        exit_code: output.exit_code,
        stderr: output.stderr,
        files: output.files,
        duration_ms,
        usage: output.usage,
        error: None,
        attempts,
        skipped: None,
        reused_from: None,
        inputs_hash: None,
        checks: Vec::new(),
        commit: None,
    }
}

/// Renders a step's parameters: text kinds to text, JSON values with their types kept.
fn render_params(
    shared: &Shared,
    spec: &orchestra_pipeline::ActionSpec,
    params: &indexmap::IndexMap<String, Value>,
    root: &minijinja::Value,
) -> Result<Map<String, Value>, String> {
    let mut rendered = Map::new();
    for (name, value) in params {
        let kind = spec.param(name).map(|param| param.kind);
        let value = match kind {
            Some(ParamKind::Json) => shared.templates.render_value(value, root),
            Some(kind) if kind.is_templated() => shared.templates.render_text_value(value, root),
            _ => Ok(value.clone()),
        }
        .map_err(|error| format!("the template of `{name}` does not render: {error}"))?;
        rendered.insert(name.clone(), value);
    }
    Ok(rendered)
}

/// The cache key of a step: its action, its rendered inputs, and the workspace it works in (a
/// result names files there, and another run's folder would not have them).
fn inputs_hash(action: &str, inputs: &Value, workspace: &std::path::Path) -> String {
    let text = json!({
        "action": action,
        "inputs": inputs,
        "workspace": workspace.display().to_string(),
    })
    .to_string();
    crate::sha256_hex(text.as_bytes())
}

/// How a body ended, as its container reports it.
enum BodyEnd {
    Output(Value),
    Failed(String),
    Rejected(String),
    Paused,
    Cancelled,
}

/// Runs a `for_each` or loop step: marks it started, runs its body (stopped by its `timeout`),
/// and turns how the body ended into the step's outcome.
async fn run_container<'a, F, Fut>(
    shared: &'a Arc<Shared>,
    key: &'a StepKey,
    step: &'a PlannedStep,
    frame: &'a Frame,
    body: F,
) -> StepOutcome
where
    F: FnOnce(Frame) -> Fut,
    Fut: Future<Output = BodyEnd> + 'a,
{
    if shared
        .commit(vec![RunEvent::StepStarted {
            step: key.clone(),
            attempt: 1,
            inputs: Value::Null,
        }])
        .is_err()
    {
        return StepOutcome::Finished(cancelled(1, 0));
    }
    let started = shared.services.clock.now();
    let own = frame.with_own_cancel();
    let timer = step.timeout.as_ref().map(|timeout| {
        let token = own.cancel.clone();
        let limit = timeout.to_std();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            token.cancel();
        })
    });
    let end = body(own.clone()).await;
    if let Some(timer) = &timer {
        timer.abort();
    }
    let timed_out = own.cancel.is_cancelled() && !frame.cancel.is_cancelled();
    let duration = elapsed_ms(shared, started);
    match end {
        BodyEnd::Output(output) => StepOutcome::Finished(StepResult {
            duration_ms: duration,
            ..StepResult::succeeded(output)
        }),
        BodyEnd::Failed(error) => StepOutcome::Finished(StepResult::failed(error, 1, duration)),
        BodyEnd::Rejected(reason) => {
            StepOutcome::BodyRejected(StepResult::failed(reason.clone(), 1, duration), reason)
        }
        BodyEnd::Paused => StepOutcome::Parked,
        BodyEnd::Cancelled if timed_out => {
            let limit = step
                .timeout
                .as_ref()
                .map(|t| describe_duration(t.to_std()))
                .unwrap_or_default();
            StepOutcome::Finished(StepResult::failed(
                format!("timed out after {limit}"),
                1,
                duration,
            ))
        }
        BodyEnd::Cancelled => StepOutcome::Finished(cancelled(1, duration)),
    }
}

/// The output of a body: what its last step produced.
fn body_output(shared: &Shared, scope: &str, body: &Graph) -> Value {
    let Some(last) = body.steps.last() else {
        return Value::Null;
    };
    let Ok(state) = shared.state.lock() else {
        return Value::Null;
    };
    state
        .result(&StepKey::new(scope, &last.id))
        .map_or(Value::Null, |result| result.output.clone())
}

async fn for_each(
    shared: &Arc<Shared>,
    scope: &str,
    key: &StepKey,
    items: &Value,
    max_parallel: Option<u32>,
    body: &Graph,
    frame: Frame,
) -> BodyEnd {
    let known = shared
        .state
        .lock()
        .ok()
        .and_then(|state| state.items.get(key).cloned());
    let items = if let Some(items) = known {
        items
    } else {
        let root = shared.template_root(scope, &frame, None);
        let items = match shared.templates.render_value(items, &root) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                return BodyEnd::Failed(format!(
                    "`for_each` needs a list, but it gave {}",
                    describe_value(&other)
                ));
            }
            Err(error) => {
                return BodyEnd::Failed(format!("the list of `for_each` does not render: {error}"));
            }
        };
        if shared
            .commit(vec![RunEvent::ItemsResolved {
                step: key.clone(),
                items: items.clone(),
            }])
            .is_err()
        {
            return BodyEnd::Cancelled;
        }
        items
    };
    let limit = Arc::new(Semaphore::new(
        max_parallel.map_or(Semaphore::MAX_PERMITS, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        }),
    ));
    let mut bodies = FuturesUnordered::new();
    for (index, item) in items.iter().enumerate() {
        let limit = Arc::clone(&limit);
        let frame = frame
            .with("item", context_value(item))
            .with("index", minijinja::Value::from(index));
        let item_scope = key.item_scope(index);
        bodies.push(async move {
            let _permit = limit.acquire_owned().await.ok();
            let end = run_scope(shared, item_scope, body, frame).await;
            (index, end)
        });
    }
    let mut ends = Vec::new();
    while let Some(end) = bodies.next().await {
        ends.push(end);
    }
    ends.sort_by_key(|(index, _)| *index);
    for (index, end) in &ends {
        match end {
            ScopeEnd::Failed(error) => {
                return BodyEnd::Failed(format!(
                    "item {index} ({}): {error}",
                    short(&items[*index])
                ));
            }
            ScopeEnd::Rejected(reason) => return BodyEnd::Rejected(reason.clone()),
            _ => {}
        }
    }
    if ends.iter().any(|(_, end)| *end == ScopeEnd::Cancelled) {
        return BodyEnd::Cancelled;
    }
    if ends.iter().any(|(_, end)| *end == ScopeEnd::Paused) {
        return BodyEnd::Paused;
    }
    let outputs = (0..items.len())
        .map(|index| body_output(shared, &key.item_scope(index), body))
        .collect();
    BodyEnd::Output(Value::Array(outputs))
}

/// When a loop checks its condition.
enum Check<'a> {
    /// `while`: before each pass; the loop runs while it holds.
    Before(&'a str),
    /// `until`: after each pass; the loop stops when it holds.
    After(&'a str),
}

async fn repeat(
    shared: &Arc<Shared>,
    key: &StepKey,
    check: Check<'_>,
    max_iterations: u32,
    body: &Graph,
    frame: Frame,
) -> BodyEnd {
    let holds = |pass: u32, pass_scope: &str| {
        let (Check::Before(expression) | Check::After(expression)) = check;
        let frame = frame.with("iteration", minijinja::Value::from(pass));
        let root = shared.template_root(pass_scope, &frame, None);
        shared
            .templates
            .is_true(expression, &root)
            .map_err(|error| format!("the loop's condition does not evaluate: {error}"))
    };
    let mut pass = shared
        .state
        .lock()
        .ok()
        .and_then(|state| state.passes.get(key).copied())
        .unwrap_or(0);
    // A resumed loop finishes the pass it was in before it checks anything.
    let mut resume_pass = pass > 0;
    loop {
        if !resume_pass {
            let next = pass + 1;
            if let Check::Before(_) = check {
                // Before the next pass, the previous pass's results are in view.
                match holds(next, &key.pass_scope(next)) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(error) => return BodyEnd::Failed(error),
                }
            }
            if next > max_iterations {
                return BodyEnd::Failed(format!(
                    "the loop ran {max_iterations} passes (`max_iterations: {max_iterations}`) and its condition still asks for more"
                ));
            }
            if shared
                .commit(vec![RunEvent::PassStarted {
                    step: key.clone(),
                    pass: next,
                }])
                .is_err()
            {
                return BodyEnd::Cancelled;
            }
            pass = next;
        }
        resume_pass = false;
        let pass_scope = key.pass_scope(pass);
        let frame = frame.with("iteration", minijinja::Value::from(pass));
        match run_scope(shared, pass_scope.clone(), body, frame).await {
            ScopeEnd::Done => {}
            ScopeEnd::Failed(error) => return BodyEnd::Failed(format!("pass {pass}: {error}")),
            ScopeEnd::Rejected(reason) => return BodyEnd::Rejected(reason),
            ScopeEnd::Paused => return BodyEnd::Paused,
            ScopeEnd::Cancelled => return BodyEnd::Cancelled,
        }
        if let Check::After(_) = check {
            match holds(pass, &pass_scope) {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => return BodyEnd::Failed(error),
            }
        }
    }
    if pass == 0 {
        return BodyEnd::Output(Value::Null);
    }
    BodyEnd::Output(body_output(shared, &key.pass_scope(pass), body))
}

fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}
