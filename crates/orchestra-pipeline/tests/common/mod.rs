//! A small catalog of actions and helpers shared by the format's tests. The real actions live in
//! the engine; the format only needs actions that declare parameters of every kind.

#![allow(dead_code)]

use orchestra_pipeline::{
    ActionSpec, Catalog, Checked, Context, Diagnostic, Library, ParamKind, ParamSpec, Source,
    check, no_check,
};

const fn param(name: &'static str, kind: ParamKind, required: bool) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        required,
        summary: "A parameter for tests.",
    }
}

const SHELL: ActionSpec = ActionSpec {
    name: "shell",
    summary: "Runs a program.",
    example: "id: a\naction: shell\nrun: [echo]\n",
    params: &[
        param("run", ParamKind::Command, true),
        param("env", ParamKind::TextMap, false),
        param("cwd", ParamKind::Path, false),
    ],
    check: no_check,
};

const GENERATE: ActionSpec = ActionSpec {
    name: "generate",
    summary: "Calls a model.",
    example: "id: a\naction: generate\nprompt: hi\n",
    params: &[
        param("prompt", ParamKind::Text, true),
        param("agent", ParamKind::Agent, false),
        param("model", ParamKind::Model, false),
        param("personality", ParamKind::Personality, false),
        param(
            "temperature",
            ParamKind::Number { min: 0.0, max: 2.0 },
            false,
        ),
        param("output_schema", ParamKind::JsonSchema, false),
        param("tools", ParamKind::Tools, false),
    ],
    check: no_check,
};

const WRITE: ActionSpec = ActionSpec {
    name: "file.write",
    summary: "Writes a file.",
    example: "id: a\naction: file.write\npath: a.txt\ncontent: x\n",
    params: &[
        param("path", ParamKind::Path, true),
        param("content", ParamKind::Text, true),
    ],
    check: no_check,
};

const HTTP: ActionSpec = ActionSpec {
    name: "http",
    summary: "Sends a request.",
    example: "id: a\naction: http\nurl: https://example.com\n",
    params: &[
        param("url", ParamKind::Text, true),
        param(
            "method",
            ParamKind::Choice {
                choices: &["GET", "POST"],
            },
            false,
        ),
        param("body", ParamKind::Json, false),
        param("expect_status", ParamKind::StatusCodes, false),
        param("retries", ParamKind::Integer { min: 0, max: 5 }, false),
    ],
    check: no_check,
};

const PIPELINE: ActionSpec = ActionSpec {
    name: "pipeline",
    summary: "Runs a pipeline.",
    example: "id: a\naction: pipeline\npath: other.yaml\n",
    params: &[
        param("path", ParamKind::Path, true),
        param("inputs", ParamKind::Json, false),
    ],
    check: no_check,
};

/// The actions of the tests.
pub const CATALOG: Catalog = Catalog {
    actions: &[&SHELL, &GENERATE, &WRITE, &HTTP, &PIPELINE],
    builtin_tools: &["read_file", "git_diff"],
};

/// Loads and validates `text` without a library (no file lookups).
pub fn check_text(text: &str) -> Checked {
    check(
        Source::new("test.yaml", text),
        &Context {
            catalog: &CATALOG,
            library: None,
        },
    )
}

/// Loads and validates `text` with the lookups of `library`.
pub fn check_with_library(text: &str, library: &Library) -> Checked {
    check(
        Source::new("test.yaml", text),
        &Context {
            catalog: &CATALOG,
            library: Some(library),
        },
    )
}

/// Each diagnostic as `line:column code`, the form the tests compare against.
pub fn summarize(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| match d.span {
            Some(span) => format!("{}:{} {}", span.line, span.column, d.code.as_str()),
            None => format!("?:? {}", d.code.as_str()),
        })
        .collect()
}

/// Asserts that `text` gives exactly the diagnostics `expected` (as `line:column code`).
pub fn assert_diagnostics(text: &str, expected: &[&str]) {
    let checked = check_text(text);
    let found = summarize(&checked.report.diagnostics);
    assert_eq!(
        found,
        expected,
        "diagnostics differ for:\n{text}\nmessages:\n{}",
        checked
            .report
            .diagnostics
            .iter()
            .map(|d| format!("  {}", d.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
