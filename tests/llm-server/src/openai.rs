//! The OpenAI Chat Completions wire format: `POST /v1/chat/completions`, its checks, its answer
//! and its stream of `chat.completion.chunk` objects ending in `data: [DONE]`.

use serde_json::{Value, json};

use crate::http::Request;
use crate::script::Shared;
use crate::wire::{self, Answer, Call, Frame, Refusal};

/// Checks a request as the OpenAI API does: a bearer key, a JSON body with a string `model` and
/// a non-empty `messages` array, and a boolean `stream` if there is one.
pub(crate) fn check(request: &Request) -> Result<Call, Refusal> {
    let key = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if key.is_none_or(str::is_empty) {
        return Err(Refusal::new(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(Refusal::new(
            400,
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON \
             object as the request body.",
        ));
    };
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return Err(Refusal::new(
            400,
            "You must provide a model parameter (a string).",
        ));
    };
    let messages = match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => &body["messages"],
        Some(Value::Array(_)) => {
            return Err(Refusal::new(400, "[] is too short - 'messages'"));
        }
        Some(_) => {
            return Err(Refusal::new(
                400,
                "Invalid type for 'messages': expected an array.",
            ));
        }
        None => {
            return Err(Refusal::new(400, "Missing required parameter: 'messages'."));
        }
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => {
            return Err(Refusal::new(
                400,
                "Invalid type for 'stream': expected a boolean.",
            ));
        }
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|options| options.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Call {
        model: model.to_owned(),
        stream,
        include_usage,
        prompt_tokens: wire::prompt_tokens(messages, None),
    })
}

/// The OpenAI error body: `{"error": {"message", "type", "param", "code"}}`, its type and code
/// chosen from the status as the API chooses them.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        // The API names the limit that was reached (`requests` or `tokens`) as the type.
        429 => ("requests", Some("rate_limit_exceeded")),
        500.. => ("server_error", None),
        _ => ("invalid_request_error", None),
    };
    json!({
        "error": {
            "message": message,
            "type": kind,
            "param": null,
            "code": code,
        }
    })
}

/// The usage object for an answer.
fn usage(call: &Call, answer: Answer<'_>) -> Value {
    let completion = answer.completion_tokens();
    json!({
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": call.prompt_tokens + completion,
    })
}

/// The finish reason for an answer.
fn finish_reason(answer: Answer<'_>) -> &'static str {
    match answer {
        Answer::Text(_) => "stop",
        Answer::ToolCalls(_) => "tool_calls",
    }
}

/// The non-streaming answer: a `chat.completion` object.
pub(crate) fn answer_body(call: &Call, answer: Answer<'_>, ids: &Shared) -> Value {
    let message = match answer {
        Answer::Text(text) => json!({"role": "assistant", "content": text, "refusal": null}),
        Answer::ToolCalls(calls) => {
            let tool_calls: Vec<Value> = calls
                .iter()
                .map(|(name, arguments)| {
                    json!({
                        "id": ids.id("call_"),
                        "type": "function",
                        "function": {"name": name, "arguments": arguments.to_string()},
                    })
                })
                .collect();
            json!({
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": tool_calls,
            })
        }
    };
    json!({
        "id": ids.id("chatcmpl-"),
        "object": "chat.completion",
        "created": wire::unix_seconds(),
        "model": call.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(answer),
        }],
        "usage": usage(call, answer),
    })
}

/// A streamed answer: the role chunk, the pieces of text or of tool calls, the chunk with the
/// finish reason, the usage chunk if the request asked for it, and `data: [DONE]`.
pub(crate) fn stream(call: &Call, answer: Answer<'_>, ids: &Shared) -> Vec<Frame> {
    let id = ids.id("chatcmpl-");
    let created = wire::unix_seconds();
    let chunk = |delta: Value, finish_reason: Option<&str>| {
        let chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": call.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason,
            }],
        });
        format!("data: {chunk}\n\n")
    };

    let mut frames = Vec::new();
    match answer {
        Answer::Text(text) => {
            frames.push(Frame::framing(chunk(
                json!({"role": "assistant", "content": ""}),
                None,
            )));
            for piece in wire::word_pieces(text) {
                frames.push(Frame::piece(chunk(json!({"content": piece}), None)));
            }
        }
        Answer::ToolCalls(calls) => {
            frames.push(Frame::framing(chunk(
                json!({"role": "assistant", "content": null}),
                None,
            )));
            for (index, (name, arguments)) in calls.iter().enumerate() {
                let start = json!({"tool_calls": [{
                    "index": index,
                    "id": ids.id("call_"),
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }]});
                frames.push(Frame::piece(chunk(start, None)));
                let arguments = arguments.to_string();
                for piece in wire::json_pieces(&arguments) {
                    let delta = json!({"tool_calls": [{
                        "index": index,
                        "function": {"arguments": piece},
                    }]});
                    frames.push(Frame::piece(chunk(delta, None)));
                }
            }
        }
    }
    frames.push(Frame::framing(chunk(
        json!({}),
        Some(finish_reason(answer)),
    )));
    if call.include_usage {
        let usage_chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": call.model,
            "choices": [],
            "usage": usage(call, answer),
        });
        frames.push(Frame::framing(format!("data: {usage_chunk}\n\n")));
    }
    frames.push(Frame::framing("data: [DONE]\n\n".to_owned()));
    frames
}
