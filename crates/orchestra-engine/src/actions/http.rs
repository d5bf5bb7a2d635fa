//! `http`: an HTTP request.
//!
//! ## What it does
//! Sends a request and records the response body as the step's `output` (parsed when it is
//! JSON). A status outside `expect_status` (by default any 2xx) fails the step.

use indexmap::IndexMap;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamProblem, ParamSpec};
use serde_json::Value;

use futures::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::{Action, ActionOutput, Call, Done, Failure};

/// The HTTP methods a step may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The `http` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::Never,
};

/// What `http` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "http",
    summary: "Sends an HTTP request and records the response.",
    example: "id: health\naction: http\nurl: \"{{ inputs.base_url }}/health\"\nexpect_status: 200\ntimeout: 10s\n",
    params: &[
        ParamSpec {
            name: "url",
            kind: ParamKind::Text,
            required: true,
            summary: "The URL, a template; `http://` or `https://`.",
        },
        ParamSpec {
            name: "method",
            kind: ParamKind::Choice { choices: METHODS },
            required: false,
            summary: "The method; `GET` when left out.",
        },
        ParamSpec {
            name: "headers",
            kind: ParamKind::TextMap,
            required: false,
            summary: "Request headers, each value a template.",
        },
        ParamSpec {
            name: "body",
            kind: ParamKind::Json,
            required: false,
            summary: "The request body: text, or a value sent as JSON; strings in it are templates.",
        },
        ParamSpec {
            name: "expect_status",
            kind: ParamKind::StatusCodes,
            required: false,
            summary: "The status codes that count as success; any 2xx when left out.",
        },
    ],
    check,
};

fn check(params: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    let Some(url) = params.get("url").and_then(Value::as_str) else {
        return Vec::new();
    };
    let literal = !url.contains("{{")
        && !url.contains("{%")
        && orchestra_pipeline::model::auto_instruction(url).is_none();
    if literal && !(url.starts_with("http://") || url.starts_with("https://")) {
        return vec![ParamProblem {
            param: "url",
            message: format!("`{url}` is not an HTTP URL"),
            help: Some("start it with `https://` or `http://`".to_owned()),
        }];
    }
    Vec::new()
}

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(run(call))
}

async fn run(call: Call<'_>) -> Result<Done, Failure> {
    let url = call.required("url")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Failure::fatal(format!("`{url}` is not an HTTP URL")));
    }
    let method = call.text("method").unwrap_or("GET");
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| Failure::fatal(format!("`{method}` is not an HTTP method")))?;
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(map)) = call.params.get("headers") {
        for (name, value) in map {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Failure::fatal(format!("`{name}` is not a header name")))?;
            let value =
                HeaderValue::from_str(value.as_str().unwrap_or_default()).map_err(|_| {
                    Failure::fatal(format!(
                        "the header `{name}` holds characters a header cannot"
                    ))
                })?;
            headers.insert(name, value);
        }
    }
    let mut request = call.env.http()?.request(method, url).headers(headers);
    request = match call.params.get("body") {
        None | Some(Value::Null) => request,
        Some(Value::String(text)) => request.body(text.clone()),
        Some(json) => request.json(json),
    };
    // The step's `timeout` bounds the whole exchange: sending, and reading the answer.
    let exchange = async {
        let response = request
            .send()
            .await
            .map_err(|error| connection_failure(url, &error))?;
        let status = response.status();
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|kind| kind.contains("json"));
        let text = response.text().await.map_err(|error| {
            Failure::retryable(format!("reading the response of {url} failed: {error}"))
        })?;
        Ok::<_, Failure>((status, is_json, text))
    };
    let (status, is_json, text) = call.bounded(exchange).await??;
    let output = if is_json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let result = ActionOutput {
        output,
        exit_code: Some(i32::from(status.as_u16())),
        ..ActionOutput::default()
    };
    let expected = match call.params.get("expect_status") {
        Some(Value::Array(codes)) => codes.iter().filter_map(Value::as_u64).collect(),
        Some(code) => code.as_u64().into_iter().collect(),
        None => Vec::new(),
    };
    let ok = if expected.is_empty() {
        status.is_success()
    } else {
        expected.contains(&u64::from(status.as_u16()))
    };
    if ok {
        return Ok(Done::Output(result));
    }
    let message = format!(
        "{url} answered {status}, expected {}",
        describe_expected(&expected)
    );
    // A server that is overloaded or failing may answer differently on the next attempt.
    let retryable = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    let failure = if retryable {
        Failure::retryable(message)
    } else {
        Failure::fatal(message)
    };
    Err(failure.with_output(result))
}

fn describe_expected(expected: &[u64]) -> String {
    if expected.is_empty() {
        "a 2xx status".to_owned()
    } else {
        expected
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

fn connection_failure(url: &str, error: &reqwest::Error) -> Failure {
    let reason = if error.is_connect() {
        "the connection was refused or the host cannot be reached"
    } else if error.is_timeout() {
        "it did not answer in time"
    } else {
        "the request failed"
    };
    // The error's own text names the host and the cause; keep it after the plain sentence.
    Failure::retryable(format!("cannot reach {url}: {reason} ({error})"))
}
