//! The Anthropic Messages wire format: `POST /v1/messages`, its checks, its answer and its
//! stream of named events from `message_start` to `message_stop`.

use serde_json::{Value, json};

use crate::http::Request;
use crate::script::Shared;
use crate::wire::{self, Answer, Call, Frame, Refusal};

/// Checks a request as the Anthropic API does: an `x-api-key` and an `anthropic-version` header,
/// and a JSON body with a string `model`, an integer `max_tokens`, a non-empty `messages` array
/// and a boolean `stream` if there is one.
pub(crate) fn check(request: &Request) -> Result<Call, Refusal> {
    if request
        .header("x-api-key")
        .map(str::trim)
        .is_none_or(str::is_empty)
    {
        return Err(Refusal::new(401, "x-api-key header is required"));
    }
    if request
        .header("anthropic-version")
        .map(str::trim)
        .is_none_or(str::is_empty)
    {
        return Err(Refusal::new(400, "anthropic-version: header is required"));
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(Refusal::new(
            400,
            "There was an issue with your request body: it must be a JSON object.",
        ));
    };
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return Err(Refusal::new(400, "model: Field required (a string)"));
    };
    match body.get("max_tokens") {
        Some(max_tokens) if max_tokens.is_u64() => {}
        Some(_) => {
            return Err(Refusal::new(
                400,
                "max_tokens: Input should be a valid integer",
            ));
        }
        None => return Err(Refusal::new(400, "max_tokens: Field required")),
    }
    let messages = match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => &body["messages"],
        Some(Value::Array(_)) => {
            return Err(Refusal::new(
                400,
                "messages: at least one message is required",
            ));
        }
        Some(_) => {
            return Err(Refusal::new(400, "messages: Input should be a valid list"));
        }
        None => return Err(Refusal::new(400, "messages: Field required")),
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => {
            return Err(Refusal::new(400, "stream: Input should be a valid boolean"));
        }
    };
    Ok(Call {
        model: model.to_owned(),
        stream,
        include_usage: false,
        prompt_tokens: wire::prompt_tokens(messages, body.get("system")),
    })
}

/// The Anthropic error body: `{"type": "error", "error": {"type", "message"}}`, its type chosen
/// from the status as the API chooses it.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500.. => "api_error",
        _ => "invalid_request_error",
    };
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
    })
}

/// The stop reason for an answer.
fn stop_reason(answer: Answer<'_>) -> &'static str {
    match answer {
        Answer::Text(_) => "end_turn",
        Answer::ToolCalls(_) => "tool_use",
    }
}

/// The non-streaming answer: a `message` object.
pub(crate) fn answer_body(call: &Call, answer: Answer<'_>, ids: &Shared) -> Value {
    let content: Vec<Value> = match answer {
        Answer::Text(text) => vec![json!({"type": "text", "text": text})],
        Answer::ToolCalls(calls) => calls
            .iter()
            .map(|(name, input)| {
                json!({"type": "tool_use", "id": ids.id("toolu_"), "name": name, "input": input})
            })
            .collect(),
    };
    json!({
        "id": ids.id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": stop_reason(answer),
        "stop_sequence": null,
        "usage": {
            "input_tokens": call.prompt_tokens,
            "output_tokens": answer.completion_tokens(),
        },
    })
}

/// One server-sent event, `event: <kind>` then its data.
fn event(kind: &str, data: &Value) -> String {
    format!("event: {kind}\ndata: {data}\n\n")
}

/// A streamed answer: `message_start`, `ping`, each content block as `content_block_start`,
/// its deltas and `content_block_stop`, then `message_delta` and `message_stop`.
pub(crate) fn stream(call: &Call, answer: Answer<'_>, ids: &Shared) -> Vec<Frame> {
    let mut frames = vec![
        Frame::framing(event(
            "message_start",
            &json!({
                "type": "message_start",
                "message": {
                    "id": ids.id("msg_"),
                    "type": "message",
                    "role": "assistant",
                    "model": call.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {"input_tokens": call.prompt_tokens, "output_tokens": 1},
                },
            }),
        )),
        Frame::framing(event("ping", &json!({"type": "ping"}))),
    ];
    let start = |index: usize, block: Value| {
        Frame::framing(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        ))
    };
    let delta = |index: usize, delta: Value| {
        Frame::piece(event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ))
    };
    let stop = |index: usize| {
        Frame::framing(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ))
    };
    match answer {
        Answer::Text(text) => {
            frames.push(start(0, json!({"type": "text", "text": ""})));
            for piece in wire::word_pieces(text) {
                frames.push(delta(0, json!({"type": "text_delta", "text": piece})));
            }
            frames.push(stop(0));
        }
        Answer::ToolCalls(calls) => {
            for (index, (name, input)) in calls.iter().enumerate() {
                frames.push(start(
                    index,
                    json!({"type": "tool_use", "id": ids.id("toolu_"), "name": name, "input": {}}),
                ));
                let input = input.to_string();
                for piece in wire::json_pieces(&input) {
                    frames.push(delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": piece}),
                    ));
                }
                frames.push(stop(index));
            }
        }
    }
    frames.push(Frame::framing(event(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(answer), "stop_sequence": null},
            "usage": {"output_tokens": answer.completion_tokens()},
        }),
    )));
    frames.push(Frame::framing(event(
        "message_stop",
        &json!({"type": "message_stop"}),
    )));
    frames
}
