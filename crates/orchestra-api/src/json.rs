//! What crosses to the studio's web view: small, display-ready views of the API's results.
//!
//! Lower crates are not shaped by what a screen wants; these types are. Each is built from an
//! engine or store value by a `from` function here, serializes to JSON in camelCase-free
//! `snake_case` (the same names as the CLI's `--json`), and with the `specta` feature describes
//! itself to TypeScript, so the studio's bindings are generated, never copied by hand.
//!
//! Numbers that may exceed 2^53 in Rust (token counts, sizes, milliseconds) are sent as `f64`:
//! no run reaches that size, and JavaScript reads every JSON number as one anyway.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use orchestra_engine::report::{PipelineResult, StepReport};
use orchestra_engine::run::{RunState, WaitingFor};
use orchestra_engine::{RunEvent, Usage};
use orchestra_pipeline::Diagnostic;
use orchestra_store::RunRow;

/// Derives the TypeScript description of a transport type when the `specta` feature is on.
macro_rules! transport {
    ($($item:item)*) => {
        $(
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[cfg_attr(feature = "specta", derive(specta::Type))]
            $item
        )*
    };
}

#[allow(clippy::cast_precision_loss)] // See the module's note on numbers.
fn number(value: u64) -> f64 {
    value as f64
}

/// How much of a finished step's output a live change carries; the run page has all of it.
pub const PREVIEW_CHARS: usize = 20_000;

/// A value for people to read: text as it is, anything else as indented JSON.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

transport! {
    /// One problem in a pipeline file, where it is and (when it is a step's) which step.
    pub struct Problem {
        /// `error` or `warning`.
        pub severity: String,
        /// The diagnostic's code, such as `unknown-key`.
        pub code: String,
        /// What is wrong, as a sentence.
        pub message: String,
        /// What to do about it.
        pub help: Option<String>,
        /// The step it is in, by id.
        pub step: Option<String>,
        /// The line, from 1 (0 when the problem has no place in the text).
        pub line: u32,
        /// The column, from 1.
        pub column: u32,
    }

    /// A pipeline file of the project, as the sidebar lists it.
    pub struct PipelineEntry {
        /// The file, relative to the project's folder.
        pub file: String,
        /// The pipeline's id, when the file could be read.
        pub id: Option<String>,
        /// Its name for people.
        pub name: Option<String>,
        /// How many errors it has.
        pub errors: u32,
        /// How many warnings it has.
        pub warnings: u32,
    }

    /// A pipeline as the editor holds it: its text, the same pipeline as data in the file's own
    /// shape (absent when the text is not a pipeline at all), and every problem.
    pub struct Document {
        /// The file, relative to the project's folder.
        pub file: String,
        /// The YAML text.
        pub text: String,
        /// The pipeline in the shape of its file (`steps`, `layout`, …), when it could be read.
        #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Unknown>))]
        pub pipeline: Option<Value>,
        /// Whether `pipeline` holds everything the text says. When the text has mistakes that
        /// leave values out (a step without an id, a key the format does not know), the graph
        /// must not be edited: writing the data back would drop them.
        pub complete: bool,
        /// Every problem, in the order of the text.
        pub problems: Vec<Problem>,
    }

    /// One parameter of an action, from which the inspector makes a form field.
    pub struct ParamInfo {
        /// Its key in the step.
        pub name: String,
        /// Its kind (`text`, `command`, `bool`, `integer`, `choice`, `model`, …).
        pub kind: String,
        /// Whether a step must give it.
        pub required: bool,
        /// What it means.
        pub summary: String,
        /// The words allowed, for a choice.
        pub choices: Vec<String>,
        /// The smallest value allowed, for a number.
        pub min: Option<f64>,
        /// The largest value allowed, for a number.
        pub max: Option<f64>,
    }

    /// An action a step can do, for the palette and the inspector.
    pub struct ActionInfo {
        /// Its name, as a step's `action:` names it.
        pub name: String,
        /// What it does, in one sentence.
        pub summary: String,
        /// Its parameters, in the order the action declares them.
        pub params: Vec<ParamInfo>,
    }

    /// Tokens and cost.
    pub struct UsageView {
        /// Tokens sent and received.
        pub tokens: f64,
        /// What they cost in US dollars, when every model's price is known.
        pub cost_usd: Option<f64>,
    }

    /// A run in a list.
    pub struct RunSummary {
        /// The run's id.
        pub id: String,
        /// The pipeline's id.
        pub pipeline: String,
        /// The pipeline file.
        pub file: String,
        /// `running`, `waiting`, `succeeded`, `failed`, `cancelled`, `rejected` or `interrupted`.
        pub status: String,
        /// Why it did not succeed.
        pub error: Option<String>,
        /// When it started (RFC 3339).
        pub started_at: String,
        /// When it ended.
        pub finished_at: Option<String>,
    }

    /// A check on a step's output, as the run page shows it.
    pub struct CheckView {
        /// The check, as written.
        pub check: String,
        /// Whether it passed; absent when it could not be decided.
        pub passed: Option<bool>,
        /// What it found.
        pub message: Option<String>,
    }

    /// One step of a run, with everything it consumed and produced.
    pub struct StepView {
        /// Its key, inside the bodies that hold it (`per_topic[0]/notes`).
        pub key: String,
        /// Its id in the pipeline.
        pub id: String,
        /// Its name for people.
        pub name: Option<String>,
        /// Its action.
        pub action: Option<String>,
        /// `pending`, `queued`, `running`, `waiting`, `succeeded`, `failed`, `skipped` or `cancelled`.
        pub status: String,
        /// How many attempts it took.
        pub attempts: u32,
        /// When it started (RFC 3339).
        pub started_at: Option<String>,
        /// How long it ran, in milliseconds.
        pub duration_ms: f64,
        /// Its rendered input: the exact prompt or command it ran with.
        pub input: String,
        /// Its output.
        pub output: String,
        /// What it printed or streamed while it ran.
        pub log: String,
        /// Why it failed.
        pub error: Option<String>,
        /// Why it was skipped.
        pub skipped: Option<String>,
        /// The files it produced, relative to the workspace.
        pub files: Vec<String>,
        /// The model it used.
        pub model: Option<String>,
        /// Its tokens and cost.
        pub usage: Option<UsageView>,
        /// Its checks.
        pub checks: Vec<CheckView>,
        /// The commit it made, in a run on a git branch.
        pub commit: Option<String>,
    }

    /// One issue of the quality-control report.
    pub struct QcIssueView {
        /// `critical`, `major` or `minor`.
        pub severity: String,
        /// The rule or check that found it.
        pub rule: String,
        /// What was found.
        pub message: String,
        /// The step whose output it is in.
        pub step: Option<String>,
        /// The produced file it is in.
        pub file: Option<String>,
        /// The line, from 1.
        pub line: Option<u32>,
    }

    /// The quality-control report of a run.
    pub struct QcView {
        /// 100 for no issue.
        pub score: u32,
        /// No critical or major issue.
        pub production_ready: bool,
        /// How many checks and rules were applied.
        pub checks: u32,
        /// Everything found, most serious first.
        pub issues: Vec<QcIssueView>,
        /// What to do about it.
        pub recommendations: Vec<String>,
    }

    /// A step that waits for a person.
    pub struct WaitingView {
        /// The step's key.
        pub step: String,
        /// `approval` or `reply`.
        pub kind: String,
        /// What it asks.
        pub message: String,
    }

    /// One message of an interactive step's conversation.
    pub struct ChatMessage {
        /// `user`, `assistant` or `tool`.
        pub role: String,
        /// The text.
        pub text: String,
    }

    /// An interactive step's conversation so far.
    pub struct ChatView {
        /// The step's key.
        pub step: String,
        /// Its messages, oldest first.
        pub messages: Vec<ChatMessage>,
    }

    /// A named value: an input or an output of a run.
    pub struct NamedValue {
        /// Its name.
        pub name: String,
        /// Its value, for reading.
        pub text: String,
    }

    /// A file a run produced.
    pub struct FileView {
        /// Its path, relative to the run's workspace.
        pub path: String,
        /// The step that produced it.
        pub step: String,
        /// Its size in bytes.
        pub size: f64,
    }

    /// Everything about one run, for its page.
    pub struct RunPage {
        /// The run in brief.
        pub summary: RunSummary,
        /// How long it ran, in milliseconds.
        pub duration_ms: f64,
        /// The folder it worked in.
        pub workspace: String,
        /// Its inputs.
        pub inputs: Vec<NamedValue>,
        /// Its steps, in the order they were reached.
        pub steps: Vec<StepView>,
        /// What it returned.
        pub outputs: Vec<NamedValue>,
        /// The files it produced.
        pub files: Vec<FileView>,
        /// Its tokens and cost.
        pub usage: UsageView,
        /// Its quality-control report.
        pub qc: QcView,
        /// The steps that wait for a person now.
        pub waiting: Vec<WaitingView>,
        /// The conversations of its interactive steps.
        pub chats: Vec<ChatView>,
        /// The run's git branch, for a pipeline with a repository.
        pub branch: Option<String>,
    }

    /// A model provider in the settings page; its key's value never crosses, only whether it
    /// is set and where it comes from.
    pub struct ProviderView {
        /// Its name, as models write it (`openai` in `openai:gpt-4.1`).
        pub name: String,
        /// Its wire format: `openai` or `anthropic`.
        pub api: String,
        /// Where requests go.
        pub base_url: String,
        /// Whether a key is set (or none is needed).
        pub key_set: bool,
        /// Where the key comes from, or how to set it, as a sentence.
        pub key: String,
    }

    /// A model alias, such as `smart` for `anthropic:claude-sonnet-4-5`.
    pub struct AliasView {
        /// The alias.
        pub name: String,
        /// The model it stands for.
        pub model: String,
    }

    /// The user's settings, as the settings page shows them.
    pub struct SettingsView {
        /// Every provider.
        pub providers: Vec<ProviderView>,
        /// The user's aliases.
        pub aliases: Vec<AliasView>,
        /// The model of an LLM step that names none.
        pub default_model: Option<String>,
        /// The model that drafts, explains and judges.
        pub orchestrator: Option<String>,
        /// The personality of an LLM step that names none.
        pub personality: Option<String>,
        /// The user's global personalities folder.
        pub personalities_folder: String,
        /// Where a key set now is kept, as a sentence.
        pub key_storage: String,
    }

    /// A provider's new base URL.
    pub struct ProviderUrl {
        /// The provider.
        pub name: String,
        /// Its base URL; empty to go back to the built-in one.
        pub base_url: String,
    }

    /// What the settings page saves.
    pub struct SettingsChange {
        /// Base URLs of providers.
        pub base_urls: Vec<ProviderUrl>,
        /// Every alias (the list replaces the user's aliases).
        pub aliases: Vec<AliasView>,
        /// The model of an LLM step that names none.
        pub default_model: Option<String>,
        /// The orchestrator model.
        pub orchestrator: Option<String>,
        /// The default personality.
        pub personality: Option<String>,
    }

    /// A revision of a pipeline file in its git repository.
    pub struct RevisionView {
        /// The commit's full id.
        pub commit: String,
        /// Its short id.
        pub short: String,
        /// The first line of its message.
        pub summary: String,
        /// Who made it.
        pub author: String,
        /// When (RFC 3339).
        pub time: String,
    }

    /// Any JSON value the web view sends or receives as it is: a pipeline in its file's shape,
    /// or a run's inputs.
    #[serde(transparent)]
    pub struct Json(
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Unknown))] pub Value,
    );

    /// What changed in a run, as the studio draws it live. Sent after the change is committed
    /// to the store.
    pub struct Progress {
        /// The run.
        pub run: String,
        /// The event's position in the run's log.
        pub seq: f64,
        /// The step it concerns.
        pub step: Option<String>,
        /// What happened.
        pub change: Change,
    }

    /// What happened, in the terms of the studio's canvas.
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum Change {
        /// The run started (or resumed).
        RunStarted {
            /// The pipeline's id.
            pipeline: String,
            /// The pipeline file.
            file: String,
        },
        /// A step changed state.
        Step {
            /// `queued`, `running`, `waiting`, `succeeded`, `failed`, `skipped` or `cancelled`.
            status: String,
            /// The attempt, for a running step.
            attempt: u32,
            /// Why, for a failed attempt or step.
            error: Option<String>,
            /// What a finished step returned, for reading (cut at [`PREVIEW_CHARS`]).
            output: Option<String>,
        },
        /// A step printed or streamed text.
        Output {
            /// `stdout`, `stderr` or `text` (model tokens).
            stream: String,
            /// The text.
            text: String,
        },
        /// A model step used tokens.
        Usage {
            /// Tokens.
            tokens: f64,
            /// Their cost in US dollars, when known.
            cost_usd: Option<f64>,
        },
        /// A step waits for a person.
        Waiting {
            /// `approval` or `reply`.
            kind: String,
            /// What it asks.
            message: String,
        },
        /// A conversation went on.
        Message {
            /// Who spoke.
            role: String,
            /// What they said.
            text: String,
        },
        /// The run ended or paused.
        RunFinished {
            /// How.
            status: String,
            /// Why, when it did not succeed.
            error: Option<String>,
        },
        /// Anything else (routes, merges, artifacts): worth a refresh of the run page.
        Other {
            /// The event's kind.
            kind: String,
        },
    }
}

impl Problem {
    /// The problem a diagnostic describes.
    pub fn from(diagnostic: &Diagnostic) -> Self {
        let (line, column) = diagnostic.span.map_or((0, 0), |span| {
            (
                u32::try_from(span.line).unwrap_or(u32::MAX),
                u32::try_from(span.column).unwrap_or(u32::MAX),
            )
        });
        Self {
            severity: diagnostic.severity.as_str().to_owned(),
            code: diagnostic.code.as_str().to_owned(),
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            step: diagnostic.step.clone(),
            line,
            column,
        }
    }
}

impl RevisionView {
    /// A revision from the repository's history.
    pub fn from(revision: &crate::Revision) -> Self {
        Self {
            commit: revision.commit.clone(),
            short: revision.short.clone(),
            summary: revision.summary.clone(),
            author: revision.author.clone(),
            time: revision.time.to_string(),
        }
    }
}

impl ActionInfo {
    /// The palette's entry for an action.
    pub fn from(spec: &orchestra_pipeline::ActionSpec) -> Self {
        use orchestra_pipeline::ParamKind;
        let params = spec
            .params
            .iter()
            .map(|param| {
                let kind = serde_json::to_value(param.kind)
                    .ok()
                    .and_then(|value| value.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "text".to_owned());
                #[allow(clippy::cast_precision_loss)] // Bounds are small integers.
                let (min, max, choices) = match param.kind {
                    ParamKind::Integer { min, max } => (Some(min as f64), Some(max as f64), vec![]),
                    ParamKind::Number { min, max } => (Some(min), Some(max), vec![]),
                    ParamKind::Choice { choices } => (
                        None,
                        None,
                        choices.iter().map(|&word| word.to_owned()).collect(),
                    ),
                    _ => (None, None, vec![]),
                };
                ParamInfo {
                    name: param.name.to_owned(),
                    kind,
                    required: param.required,
                    summary: param.summary.to_owned(),
                    choices,
                    min,
                    max,
                }
            })
            .collect();
        Self {
            name: spec.name.to_owned(),
            summary: spec.summary.to_owned(),
            params,
        }
    }
}

impl UsageView {
    /// Tokens and cost of a usage record.
    pub fn from(usage: &Usage) -> Self {
        Self {
            tokens: number(usage.total_tokens),
            // No model call costs nothing; the cost is unknown only when a model's price is.
            cost_usd: usage.cost_usd.or((usage.total_tokens == 0).then_some(0.0)),
        }
    }
}

impl RunSummary {
    /// A run's row, in brief.
    pub fn from(row: &RunRow) -> Self {
        Self {
            id: row.id.clone(),
            pipeline: row.pipeline.clone(),
            file: row.file.clone(),
            status: row.status.as_str().to_owned(),
            error: row.error.clone(),
            started_at: row.started_at.clone(),
            finished_at: row.finished_at.clone(),
        }
    }
}

impl StepView {
    fn from(step: &StepReport) -> Self {
        Self {
            key: step.key.clone(),
            id: step.id.clone(),
            name: step.name.clone(),
            action: step.action.clone(),
            status: step.status.as_str().to_owned(),
            attempts: step.attempts,
            started_at: step.started_at.map(|at| at.to_string()),
            duration_ms: number(step.duration_ms),
            input: step.inputs.as_ref().map(display_value).unwrap_or_default(),
            output: display_value(&step.output),
            log: step.log.clone(),
            error: step.error.clone(),
            skipped: step.skipped.map(|reason| reason.describe().to_owned()),
            files: step.files.clone(),
            model: step.model.as_ref().map(|prepared| prepared.model.clone()),
            usage: step.usage.as_ref().map(UsageView::from),
            checks: step
                .checks
                .iter()
                .map(|check| CheckView {
                    check: check.check.clone(),
                    passed: check.passed,
                    message: check.message.clone(),
                })
                .collect(),
            commit: step.commit.clone(),
        }
    }
}

impl RunPage {
    /// The page of a run: its row, its result (from its log) and its live state.
    pub fn from(
        row: &RunRow,
        result: &PipelineResult,
        state: &RunState,
        branch: Option<String>,
    ) -> Self {
        let named = |map: &serde_json::Map<String, Value>| {
            map.iter()
                .map(|(name, value)| NamedValue {
                    name: name.clone(),
                    text: display_value(value),
                })
                .collect()
        };
        let qc = result.qc();
        let mut waiting: Vec<WaitingView> = state
            .waiting
            .iter()
            .map(|(step, waiting)| WaitingView {
                step: step.to_string(),
                kind: match waiting.kind {
                    WaitingFor::Approval => "approval",
                    WaitingFor::Reply => "reply",
                }
                .to_owned(),
                message: waiting.message.clone(),
            })
            .collect();
        waiting.sort_by(|a, b| a.step.cmp(&b.step));
        let mut chats: Vec<ChatView> = state
            .conversations
            .iter()
            .map(|(step, conversation)| ChatView {
                step: step.to_string(),
                messages: conversation.messages.iter().map(chat_message).collect(),
            })
            .collect();
        chats.sort_by(|a, b| a.step.cmp(&b.step));
        Self {
            summary: RunSummary::from(row),
            duration_ms: number(result.duration_ms),
            workspace: result.workspace.clone(),
            inputs: named(&result.inputs),
            steps: result.steps.iter().map(StepView::from).collect(),
            outputs: named(&result.outputs),
            files: result
                .artifacts
                .iter()
                .map(|artifact| FileView {
                    path: artifact.path.clone(),
                    step: artifact.step.clone(),
                    size: number(artifact.size),
                })
                .collect(),
            usage: UsageView::from(&result.usage),
            qc: QcView {
                score: qc.score,
                production_ready: qc.production_ready,
                checks: u32::try_from(qc.checks).unwrap_or(u32::MAX),
                issues: qc
                    .issues
                    .iter()
                    .map(|issue| QcIssueView {
                        severity: issue.severity.as_str().to_owned(),
                        rule: issue.rule.clone(),
                        message: issue.message.clone(),
                        step: issue.step.clone(),
                        file: issue.file.clone(),
                        line: issue.line.and_then(|line| u32::try_from(line).ok()),
                    })
                    .collect(),
                recommendations: qc.recommendations.clone(),
            },
            waiting,
            chats,
            branch,
        }
    }
}

fn chat_message(message: &orchestra_engine::models::Message) -> ChatMessage {
    use orchestra_engine::models::Message;
    let (role, text) = match message {
        Message::User { text } => ("user", text.clone()),
        Message::Assistant { text, .. } => ("assistant", text.clone()),
        Message::Tool { name, content, .. } => ("tool", format!("{name}: {content}")),
    };
    ChatMessage {
        role: role.to_owned(),
        text,
    }
}

impl Progress {
    /// What a committed event changes on the studio's canvas.
    pub fn from(run: &str, seq: u64, event: &RunEvent) -> Self {
        let step_change = |status: &str, attempt: u32, error: Option<String>| Change::Step {
            status: status.to_owned(),
            attempt,
            error,
            output: None,
        };
        let change = match event {
            RunEvent::RunStarted { pipeline, file, .. } => Change::RunStarted {
                pipeline: pipeline.clone(),
                file: file.clone(),
            },
            RunEvent::StepQueued { .. } => step_change("queued", 0, None),
            RunEvent::StepStarted { attempt, .. } => step_change("running", *attempt, None),
            RunEvent::AttemptFailed { attempt, error, .. } => {
                step_change("running", *attempt, Some(error.clone()))
            }
            RunEvent::StepFinished { result, .. } => Change::Step {
                status: result.status.as_str().to_owned(),
                attempt: result.attempts,
                error: result.error.clone(),
                output: Some(display_value(&result.output))
                    .filter(|text| !text.is_empty())
                    .map(|text| text.chars().take(PREVIEW_CHARS).collect()),
            },
            RunEvent::OutputChunk { stream, text, .. } => Change::Output {
                stream: match stream {
                    orchestra_engine::event::Stream::Stdout => "stdout",
                    orchestra_engine::event::Stream::Stderr => "stderr",
                    orchestra_engine::event::Stream::Text => "text",
                }
                .to_owned(),
                text: text.clone(),
            },
            RunEvent::Usage { usage, .. } => Change::Usage {
                tokens: number(usage.total_tokens),
                cost_usd: usage.cost_usd,
            },
            RunEvent::WaitingForApproval { message, .. } => Change::Waiting {
                kind: "approval".to_owned(),
                message: message.clone(),
            },
            RunEvent::WaitingForMessage { .. } => Change::Waiting {
                kind: "reply".to_owned(),
                message: String::new(),
            },
            RunEvent::ConversationMessage { message, .. } => {
                let ChatMessage { role, text } = chat_message(message);
                Change::Message { role, text }
            }
            RunEvent::RunFinished { status, error, .. } => Change::RunFinished {
                status: status.as_str().to_owned(),
                error: error.clone(),
            },
            other => Change::Other {
                kind: other.kind().to_owned(),
            },
        };
        Self {
            run: run.to_owned(),
            seq: number(seq),
            step: event.step().map(ToString::to_string),
            change,
        }
    }
}
