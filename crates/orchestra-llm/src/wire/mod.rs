//! The two wire formats Orchestra speaks: OpenAI Chat Completions (which OpenAI, Ollama, LM
//! Studio, vLLM, llama.cpp and many others serve) and Anthropic Messages.
//!
//! Each format builds a request body from a turn of conversation, reads a whole reply, and reads
//! a streamed reply one server-sent event at a time. Nothing here does IO: the client sends the
//! body and feeds the events in, so recordings replay through exactly the same code.

pub mod anthropic;
pub mod openai;

use orchestra_engine::Usage;
use orchestra_engine::models::{Chat, ToolCall, Turn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// OpenAI Chat Completions: `POST {base}/chat/completions`.
    OpenAi,
    /// Anthropic Messages: `POST {base}/v1/messages`.
    Anthropic,
}

impl Api {
    /// The format's name, as settings write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// The request body of a turn, for model `model` (the provider's own id).
    pub fn body(self, chat: &Chat<'_>, model: &str, options: &BodyOptions) -> Value {
        match self {
            Self::OpenAi => openai::body(chat, model, options),
            Self::Anthropic => anthropic::body(chat, model, options),
        }
    }

    /// The path of the endpoint, after the provider's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::OpenAi => "/chat/completions",
            Self::Anthropic => "/v1/messages",
        }
    }

    /// Reads a whole (not streamed) reply.
    pub fn parse(self, body: &[u8]) -> Result<Turn, String> {
        match self {
            Self::OpenAi => openai::parse(body),
            Self::Anthropic => anthropic::parse(body),
        }
    }

    /// A reader of a streamed reply.
    pub fn stream(self) -> Box<dyn StreamReader> {
        match self {
            Self::OpenAi => Box::<openai::Stream>::default(),
            Self::Anthropic => Box::<anthropic::Stream>::default(),
        }
    }

    /// The message in an error reply's body, in either format's shape.
    pub fn error_message(body: &[u8]) -> Option<String> {
        let value: Value = serde_json::from_slice(body).ok()?;
        value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// How a body is built beyond the turn itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct BodyOptions {
    /// Whether to ask for a streamed reply.
    pub stream: bool,
    /// Whether the model takes a temperature (some reasoning models refuse one).
    pub temperature: bool,
    /// Whether the model wants `max_completion_tokens` rather than `max_tokens` (OpenAI's own
    /// newer models).
    pub max_completion_tokens: bool,
}

/// Where a streamed reply stands after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// More events follow.
    More,
    /// The reply is complete.
    Done,
}

/// Reads a streamed reply event by event.
pub trait StreamReader: Send {
    /// Reads one server-sent event (its `event:` name, empty when none, and its `data:`), passing
    /// text to `text` as it comes.
    fn event(&mut self, name: &str, data: &str, text: &mut dyn FnMut(&str))
    -> Result<Flow, String>;

    /// The whole turn, once the stream is complete.
    fn finish(self: Box<Self>) -> Result<Turn, String>;
}

/// A tool call whose arguments arrive in pieces.
#[derive(Clone, Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl PartialCall {
    /// The call. Arguments that are not JSON are kept as text, so that the model is told its
    /// call was malformed (the tool refuses anything but an object) rather than the turn failing.
    fn finish(self) -> ToolCall {
        let arguments = if self.arguments.trim().is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(&self.arguments).unwrap_or(Value::String(self.arguments))
        };
        ToolCall {
            id: self.id,
            name: self.name,
            arguments,
        }
    }
}

/// A usage block's counts, from whichever names the format uses.
fn usage(prompt: Option<u64>, completion: Option<u64>) -> Usage {
    let prompt_tokens = prompt.unwrap_or(0);
    let completion_tokens = completion.unwrap_or(0);
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
        cost_usd: None,
    }
}

/// The instruction that asks a model without a native JSON mode for JSON that fits a schema.
fn json_instruction(schema: &Value) -> String {
    format!(
        "Reply with only a JSON value, with no other text and no code fence, that satisfies this JSON Schema:\n{schema}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_both_formats() {
        assert_eq!(
            Api::error_message(br#"{"error":{"message":"Rate limit reached","type":"requests"}}"#)
                .as_deref(),
            Some("Rate limit reached"),
            "OpenAI puts the message under error.message"
        );
        assert_eq!(
            Api::error_message(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )
            .as_deref(),
            Some("Overloaded"),
            "Anthropic puts it there too, inside a typed envelope"
        );
        assert_eq!(
            Api::error_message(b"<html>502</html>"),
            None,
            "a proxy's HTML page has no message to show"
        );
    }
}
