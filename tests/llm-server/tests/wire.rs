//! The server driven by a plain HTTP client: each test checks one promise of the wire formats or
//! of the script.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use orchestra_llm_server::{LlmServer, Reply};
use serde_json::{Value, json};

/// A client with a generous timeout, so that a server that never answers fails the test instead
/// of hanging it.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a test client must build")
}

/// Posts a body to the OpenAI route with a key.
async fn openai(server: &LlmServer, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .bearer_auth("sk-test")
        .json(body)
        .send()
        .await
        .expect("the server must answer")
}

/// Posts a body to the Anthropic route with a key and a version.
async fn anthropic(server: &LlmServer, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("the server must answer")
}

/// An OpenAI request body with one user message.
fn openai_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "gpt-test",
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
    })
}

/// An Anthropic request body with one user message.
fn anthropic_body(text: &str, stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
    })
}

/// The `data:` payloads of an OpenAI event stream, in order.
fn data_lines(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("every OpenAI event must be a data line: {event:?}"))
                .to_owned()
        })
        .collect()
}

/// The `event:` names and parsed `data:` of an Anthropic event stream, in order.
fn named_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let (name, data) = event
                .strip_prefix("event: ")
                .and_then(|rest| rest.split_once("\ndata: "))
                .unwrap_or_else(|| panic!("every Anthropic event must name its type: {event:?}"));
            let data: Value = serde_json::from_str(data)
                .unwrap_or_else(|_| panic!("every Anthropic event's data must be JSON: {data:?}"));
            assert_eq!(
                data["type"], name,
                "an event's data must carry the event's own type"
            );
            (name.to_owned(), data)
        })
        .collect()
}

#[tokio::test]
async fn an_openai_answer_has_the_documented_shape() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Hello there, world".into()));
    let body = json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": [{"type": "text", "text": "Say hello to everyone"}]},
        ],
    });
    let response = openai(&server, &body).await;
    assert_eq!(
        response.status(),
        200,
        "a scripted text answer must be a 200"
    );
    assert!(
        response.headers().contains_key("x-request-id"),
        "OpenAI answers carry a request id header"
    );
    let answer: Value = response.json().await.expect("the body must be JSON");
    assert!(
        answer["id"]
            .as_str()
            .expect("the field must be a string")
            .starts_with("chatcmpl-"),
        "a completion id starts with chatcmpl-"
    );
    assert_eq!(
        answer["object"], "chat.completion",
        "the object type must be named"
    );
    assert!(answer["created"].is_u64(), "created must be Unix seconds");
    assert_eq!(
        answer["model"], "gpt-test",
        "the answer must echo the request's model"
    );
    let choice = &answer["choices"][0];
    assert_eq!(choice["index"], 0, "the only choice has index 0");
    assert_eq!(
        choice["message"]["role"], "assistant",
        "the answer comes from the assistant"
    );
    assert_eq!(
        choice["message"]["content"], "Hello there, world",
        "the content is the script's text"
    );
    assert!(
        choice["message"].get("tool_calls").is_none(),
        "a text answer has no tool_calls field"
    );
    assert_eq!(
        choice["finish_reason"], "stop",
        "a text answer finishes with stop"
    );
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9}),
        "tokens are the words of the prompt (system included) and of the answer"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "the server must record the one request");
    assert_eq!(requests[0].method, "POST", "the method is recorded");
    assert_eq!(
        requests[0].path, "/v1/chat/completions",
        "the path is recorded"
    );
    assert_eq!(
        requests[0].headers.get("authorization").map(String::as_str),
        Some("Bearer sk-test"),
        "headers are recorded by lower-case name"
    );
    assert_eq!(requests[0].body, body, "the body is recorded as JSON");
}

#[tokio::test]
async fn an_openai_answer_with_tool_calls_has_arguments_as_a_string() {
    let server = LlmServer::start();
    let arguments = json!({"path": "notes/a.txt", "lines": 10});
    server.reply(Reply::ToolCalls(vec![(
        "read_file".into(),
        arguments.clone(),
    )]));
    let answer: Value = openai(&server, &openai_body("read it", false))
        .await
        .json()
        .await
        .expect("the body must be JSON");
    let choice = &answer["choices"][0];
    assert_eq!(
        choice["finish_reason"], "tool_calls",
        "a tool call finishes with tool_calls"
    );
    assert_eq!(
        choice["message"]["content"],
        Value::Null,
        "a tool call has null content"
    );
    let call = &choice["message"]["tool_calls"][0];
    assert!(
        call["id"]
            .as_str()
            .expect("the field must be a string")
            .starts_with("call_"),
        "a call id starts with call_"
    );
    assert_eq!(call["type"], "function", "a tool call is a function call");
    assert_eq!(
        call["function"]["name"], "read_file",
        "the call names the scripted tool"
    );
    let sent: Value = serde_json::from_str(
        call["function"]["arguments"]
            .as_str()
            .expect("OpenAI sends the arguments as a JSON string"),
    )
    .expect("the arguments string must be JSON");
    assert_eq!(
        sent, arguments,
        "the arguments string must parse to the scripted object"
    );
}

#[tokio::test]
async fn an_openai_stream_reassembles_and_ends_with_usage_and_done() {
    let server = LlmServer::start();
    server.reply(Reply::Text("The quick brown fox".into()));
    let mut body = openai_body("Tell me about foxes", true);
    body["stream_options"] = json!({"include_usage": true});
    let response = openai(&server, &body).await;
    assert_eq!(response.status(), 200, "a stream starts with a 200");
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "a stream is served as server-sent events"
    );
    let lines = data_lines(
        &response
            .text()
            .await
            .expect("the body must be read to its end"),
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[DONE]"),
        "a stream must end with [DONE]"
    );
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|line| serde_json::from_str(line).expect("every chunk must be JSON"))
        .collect();
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk"),
        "every chunk must be a chat.completion.chunk"
    );
    assert_eq!(
        chunks[0]["choices"][0]["delta"]["role"], "assistant",
        "the first delta names the assistant role"
    );
    let pieces: Vec<&str> = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .filter(|piece| !piece.is_empty())
        .collect();
    assert!(
        pieces.len() >= 4,
        "the text must come in several pieces, one per word"
    );
    assert_eq!(
        pieces.concat(),
        "The quick brown fox",
        "the stream must reassemble to the scripted text"
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish["choices"][0]["delta"],
        json!({}),
        "the finishing chunk has an empty delta"
    );
    assert_eq!(
        finish["choices"][0]["finish_reason"], "stop",
        "a text stream finishes with stop"
    );
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(
        usage["choices"],
        json!([]),
        "the usage chunk has no choices"
    );
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}),
        "the usage chunk counts the words of the prompt and of the answer"
    );
}

#[tokio::test]
async fn an_openai_stream_has_no_usage_chunk_unless_asked() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Hi".into()));
    let text = openai(&server, &openai_body("hello", true))
        .await
        .text()
        .await
        .expect("the body must be read to its end");
    let lines = data_lines(&text);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[DONE]"),
        "a stream must end with [DONE]"
    );
    assert!(
        !text.contains("\"usage\""),
        "without stream_options.include_usage there must be no usage chunk"
    );
}

#[tokio::test]
async fn an_openai_tool_call_stream_reassembles_to_the_arguments() {
    let server = LlmServer::start();
    let calls = vec![
        ("read_file".to_owned(), json!({"path": "notes/a.txt"})),
        (
            "search".to_owned(),
            json!({"query": "rust server-sent events", "limit": 3}),
        ),
    ];
    server.reply(Reply::ToolCalls(calls.clone()));
    let text = openai(&server, &openai_body("look it up", true))
        .await
        .text()
        .await
        .expect("the body must be read to its end");
    let lines = data_lines(&text);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[DONE]"),
        "a stream must end with [DONE]"
    );

    // Reassemble as a client does: by the index of each tool call.
    let mut assembled: Vec<(String, String, String, usize)> = Vec::new();
    let mut finish_reason = Value::Null;
    for line in &lines[..lines.len() - 1] {
        let chunk: Value = serde_json::from_str(line).expect("every chunk must be JSON");
        let choice = &chunk["choices"][0];
        if !choice["finish_reason"].is_null() {
            finish_reason = choice["finish_reason"].clone();
        }
        for call in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index =
                usize::try_from(call["index"].as_u64().expect("the index must be a number"))
                    .expect("an index fits in usize");
            if index == assembled.len() {
                assembled.push((
                    call["id"]
                        .as_str()
                        .expect("the field must be a string")
                        .to_owned(),
                    call["function"]["name"]
                        .as_str()
                        .expect("the field must be a string")
                        .to_owned(),
                    String::new(),
                    0,
                ));
            }
            if let Some(piece) = call["function"]["arguments"].as_str()
                && !piece.is_empty()
            {
                assembled[index].2.push_str(piece);
                assembled[index].3 += 1;
            }
        }
    }
    assert_eq!(
        finish_reason, "tool_calls",
        "a tool-call stream finishes with tool_calls"
    );
    assert_eq!(assembled.len(), 2, "both scripted calls must be streamed");
    for ((id, name, arguments, pieces), (expected_name, expected_arguments)) in
        assembled.iter().zip(&calls)
    {
        assert!(
            id.starts_with("call_"),
            "each call has an id starting with call_"
        );
        assert_eq!(name, expected_name, "each call names its scripted tool");
        assert!(
            *pieces >= 2,
            "the arguments must come in two pieces or more"
        );
        let arguments: Value =
            serde_json::from_str(arguments).expect("the reassembled arguments must be JSON");
        assert_eq!(
            &arguments, expected_arguments,
            "the pieces must reassemble to the arguments"
        );
    }
}

#[tokio::test]
async fn an_anthropic_answer_has_the_documented_shape() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Bonjour tout le monde".into()));
    let mut body = anthropic_body("Say hello in French", false);
    body["system"] = json!("You are polite");
    let response = anthropic(&server, &body).await;
    assert_eq!(
        response.status(),
        200,
        "a scripted text answer must be a 200"
    );
    let answer: Value = response.json().await.expect("the body must be JSON");
    assert!(
        answer["id"]
            .as_str()
            .expect("the field must be a string")
            .starts_with("msg_"),
        "a message id starts with msg_"
    );
    assert_eq!(answer["type"], "message", "the answer is a message");
    assert_eq!(
        answer["role"], "assistant",
        "the answer comes from the assistant"
    );
    assert_eq!(
        answer["model"], "claude-test",
        "the answer must echo the request's model"
    );
    assert_eq!(
        answer["content"],
        json!([{"type": "text", "text": "Bonjour tout le monde"}]),
        "a text answer is one text block"
    );
    assert_eq!(
        answer["stop_reason"], "end_turn",
        "a text answer stops at end_turn"
    );
    assert_eq!(
        answer["stop_sequence"],
        Value::Null,
        "no stop sequence was hit"
    );
    assert_eq!(
        answer["usage"],
        json!({"input_tokens": 7, "output_tokens": 4}),
        "tokens are the words of the messages and system prompt, and of the answer"
    );
}

#[tokio::test]
async fn an_anthropic_stream_sends_its_events_in_order() {
    let server = LlmServer::start();
    server.reply(Reply::Text("One small step".into()));
    let response = anthropic(&server, &anthropic_body("quote", true)).await;
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "a stream is served as server-sent events"
    );
    let events = named_events(
        &response
            .text()
            .await
            .expect("the body must be read to its end"),
    );
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ],
        "the events must come in the documented order, one delta per word"
    );
    let start = &events[0].1["message"];
    assert_eq!(
        start["content"],
        json!([]),
        "message_start carries an empty content"
    );
    assert_eq!(
        start["usage"],
        json!({"input_tokens": 1, "output_tokens": 1}),
        "message_start carries the input tokens"
    );
    assert_eq!(
        events[2].1["content_block"],
        json!({"type": "text", "text": ""}),
        "a text block starts empty"
    );
    let text: String = events
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| {
            assert_eq!(
                data["delta"]["type"], "text_delta",
                "text comes in text deltas"
            );
            data["delta"]["text"]
                .as_str()
                .expect("the field must be a string")
        })
        .collect();
    assert_eq!(
        text, "One small step",
        "the deltas must reassemble to the scripted text"
    );
    assert_eq!(
        events[7].1,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 3},
        }),
        "message_delta carries the stop reason and the output tokens"
    );
}

#[tokio::test]
async fn an_anthropic_tool_use_stream_reassembles_to_the_input() {
    let server = LlmServer::start();
    let input = json!({"city": "Lyon", "units": "metric", "days": [1, 2, 3]});
    server.reply(Reply::ToolCalls(vec![(
        "get_weather".into(),
        input.clone(),
    )]));
    let events = named_events(
        &anthropic(&server, &anthropic_body("weather?", true))
            .await
            .text()
            .await
            .expect("the body must be read to its end"),
    );
    let (_, block) = events
        .iter()
        .find(|(name, _)| name == "content_block_start")
        .expect("a tool call must open a content block");
    assert_eq!(
        block["content_block"]["type"], "tool_use",
        "the block is a tool use"
    );
    assert_eq!(
        block["content_block"]["name"], "get_weather",
        "the block names the tool"
    );
    assert_eq!(
        block["content_block"]["input"],
        json!({}),
        "the block starts with an empty input"
    );
    assert!(
        block["content_block"]["id"]
            .as_str()
            .expect("the field must be a string")
            .starts_with("toolu_"),
        "a tool use id starts with toolu_"
    );
    let pieces: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| {
            assert_eq!(
                data["delta"]["type"], "input_json_delta",
                "input comes in JSON deltas"
            );
            data["delta"]["partial_json"]
                .as_str()
                .expect("the field must be a string")
        })
        .collect();
    assert!(
        pieces.len() >= 2,
        "the input must come in two pieces or more"
    );
    let sent: Value =
        serde_json::from_str(&pieces.concat()).expect("the reassembled input must be JSON");
    assert_eq!(
        sent, input,
        "the partial JSON must reassemble to the scripted input"
    );
    let (_, delta) = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .expect("a stream must send message_delta");
    assert_eq!(
        delta["delta"]["stop_reason"], "tool_use",
        "a tool call stops at tool_use"
    );
    assert_eq!(
        events.last().map(|(name, _)| name.as_str()),
        Some("message_stop"),
        "a stream must end with message_stop"
    );
}

#[tokio::test]
async fn requests_without_a_key_are_refused_and_keep_the_script() {
    let server = LlmServer::start();
    server.reply(Reply::Text("kept".into()));

    let response = client()
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .json(&openai_body("hello", false))
        .send()
        .await
        .expect("the server must answer");
    assert_eq!(
        response.status(),
        401,
        "OpenAI refuses a request without a bearer key"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error["error"]["type"], "invalid_request_error",
        "OpenAI's error type"
    );
    assert_eq!(
        error["error"]["code"], "invalid_api_key",
        "OpenAI's error code for a missing key"
    );

    let response = client()
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .header("anthropic-version", "2023-06-01")
        .json(&anthropic_body("hello", false))
        .send()
        .await
        .expect("the server must answer");
    assert_eq!(
        response.status(),
        401,
        "Anthropic refuses a request without x-api-key"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}}),
        "Anthropic's error format"
    );

    let answer: Value = openai(&server, &openai_body("hello", false))
        .await
        .json()
        .await
        .expect("the body must be JSON");
    assert_eq!(
        answer["choices"][0]["message"]["content"], "kept",
        "a refused request must not consume a scripted reply"
    );
    assert_eq!(
        server.requests().len(),
        3,
        "refused requests are recorded too"
    );
}

#[tokio::test]
async fn malformed_requests_are_refused_with_400() {
    let server = LlmServer::start();
    server.always(Reply::Text("never".into()));
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "a missing model",
        ),
        (
            json!({"model": "gpt-test", "messages": []}),
            "empty messages",
        ),
        (json!({"model": "gpt-test"}), "missing messages"),
        (
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}),
            "a stream that is not a boolean",
        ),
    ];
    for (body, what) in cases {
        let response = openai(&server, &body).await;
        assert_eq!(response.status(), 400, "OpenAI must refuse {what}");
        let error: Value = response.json().await.expect("the body must be JSON");
        assert_eq!(
            error["error"]["type"], "invalid_request_error",
            "OpenAI must say why it refuses {what}"
        );
    }
    let response = client()
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .bearer_auth("sk-test")
        .body("{not json")
        .send()
        .await
        .expect("the server must answer");
    assert_eq!(
        response.status(),
        400,
        "OpenAI must refuse a body that is not JSON"
    );

    let mut no_max_tokens = anthropic_body("hi", false);
    no_max_tokens
        .as_object_mut()
        .expect("the body is an object")
        .remove("max_tokens");
    let mut float_max_tokens = anthropic_body("hi", false);
    float_max_tokens["max_tokens"] = json!(1.5);
    let mut no_messages = anthropic_body("hi", false);
    no_messages["messages"] = json!([]);
    for (body, what) in [
        (no_max_tokens, "a missing max_tokens"),
        (float_max_tokens, "a max_tokens that is not an integer"),
        (no_messages, "empty messages"),
    ] {
        let response = anthropic(&server, &body).await;
        assert_eq!(response.status(), 400, "Anthropic must refuse {what}");
        let error: Value = response.json().await.expect("the body must be JSON");
        assert_eq!(
            error["error"]["type"], "invalid_request_error",
            "Anthropic must say why it refuses {what}"
        );
    }
    let response = client()
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .header("x-api-key", "sk-ant-test")
        .json(&anthropic_body("hi", false))
        .send()
        .await
        .expect("the server must answer");
    assert_eq!(
        response.status(),
        400,
        "Anthropic must refuse a request without anthropic-version"
    );
}

#[tokio::test]
async fn a_rate_limit_carries_retry_after_in_each_format() {
    let server = LlmServer::start();
    let limit = Reply::Status {
        code: 429,
        retry_after: Some(7),
        message: "Rate limit reached".into(),
    };
    server.reply(limit.clone());
    server.reply(limit);

    let response = openai(&server, &openai_body("hello", false)).await;
    assert_eq!(response.status(), 429, "the scripted status must be sent");
    assert_eq!(
        response.headers()["retry-after"],
        "7",
        "Retry-After must carry the scripted seconds"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error["error"]["code"], "rate_limit_exceeded",
        "OpenAI's code for a rate limit"
    );
    assert_eq!(
        error["error"]["message"], "Rate limit reached",
        "the scripted message must be sent"
    );

    let response = anthropic(&server, &anthropic_body("hello", true)).await;
    assert_eq!(
        response.status(),
        429,
        "an error answers a streaming request before any stream"
    );
    assert_eq!(
        response.headers()["retry-after"],
        "7",
        "Retry-After must carry the scripted seconds"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error["error"]["type"], "rate_limit_error",
        "Anthropic's type for a rate limit"
    );
}

#[tokio::test]
async fn server_errors_use_each_provider_types_and_no_retry_after_unless_scripted() {
    let server = LlmServer::start();
    server.reply(Reply::Status {
        code: 529,
        retry_after: None,
        message: "Overloaded".into(),
    });
    server.reply(Reply::Status {
        code: 500,
        retry_after: None,
        message: "boom".into(),
    });
    let response = anthropic(&server, &anthropic_body("hello", false)).await;
    assert_eq!(response.status(), 529, "the scripted status must be sent");
    assert!(
        !response.headers().contains_key("retry-after"),
        "no Retry-After unless scripted"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error["error"]["type"], "overloaded_error",
        "Anthropic's type for 529"
    );
    let error: Value = openai(&server, &openai_body("hello", false))
        .await
        .json()
        .await
        .expect("the body must be JSON");
    assert_eq!(
        error["error"]["type"], "server_error",
        "OpenAI's type for a 500"
    );
}

#[tokio::test]
async fn reply_when_answers_the_request_that_contains_the_needle() {
    let server = LlmServer::start();
    server.reply_when("weather", Reply::Text("sunny".into()));
    server.reply_when("capital", Reply::Text("Paris".into()));
    let content = async |text: &str| -> Value {
        let answer: Value = openai(&server, &openai_body(text, false))
            .await
            .json()
            .await
            .expect("the body must be JSON");
        answer["choices"][0]["message"]["content"].clone()
    };
    assert_eq!(
        content("the capital of France").await,
        "Paris",
        "the rule whose needle matches answers, whatever its place"
    );
    assert_eq!(
        content("the weather in Lyon").await,
        "sunny",
        "the other rule still waits for its request"
    );

    let response = openai(&server, &openai_body("the weather again", false)).await;
    assert_eq!(
        response.status(),
        500,
        "a consumed rule must not answer twice"
    );
    let error: Value = response.json().await.expect("the body must be JSON");
    let message = error["error"]["message"]
        .as_str()
        .expect("the field must be a string");
    assert!(
        message.contains("the test server has no scripted reply for this request")
            && message.contains("the weather again"),
        "an unscripted request must be named in the error, got {message:?}"
    );
}

#[tokio::test]
async fn once_rules_come_before_the_fallback_in_order() {
    let server = LlmServer::start();
    server.always(Reply::Text("old fallback".into()));
    server.always(Reply::Text("fallback".into()));
    server.reply(Reply::Text("first".into()));
    server.reply(Reply::Text("second".into()));
    let mut answers = Vec::new();
    for _ in 0..4 {
        let answer: Value = openai(&server, &openai_body("hi", false))
            .await
            .json()
            .await
            .expect("the body must be JSON");
        answers.push(
            answer["choices"][0]["message"]["content"]
                .as_str()
                .expect("the field must be a string")
                .to_owned(),
        );
    }
    assert_eq!(
        answers,
        ["first", "second", "fallback", "fallback"],
        "once-rules answer in order, then the latest fallback answers every request"
    );
}

#[tokio::test]
async fn a_hanging_reply_never_answers() {
    let server = LlmServer::start();
    server.reply(Reply::Hang);
    let started = Instant::now();
    let result = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("a test client must build")
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .bearer_auth("sk-test")
        .json(&openai_body("hello", false))
        .send()
        .await;
    let error = result.expect_err("a hanging server must not answer");
    assert!(
        error.is_timeout(),
        "the client must time out, not see a closed connection: {error}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the client waited its whole timeout"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a hanging server still reads and records the request"
    );
}

#[test]
fn dropping_the_server_closes_a_hanging_connection() {
    let server = LlmServer::start();
    server.reply(Reply::Hang);
    let body = openai_body("hello", false).to_string();
    let mut socket = std::net::TcpStream::connect(server.url().trim_start_matches("http://"))
        .expect("the server must accept a connection");
    write!(
        socket,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer sk-test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("the request must be written");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a socket takes a read timeout");
    // Wait until the server has read the request, so that it is hanging, not still reading.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the server must read the request"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(server);
    let mut rest = Vec::new();
    match socket.read_to_end(&mut rest) {
        Ok(_) => assert!(
            rest.is_empty(),
            "a hanging reply must send nothing, even when closed"
        ),
        Err(error) => assert!(
            !matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "dropping the server must close the connection, not leave it open: {error}"
        ),
    }
}

#[tokio::test]
async fn a_cut_stream_ends_before_its_end() {
    let server = LlmServer::start();
    server.reply(Reply::Cut);
    server.reply(Reply::Cut);
    let mut body = openai_body("hello", true);
    body["stream_options"] = json!({"include_usage": true});
    let text = openai(&server, &body)
        .await
        .text()
        .await
        .unwrap_or_default();
    let lines = data_lines(&text);
    assert!(!lines.is_empty(), "a cut stream sends a few events first");
    assert!(
        !lines.iter().any(|line| line == "[DONE]"),
        "a cut stream must not end with [DONE]"
    );
    for line in &lines {
        let chunk: Value = serde_json::from_str(line).expect("every chunk must be JSON");
        assert!(
            chunk["choices"][0]["finish_reason"].is_null(),
            "a cut stream must not finish"
        );
    }

    let text = anthropic(&server, &anthropic_body("hello", true))
        .await
        .text()
        .await
        .unwrap_or_default();
    let events = named_events(&text);
    assert!(
        events.iter().any(|(name, _)| name == "content_block_delta"),
        "a cut stream sends some text first"
    );
    assert!(
        !events
            .iter()
            .any(|(name, _)| name == "message_stop" || name == "message_delta"),
        "a cut stream must not reach its end"
    );
}

#[tokio::test]
async fn a_cut_answer_closes_before_its_promised_length() {
    let server = LlmServer::start();
    server.reply(Reply::Cut);
    let response = openai(&server, &openai_body("hello", false)).await;
    assert_eq!(response.status(), 200, "a cut answer starts as a success");
    assert!(
        response.text().await.is_err(),
        "a body shorter than its Content-Length must fail to read"
    );
}

#[tokio::test]
async fn a_malformed_reply_is_not_json() {
    let server = LlmServer::start();
    server.reply(Reply::Malformed);
    server.reply(Reply::Malformed);
    server.reply(Reply::Malformed);
    let response = openai(&server, &openai_body("hello", false)).await;
    assert_eq!(response.status(), 200, "a malformed answer is still a 200");
    assert!(
        response.json::<Value>().await.is_err(),
        "a malformed answer must not parse as JSON"
    );

    let lines = data_lines(
        &openai(&server, &openai_body("hello", true))
            .await
            .text()
            .await
            .expect("the body must be read to its end"),
    );
    assert_eq!(
        lines.len(),
        2,
        "a malformed stream is one valid chunk and one broken one"
    );
    assert!(
        serde_json::from_str::<Value>(&lines[0]).is_ok(),
        "the first chunk is valid"
    );
    assert!(
        serde_json::from_str::<Value>(&lines[1]).is_err(),
        "the second chunk is not JSON"
    );

    let text = anthropic(&server, &anthropic_body("hello", true))
        .await
        .text()
        .await
        .expect("the body must be read to its end");
    let events: Vec<&str> = text
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .collect();
    assert_eq!(
        events.len(),
        2,
        "a malformed stream is one valid event and one broken one"
    );
    assert!(
        events[0].starts_with("event: message_start\n"),
        "the valid event opens the message"
    );
    let broken = events[1]
        .split_once("\ndata: ")
        .expect("the broken event has a data line")
        .1;
    assert!(
        serde_json::from_str::<Value>(broken).is_err(),
        "the second event's data is not JSON"
    );
}

#[tokio::test]
async fn a_slow_stream_waits_between_words() {
    let server = LlmServer::start();
    server.reply(Reply::Slow {
        text: "one two three".into(),
        delay_ms: 60,
    });
    server.reply(Reply::Slow {
        text: "all at once".into(),
        delay_ms: 60,
    });
    let started = Instant::now();
    let mut response = openai(&server, &openai_body("hello", true)).await;
    let mut text = String::new();
    let mut reads = 0;
    while let Some(chunk) = response.chunk().await.expect("the stream must be read") {
        text.push_str(std::str::from_utf8(&chunk).expect("the stream must be UTF-8"));
        reads += 1;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "three words must take three delays"
    );
    assert!(reads >= 3, "the words must arrive apart, not in one read");
    let content: String = data_lines(&text)
        .iter()
        .filter(|line| *line != "[DONE]")
        .filter_map(|line| {
            let chunk: Value = serde_json::from_str(line).expect("every chunk must be JSON");
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        content, "one two three",
        "a slow stream must reassemble to the scripted text"
    );

    let started = Instant::now();
    let answer: Value = openai(&server, &openai_body("hello", false))
        .await
        .json()
        .await
        .expect("the body must be JSON");
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "a slow answer waits before it comes"
    );
    assert_eq!(
        answer["choices"][0]["message"]["content"], "all at once",
        "then it comes whole"
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_404_in_the_openai_format() {
    let server = LlmServer::start();
    server.always(Reply::Text("never".into()));
    let response = client()
        .get(format!("{}/models", server.openai_base_url()))
        .bearer_auth("sk-test")
        .send()
        .await
        .expect("the server must answer");
    assert_eq!(response.status(), 404, "only the two chat routes exist");
    let error: Value = response.json().await.expect("the body must be JSON");
    assert_eq!(
        error["error"]["message"], "Invalid URL (GET /v1/models)",
        "the error names the route"
    );
}
