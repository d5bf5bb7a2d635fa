//! What the two wire formats have in common: the checked request, the answer, the events of a
//! stream, and the deterministic token counts.

use serde_json::Value;

use crate::http::Request;
use crate::script::Shared;
use crate::{anthropic, openai};

/// The provider whose wire format a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    /// OpenAI Chat Completions, `POST /v1/chat/completions`.
    OpenAi,
    /// Anthropic Messages, `POST /v1/messages`.
    Anthropic,
}

/// A request that passed the provider's checks: what the answer needs from it.
#[derive(Debug)]
pub(crate) struct Call {
    /// The `model` the request named, echoed in the answer.
    pub(crate) model: String,
    /// Whether the request asked for a stream (`"stream": true`).
    pub(crate) stream: bool,
    /// Whether an OpenAI request asked for a usage chunk at the end of the stream.
    pub(crate) include_usage: bool,
    /// The deterministic count of prompt tokens.
    pub(crate) prompt_tokens: u64,
}

/// What the model says.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer<'a> {
    /// A text answer.
    Text(&'a str),
    /// Tool calls: names and argument objects.
    ToolCalls(&'a [(String, Value)]),
}

impl Answer<'_> {
    /// The deterministic count of completion tokens: the words of the text, or of the arguments
    /// written as JSON, at least one.
    pub(crate) fn completion_tokens(self) -> u64 {
        let words = match self {
            Answer::Text(text) => word_count(text),
            Answer::ToolCalls(calls) => calls
                .iter()
                .map(|(_, arguments)| word_count(&arguments.to_string()))
                .sum(),
        };
        words.max(1)
    }
}

/// One piece of an event stream, written as it goes on the wire.
#[derive(Debug)]
pub(crate) struct Frame {
    /// The bytes of the event, its blank line included.
    pub(crate) text: String,
    /// Whether the frame carries a piece of the answer; a slow reply waits before each of these.
    pub(crate) piece: bool,
}

impl Frame {
    /// A frame that opens, closes or frames the answer.
    pub(crate) fn framing(text: String) -> Frame {
        Frame { text, piece: false }
    }

    /// A frame that carries a piece of the answer.
    pub(crate) fn piece(text: String) -> Frame {
        Frame { text, piece: true }
    }
}

/// A refused request: the status and the message for the provider's error body.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The message.
    pub(crate) message: String,
}

impl Refusal {
    /// A refusal with this status and message.
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

impl Provider {
    /// The provider a request's method and path go to, if any.
    pub(crate) fn route(method: &str, path: &str) -> Option<Provider> {
        match (method, path) {
            ("POST", "/v1/chat/completions") => Some(Provider::OpenAi),
            ("POST", "/v1/messages") => Some(Provider::Anthropic),
            _ => None,
        }
    }

    /// Checks a request as the real service does.
    pub(crate) fn check(self, request: &Request) -> Result<Call, Refusal> {
        match self {
            Provider::OpenAi => openai::check(request),
            Provider::Anthropic => anthropic::check(request),
        }
    }

    /// The provider's error body for this status and message.
    pub(crate) fn error_body(self, status: u16, message: &str) -> Value {
        match self {
            Provider::OpenAi => openai::error_body(status, message),
            Provider::Anthropic => anthropic::error_body(status, message),
        }
    }

    /// The name of the header that carries a request identifier in this provider's responses.
    pub(crate) fn request_id_header(self) -> &'static str {
        match self {
            Provider::OpenAi => "x-request-id",
            Provider::Anthropic => "request-id",
        }
    }

    /// The non-streaming answer body.
    pub(crate) fn answer_body(self, call: &Call, answer: Answer<'_>, ids: &Shared) -> Value {
        match self {
            Provider::OpenAi => openai::answer_body(call, answer, ids),
            Provider::Anthropic => anthropic::answer_body(call, answer, ids),
        }
    }

    /// The events of a streamed answer, to its proper end.
    pub(crate) fn stream(self, call: &Call, answer: Answer<'_>, ids: &Shared) -> Vec<Frame> {
        match self {
            Provider::OpenAi => openai::stream(call, answer, ids),
            Provider::Anthropic => anthropic::stream(call, answer, ids),
        }
    }

    /// How many of a text stream's first frames a cut stream sends: the opening events and two
    /// pieces of text.
    pub(crate) fn cut_frames(self) -> usize {
        match self {
            // The role chunk, then two pieces.
            Provider::OpenAi => 3,
            // `message_start`, `ping`, `content_block_start`, then two pieces.
            Provider::Anthropic => 5,
        }
    }

    /// A body that starts like an answer and is not valid JSON.
    pub(crate) fn malformed_body(self) -> &'static str {
        match self {
            Provider::OpenAi => {
                r#"{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [ oops"#
            }
            Provider::Anthropic => {
                r#"{"id": "msg_malformed", "type": "message", "content": [ oops"#
            }
        }
    }

    /// An event whose data line is not valid JSON.
    pub(crate) fn malformed_frame(self) -> Frame {
        match self {
            Provider::OpenAi => Frame::piece("data: {\"choices\": [ oops\n\n".to_owned()),
            Provider::Anthropic => Frame::piece(
                "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"delta\": [ oops\n\n"
                    .to_owned(),
            ),
        }
    }
}

/// The deterministic count of prompt tokens: the words of every message's content and of the
/// system prompt, at least one.
pub(crate) fn prompt_tokens(messages: &Value, system: Option<&Value>) -> u64 {
    (words_in(messages) + system.map_or(0, words_in)).max(1)
}

/// The words in a message list, a message, a content string or an array of content parts: the
/// `text` and `content` of every object, recursively, so that text parts and tool results count.
fn words_in(value: &Value) -> u64 {
    match value {
        Value::String(text) => word_count(text),
        Value::Array(items) => items.iter().map(words_in).sum(),
        Value::Object(fields) => {
            fields.get("text").map_or(0, words_in) + fields.get("content").map_or(0, words_in)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// The number of whitespace-separated words in a text.
fn word_count(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

/// Splits a text into pieces of one word each, every piece but the first starting with the
/// whitespace before its word, so that the pieces put back together are the text. An empty text
/// has no pieces.
pub(crate) fn word_pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    // Where the whitespace after the last word began: the next word's piece starts there.
    let mut boundary = None;
    let mut previous_was_space = true;
    for (index, character) in text.char_indices() {
        let is_space = character.is_whitespace();
        if is_space && !previous_was_space {
            boundary = Some(index);
        } else if !is_space && let Some(boundary) = boundary.take() {
            pieces.push(&text[start..boundary]);
            start = boundary;
        }
        previous_was_space = is_space;
    }
    if !text.is_empty() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Splits a text into three pieces of about equal length (fewer if it has fewer characters), so
/// that a client must join the arguments of a tool call. A text of two characters or more gives
/// at least two pieces.
pub(crate) fn json_pieces(text: &str) -> Vec<&str> {
    let characters = text.chars().count();
    let count = characters.clamp(1, 3);
    let per_piece = characters.div_ceil(count).max(1);
    let mut pieces = Vec::with_capacity(count);
    let mut start = 0;
    for (position, (index, _)) in text.char_indices().enumerate() {
        if position > 0 && position % per_piece == 0 {
            pieces.push(&text[start..index]);
            start = index;
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// The current time in seconds since the Unix epoch, as the `created` field is written.
pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_pieces_put_back_together_are_the_text() {
        for text in [
            "",
            "one",
            "Hello there world",
            "  lead and trail  ",
            "a\nb\tc",
            "é à ü",
        ] {
            let pieces = word_pieces(text);
            assert_eq!(pieces.concat(), text, "the pieces must join to the text");
            assert_eq!(
                pieces.len(),
                text.split_whitespace()
                    .count()
                    .max(usize::from(!text.is_empty())),
                "each word must come in a piece of its own in {text:?}"
            );
        }
    }

    #[test]
    fn json_pieces_are_at_least_two_and_join_to_the_text() {
        for text in [
            "{}",
            r#"{"path":"a.txt"}"#,
            r#"{"q":"é"}"#,
            "{\"long\":\"abcdefghijklmnop\"}",
        ] {
            let pieces = json_pieces(text);
            assert!(
                pieces.len() >= 2,
                "{text:?} must come in two pieces or more"
            );
            assert_eq!(pieces.concat(), text, "the pieces must join to the text");
            assert!(
                pieces.iter().all(|piece| !piece.is_empty()),
                "no piece may be empty"
            );
        }
    }

    #[test]
    fn prompt_tokens_count_strings_parts_and_the_system_prompt() {
        let messages = serde_json::json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "one two three"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "four"}]}
        ]);
        let system = serde_json::json!([{"type": "text", "text": "five six"}]);
        assert_eq!(
            prompt_tokens(&messages, Some(&system)),
            8,
            "every word of every content and of the system prompt counts once"
        );
        assert_eq!(
            prompt_tokens(&serde_json::json!([]), None),
            1,
            "a prompt counts at least one token"
        );
    }
}
