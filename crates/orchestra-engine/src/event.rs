//! What happens during a run, as a closed list of events.
//!
//! The engine emits these and everyone else subscribes: the store persists them, the CLI prints
//! them, the studio draws them. Every event is committed to the store before anyone sees it, and
//! folding the stored events ([`crate::run::RunState`]) rebuilds the state of a run exactly, which
//! is how a run resumes.

use jiff::Timestamp;
use orchestra_pipeline::model::EdgeKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::models::{Message, Prepared, ToolCall};
use crate::plan::AutoAnswer;
use crate::result::{RunStatus, StepResult, Usage};

/// Where in a run a step executes: its id, inside the bodies that contain it. A top-level step is
/// its id (`diff`); a step in the third item of a `for_each` is `per_topic[2]/notes`; a step in
/// the second pass of a loop is `polish#2/edit`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepKey(String);

impl StepKey {
    /// The key of step `id` in the scope at `scope` (empty for the top level).
    pub fn new(scope: &str, id: &str) -> Self {
        if scope.is_empty() {
            Self(id.to_owned())
        } else {
            Self(format!("{scope}/{id}"))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The step's id, the last part of the key.
    pub fn id(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The scope the step runs in: empty at the top level.
    pub fn scope(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(scope, _)| scope)
    }

    /// The scope of one item of this `for_each` step.
    pub fn item_scope(&self, index: usize) -> String {
        format!("{}[{index}]", self.0)
    }

    /// The scope of one pass of this loop step.
    pub fn pass_scope(&self, pass: u32) -> String {
        format!("{}#{pass}", self.0)
    }

    /// Whether this key is this step or lies inside its bodies.
    pub fn is_within(&self, container: &StepKey) -> bool {
        self.0 == container.0
            || self
                .0
                .strip_prefix(&container.0)
                .is_some_and(|rest| rest.starts_with(['[', '#']))
    }
}

impl std::fmt::Display for StepKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which output stream a chunk of text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// A program's standard output.
    Stdout,
    /// A program's standard error.
    Stderr,
    /// Text a model is writing.
    Text,
}

/// Why a step was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Its `condition` was false.
    Condition,
    /// It is `disabled`.
    Disabled,
    /// A step it depends on did not succeed.
    Upstream,
    /// No routing key sent the run to it.
    NotRouted,
    /// It failed with `on_failure: skip`.
    Failure,
    /// A person rejected it (an approval with `on_false`).
    Rejected,
}

impl SkipReason {
    /// Why, in a few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Condition => "condition false",
            Self::Disabled => "disabled",
            Self::Upstream => "a step it needs did not succeed",
            Self::NotRouted => "not routed to",
            Self::Failure => "failed, counted as skipped",
            Self::Rejected => "rejected",
        }
    }
}

/// The run and step that started a sub-pipeline's run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    /// The parent run.
    pub run: String,
    /// The `pipeline` step in it.
    pub step: StepKey,
}

/// The repository a run works in: where it is, the run's branch and worktree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRecord {
    /// The repository as the pipeline names it.
    pub name: String,
    /// The repository's folder.
    pub path: String,
    /// The run's branch.
    pub branch: String,
    /// The commit the branch started from.
    pub base: String,
    /// The run's worktree.
    pub worktree: String,
    /// The folder of the run's worktrees, where parallel writers get theirs.
    pub worktrees: String,
    /// Paths with uncommitted changes in the repository's own working tree when the run started,
    /// which the run does not see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirty: Vec<String>,
}

/// One thing that happened in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run began.
    RunStarted {
        /// The pipeline's id.
        pipeline: String,
        /// The inputs, defaults applied.
        inputs: Map<String, Value>,
        /// The text of the pipeline file as it ran, so that the run can be resumed and
        /// reported even after the file changed.
        snapshot: String,
        /// The pipeline file's path.
        file: String,
        /// The folder the run works in.
        workspace: String,
        /// The run and step that started this run, for a sub-pipeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<Parent>,
    },
    /// An interrupted, failed or paused run continues: steps that were in flight or failed
    /// start over; finished steps keep their results.
    RunResumed,
    /// The values a pipeline leaves to the orchestrator model (`<AUTO>`), as chosen for this run
    /// before any step ran; a resumed run uses the same.
    AutoResolved {
        /// The answers.
        answers: Vec<AutoAnswer>,
    },
    /// The run works on a branch of its own, in a worktree of the pipeline's repository.
    RepositoryOpened {
        /// The repository, the branch and the worktree.
        repo: RepoRecord,
    },
    /// A step that may write while another does got a worktree of its own, on a branch from
    /// the run's branch at `base`; its work is merged back at the join.
    WorktreeForked {
        /// The step.
        step: StepKey,
        /// Its branch.
        branch: String,
        /// Its worktree.
        worktree: String,
        /// The commit it started from.
        base: String,
    },
    /// The work of a parallel writer was merged into the run's branch before `step`, its join,
    /// ran (or when its scope ended).
    Merged {
        /// The join.
        step: StepKey,
        /// The writer whose work was merged.
        from: StepKey,
        /// The run's branch afterwards.
        commit: String,
    },
    /// Merging a parallel writer's work before `step` conflicts, and the pipeline hands the
    /// conflicting files to `step` to resolve (`on_conflict: continue`); its commit records
    /// the merge.
    MergeConflicted {
        /// The join.
        step: StepKey,
        /// The writer whose work conflicts.
        from: StepKey,
        /// The writer's commit.
        commit: String,
        /// The conflicting paths, relative to the repository.
        paths: Vec<String>,
    },
    /// A step's dependencies are done and it is about to run.
    StepQueued {
        /// The step.
        step: StepKey,
    },
    /// An attempt of a step began, with its rendered inputs (the exact command or prompt).
    StepStarted {
        /// The step.
        step: StepKey,
        /// The attempt, from 1.
        attempt: u32,
        /// The parameters after templates were rendered.
        inputs: Value,
    },
    /// Text a running step produced.
    OutputChunk {
        /// The step.
        step: StepKey,
        /// Where the text came from.
        stream: Stream,
        /// The text.
        text: String,
    },
    /// An attempt failed; another follows after the wait unless none is left.
    AttemptFailed {
        /// The step.
        step: StepKey,
        /// The attempt that failed.
        attempt: u32,
        /// What went wrong.
        error: String,
        /// The wait before the next attempt, when there is one.
        retry_in_ms: Option<u64>,
    },
    /// An LLM step's model was chosen and its system prompt composed.
    ModelPrepared {
        /// The step.
        step: StepKey,
        /// The model, how it was chosen, the system prompt, and its prices.
        prepared: Prepared,
    },
    /// A model asked to run a tool.
    ToolCalled {
        /// The step.
        step: StepKey,
        /// The call: its id, the tool and the arguments.
        call: ToolCall,
    },
    /// A tool the model called returned (or failed); the model reads this.
    ToolReturned {
        /// The step.
        step: StepKey,
        /// The call it answers.
        call_id: String,
        /// The tool.
        name: String,
        /// What it returned, or why it failed.
        content: String,
        /// Whether it failed.
        is_error: bool,
    },
    /// Tokens a model step used.
    Usage {
        /// The step.
        step: StepKey,
        /// The tokens.
        usage: Usage,
    },
    /// A file a step produced.
    Artifact {
        /// The step.
        step: StepKey,
        /// The path, relative to the workspace.
        path: String,
        /// The SHA-256 of its content, in hex.
        sha256: String,
        /// Its size in bytes.
        size: u64,
    },
    /// A message of an LLM step's conversation that must outlive the attempt: the task, a model
    /// reply, or a person's turn in an interactive step (`by` names who wrote it). Together with
    /// the step's `tool_returned` events they are the conversation, so one that paused or was
    /// interrupted goes on where it was.
    ConversationMessage {
        /// The step.
        step: StepKey,
        /// The message.
        message: Message,
        /// The person who wrote it, for a person's turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// An interactive step waits for a person's next message (or for them to end the
    /// conversation, which is answered like an approval).
    WaitingForMessage {
        /// The step.
        step: StepKey,
    },
    /// An approval step, or a tool call that needs approval, waits for a person.
    WaitingForApproval {
        /// The step.
        step: StepKey,
        /// What the person is asked.
        message: String,
        /// When an unanswered approval counts as rejected.
        deadline: Option<Timestamp>,
    },
    /// A person answered an approval.
    ApprovalAnswered {
        /// The step.
        step: StepKey,
        /// Whether they approved.
        approved: bool,
        /// What they said.
        comment: Option<String>,
        /// Who answered, when known.
        by: Option<String>,
    },
    /// A step finished: succeeded, failed, was skipped or cancelled.
    StepFinished {
        /// The step.
        step: StepKey,
        /// Its result.
        result: StepResult,
    },
    /// A routing key sent the run to a step. A route back to an earlier step starts those steps
    /// over: `reset` lists them.
    RouteTaken {
        /// The step whose routing key fired.
        from: StepKey,
        /// The step it sent the run to.
        to: StepKey,
        /// Which key fired.
        kind: EdgeKind,
        /// How many times this route has been taken in the run, this time included.
        count: u32,
        /// The steps that start over (for a route back).
        reset: Vec<StepKey>,
    },
    /// A `for_each` step's list, evaluated once so that a resumed run goes over the same items.
    ItemsResolved {
        /// The step.
        step: StepKey,
        /// The items.
        items: Vec<Value>,
    },
    /// A loop began a pass.
    PassStarted {
        /// The step.
        step: StepKey,
        /// The pass, from 1.
        pass: u32,
    },
    /// Someone asked for the run to stop.
    CancelRequested,
    /// The run ended, or paused waiting for approval.
    RunFinished {
        /// How it ended.
        status: RunStatus,
        /// What it returned.
        outputs: Map<String, Value>,
        /// Why it did not succeed.
        error: Option<String>,
    },
}

impl RunEvent {
    /// The event's type, as its `type` field is written in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RunStarted { .. } => "run_started",
            Self::RunResumed => "run_resumed",
            Self::AutoResolved { .. } => "auto_resolved",
            Self::RepositoryOpened { .. } => "repository_opened",
            Self::WorktreeForked { .. } => "worktree_forked",
            Self::Merged { .. } => "merged",
            Self::MergeConflicted { .. } => "merge_conflicted",
            Self::StepQueued { .. } => "step_queued",
            Self::StepStarted { .. } => "step_started",
            Self::OutputChunk { .. } => "output_chunk",
            Self::AttemptFailed { .. } => "attempt_failed",
            Self::ModelPrepared { .. } => "model_prepared",
            Self::ToolCalled { .. } => "tool_called",
            Self::ToolReturned { .. } => "tool_returned",
            Self::Usage { .. } => "usage",
            Self::Artifact { .. } => "artifact",
            Self::ConversationMessage { .. } => "conversation_message",
            Self::WaitingForMessage { .. } => "waiting_for_message",
            Self::WaitingForApproval { .. } => "waiting_for_approval",
            Self::ApprovalAnswered { .. } => "approval_answered",
            Self::StepFinished { .. } => "step_finished",
            Self::RouteTaken { .. } => "route_taken",
            Self::ItemsResolved { .. } => "items_resolved",
            Self::PassStarted { .. } => "pass_started",
            Self::CancelRequested => "cancel_requested",
            Self::RunFinished { .. } => "run_finished",
        }
    }

    /// The step the event is about, if it is about one.
    pub fn step(&self) -> Option<&StepKey> {
        match self {
            Self::StepQueued { step }
            | Self::StepStarted { step, .. }
            | Self::OutputChunk { step, .. }
            | Self::AttemptFailed { step, .. }
            | Self::ModelPrepared { step, .. }
            | Self::ToolCalled { step, .. }
            | Self::ToolReturned { step, .. }
            | Self::Usage { step, .. }
            | Self::Artifact { step, .. }
            | Self::ConversationMessage { step, .. }
            | Self::WaitingForMessage { step }
            | Self::WaitingForApproval { step, .. }
            | Self::ApprovalAnswered { step, .. }
            | Self::StepFinished { step, .. }
            | Self::ItemsResolved { step, .. }
            | Self::PassStarted { step, .. }
            | Self::WorktreeForked { step, .. }
            | Self::Merged { step, .. }
            | Self::MergeConflicted { step, .. } => Some(step),
            Self::RouteTaken { from, .. } => Some(from),
            Self::RunStarted { .. }
            | Self::AutoResolved { .. }
            | Self::RepositoryOpened { .. }
            | Self::RunResumed
            | Self::CancelRequested
            | Self::RunFinished { .. } => None,
        }
    }
}

/// An event with the time it happened and its place in the run's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its position in the run's log, from 1.
    pub seq: u64,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub event: RunEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keys_name_their_scope_and_id() {
        let top = StepKey::new("", "per_topic");
        assert_eq!(top.as_str(), "per_topic");
        let inner = StepKey::new(&top.item_scope(2), "notes");
        assert_eq!(inner.as_str(), "per_topic[2]/notes");
        assert_eq!((inner.id(), inner.scope()), ("notes", "per_topic[2]"));
        assert!(
            inner.is_within(&top),
            "a body step lies within its container"
        );
        assert!(
            !StepKey::new("", "per_topic_two").is_within(&top),
            "a longer id is not a body"
        );
        let pass = StepKey::new(&StepKey::new("", "polish").pass_scope(3), "edit");
        assert_eq!(pass.as_str(), "polish#3/edit");
    }

    #[test]
    fn every_event_s_kind_is_its_json_type() {
        let step = StepKey::new("", "a");
        let events = [
            RunEvent::RunStarted {
                pipeline: "p".into(),
                inputs: Map::new(),
                snapshot: String::new(),
                file: String::new(),
                workspace: String::new(),
                parent: None,
            },
            RunEvent::RunResumed,
            RunEvent::AutoResolved {
                answers: Vec::new(),
            },
            RunEvent::RepositoryOpened {
                repo: RepoRecord {
                    name: String::new(),
                    path: String::new(),
                    branch: String::new(),
                    base: String::new(),
                    worktree: String::new(),
                    worktrees: String::new(),
                    dirty: Vec::new(),
                },
            },
            RunEvent::WorktreeForked {
                step: step.clone(),
                branch: String::new(),
                worktree: String::new(),
                base: String::new(),
            },
            RunEvent::Merged {
                step: step.clone(),
                from: step.clone(),
                commit: String::new(),
            },
            RunEvent::MergeConflicted {
                step: step.clone(),
                from: step.clone(),
                commit: String::new(),
                paths: Vec::new(),
            },
            RunEvent::StepQueued { step: step.clone() },
            RunEvent::StepStarted {
                step: step.clone(),
                attempt: 1,
                inputs: Value::Null,
            },
            RunEvent::OutputChunk {
                step: step.clone(),
                stream: Stream::Stdout,
                text: String::new(),
            },
            RunEvent::AttemptFailed {
                step: step.clone(),
                attempt: 1,
                error: String::new(),
                retry_in_ms: None,
            },
            RunEvent::Usage {
                step: step.clone(),
                usage: crate::result::Usage::default(),
            },
            RunEvent::Artifact {
                step: step.clone(),
                path: String::new(),
                sha256: String::new(),
                size: 0,
            },
            RunEvent::ConversationMessage {
                step: step.clone(),
                message: Message::User {
                    text: String::new(),
                },
                by: None,
            },
            RunEvent::WaitingForMessage { step: step.clone() },
            RunEvent::WaitingForApproval {
                step: step.clone(),
                message: String::new(),
                deadline: None,
            },
            RunEvent::ApprovalAnswered {
                step: step.clone(),
                approved: true,
                comment: None,
                by: None,
            },
            RunEvent::StepFinished {
                step: step.clone(),
                result: crate::result::StepResult::succeeded(Value::Null),
            },
            RunEvent::RouteTaken {
                from: step.clone(),
                to: step.clone(),
                kind: orchestra_pipeline::model::EdgeKind::Route,
                count: 1,
                reset: Vec::new(),
            },
            RunEvent::ItemsResolved {
                step: step.clone(),
                items: Vec::new(),
            },
            RunEvent::PassStarted {
                step: step.clone(),
                pass: 1,
            },
            RunEvent::CancelRequested,
            RunEvent::RunFinished {
                status: crate::result::RunStatus::Succeeded,
                outputs: Map::new(),
                error: None,
            },
        ];
        for event in events {
            let json = serde_json::to_value(&event).expect("an event converts to JSON");
            assert_eq!(json["type"], event.kind(), "the kind of {event:?}");
        }
    }

    #[test]
    fn events_serialize_with_their_type_and_read_back() {
        let event = RunEvent::StepStarted {
            step: StepKey::new("", "diff"),
            attempt: 1,
            inputs: serde_json::json!({ "run": ["git", "diff"] }),
        };
        let json = serde_json::to_value(&event).expect("an event converts to JSON");
        assert_eq!(json["type"], "step_started");
        assert_eq!(json["step"], "diff");
        let back: RunEvent = serde_json::from_value(json).expect("and reads back");
        assert_eq!(back, event);
    }
}
