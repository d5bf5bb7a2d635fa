//! The conversation of an LLM step, shared by `generate` and `agent`.
//!
//! A step's model is chosen and its system prompt composed once per attempt (recorded as a
//! [`RunEvent::ModelPrepared`]); then turns go back and forth: the model's text streams into the
//! run's log, each tool it calls runs and its result goes back to it, and a reply that must be
//! JSON is checked against the step's `output_schema` and asked for again once, with the
//! problem, when it does not fit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::tools::Toolbox;
use super::{ActionOutput, Call, Done, Failure};
use crate::event::{RunEvent, Stream};
use crate::models::{
    Chat, Message, ModelError, ModelSettings, Prepared, Turn, correction, structured,
};
use crate::result::Usage;

/// Streamed text is sent to the run's log at most this often, so a fast model costs few writes.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How many turns an `agent` step takes at most when neither it nor its agent says.
pub(super) const DEFAULT_MAX_TURNS: u32 = 10;

/// Holds an LLM step's conversation until it ends with an output or a failure.
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
    let mut usage = Usage::default();
    let outcome = call
        .bounded(turns(&call, &prepared, &toolbox, &mut usage))
        .await
        .and_then(|outcome| outcome);
    // Tokens spent count even when the step fails; a cancelled run records nothing more.
    if usage.total_tokens > 0 && !outcome.as_ref().is_err_and(|failure| failure.cancelled) {
        call.env.emit(RunEvent::Usage {
            step: call.step.clone(),
            usage,
        })?;
    }
    let output = outcome?;
    Ok(Done::Output(ActionOutput {
        output,
        usage: Some(usage),
        ..ActionOutput::default()
    }))
}

/// The turns of the conversation, until the model gives an answer that fits.
async fn turns(
    call: &Call<'_>,
    prepared: &Prepared,
    toolbox: &Toolbox,
    usage: &mut Usage,
) -> Result<Value, Failure> {
    let prompt = call.required("prompt")?;
    let schema = call.params.get("output_schema");
    let max_turns = call
        .params
        .get("max_turns")
        .and_then(Value::as_u64)
        .and_then(|turns| u32::try_from(turns).ok())
        .unwrap_or(DEFAULT_MAX_TURNS);
    let max_tokens = call
        .params
        .get("max_tokens")
        .and_then(Value::as_u64)
        .and_then(|tokens| u32::try_from(tokens).ok());
    let mut messages = vec![Message::User {
        text: prompt.to_owned(),
    }];
    let mut asked_again = false;
    let mut tool_turns = 0;
    loop {
        let streamer = Streamer::new(call);
        // Once its tool turns are spent, the model gets one more turn, without tools, to answer.
        let tools_left = tool_turns < max_turns;
        let chat = Chat {
            prepared,
            messages: &messages,
            tools: if tools_left { toolbox.specs() } else { &[] },
            temperature: call.params.get("temperature").and_then(Value::as_f64),
            max_tokens,
            output_schema: schema,
        };
        let sink = |text: &str| streamer.push(text);
        let turn = call.env.models().chat(chat, &sink).await;
        streamer.finish()?;
        let Turn {
            text,
            tool_calls,
            usage: turn_usage,
            truncated,
        } = turn.map_err(model_failure)?;
        usage.add(&prepared.priced(turn_usage));
        if truncated {
            return Err(Failure::fatal(format!(
                "the model's reply stopped at its token limit ({}), unfinished; raise `max_tokens`",
                max_tokens.map_or_else(
                    || "the provider's default".to_owned(),
                    |n| format!("max_tokens: {n}")
                )
            )));
        }
        if !tool_calls.is_empty() && !tools_left {
            return Err(Failure::fatal(format!(
                "the model was still calling tools after {max_turns} turns (`max_turns`) and never answered"
            )));
        }
        if !tool_calls.is_empty() {
            tool_turns += 1;
            messages.push(Message::Assistant {
                text,
                tool_calls: tool_calls.clone(),
            });
            for tool_call in tool_calls {
                call.env.emit(RunEvent::ToolCalled {
                    step: call.step.clone(),
                    call: tool_call.clone(),
                })?;
                let (content, is_error) = match toolbox.run(call, &tool_call).await {
                    Ok(content) => (content, false),
                    Err(failure) if failure.cancelled => return Err(failure),
                    Err(failure) => (failure.message, true),
                };
                call.env.emit(RunEvent::ToolReturned {
                    step: call.step.clone(),
                    call_id: tool_call.id.clone(),
                    name: tool_call.name.clone(),
                    content: content.clone(),
                    is_error,
                })?;
                messages.push(Message::Tool {
                    call_id: tool_call.id,
                    name: tool_call.name,
                    content,
                    is_error,
                });
            }
            if tool_turns >= max_turns {
                messages.push(Message::User {
                    text: format!(
                        "You have used all {max_turns} of your tool turns. Answer now with what you have."
                    ),
                });
            }
            continue;
        }
        let Some(schema) = schema else {
            return Ok(Value::String(text));
        };
        match structured(&text, schema) {
            Ok(value) => return Ok(value),
            Err(problem) if !asked_again => {
                asked_again = true;
                messages.push(Message::Assistant {
                    text,
                    tool_calls: Vec::new(),
                });
                messages.push(Message::User {
                    text: correction(&problem, schema),
                });
            }
            Err(problem) => {
                return Err(Failure::retryable(format!(
                    "the model's reply does not fit `output_schema`, even when asked again: {problem}"
                )));
            }
        }
    }
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
