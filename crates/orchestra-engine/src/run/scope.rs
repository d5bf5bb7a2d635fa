//! The scheduler of one scope: the pipeline's top level, or one item or pass of a body.
//!
//! It repeatedly asks the state which pending steps can run (their dependencies done, their gate
//! opened by a route), skips those that cannot, starts the rest, and when a step finishes applies
//! its routing keys. Every decision is committed as an event before anything acts on it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use orchestra_pipeline::model::{EdgeKind, Join, OnFailure};

use super::Shared;
use super::context::Frame;
use super::step::{StepOutcome, execute};
use crate::event::{RunEvent, SkipReason, StepKey};
use crate::plan::{Graph, PlannedStep};
use crate::result::StepResult;
use crate::state::StepStatus;

/// The most ended steps settled in one commit.
const MAX_SETTLED_TOGETHER: usize = 512;

/// How a scope ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScopeEnd {
    /// Every step that could run has run.
    Done,
    /// A step failed and its `on_failure` is `fail`.
    Failed(String),
    /// A person rejected an approval with no `on_false`.
    Rejected(String),
    /// A step waits for a person; the run pauses.
    Paused,
    /// The run (or this body) was stopped.
    Cancelled,
}

/// Runs the steps of one scope until they are all done or the scope cannot go on.
pub(crate) fn run_scope<'a>(
    shared: &'a Arc<Shared>,
    scope: String,
    graph: &'a Graph,
    frame: Frame,
) -> BoxFuture<'a, ScopeEnd> {
    Box::pin(async move { Scheduler::new(shared, scope, graph, frame).run().await })
}

/// What to do with a pending step.
enum Decision {
    Skip(SkipReason),
    Start,
}

/// What one round of launching did.
struct Launch {
    /// The steps started.
    started: Vec<usize>,
    /// Whether anything changed (a skip may unblock others, so the scheduler decides again).
    progressed: bool,
    /// A failure that stops the scope (a condition that could not be evaluated).
    stop: Option<Verdict>,
}

/// What the scope does after a step finished.
enum Verdict {
    GoOn,
    Fail(String),
    Reject(String),
}

struct Scheduler<'a> {
    shared: &'a Arc<Shared>,
    scope: String,
    graph: &'a Graph,
    frame: Frame,
    keys: Vec<StepKey>,
    position: HashMap<&'a str, usize>,
    /// For each step, the steps whose routing keys can open its gate.
    activators: Vec<Vec<usize>>,
    /// For each step, the steps after it along the edges that are not loops.
    successors: Vec<Vec<usize>>,
    /// The pending steps whose decision may have changed since they were last considered: at
    /// first all of them, then those after a step that ended, and those a route sent the run
    /// to or started over. Considering only these keeps each round's work small.
    dirty: Mutex<BTreeSet<usize>>,
    /// The steps started and not yet ended. A started step stays `Pending` in the state until
    /// its first commit (which records it as queued), so this keeps it from starting twice.
    launched: Mutex<HashSet<usize>>,
}

impl<'a> Scheduler<'a> {
    fn new(shared: &'a Arc<Shared>, scope: String, graph: &'a Graph, frame: Frame) -> Self {
        let keys: Vec<StepKey> = graph
            .steps
            .iter()
            .map(|step| StepKey::new(&scope, &step.id))
            .collect();
        let position = graph.positions();
        let mut activators = vec![Vec::new(); graph.steps.len()];
        let mut successors = vec![Vec::new(); graph.steps.len()];
        for edge in graph.edges.iter().filter(|edge| !edge.back) {
            let (Some(&from), Some(&to)) = (
                position.get(edge.from.as_str()),
                position.get(edge.to.as_str()),
            ) else {
                continue;
            };
            successors[from].push(to);
            if edge.kind != EdgeKind::Data {
                activators[to].push(from);
            }
        }
        Self {
            shared,
            scope,
            graph,
            frame,
            keys,
            position,
            activators,
            successors,
            dirty: Mutex::new((0..graph.steps.len()).collect()),
            launched: Mutex::new(HashSet::new()),
        }
    }

    async fn run(self) -> ScopeEnd {
        let mut running = FuturesUnordered::new();
        let mut failed: Option<String> = None;
        let mut rejected: Option<String> = None;
        let mut parked = false;
        loop {
            let stopping =
                failed.is_some() || rejected.is_some() || self.frame.cancel.is_cancelled();
            if !stopping {
                let launch = self.launch();
                for index in launch.started {
                    running.push(self.execute(index));
                }
                match launch.stop {
                    Some(Verdict::Fail(error)) => {
                        failed.get_or_insert(error);
                    }
                    Some(Verdict::Reject(reason)) => {
                        rejected.get_or_insert(reason);
                    }
                    Some(Verdict::GoOn) | None => {}
                }
                if launch.progressed {
                    continue;
                }
            }
            let Some(first) = running.next().await else {
                break;
            };
            // Every step that has ended by now is settled in one commit.
            let mut ended = vec![first];
            while ended.len() < MAX_SETTLED_TOGETHER
                && let Some(Some(more)) = running.next().now_or_never()
            {
                ended.push(more);
            }
            self.shared.stage();
            let settled: Vec<StepKey> = ended
                .iter()
                .map(|(index, _)| self.keys[*index].clone())
                .collect();
            for (index, outcome) in ended {
                if let Ok(mut launched) = self.launched.lock() {
                    launched.remove(&index);
                }
                if matches!(outcome, StepOutcome::Parked) {
                    parked = true;
                }
                match self.finish(index, outcome) {
                    Verdict::GoOn => {}
                    Verdict::Fail(error) => {
                        failed.get_or_insert(error);
                    }
                    Verdict::Reject(reason) => {
                        rejected.get_or_insert(reason);
                    }
                }
            }
            if self.shared.flush().is_err() {
                failed.get_or_insert_with(|| "the run store failed".to_owned());
            }
            self.shared.release_places(&settled);
        }
        if let Some(error) = failed {
            ScopeEnd::Failed(error)
        } else if let Some(reason) = rejected {
            ScopeEnd::Rejected(reason)
        } else if self.frame.cancel.is_cancelled() {
            ScopeEnd::Cancelled
        } else if parked || self.any_waiting() {
            ScopeEnd::Paused
        } else if let Err(error) = self.merge_leftovers().await {
            ScopeEnd::Failed(error)
        } else {
            ScopeEnd::Done
        }
    }

    async fn execute(&self, index: usize) -> (usize, StepOutcome) {
        let joins = self.writers_before(index);
        let outcome = execute(
            self.shared,
            &self.scope,
            &self.keys[index],
            &self.graph.steps[index],
            &self.frame,
            &joins,
        )
        .await;
        (index, outcome)
    }

    /// In a run with a repository: the parallel writers of this scope that come before a step,
    /// whose work is merged back before it runs.
    fn writers_before(&self, index: usize) -> Vec<StepKey> {
        if self.shared.repo.is_none() {
            return Vec::new();
        }
        (0..self.graph.steps.len())
            .filter(|&at| {
                at != index && self.graph.steps[at].own_worktree && self.reaches(at, index)
            })
            .map(|at| self.keys[at].clone())
            .collect()
    }

    /// Brings back the work of this scope's parallel writers that no join brought back.
    async fn merge_leftovers(&self) -> Result<(), String> {
        let Some(repo) = &self.shared.repo else {
            return Ok(());
        };
        let writers: Vec<StepKey> = (0..self.graph.steps.len())
            .filter(|&at| self.graph.steps[at].own_worktree)
            .map(|at| self.keys[at].clone())
            .collect();
        if writers.is_empty() {
            return Ok(());
        }
        repo.merge_writers(self.shared, None, false, &writers).await
    }

    fn any_waiting(&self) -> bool {
        let Ok(state) = self.shared.state.lock() else {
            return false;
        };
        self.keys
            .iter()
            .any(|key| state.status(key) == StepStatus::Waiting)
    }

    /// Skips what cannot run and starts what can.
    fn launch(&self) -> Launch {
        let mut launch = Launch {
            started: Vec::new(),
            progressed: false,
            stop: None,
        };
        let decisions: Vec<(usize, Decision)> = {
            let Ok(state) = self.shared.state.lock() else {
                return launch;
            };
            let candidates = self
                .dirty
                .lock()
                .map(|mut dirty| std::mem::take(&mut *dirty))
                .unwrap_or_default();
            let Ok(launched) = self.launched.lock() else {
                return launch;
            };
            candidates
                .into_iter()
                .filter(|index| !launched.contains(index))
                .filter(|&index| state.status(&self.keys[index]) == StepStatus::Pending)
                .filter_map(|index| self.decide(index, &state).map(|decision| (index, decision)))
                .collect()
        };
        let mut queued = Vec::new();
        for (index, decision) in decisions {
            let key = &self.keys[index];
            let step = &self.graph.steps[index];
            match decision {
                Decision::Skip(reason) => {
                    launch.progressed |= self.commit_after(
                        index,
                        vec![RunEvent::StepFinished {
                            step: key.clone(),
                            result: StepResult::skipped(reason),
                        }],
                    );
                }
                Decision::Start => match self.condition(step) {
                    Ok(true) => queued.push(index),
                    Ok(false) => {
                        let mut events = vec![RunEvent::StepFinished {
                            step: key.clone(),
                            result: StepResult::skipped(SkipReason::Condition),
                        }];
                        if let Some(target) = &step.on_false {
                            events.extend(self.route(index, target, EdgeKind::False));
                        }
                        launch.progressed |= self.commit_after(index, events);
                    }
                    Err(error) => {
                        // A condition that cannot be evaluated fails its step like any other
                        // failure, so `on_failure` decides what happens next.
                        let result = StepResult::failed(
                            format!("the condition does not evaluate: {error}"),
                            0,
                            0,
                        );
                        let verdict = self.finish(index, StepOutcome::Finished(result));
                        launch.progressed = true;
                        if !matches!(verdict, Verdict::GoOn) {
                            launch.stop.get_or_insert(verdict);
                        }
                    }
                },
            }
        }
        // Each step records that it was queued with its own first event (see `queued_first`).
        if let Ok(mut launched) = self.launched.lock() {
            launched.extend(queued.iter().copied());
        }
        launch.started = queued;
        launch
    }

    /// What to do with a pending step, or `None` to wait.
    fn decide(&self, index: usize, state: &super::RunState) -> Option<Decision> {
        let step = &self.graph.steps[index];
        if step.disabled {
            return Some(Decision::Skip(SkipReason::Disabled));
        }
        let (mut satisfied, mut blocked) = (0, 0);
        for dependency in &step.depends_on {
            let Some(&at) = self.position.get(dependency.as_str()) else {
                continue;
            };
            match state.status(&self.keys[at]) {
                StepStatus::Succeeded => satisfied += 1,
                StepStatus::Failed if self.graph.steps[at].on_failure == OnFailure::Continue => {
                    satisfied += 1;
                }
                StepStatus::Failed | StepStatus::Skipped | StepStatus::Cancelled => blocked += 1,
                _ => {}
            }
        }
        let total = step.depends_on.len();
        match step.join {
            Join::All if blocked > 0 => return Some(Decision::Skip(SkipReason::Upstream)),
            Join::All if satisfied < total => return None,
            Join::Any if total > 0 && satisfied == 0 => {
                return (blocked == total).then_some(Decision::Skip(SkipReason::Upstream));
            }
            _ => {}
        }
        if step.gated && !state.activated.contains(&self.keys[index]) {
            let all_done = self.activators[index]
                .iter()
                .all(|&from| state.status(&self.keys[from]).is_terminal());
            return all_done.then_some(Decision::Skip(SkipReason::NotRouted));
        }
        Some(Decision::Start)
    }

    /// Evaluates a step's condition; no condition is true.
    fn condition(&self, step: &PlannedStep) -> Result<bool, String> {
        let Some(condition) = &step.condition else {
            return Ok(true);
        };
        let root = self.shared.template_root(&self.scope, &self.frame, None);
        self.shared
            .templates
            .is_true(condition, &root)
            .map_err(|error| error.0)
    }

    /// Commits events; false when the store failed (the run is then stopping).
    fn commit(&self, events: Vec<RunEvent>) -> bool {
        self.shared.commit(events).is_ok()
    }

    /// Commits the events of step `index` ending, and marks the steps whose decision they may
    /// change: those after it, and those a route sends the run to or starts over.
    fn commit_after(&self, index: usize, events: Vec<RunEvent>) -> bool {
        let mut touched: Vec<usize> = self.successors[index].clone();
        for event in &events {
            if let RunEvent::RouteTaken { to, reset, .. } = event {
                touched.extend(
                    std::iter::once(to)
                        .chain(reset)
                        .filter_map(|key| self.position.get(key.id()).copied()),
                );
            }
        }
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.extend(touched);
        }
        self.commit(events)
    }

    /// Records a finished step and applies what it decides: routes, `on_failure`, a rejection.
    fn finish(&self, index: usize, outcome: StepOutcome) -> Verdict {
        let step = &self.graph.steps[index];
        let key = &self.keys[index];
        let (mut result, rejection) = match outcome {
            StepOutcome::Parked => return Verdict::GoOn,
            // A step stopped while its scope goes on (a sub-pipeline's run cancelled on its
            // own) did not do its work: that is a failure, not a quiet success of the run.
            StepOutcome::Finished(mut result)
                if result.status == StepStatus::Cancelled && !self.frame.cancel.is_cancelled() =>
            {
                result.status = StepStatus::Failed;
                result.error = Some("it was cancelled while the run went on".to_owned());
                (result, None)
            }
            StepOutcome::Finished(result) => (result, None),
            StepOutcome::Rejected(result, reason) => (result, Some((reason, true))),
            StepOutcome::BodyRejected(result, reason) => (result, Some((reason, false))),
        };
        let mut events = Vec::new();
        let mut verdict = Verdict::GoOn;
        if let Some((reason, routable)) = rejection {
            if let (Some(target), true) = (&step.on_false, routable) {
                result.status = StepStatus::Skipped;
                result.skipped = Some(SkipReason::Rejected);
                events.extend(self.route(index, target, EdgeKind::False));
            } else {
                result.status = StepStatus::Failed;
                result.error = Some(reason.clone());
                verdict = Verdict::Reject(format!("`{key}` was {reason}"));
            }
        } else {
            if result.status == StepStatus::Succeeded
                || (result.status == StepStatus::Failed && step.on_failure == OnFailure::Continue)
            {
                self.after(index, &mut result, &mut events);
            }
            if result.status == StepStatus::Failed {
                match &step.on_failure {
                    OnFailure::Fail => {
                        let error = result
                            .error
                            .clone()
                            .unwrap_or_else(|| "it failed".to_owned());
                        verdict = Verdict::Fail(format!("step `{key}` failed: {error}"));
                    }
                    OnFailure::Continue => {}
                    OnFailure::Skip => {
                        result.status = StepStatus::Skipped;
                        result.skipped = Some(SkipReason::Failure);
                    }
                    OnFailure::Goto(target) => {
                        events.extend(self.route(index, target, EdgeKind::Failure));
                    }
                }
            }
        }
        let failed = result.status == StepStatus::Failed;
        let mut all = vec![RunEvent::StepFinished {
            step: key.clone(),
            result,
        }];
        all.extend(events);
        if !self.commit_after(index, all) {
            return Verdict::Fail("the run store failed".to_owned());
        }
        if failed {
            self.check_breaker();
        }
        verdict
    }

    /// After a step that the run goes on past: `on_success`, then the first route whose `when`
    /// holds. A route back past its `max_loops` fails the step instead.
    fn after(&self, index: usize, result: &mut StepResult, events: &mut Vec<RunEvent>) {
        let step = &self.graph.steps[index];
        // The routes are weighed first: one that cannot be taken fails the step, and a failed
        // step does not go on to its `on_success`.
        self.take_route(index, result, events);
        if result.status == StepStatus::Succeeded
            && let Some(target) = &step.on_success
        {
            events.extend(self.route(index, target, EdgeKind::Success));
        }
    }

    /// Takes the first route whose `when` holds; a route back past its `max_loops`, or a `when`
    /// that does not evaluate, fails the step instead.
    fn take_route(&self, index: usize, result: &mut StepResult, events: &mut Vec<RunEvent>) {
        let step = &self.graph.steps[index];
        for route in &step.routes {
            let root =
                self.shared
                    .template_root(&self.scope, &self.frame, Some((&step.id, result)));
            match self.shared.templates.is_true(&route.when, &root) {
                Ok(false) => continue,
                Ok(true) => {
                    let count = self.route_count(index, &route.goto) + 1;
                    if let Some(bound) = route.max_loops
                        && count > bound
                    {
                        result.status = StepStatus::Failed;
                        result.error = Some(format!(
                            "the route to `{}` was already taken {bound} time{}, its bound (`max_loops: {bound}`)",
                            route.goto,
                            if bound == 1 { "" } else { "s" }
                        ));
                        return;
                    }
                    events.extend(self.route(index, &route.goto, EdgeKind::Route));
                }
                Err(error) => {
                    result.status = StepStatus::Failed;
                    result.error = Some(format!(
                        "the `when` of the route to `{}` does not evaluate: {error}",
                        route.goto
                    ));
                }
            }
            return;
        }
    }

    fn route_count(&self, from: usize, to: &str) -> u32 {
        let Ok(state) = self.shared.state.lock() else {
            return 0;
        };
        let target = StepKey::new(&self.scope, to);
        state
            .route_counts
            .get(&(self.keys[from].clone(), target))
            .copied()
            .unwrap_or(0)
    }

    /// The event of a routing key sending the run from step `from` to `to`. A route back to an
    /// earlier step starts over every step between them, and the steps after them that had been
    /// skipped because of them.
    fn route(&self, from: usize, to: &str, kind: EdgeKind) -> Option<RunEvent> {
        let &target = self.position.get(to)?;
        let count = self.route_count(from, to) + 1;
        let reset = if self.reaches(target, from) {
            self.region(target, from)
        } else {
            self.unskip(target)
        };
        Some(RunEvent::RouteTaken {
            from: self.keys[from].clone(),
            to: self.keys[target].clone(),
            kind,
            count,
            reset,
        })
    }

    /// Whether `to` can be reached from `from` along the edges that are not loops.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen = HashSet::from([from]);
        let mut queue = VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            if at == to {
                return true;
            }
            for &next in &self.successors[at] {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        false
    }

    /// The steps that start over when a route from `source` goes back to `target`: those on a
    /// path from the target to the source, and the steps after them that were skipped.
    fn region(&self, target: usize, source: usize) -> Vec<StepKey> {
        // A step of the region that is still running (a branch the route's step did not wait
        // for, as with `join: any`) is left to finish; it is not pulled back mid-attempt.
        let settled = |at: usize| {
            let launched = self
                .launched
                .lock()
                .map_or(true, |launched| launched.contains(&at));
            let status = self
                .shared
                .state
                .lock()
                .map_or(StepStatus::Waiting, |state| state.status(&self.keys[at]));
            at == source || (!launched && (status.is_terminal() || status == StepStatus::Pending))
        };
        let between: Vec<usize> = (0..self.graph.steps.len())
            .filter(|&at| self.reaches(target, at) && self.reaches(at, source) && settled(at))
            .collect();
        let mut reset: Vec<usize> = between.clone();
        for &at in &between {
            for key in self.unskip(at) {
                if let Some(&later) = self.position.get(key.id())
                    && !reset.contains(&later)
                {
                    reset.push(later);
                }
            }
        }
        reset.sort_unstable();
        reset.into_iter().map(|at| self.keys[at].clone()).collect()
    }

    /// The steps after `from` (itself included) that were skipped because the run did not reach
    /// them; they are reconsidered when it now does.
    fn unskip(&self, from: usize) -> Vec<StepKey> {
        let Ok(state) = self.shared.state.lock() else {
            return Vec::new();
        };
        let skipped = |at: usize| {
            state.status(&self.keys[at]) == StepStatus::Skipped
                && matches!(
                    state
                        .result(&self.keys[at])
                        .and_then(|result| result.skipped),
                    Some(SkipReason::Upstream | SkipReason::NotRouted)
                )
        };
        (0..self.graph.steps.len())
            .filter(|&at| skipped(at) && self.reaches(from, at))
            .map(|at| self.keys[at].clone())
            .collect()
    }

    /// Trips the circuit breaker when the run has seen `max_failures` failed steps.
    fn check_breaker(&self) {
        let Some(limit) = self.shared.plan.max_failures else {
            return;
        };
        let failures = self.shared.state.lock().map_or(0, |state| state.failures);
        if failures >= limit {
            if let Ok(mut tripped) = self.shared.tripped.lock() {
                tripped.get_or_insert(format!(
                    "{failures} steps failed, so the circuit breaker (`max_failures: {limit}`) stopped the run"
                ));
            }
            self.shared.cancel.cancel();
        }
    }
}
