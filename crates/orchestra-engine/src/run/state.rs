//! The state of a run as the fold of its events. The scheduler changes it only by committing
//! events, so the state of a live run and the state rebuilt from its stored log are the same;
//! that is what makes a run resumable.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::event::{RepoRecord, RunEvent, SkipReason, StepKey};
use crate::models::Message;
use crate::plan::AutoAnswer;
use crate::result::{RunStatus, StepResult};
use crate::state::{InvalidTransition, Signal, StepStatus, transition};

/// One step's state: where it is in its lifecycle, and its latest result.
#[derive(Clone, Debug, PartialEq)]
pub struct StepState {
    /// Where it is.
    pub status: StepStatus,
    /// Its latest finished result (kept when a loop starts it over, so that the next visit can
    /// read what the last one produced).
    pub result: Option<StepResult>,
}

/// A person's answer to an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether they approved.
    pub approved: bool,
    /// What they said.
    pub comment: Option<String>,
    /// Who answered.
    pub by: Option<String>,
}

/// A step that waits for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// What it waits for.
    pub kind: WaitingFor,
    /// What the person is asked.
    pub message: String,
    /// When an unanswered approval counts as rejected.
    pub deadline: Option<Timestamp>,
}

/// What a step waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitingFor {
    /// An approval, or a rejection: of an `approval` step, or of a tool call an agent wants to
    /// make.
    Approval,
    /// An interactive step's conversation waits for the person's next message, or for them to
    /// end it (approved: the last reply is the output; rejected: the step is rejected).
    Reply,
}

/// An agent step's conversation so far, as its log holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// The task, the model's replies, what the tools returned and what a person wrote.
    pub messages: Vec<Message>,
    /// The tool calls that were started; one started with no result was cut short by a crash,
    /// and is not run again blindly.
    pub started: HashSet<String>,
}

/// Everything known about a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunState {
    /// How the run stands; `None` before it started.
    pub status: Option<RunStatus>,
    /// The pipeline's id.
    pub pipeline: String,
    /// The run's inputs.
    pub inputs: Map<String, Value>,
    /// The values of its `<AUTO>` tags, as chosen when it started.
    pub auto: Vec<AutoAnswer>,
    /// The steps that have done anything.
    pub steps: HashMap<StepKey, StepState>,
    /// Gated steps that a routing key has sent the run to.
    pub activated: HashSet<StepKey>,
    /// How often each route (from, to) has been taken.
    pub route_counts: HashMap<(StepKey, StepKey), u32>,
    /// The items of each `for_each` step.
    pub items: HashMap<StepKey, Vec<Value>>,
    /// The current pass of each loop.
    pub passes: HashMap<StepKey, u32>,
    /// Steps that wait for a person.
    pub waiting: HashMap<StepKey, Waiting>,
    /// Answers to approvals.
    pub answers: HashMap<StepKey, Answer>,
    /// The conversations of agent steps so far.
    pub conversations: HashMap<StepKey, Conversation>,
    /// The run's repository, branch and commits, when its pipeline names a `workspace.repo`.
    pub git: Option<GitState>,
    /// Someone asked the run to stop.
    pub cancel_requested: bool,
    /// Steps that failed since the run started or resumed (the circuit breaker counts them).
    pub failures: u32,
    /// What the run returned.
    pub outputs: Map<String, Value>,
    /// Why it did not succeed.
    pub error: Option<String>,
}

/// A run's branch and what is on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitState {
    /// The repository, the branch and the run's worktree.
    pub repo: RepoRecord,
    /// The run's branch as recorded: its last commit.
    pub head: String,
    /// The worktrees of parallel writers, by step.
    pub forks: HashMap<StepKey, Fork>,
    /// A merge whose conflicts were handed to a step to resolve, until its commit records it.
    pub handed: Option<Handed>,
    /// Every commit of the run, in order: the checkpoints' snapshots.
    pub snapshots: Vec<Snapshot>,
}

/// A parallel writer's worktree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    /// Its branch.
    pub branch: String,
    /// Its folder.
    pub worktree: String,
    /// The commit it started from.
    pub base: String,
    /// The commit of the writer's work, once it finished and changed something.
    pub commit: Option<String>,
    /// The writer finished.
    pub finished: bool,
    /// Its work is on the run's branch (or was handed to a step).
    pub merged: bool,
}

/// Conflicting work handed to a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handed {
    /// The step that resolves it.
    pub step: StepKey,
    /// The commits being merged.
    pub commits: Vec<String>,
    /// The conflicting paths.
    pub paths: Vec<String>,
}

/// A commit a run made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The step that made it (a join, for a merge).
    pub step: StepKey,
    /// The commit.
    pub commit: String,
    /// The branch it is on.
    pub branch: String,
    /// For a merge: the writer whose work it brought in.
    pub merged: Option<StepKey>,
}

impl GitState {
    fn apply(&mut self, event: &RunEvent) {
        match event {
            RunEvent::WorktreeForked {
                step,
                branch,
                worktree,
                base,
            } => {
                self.forks.insert(
                    step.clone(),
                    Fork {
                        branch: branch.clone(),
                        worktree: worktree.clone(),
                        base: base.clone(),
                        commit: None,
                        finished: false,
                        merged: false,
                    },
                );
            }
            RunEvent::Merged { step, from, commit } => {
                if let Some(fork) = self.forks.get_mut(from) {
                    fork.merged = true;
                }
                if *commit != self.head {
                    self.head.clone_from(commit);
                    self.snapshots.push(Snapshot {
                        step: step.clone(),
                        commit: commit.clone(),
                        branch: self.repo.branch.clone(),
                        merged: Some(from.clone()),
                    });
                }
            }
            RunEvent::MergeConflicted {
                step,
                from,
                commit,
                paths,
            } => {
                if let Some(fork) = self.forks.get_mut(from) {
                    fork.merged = true;
                }
                let handed = self.handed.get_or_insert_with(|| Handed {
                    step: step.clone(),
                    commits: Vec::new(),
                    paths: Vec::new(),
                });
                handed.commits.push(commit.clone());
                handed.paths.extend(paths.iter().cloned());
            }
            // A result reused from another run (or the cache) made no commit in this one.
            RunEvent::StepFinished { result, .. }
                if result.reused_from.is_some() && result.attempts == 0 => {}
            RunEvent::StepFinished { step, result } => {
                let fork = self.forks.get_mut(step).filter(|fork| !fork.merged);
                if let Some(fork) = fork {
                    fork.finished = true;
                    // A writer that ran again and changed nothing more keeps its earlier work.
                    if result.commit.is_some() {
                        fork.commit.clone_from(&result.commit);
                    }
                }
                if let Some(commit) = &result.commit {
                    let fork = self.forks.get(step).filter(|fork| !fork.merged);
                    let branch = if let Some(fork) = fork {
                        fork.branch.clone()
                    } else {
                        self.head.clone_from(commit);
                        self.repo.branch.clone()
                    };
                    self.snapshots.push(Snapshot {
                        step: step.clone(),
                        commit: commit.clone(),
                        branch,
                        merged: None,
                    });
                }
                if self
                    .handed
                    .as_ref()
                    .is_some_and(|handed| handed.step == *step)
                    && matches!(result.status, StepStatus::Succeeded | StepStatus::Failed)
                {
                    self.handed = None;
                }
            }
            _ => {}
        }
    }
}

/// An event that does not fit the state it is applied to: the log is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the run's log is inconsistent at step `{step}`: {source}")]
pub struct FoldError {
    /// The step.
    pub step: StepKey,
    /// The transition that did not apply.
    pub source: InvalidTransition,
}

impl RunState {
    /// The state rebuilt from a run's events, in order.
    pub fn fold<'e>(events: impl IntoIterator<Item = &'e RunEvent>) -> Result<Self, FoldError> {
        let mut state = Self::default();
        for event in events {
            state.apply(event)?;
        }
        Ok(state)
    }

    /// The status of a step; pending when it has not done anything yet.
    pub fn status(&self, key: &StepKey) -> StepStatus {
        self.steps
            .get(key)
            .map_or(StepStatus::Pending, |step| step.status)
    }

    /// The latest result of a step.
    pub fn result(&self, key: &StepKey) -> Option<&StepResult> {
        self.steps.get(key).and_then(|step| step.result.as_ref())
    }

    fn signal(&mut self, key: &StepKey, signal: Signal) -> Result<(), FoldError> {
        let step = self.steps.entry(key.clone()).or_insert(StepState {
            status: StepStatus::Pending,
            result: None,
        });
        step.status = transition(step.status, signal).map_err(|source| FoldError {
            step: key.clone(),
            source,
        })?;
        Ok(())
    }

    /// Whether every event of a batch moves its step in a way the state machine allows, checked
    /// before the batch is recorded: an event the state would refuse never reaches the log.
    pub fn admits<'a>(
        &self,
        events: impl IntoIterator<Item = &'a RunEvent>,
    ) -> Result<(), FoldError> {
        let mut moved: HashMap<&StepKey, StepStatus> = HashMap::new();
        for event in events {
            if let RunEvent::RouteTaken { reset, .. } = event {
                for key in reset {
                    moved.insert(key, StepStatus::Pending);
                }
            }
            let Some((step, signal)) = signal_of(event) else {
                continue;
            };
            let from = moved
                .get(step)
                .copied()
                .unwrap_or_else(|| self.status(step));
            let to = transition(from, signal).map_err(|source| FoldError {
                step: step.clone(),
                source,
            })?;
            moved.insert(step, to);
        }
        Ok(())
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &RunEvent) -> Result<(), FoldError> {
        if let Some((step, signal)) = signal_of(event) {
            self.signal(step, signal)?;
        }
        match event {
            RunEvent::RunStarted {
                pipeline, inputs, ..
            } => {
                self.status = Some(RunStatus::Running);
                self.pipeline.clone_from(pipeline);
                self.inputs.clone_from(inputs);
            }
            RunEvent::RunResumed => self.resume()?,
            RunEvent::RepositoryOpened { repo } => {
                self.git = Some(GitState {
                    head: repo.base.clone(),
                    repo: repo.clone(),
                    forks: HashMap::new(),
                    handed: None,
                    snapshots: Vec::new(),
                });
            }
            RunEvent::AutoResolved { answers } => self.auto.clone_from(answers),
            RunEvent::WaitingForApproval {
                step,
                message,
                deadline,
            } => {
                self.waiting.insert(
                    step.clone(),
                    Waiting {
                        kind: WaitingFor::Approval,
                        message: message.clone(),
                        deadline: *deadline,
                    },
                );
            }
            RunEvent::WaitingForMessage { step } => {
                self.waiting.insert(
                    step.clone(),
                    Waiting {
                        kind: WaitingFor::Reply,
                        message: "the conversation waits for your reply".to_owned(),
                        deadline: None,
                    },
                );
            }
            RunEvent::ConversationMessage { step, message, by } => {
                // A person's message answers the wait for it.
                if by.is_some() {
                    self.waiting.remove(step);
                }
                self.conversations
                    .entry(step.clone())
                    .or_default()
                    .messages
                    .push(message.clone());
            }
            RunEvent::ToolCalled { step, call } => {
                // An approval answers one tool call, and is spent when the call starts: the
                // next call that needs one asks again, and a call cut short is never run again
                // on the strength of it.
                self.answers.remove(step);
                self.waiting.remove(step);
                self.conversations
                    .entry(step.clone())
                    .or_default()
                    .started
                    .insert(call.id.clone());
            }
            RunEvent::ToolReturned {
                step,
                call_id,
                name,
                content,
                is_error,
            } => {
                self.conversations
                    .entry(step.clone())
                    .or_default()
                    .messages
                    .push(Message::Tool {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        content: content.clone(),
                        is_error: *is_error,
                    });
            }
            RunEvent::ApprovalAnswered {
                step,
                approved,
                comment,
                by,
            } => {
                self.answers.insert(
                    step.clone(),
                    Answer {
                        approved: *approved,
                        comment: comment.clone(),
                        by: by.clone(),
                    },
                );
            }
            RunEvent::StepFinished { step, result } => {
                if let Some(git) = &mut self.git {
                    git.apply(event);
                }
                if result.status == StepStatus::Failed {
                    self.failures += 1;
                }
                self.waiting.remove(step);
                if let Some(state) = self.steps.get_mut(step) {
                    state.result = Some(result.clone());
                }
            }
            RunEvent::RouteTaken {
                from,
                to,
                count,
                reset,
                ..
            } => {
                self.route_counts.insert((from.clone(), to.clone()), *count);
                for key in reset {
                    self.start_over(key)?;
                }
                self.activated.insert(to.clone());
            }
            RunEvent::ItemsResolved { step, items } => {
                self.items.insert(step.clone(), items.clone());
            }
            RunEvent::PassStarted { step, pass } => {
                self.passes.insert(step.clone(), *pass);
            }
            RunEvent::CancelRequested => self.cancel_requested = true,
            RunEvent::RunFinished {
                status,
                outputs,
                error,
            } => {
                self.status = Some(*status);
                self.outputs.clone_from(outputs);
                self.error.clone_from(error);
            }
            RunEvent::WorktreeForked { .. }
            | RunEvent::Merged { .. }
            | RunEvent::MergeConflicted { .. } => {
                if let Some(git) = &mut self.git {
                    git.apply(event);
                }
            }
            RunEvent::StepQueued { .. }
            | RunEvent::StepStarted { .. }
            | RunEvent::OutputChunk { .. }
            | RunEvent::AttemptFailed { .. }
            | RunEvent::Usage { .. }
            | RunEvent::ModelPrepared { .. }
            | RunEvent::Artifact { .. } => {}
        }
        Ok(())
    }

    /// A step sent back to by a route starts over, and so does everything inside it: its items
    /// and passes are evaluated again. Its last result stays readable.
    fn start_over(&mut self, key: &StepKey) -> Result<(), FoldError> {
        self.signal(key, Signal::Reset)?;
        // It and everything inside it must be sent again; routes inside it count afresh (its own
        // routes keep their counts, which bound the loops through it).
        self.activated.retain(|other| !other.is_within(key));
        self.route_counts
            .retain(|(from, _), _| from == key || !from.is_within(key));
        self.steps
            .retain(|other, _| other == key || !other.is_within(key));
        self.items.retain(|other, _| !other.is_within(key));
        self.passes.retain(|other, _| !other.is_within(key));
        self.answers.retain(|other, _| !other.is_within(key));
        self.waiting.retain(|other, _| !other.is_within(key));
        self.conversations.retain(|other, _| !other.is_within(key));
        Ok(())
    }

    /// A resumed run keeps what succeeded, and what was skipped on purpose (a false condition, a
    /// disabled step, a rejection); everything else starts over. Unlike a route back, progress
    /// inside bodies is kept: a `for_each` that was halfway resumes halfway.
    fn resume(&mut self) -> Result<(), FoldError> {
        let restart: Vec<StepKey> = self
            .steps
            .iter()
            .filter(|(_, step)| match step.status {
                StepStatus::Succeeded => false,
                StepStatus::Skipped => !matches!(
                    step.result.as_ref().and_then(|result| result.skipped),
                    Some(SkipReason::Condition | SkipReason::Disabled | SkipReason::Rejected)
                ),
                _ => true,
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in restart {
            self.signal(&key, Signal::Reset)?;
        }
        self.status = Some(RunStatus::Running);
        self.cancel_requested = false;
        self.failures = 0;
        self.error = None;
        Ok(())
    }
}

/// The move an event asks of its step, if it asks one.
fn signal_of(event: &RunEvent) -> Option<(&StepKey, Signal)> {
    match event {
        RunEvent::StepQueued { step } => Some((step, Signal::Ready)),
        RunEvent::StepStarted { step, attempt, .. } => {
            Some((step, Signal::Start { attempt: *attempt }))
        }
        RunEvent::WaitingForApproval { step, .. } | RunEvent::WaitingForMessage { step } => {
            Some((step, Signal::Wait))
        }
        RunEvent::StepFinished { step, result } => {
            let signal = match result.status {
                StepStatus::Succeeded if result.reused_from.is_some() && result.attempts == 0 => {
                    Signal::Reuse
                }
                StepStatus::Succeeded => Signal::Succeed,
                StepStatus::Skipped => Signal::Skip,
                StepStatus::Cancelled => Signal::Cancel,
                _ => Signal::Fail,
            };
            Some((step, signal))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> StepKey {
        let (scope, id) = text.rsplit_once('/').unwrap_or(("", text));
        StepKey::new(scope, id)
    }

    fn started_run() -> RunEvent {
        RunEvent::RunStarted {
            pipeline: "p".into(),
            inputs: Map::new(),
            snapshot: String::new(),
            file: "p.yaml".into(),
            workspace: ".".into(),
            parent: None,
        }
    }

    fn finished(step: &str, result: StepResult) -> RunEvent {
        RunEvent::StepFinished {
            step: key(step),
            result,
        }
    }

    fn started(step: &str) -> [RunEvent; 2] {
        [
            RunEvent::StepQueued { step: key(step) },
            RunEvent::StepStarted {
                step: key(step),
                attempt: 1,
                inputs: Value::Null,
            },
        ]
    }

    #[test]
    fn a_resumed_run_keeps_what_finished_and_restarts_what_was_in_flight() {
        let mut events = vec![started_run()];
        events.extend(started("a"));
        events.push(finished("a", StepResult::succeeded(Value::from("done"))));
        events.extend(started("b"));
        events.push(finished("c", StepResult::skipped(SkipReason::Condition)));
        events.extend(started("each"));
        events.extend(started("each[0]/x"));
        events.push(finished("each[0]/x", StepResult::succeeded(Value::Null)));
        let mut state = RunState::fold(&events).expect("the log is consistent");
        assert_eq!(state.status(&key("b")), StepStatus::Running { attempt: 1 });
        state.apply(&RunEvent::RunResumed).expect("resume applies");
        assert_eq!(
            state.status(&key("a")),
            StepStatus::Succeeded,
            "finished steps keep their result"
        );
        assert_eq!(
            state.status(&key("b")),
            StepStatus::Pending,
            "a step in flight starts over"
        );
        assert_eq!(
            state.status(&key("c")),
            StepStatus::Skipped,
            "a false condition stays skipped"
        );
        assert_eq!(state.status(&key("each")), StepStatus::Pending);
        assert_eq!(
            state.status(&key("each[0]/x")),
            StepStatus::Succeeded,
            "progress inside a body is kept"
        );
    }

    #[test]
    fn a_route_back_restarts_its_region_and_everything_inside_it() {
        let mut events = vec![started_run()];
        for step in ["draft", "each", "each[0]/x", "check"] {
            events.extend(started(step));
            events.push(finished(step, StepResult::succeeded(Value::from(step))));
        }
        events.push(RunEvent::ItemsResolved {
            step: key("each"),
            items: vec![Value::from(1)],
        });
        events.push(RunEvent::RouteTaken {
            from: key("check"),
            to: key("draft"),
            kind: orchestra_pipeline::model::EdgeKind::Route,
            count: 1,
            reset: vec![key("draft"), key("each"), key("check")],
        });
        let state = RunState::fold(&events).expect("the log is consistent");
        assert_eq!(state.status(&key("draft")), StepStatus::Pending);
        assert_eq!(
            state.result(&key("draft")).map(|r| r.output.clone()),
            Some(Value::from("draft")),
            "the last result stays readable"
        );
        assert!(
            !state.steps.contains_key(&key("each[0]/x")),
            "a restarted body starts from nothing"
        );
        assert!(
            !state.items.contains_key(&key("each")),
            "its items are evaluated again"
        );
        assert_eq!(
            state.route_counts.get(&(key("check"), key("draft"))),
            Some(&1)
        );
    }

    #[test]
    fn an_inconsistent_log_is_reported_not_ignored() {
        let events = [RunEvent::StepStarted {
            step: key("a"),
            attempt: 1,
            inputs: Value::Null,
        }];
        let error = RunState::fold(&events).expect_err("a step cannot start before it is queued");
        assert!(error.to_string().contains("`a`"), "{error}");
    }
}
