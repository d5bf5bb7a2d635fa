//! The conversation of an LLM step, shared by `generate` and `agent`.
//!
//! A step's model is chosen and its system prompt composed once per attempt (recorded as a
//! [`RunEvent::ModelPrepared`]); then turns go back and forth: the model's text streams into the
//! run's log, each tool it calls runs and its result goes back to it, and a reply that must be
//! JSON is checked against the step's `output_schema` and asked for again once, with the
//! problem, when it does not fit.
//!
//! A conversation with tools or with a person is kept in the run's log as it goes: the task, each
//! reply, what each tool returned, and each of the person's turns. So one that pauses (a tool
//! call that waits for approval, an interactive step that waits for its person) or whose process
//! died goes on where it was, and a tool that ran does not run again. What an attempt asks only
//! once (a correction of a reply that did not fit, the notice that the tool turns are spent) is
//! not kept: it is asked again the same way.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::tools::Toolbox;
use super::{ActionOutput, ApprovalState, Call, Done, Failure};
use crate::event::{RunEvent, Stream};
use crate::models::{
    Chat, Message, ModelError, ModelSettings, Prepared, ToolCall, Turn, correction, structured,
};
use crate::result::Usage;

/// Streamed text is sent to the run's log at most this often, so a fast model costs few writes.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How many turns an `agent` step takes at most when neither it nor its agent says.
pub(super) const DEFAULT_MAX_TURNS: u32 = 10;

/// How a step's conversation goes, read once from its parameters.
struct Options<'p> {
    /// The task.
    prompt: &'p str,
    /// The schema the answer must fit.
    schema: Option<&'p Value>,
    /// The most turns in which the model may call tools before it must answer.
    max_turns: u32,
    /// The most tokens of a reply.
    max_tokens: Option<u32>,
    /// The sampling temperature.
    temperature: Option<f64>,
    /// A person takes turns (`mode: interactive`).
    interactive: bool,
    /// Tools that wait for a person's approval before each call.
    approve: Vec<&'p str>,
    /// The conversation is kept in the run's log, so that it survives a pause or a restart.
    kept: bool,
}

impl<'p> Options<'p> {
    fn of(call: &'p Call<'p>, toolbox: &Toolbox) -> Result<Self, Failure> {
        let number = |name: &str| {
            call.params
                .get(name)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        let interactive = call.text("mode") == Some("interactive");
        Ok(Self {
            prompt: call.required("prompt")?,
            schema: call.params.get("output_schema"),
            max_turns: number("max_turns").unwrap_or(DEFAULT_MAX_TURNS),
            max_tokens: number("max_tokens"),
            temperature: call.params.get("temperature").and_then(Value::as_f64),
            interactive,
            approve: call
                .params
                .get("approve_tools")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
            kept: interactive || !toolbox.specs().is_empty(),
        })
    }
}

/// How a conversation ended, or stopped for now.
enum Ending {
    /// The model's answer: text, or JSON that fits the schema.
    Answer(Value),
    /// The person rejected an interactive step's work.
    Rejected {
        /// The model's last reply.
        reply: String,
        /// Why, in their words.
        comment: Option<String>,
    },
    /// It waits for a person.
    Parked,
}

/// Holds an LLM step's conversation until it ends with an output, a failure, or a wait for a
/// person.
pub(super) async fn converse(call: Call<'_>, toolbox: Toolbox) -> Result<Done, Failure> {
    let settings = ModelSettings::for_step(
        call.params,
        &call.env.plan().models,
        call.env.pipeline_file(),
    );
    let prepared = call
        .env
        .models()
        .prepare(&settings)
        .map_err(model_failure)?;
    call.env.emit(RunEvent::ModelPrepared {
        step: call.step.clone(),
        prepared: prepared.clone(),
    })?;
    let options = Options::of(&call, &toolbox)?;
    let mut usage = Usage::default();
    let outcome = call
        .bounded(turns(&call, &options, &prepared, &toolbox, &mut usage))
        .await
        .and_then(|outcome| outcome);
    // Tokens spent count even when the step fails; a cancelled run records nothing more.
    if usage.total_tokens > 0 && !outcome.as_ref().is_err_and(|failure| failure.cancelled) {
        call.env.emit(RunEvent::Usage {
            step: call.step.clone(),
            usage,
        })?;
    }
    let (output, rejection) = match outcome? {
        Ending::Parked => return Ok(Done::Parked),
        Ending::Answer(output) => (output, None),
        Ending::Rejected { reply, comment } => (
            Value::String(reply),
            Some(comment.map_or_else(
                || "rejected".to_owned(),
                |comment| format!("rejected: {comment}"),
            )),
        ),
    };
    Ok(Done::Output(ActionOutput {
        output,
        usage: Some(usage),
        rejection,
        ..ActionOutput::default()
    }))
}

/// The turns of the conversation, until the model gives an answer that fits (and, in an
/// interactive step, the person ends it) or a person must act.
async fn turns(
    call: &Call<'_>,
    options: &Options<'_>,
    prepared: &Prepared,
    toolbox: &Toolbox,
    usage: &mut Usage,
) -> Result<Ending, Failure> {
    let kept = if options.kept {
        call.env.conversation(call.step)
    } else {
        crate::run::Conversation::default()
    };
    let mut messages = kept.messages;
    if messages.is_empty() {
        let task = Message::User {
            text: options.prompt.to_owned(),
        };
        keep(call, options, &task)?;
        messages.push(task);
    }
    // A reply that did not fit the schema, and why: asked about once.
    let mut unfit: Option<(String, String)> = None;
    // The person ended an interactive conversation whose last reply does not fit the schema: the
    // model gives its final answer.
    let mut closing = false;
    loop {
        // Calls the model made that have no result yet: just made, or made before a pause or a
        // restart.
        let pending = pending_calls(&messages);
        if !pending.is_empty() {
            for tool_call in pending {
                // A call that started and has no result was cut short (the process died while
                // it ran): its effect is unknown, so it is not run again; the model decides.
                if kept.started.contains(&tool_call.id) {
                    messages.push(cut_short(call, tool_call)?);
                    continue;
                }
                match use_tool(call, options, toolbox, tool_call).await? {
                    Some(result) => messages.push(result),
                    None => return Ok(Ending::Parked),
                }
            }
            continue;
        }
        if options.interactive
            && !closing
            && let Some(Message::Assistant { text, .. }) = messages.last()
        {
            match call.env.approval(call.step) {
                ApprovalState::Answered {
                    approved: false,
                    comment,
                    ..
                } => {
                    return Ok(Ending::Rejected {
                        reply: text.clone(),
                        comment,
                    });
                }
                ApprovalState::Answered { approved: true, .. } => match options.schema {
                    None => return Ok(Ending::Answer(Value::String(text.clone()))),
                    Some(schema) => match structured(text, schema) {
                        Ok(value) => return Ok(Ending::Answer(value)),
                        Err(_) => closing = true,
                    },
                },
                ApprovalState::NotAsked | ApprovalState::Asked { .. } => {
                    call.env.emit(RunEvent::WaitingForMessage {
                        step: call.step.clone(),
                    })?;
                    return Ok(Ending::Parked);
                }
            }
        }
        let tool_turns = tool_turns_since_the_person(&messages);
        let tools_left = !closing && tool_turns < options.max_turns;
        let mut request = messages.clone();
        if closing {
            request.push(Message::User {
                text: "The conversation is over. Give your final answer now.".to_owned(),
            });
        } else if !tools_left {
            request.push(Message::User {
                text: format!(
                    "You have used all {} of your tool turns. Answer now with what you have.",
                    options.max_turns
                ),
            });
        }
        if let (Some((reply, problem)), Some(schema)) = (&unfit, options.schema) {
            request.push(Message::Assistant {
                text: reply.clone(),
                tool_calls: Vec::new(),
            });
            request.push(Message::User {
                text: correction(problem, schema),
            });
        }
        let tools = if tools_left { toolbox.specs() } else { &[] };
        // A person converses in words: the schema binds only the final answer.
        let schema = if options.interactive && !closing {
            None
        } else {
            options.schema
        };
        let Turn {
            text, tool_calls, ..
        } = ask(call, options, prepared, &request, tools, schema, usage).await?;
        if !tool_calls.is_empty() {
            if !tools_left {
                return Err(Failure::fatal(format!(
                    "the model was still calling tools after {} turns (`max_turns`) and never answered",
                    options.max_turns
                )));
            }
            let reply = Message::Assistant { text, tool_calls };
            keep(call, options, &reply)?;
            messages.push(reply);
            unfit = None;
            continue;
        }
        if options.interactive && !closing {
            // The person reads the reply and answers it; the next pass waits for them.
            let reply = Message::Assistant {
                text,
                tool_calls: Vec::new(),
            };
            keep(call, options, &reply)?;
            messages.push(reply);
            continue;
        }
        let Some(schema) = options.schema else {
            return Ok(Ending::Answer(Value::String(text)));
        };
        match structured(&text, schema) {
            Ok(value) => return Ok(Ending::Answer(value)),
            Err(problem) if unfit.is_none() => unfit = Some((text, problem)),
            Err(problem) => {
                return Err(Failure::retryable(format!(
                    "the model's reply does not fit `output_schema`, even when asked again: {problem}"
                )));
            }
        }
    }
}

/// One turn of the model, streamed into the run's log; its tokens are added to `usage`.
async fn ask(
    call: &Call<'_>,
    options: &Options<'_>,
    prepared: &Prepared,
    messages: &[Message],
    tools: &[crate::models::ToolSpec],
    output_schema: Option<&Value>,
    usage: &mut Usage,
) -> Result<Turn, Failure> {
    let streamer = Streamer::new(call);
    let chat = Chat {
        prepared,
        messages,
        tools,
        temperature: options.temperature,
        max_tokens: options.max_tokens,
        output_schema,
    };
    let sink = |text: &str| streamer.push(text);
    let turn = call.env.models().chat(chat, &sink).await;
    streamer.finish()?;
    let turn = turn.map_err(model_failure)?;
    usage.add(&prepared.priced(turn.usage));
    if turn.truncated {
        return Err(Failure::fatal(format!(
            "the model's reply stopped at its token limit ({}), unfinished; raise `max_tokens`",
            options.max_tokens.map_or_else(
                || "the provider's default".to_owned(),
                |n| format!("max_tokens: {n}")
            )
        )));
    }
    Ok(turn)
}

/// Runs one tool call, or asks a person first when the step says so. Returns what the model
/// reads back, or `None` when the call waits for a person's approval.
async fn use_tool(
    call: &Call<'_>,
    options: &Options<'_>,
    toolbox: &Toolbox,
    tool_call: ToolCall,
) -> Result<Option<Message>, Failure> {
    let refusal = if options.approve.contains(&tool_call.name.as_str()) {
        match call.env.approval(call.step) {
            ApprovalState::Answered { approved: true, .. } => None,
            ApprovalState::Answered {
                approved: false,
                comment,
                by,
            } => Some(format!(
                "{} refused this call{}",
                by.as_deref().unwrap_or("the person"),
                comment.map(|c| format!(": {c}")).unwrap_or_default()
            )),
            ApprovalState::NotAsked | ApprovalState::Asked { .. } => {
                call.env.emit(RunEvent::WaitingForApproval {
                    step: call.step.clone(),
                    message: format!(
                        "the model wants to call `{}` with {}",
                        tool_call.name, tool_call.arguments
                    ),
                    deadline: None,
                })?;
                return Ok(None);
            }
        }
    } else {
        None
    };
    call.env.emit(RunEvent::ToolCalled {
        step: call.step.clone(),
        call: tool_call.clone(),
    })?;
    let (content, is_error) = match refusal {
        Some(refusal) => (refusal, true),
        None => match toolbox.run(call, &tool_call).await {
            Ok(content) => (content, false),
            Err(failure) if failure.cancelled => return Err(failure),
            Err(failure) => (failure.message, true),
        },
    };
    returned(call, tool_call, content, is_error).map(Some)
}

/// The result of a tool call that a crash cut short, told to the model.
fn cut_short(call: &Call<'_>, tool_call: ToolCall) -> Result<Message, Failure> {
    let content = "the run stopped while this call ran, so whether it took effect is unknown; check before calling it again".to_owned();
    returned(call, tool_call, content, true)
}

/// Records what a tool call returned (the model reads it, and the run's log keeps it) and gives
/// it as the conversation's message.
fn returned(
    call: &Call<'_>,
    tool_call: ToolCall,
    content: String,
    is_error: bool,
) -> Result<Message, Failure> {
    call.env.emit(RunEvent::ToolReturned {
        step: call.step.clone(),
        call_id: tool_call.id.clone(),
        name: tool_call.name.clone(),
        content: content.clone(),
        is_error,
    })?;
    Ok(Message::Tool {
        call_id: tool_call.id,
        name: tool_call.name,
        content,
        is_error,
    })
}

/// Keeps a message of the conversation in the run's log, when the conversation is kept.
fn keep(call: &Call<'_>, options: &Options<'_>, message: &Message) -> Result<(), Failure> {
    if !options.kept {
        return Ok(());
    }
    call.env.emit(RunEvent::ConversationMessage {
        step: call.step.clone(),
        message: message.clone(),
        by: None,
    })
}

/// The tool calls of the model's last reply that have no result yet, in the order it made them.
fn pending_calls(messages: &[Message]) -> Vec<ToolCall> {
    let Some(at) = messages
        .iter()
        .rposition(|message| matches!(message, Message::Assistant { .. }))
    else {
        return Vec::new();
    };
    let Message::Assistant { tool_calls, .. } = &messages[at] else {
        return Vec::new();
    };
    let answered: Vec<&str> = messages[at + 1..]
        .iter()
        .filter_map(|message| match message {
            Message::Tool { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    tool_calls
        .iter()
        .filter(|tool_call| !answered.contains(&tool_call.id.as_str()))
        .cloned()
        .collect()
}

/// How many turns the model has called tools in since the task or the person's last message.
fn tool_turns_since_the_person(messages: &[Message]) -> u32 {
    let from = messages
        .iter()
        .rposition(|message| matches!(message, Message::User { .. }))
        .map_or(0, |at| at + 1);
    let turns = messages[from..]
        .iter()
        .filter(|message| {
            matches!(message, Message::Assistant { tool_calls, .. } if !tool_calls.is_empty())
        })
        .count();
    u32::try_from(turns).unwrap_or(u32::MAX)
}

fn model_failure(error: ModelError) -> Failure {
    match error {
        ModelError::Retryable {
            message,
            retry_after,
        } => Failure::retryable(message).after(retry_after),
        ModelError::Fatal(message) => Failure::fatal(message),
    }
}

/// Sends a reply's text to the run's log as it streams, a batch at a time.
struct Streamer<'c> {
    call: &'c Call<'c>,
    pending: Mutex<(String, Instant)>,
    failed: Mutex<Option<Failure>>,
}

impl<'c> Streamer<'c> {
    fn new(call: &'c Call<'c>) -> Self {
        Self {
            call,
            pending: Mutex::new((String::new(), Instant::now())),
            failed: Mutex::new(None),
        }
    }

    fn push(&self, text: &str) {
        let ready = {
            let Ok(mut pending) = self.pending.lock() else {
                return;
            };
            pending.0.push_str(text);
            if pending.1.elapsed() < FLUSH_EVERY {
                return;
            }
            pending.1 = Instant::now();
            std::mem::take(&mut pending.0)
        };
        self.send(ready);
    }

    fn send(&self, text: String) {
        if text.is_empty() {
            return;
        }
        let sent = self.call.env.emit(RunEvent::OutputChunk {
            step: self.call.step.clone(),
            stream: Stream::Text,
            text,
        });
        if let (Err(failure), Ok(mut failed)) = (sent, self.failed.lock()) {
            failed.get_or_insert(failure);
        }
    }

    /// Sends what is left, and reports a failure to record any of it.
    fn finish(&self) -> Result<(), Failure> {
        let rest = self
            .pending
            .lock()
            .map(|mut pending| std::mem::take(&mut pending.0))
            .unwrap_or_default();
        self.send(rest);
        match self.failed.lock().map(|mut failed| failed.take()) {
            Ok(Some(failure)) => Err(failure),
            _ => Ok(()),
        }
    }
}
