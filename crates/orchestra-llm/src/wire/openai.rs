//! OpenAI Chat Completions, as its API reference defines it: `POST /chat/completions` with
//! `messages`, `tools` and `response_format`, answered with one `chat.completion` object or a
//! stream of `chat.completion.chunk` objects ending with `data: [DONE]`.

use orchestra_engine::models::{Chat, Message, Turn};
use serde_json::{Map, Value, json};

use super::{BodyOptions, Flow, PartialCall, StreamReader, usage};

/// The request body of a turn.
pub fn body(chat: &Chat<'_>, model: &str, options: &BodyOptions) -> Value {
    let mut messages = Vec::with_capacity(chat.messages.len() + 1);
    if !chat.prepared.system.is_empty() {
        messages.push(json!({ "role": "system", "content": chat.prepared.system }));
    }
    for message in chat.messages {
        messages.push(match message {
            Message::User { text } => json!({ "role": "user", "content": text }),
            Message::Assistant { text, tool_calls } => {
                let mut entry = json!({
                    "role": "assistant",
                    "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::from(text.as_str()) },
                });
                if !tool_calls.is_empty() {
                    entry["tool_calls"] = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": { "name": call.name, "arguments": call.arguments.to_string() },
                            })
                        })
                        .collect();
                }
                entry
            }
            Message::Tool {
                call_id, content, ..
            } => json!({ "role": "tool", "tool_call_id": call_id, "content": content }),
        });
    }
    let mut body = Map::new();
    body.insert("model".into(), Value::from(model));
    body.insert("messages".into(), Value::Array(messages));
    if !chat.tools.is_empty() {
        let tools = chat
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": { "name": tool.name, "description": tool.description, "parameters": tool.parameters },
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(schema) = chat.output_schema {
        body.insert(
            "response_format".into(),
            json!({ "type": "json_schema", "json_schema": { "name": "output", "schema": schema } }),
        );
    }
    if let Some(temperature) = chat.temperature.filter(|_| options.temperature) {
        body.insert("temperature".into(), Value::from(temperature));
    }
    if let Some(max_tokens) = chat.max_tokens {
        let key = if options.max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(key.into(), Value::from(max_tokens));
    }
    if options.stream {
        body.insert("stream".into(), Value::Bool(true));
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Value::Object(body)
}

/// Reads a whole `chat.completion`.
pub fn parse(body: &[u8]) -> Result<Turn, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the reply is not JSON ({error})"))?;
    let message = value
        .pointer("/choices/0/message")
        .ok_or("the reply has no `choices[0].message`")?;
    let text = message
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut tool_calls = Vec::new();
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text_of = |pointer: &str| {
            call.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        tool_calls.push(
            PartialCall {
                id: text_of("/id"),
                name: text_of("/function/name"),
                arguments: text_of("/function/arguments"),
            }
            .finish(),
        );
    }
    Ok(Turn {
        text,
        tool_calls,
        usage: read_usage(value.get("usage")),
        truncated: value
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
            == Some("length"),
    })
}

fn read_usage(block: Option<&Value>) -> orchestra_engine::Usage {
    let count = |name: &str| {
        block
            .and_then(|block| block.get(name))
            .and_then(Value::as_u64)
    };
    usage(count("prompt_tokens"), count("completion_tokens"))
}

/// A streamed reply being read.
#[derive(Debug, Default)]
pub struct Stream {
    text: String,
    calls: Vec<PartialCall>,
    usage: Option<orchestra_engine::Usage>,
    truncated: bool,
    done: bool,
}

impl StreamReader for Stream {
    fn event(
        &mut self,
        _name: &str,
        data: &str,
        text: &mut dyn FnMut(&str),
    ) -> Result<Flow, String> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Flow::Done);
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|error| format!("a streamed chunk is not JSON ({error})"))?;
        if let Some(message) = chunk.pointer("/error/message").and_then(Value::as_str) {
            return Err(format!("the stream reported an error: {message}"));
        }
        if let Some(block) = chunk.get("usage").filter(|block| !block.is_null()) {
            self.usage = Some(read_usage(Some(block)));
        }
        if chunk
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
            == Some("length")
        {
            self.truncated = true;
        }
        let Some(delta) = chunk.pointer("/choices/0/delta") else {
            return Ok(Flow::More);
        };
        if let Some(piece) = delta.get("content").and_then(Value::as_str)
            && !piece.is_empty()
        {
            self.text.push_str(piece);
            text(piece);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = call.get("id").and_then(Value::as_str);
            // Calls are numbered from 0, one more at a time; a server that sends no number
            // starts a new call with each new id.
            let index = match call.get("index").and_then(Value::as_u64) {
                Some(index) => usize::try_from(index).unwrap_or(usize::MAX),
                None => match (id, self.calls.last()) {
                    (Some(id), Some(last)) if last.id == id => self.calls.len() - 1,
                    (None, Some(_)) => self.calls.len() - 1,
                    _ => self.calls.len(),
                },
            };
            if index > self.calls.len() {
                return Err(format!(
                    "a tool call is numbered {index}, but only {} came before it",
                    self.calls.len()
                ));
            }
            if index == self.calls.len() {
                self.calls.push(PartialCall::default());
            }
            let partial = &mut self.calls[index];
            if let Some(id) = id {
                id.clone_into(&mut partial.id);
            }
            if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                partial.name.push_str(name);
            }
            if let Some(piece) = call.pointer("/function/arguments").and_then(Value::as_str) {
                partial.arguments.push_str(piece);
            }
        }
        Ok(Flow::More)
    }

    fn finish(self: Box<Self>) -> Result<Turn, String> {
        if !self.done {
            return Err("the stream ended before `[DONE]`".to_owned());
        }
        Ok(Turn {
            text: self.text,
            tool_calls: self.calls.into_iter().map(PartialCall::finish).collect(),
            usage: self.usage.unwrap_or_default(),
            truncated: self.truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(chunks: &[&str]) -> Result<Turn, String> {
        let mut stream = Box::<Stream>::default();
        let mut ignore = |_: &str| {};
        for chunk in chunks {
            stream.event("", chunk, &mut ignore)?;
        }
        stream.event("", "[DONE]", &mut ignore)?;
        stream.finish()
    }

    #[test]
    fn a_tool_call_numbered_far_ahead_is_refused_not_allocated() {
        let error = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1099511627776,"id":"a","function":{"name":"x","arguments":""}}]}}]}"#,
        ])
        .expect_err("a call numbered past the next one is an error");
        assert!(error.contains("numbered"), "{error}");
    }

    #[test]
    fn calls_without_numbers_are_told_apart_by_their_ids() {
        let turn = feed(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"one","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"two","arguments":"{\"x\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
        ])
        .expect("the stream reads");
        let names: Vec<(&str, String)> = turn
            .tool_calls
            .iter()
            .map(|call| (call.name.as_str(), call.arguments.to_string()))
            .collect();
        assert_eq!(
            names,
            [("one", "{}".to_owned()), ("two", r#"{"x":1}"#.to_owned())],
            "a new id starts a new call; a piece without an id continues the last"
        );
    }
}
