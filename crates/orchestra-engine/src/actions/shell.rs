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
use orchestra_pipeline::{
    ActionSpec, ParamKind, ParamProblem, ParamSpec, is_template, templated_script,
};
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
    let problem = |param, message: &str, help: &str| {
        vec![ParamProblem {
            param,
            message: message.to_owned(),
            help: Some(help.to_owned()),
        }]
    };
    match params.get("run") {
        Some(Value::String(line)) if shell && is_auto(line) => problem(
            "run",
            "a shell command line cannot be chosen by a model, which could make it run anything",
            "write the command, or drop `shell: true` and let the model choose arguments of a fixed program",
        ),
        Some(Value::String(line)) if !shell && !is_auto(line) => problem(
            "run",
            "a command written as one string runs only with `shell: true`",
            "write it as a list, such as `run: [git, status]`, so that each argument is passed as it is",
        ),
        Some(Value::String(line)) if shell && is_template(line) => problem(
            "run",
            "templates cannot be pasted into a shell command line, where a value could run as a command",
            "pass the value through `env:` (such as `env: { BASE: \"{{ inputs.base }}\" }`) and read it as \"$BASE\"",
        ),
        Some(Value::Array(_)) if shell => problem(
            "shell",
            "`shell: true` runs one command line, but `run` is a list",
            "drop `shell: true` to run the list as a program and its arguments",
        ),
        Some(Value::Array(items)) => {
            let argv: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            match templated_script(&argv) {
                Some(at) => problem(
                    "run",
                    &format!(
                        "`{}` runs argument {} as code, and a template in it could run as a command",
                        argv[0],
                        at + 1
                    ),
                    "pass the value through `env:` and read it in the script as \"$NAME\"",
                ),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn is_auto(text: &str) -> bool {
    orchestra_pipeline::model::auto_instruction(text).is_some()
}
