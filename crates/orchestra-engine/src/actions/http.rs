//! `http`: an HTTP request.
//!
//! ## What it does
//! Sends a request and records the response body as the step's `output` (parsed when it is
//! JSON). A status outside `expect_status` (by default any 2xx) fails the step.

use indexmap::IndexMap;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamProblem, ParamSpec};
use serde_json::Value;

/// The HTTP methods a step may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The `http` action.
pub const SPEC: ActionSpec = ActionSpec {
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
