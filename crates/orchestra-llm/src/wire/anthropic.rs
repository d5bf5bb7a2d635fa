//! Anthropic Messages, as its API reference defines it: `POST /v1/messages` with a top-level
//! `system`, `messages` of content blocks (`text`, `tool_use`, `tool_result`) in alternating
//! roles, and `tools` with an `input_schema`; answered with one `message` object or a stream of
//! typed events (`message_start`, `content_block_start`, `content_block_delta`,
//! `content_block_stop`, `message_delta`, `message_stop`).

use orchestra_engine::models::{Chat, Message, Turn};
use serde_json::{Map, Value, json};

use super::{BodyOptions, Flow, PartialCall, StreamReader, json_instruction, usage};

/// The most tokens a reply may have when the step does not say; the API requires a number.
const DEFAULT_MAX_TOKENS: u32 = 8_192;

/// The request body of a turn.
pub fn body(chat: &Chat<'_>, model: &str, options: &BodyOptions) -> Value {
    // Messages alternate between the user and the assistant; tool results are the user's turn,
    // and consecutive blocks of one role are sent as one message.
    let mut messages: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in chat.messages {
        let (role, blocks) = match message {
            Message::User { text } => ("user", vec![json!({ "type": "text", "text": text })]),
            Message::Assistant { text, tool_calls } => {
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(json!({ "type": "text", "text": text }));
                }
                blocks.extend(tool_calls.iter().map(|call| {
                    json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments })
                }));
                ("assistant", blocks)
            }
            Message::Tool {
                call_id,
                content,
                is_error,
                ..
            } => (
                "user",
                vec![
                    json!({ "type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error }),
                ],
            ),
        };
        match messages.last_mut() {
            // The API refuses a message without content (an empty reply asked again).
            _ if blocks.is_empty() => {}
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let mut system = chat.prepared.system.clone();
    if let Some(schema) = chat.output_schema {
        // The Messages API has no JSON mode; the reply is asked for in words and checked
        // against the schema when it comes back.
        if !system.is_empty() {
            system.push_str("\n\n");
        }
        system.push_str(&json_instruction(schema));
    }
    let mut body = Map::new();
    body.insert("model".into(), Value::from(model));
    body.insert(
        "max_tokens".into(),
        Value::from(chat.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::from(system));
    }
    body.insert(
        "messages".into(),
        messages
            .into_iter()
            .map(|(role, content)| json!({ "role": role, "content": content }))
            .collect(),
    );
    if !chat.tools.is_empty() {
        let tools = chat
            .tools
            .iter()
            .map(|tool| json!({ "name": tool.name, "description": tool.description, "input_schema": tool.parameters }))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(temperature) = chat.temperature.filter(|_| options.temperature) {
        // Anthropic's range is 0 to 1; Orchestra's (OpenAI's) goes to 2.
        body.insert("temperature".into(), Value::from(temperature.min(1.0)));
    }
    if options.stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    Value::Object(body)
}

/// Reads a whole `message`.
pub fn parse(body: &[u8]) -> Result<Turn, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the reply is not JSON ({error})"))?;
    let content = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or("the reply has no `content`")?;
    let mut turn = Turn::default();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                turn.text.push_str(
                    block
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
            }
            Some("tool_use") => turn.tool_calls.push(orchestra_engine::models::ToolCall {
                id: text_of(block, "id"),
                name: text_of(block, "name"),
                arguments: block.get("input").cloned().unwrap_or(json!({})),
            }),
            _ => {}
        }
    }
    let count = |name: &str| {
        value
            .pointer(&format!("/usage/{name}"))
            .and_then(Value::as_u64)
    };
    turn.usage = usage(count("input_tokens"), count("output_tokens"));
    turn.truncated = value.get("stop_reason").and_then(Value::as_str) == Some("max_tokens");
    Ok(turn)
}

fn text_of(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A content block being streamed.
#[derive(Debug)]
enum Block {
    Text,
    Tool(PartialCall),
    Other,
}

/// A streamed reply being read.
#[derive(Debug, Default)]
pub struct Stream {
    text: String,
    blocks: Vec<(u64, Block)>,
    calls: Vec<PartialCall>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    truncated: bool,
    done: bool,
}

impl StreamReader for Stream {
    fn event(
        &mut self,
        name: &str,
        data: &str,
        text: &mut dyn FnMut(&str),
    ) -> Result<Flow, String> {
        let event: Value = serde_json::from_str(data)
            .map_err(|error| format!("a streamed event is not JSON ({error})"))?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned();
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind.as_str() {
            "message_start" => {
                let count = |name: &str| {
                    event
                        .pointer(&format!("/message/usage/{name}"))
                        .and_then(Value::as_u64)
                };
                self.input_tokens = count("input_tokens");
                self.output_tokens = count("output_tokens");
            }
            "content_block_start" => {
                let block = event.get("content_block").cloned().unwrap_or_default();
                let kind = match block.get("type").and_then(Value::as_str) {
                    Some("text") => Block::Text,
                    Some("tool_use") => Block::Tool(PartialCall {
                        id: text_of(&block, "id"),
                        name: text_of(&block, "name"),
                        arguments: String::new(),
                    }),
                    _ => Block::Other,
                };
                self.blocks.push((index, kind));
            }
            "content_block_delta" => {
                let delta = event.get("delta").cloned().unwrap_or_default();
                let block = self
                    .blocks
                    .iter_mut()
                    .rev()
                    .find(|(at, _)| *at == index)
                    .map(|(_, block)| block);
                match (delta.get("type").and_then(Value::as_str), block) {
                    (Some("text_delta"), Some(Block::Text)) => {
                        let piece = delta
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        self.text.push_str(piece);
                        text(piece);
                    }
                    (Some("input_json_delta"), Some(Block::Tool(call))) => call.arguments.push_str(
                        delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    ),
                    (_, None) => {
                        return Err(format!(
                            "a delta came for content block {index}, which never started"
                        ));
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(at) = self.blocks.iter().position(|(at, _)| *at == index)
                    && let (_, Block::Tool(call)) = self.blocks.remove(at)
                {
                    self.calls.push(call);
                }
            }
            "message_delta" => {
                if event.pointer("/delta/stop_reason").and_then(Value::as_str) == Some("max_tokens")
                {
                    self.truncated = true;
                }
                if let Some(tokens) = event
                    .pointer("/usage/output_tokens")
                    .and_then(Value::as_u64)
                {
                    self.output_tokens = Some(tokens);
                }
                if let Some(tokens) = event.pointer("/usage/input_tokens").and_then(Value::as_u64) {
                    self.input_tokens = Some(tokens);
                }
            }
            "message_stop" => {
                self.done = true;
                return Ok(Flow::Done);
            }
            "error" => {
                let message = event
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message");
                return Err(format!("the stream reported an error: {message}"));
            }
            // `ping` and event types added later carry nothing this reader needs.
            _ => {}
        }
        Ok(Flow::More)
    }

    fn finish(self: Box<Self>) -> Result<Turn, String> {
        if !self.done {
            return Err("the stream ended before `message_stop`".to_owned());
        }
        Ok(Turn {
            text: self.text,
            tool_calls: self.calls.into_iter().map(PartialCall::finish).collect(),
            usage: usage(self.input_tokens, self.output_tokens),
            truncated: self.truncated,
        })
    }
}
