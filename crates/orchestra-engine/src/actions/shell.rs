//! `shell`: runs a program.
//!
//! ## What it does
//! Starts a program with its arguments, waits for it, and records its exit code, standard
//! output (the step's `output`) and standard error.
//!
//! ## Why a list
//! Each element of `run` reaches the program as one argument, whatever a template puts in it, so
//! a value such as `; rm -rf ~` is text, never a command. A single command line runs only with
//! `shell: true`, and then templates are refused in it: values go in through `env`.

use indexmap::IndexMap;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamProblem, ParamSpec};
use serde_json::Value;

/// The `shell` action.
pub const SPEC: ActionSpec = ActionSpec {
    name: "shell",
    summary: "Runs a program with its arguments and records its exit code and output.",
    example: "id: diff\naction: shell\nrun: [git, diff, \"{{ inputs.base }}...HEAD\"]\nenv: { GIT_PAGER: cat }\ntimeout: 1m\n",
    params: &[
        ParamSpec {
            name: "run",
            kind: ParamKind::Command,
            required: true,
            summary: "The program and its arguments, each a template; or one command line with `shell: true`.",
        },
        ParamSpec {
            name: "shell",
            kind: ParamKind::Bool,
            required: false,
            summary: "Run `run` as one command line through `sh -c`; values reach it only through `env`.",
        },
        ParamSpec {
            name: "cwd",
            kind: ParamKind::Path,
            required: false,
            summary: "The folder to run in, inside the workspace.",
        },
        ParamSpec {
            name: "env",
            kind: ParamKind::TextMap,
            required: false,
            summary: "Environment variables to set, each value a template.",
        },
        ParamSpec {
            name: "stdin",
            kind: ParamKind::Text,
            required: false,
            summary: "Text to write to the program's standard input.",
        },
    ],
    check,
};

fn check(params: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    let shell = params
        .get("shell")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match params.get("run") {
        Some(Value::String(line)) if !shell && !is_auto(line) => vec![ParamProblem {
            param: "run",
            message: "a command written as one string runs only with `shell: true`".to_owned(),
            help: Some("write it as a list, such as `run: [git, status]`, so that each argument is passed as it is".to_owned()),
        }],
        Some(Value::String(line)) if shell && (line.contains("{{") || line.contains("{%")) => vec![ParamProblem {
            param: "run",
            message: "templates cannot be pasted into a shell command line, where a value could run as a command".to_owned(),
            help: Some("pass the value through `env:` (such as `env: { BASE: \"{{ inputs.base }}\" }`) and read it as \"$BASE\"".to_owned()),
        }],
        Some(Value::Array(_)) if shell => vec![ParamProblem {
            param: "shell",
            message: "`shell: true` runs one command line, but `run` is a list".to_owned(),
            help: Some("drop `shell: true` to run the list as a program and its arguments".to_owned()),
        }],
        _ => Vec::new(),
    }
}

fn is_auto(text: &str) -> bool {
    orchestra_pipeline::model::auto_instruction(text).is_some()
}
