//! The tools an `agent` step may call: the built-in ones and the workspace's named commands.
//!
//! Every tool is an action in disguise: `read_file` is `file.read`, `run-tests` is a `shell` step
//! with the workspace's command. So a tool has exactly the guarantees of its action (paths stay
//! inside the workspace, arguments reach programs as argv, process groups are killed on cancel),
//! and its output and files are recorded in the agent step's log. A step can call only the tools
//! it names.

use std::fmt::Write;

use orchestra_pipeline::model::{Command, Tool};
use serde_json::{Map, Value, json};

use super::{ActionOutput, Call, Done, Failure};
use crate::models::{ToolCall, ToolSpec};

/// The tools one step may call.
#[derive(Debug, Default)]
pub(super) struct Toolbox {
    specs: Vec<ToolSpec>,
}

/// How much of a tool's output the model is shown; the rest is cut, and the cut is said.
const MAX_RESULT: usize = 64 << 10;

impl Toolbox {
    /// The tools named by the step's `tools`, described for the model.
    pub(super) fn for_step(call: &Call<'_>) -> Result<Self, Failure> {
        let names: Vec<&str> = call
            .params
            .get("tools")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let workspace = &call.env.plan().tools;
        let specs = names
            .into_iter()
            .map(|name| match (builtin(name), workspace.get(name)) {
                (Some(spec), _) => Ok(spec),
                (None, Some(tool)) => Ok(ToolSpec {
                    name: name.to_owned(),
                    description: tool.description.clone().unwrap_or_else(|| {
                        format!("Runs the workspace command `{name}`.")
                    }),
                    parameters: json!({ "type": "object", "properties": {} }),
                }),
                (None, None) => Err(Failure::fatal(format!(
                    "the step lists the tool `{name}`, which is neither built in nor under `workspace.tools`"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { specs })
    }

    /// The tools, as the model is told about them.
    pub(super) fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Runs a tool the model called, and returns what the model reads back. A failure is given
    /// to the model as an error message, so it can try something else.
    pub(super) async fn run(&self, call: &Call<'_>, tool: &ToolCall) -> Result<String, Failure> {
        if !self.specs.iter().any(|spec| spec.name == tool.name) {
            return Err(Failure::fatal(format!(
                "this step may not call `{}`; it may call: {}",
                tool.name,
                self.specs
                    .iter()
                    .map(|spec| spec.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let arguments = match &tool.arguments {
            Value::Object(arguments) => arguments.clone(),
            Value::Null => Map::new(),
            other => {
                return Err(Failure::fatal(format!(
                    "the arguments of `{}` must be a JSON object, not {other}",
                    tool.name
                )));
            }
        };
        let workspace_tool = call.env.plan().tools.get(&tool.name);
        let (action, params, timeout) = match workspace_tool {
            Some(declared) if builtin(&tool.name).is_none() => {
                let (action, params) = command(declared);
                (
                    action,
                    params,
                    declared
                        .timeout
                        .as_ref()
                        .map(orchestra_pipeline::model::Duration::to_std),
                )
            }
            _ => {
                let (action, params) = builtin_call(&tool.name, &arguments)?;
                (action, params, None)
            }
        };
        let Some(action) = super::action(action) else {
            return Err(Failure::fatal(format!(
                "the tool `{}` has no action",
                tool.name
            )));
        };
        let inner = Call {
            step: call.step,
            action: action.spec.name,
            params: &params,
            env: call.env,
            timeout,
        };
        match (action.run)(inner).await {
            Ok(Done::Output(output)) => Ok(describe(&output)),
            Ok(Done::Parked) => Err(Failure::fatal(format!(
                "the tool `{}` cannot wait for a person",
                tool.name
            ))),
            Err(failure) if failure.cancelled => Err(failure),
            Err(failure) => {
                let partial = failure.partial.as_deref().map(describe);
                Err(Failure::fatal(match partial {
                    Some(partial) if !partial.is_empty() => {
                        format!("{}\n{partial}", failure.message)
                    }
                    _ => failure.message,
                }))
            }
        }
    }
}

/// A built-in tool, described for the model.
fn builtin(name: &str) -> Option<ToolSpec> {
    let path = json!({ "type": "string", "description": "A path relative to the workspace." });
    let (description, parameters) = match name {
        "read_file" => (
            "Reads a text file of the workspace.",
            json!({ "type": "object", "required": ["path"], "properties": { "path": path } }),
        ),
        "list_files" => (
            "Lists the files in a folder of the workspace, optionally matching a glob pattern.",
            json!({ "type": "object", "properties": {
                "path": { "type": "string", "description": "A folder relative to the workspace; the workspace itself when absent." },
                "pattern": { "type": "string", "description": "A glob pattern, such as `**/*.rs`." }
            } }),
        ),
        "write_file" => (
            "Writes a text file inside the workspace, replacing what it held.",
            json!({ "type": "object", "required": ["path", "content"], "properties": {
                "path": path, "content": { "type": "string" }
            } }),
        ),
        "http_get" => (
            "Fetches a URL with HTTP GET and returns the response body.",
            json!({ "type": "object", "required": ["url"], "properties": { "url": { "type": "string" } } }),
        ),
        "git_diff" => (
            "Shows the uncommitted changes of the workspace's git repository, optionally for one path.",
            json!({ "type": "object", "properties": { "path": path } }),
        ),
        _ => return None,
    };
    Some(ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    })
}

/// The action and parameters a built-in tool call runs as.
fn builtin_call(
    name: &str,
    arguments: &Map<String, Value>,
) -> Result<(&'static str, Map<String, Value>), Failure> {
    let text = |key: &str| -> Result<Value, Failure> {
        match arguments.get(key) {
            Some(Value::String(text)) => Ok(Value::String(text.clone())),
            Some(other) => Err(Failure::fatal(format!(
                "the argument `{key}` of `{name}` must be text, not {other}"
            ))),
            None => Err(Failure::fatal(format!(
                "`{name}` needs the argument `{key}`"
            ))),
        }
    };
    let optional = |key: &str| arguments.get(key).and_then(Value::as_str).map(Value::from);
    let mut params = Map::new();
    let action = match name {
        "read_file" => {
            params.insert("path".into(), text("path")?);
            "file.read"
        }
        "list_files" => {
            params.insert("path".into(), optional("path").unwrap_or(Value::from(".")));
            if let Some(pattern) = optional("pattern") {
                params.insert("pattern".into(), pattern);
                params.insert("recursive".into(), Value::Bool(true));
            }
            "file.list"
        }
        "write_file" => {
            let path = text("path")?;
            if let Some(reason) = path.as_str().and_then(protected) {
                return Err(Failure::fatal(reason));
            }
            params.insert("path".into(), path);
            params.insert("content".into(), text("content")?);
            "file.write"
        }
        "http_get" => {
            params.insert("url".into(), text("url")?);
            params.insert("method".into(), Value::from("GET"));
            "http"
        }
        "git_diff" => {
            // Each value is one argument after `--`, so a path can never be read as an option;
            // literal pathspecs, so it cannot reach outside (`:/`); and no program that the
            // repository's configuration names runs (external diff, text conversion, monitor).
            let mut argv: Vec<Value> = [
                "git",
                "-c",
                "core.fsmonitor=false",
                "--no-pager",
                "--literal-pathspecs",
                "diff",
                "--no-ext-diff",
                "--no-textconv",
                "--",
            ]
            .into_iter()
            .map(Value::from)
            .collect();
            argv.extend(optional("path"));
            params.insert("run".into(), Value::Array(argv));
            "shell"
        }
        other => {
            return Err(Failure::fatal(format!("`{other}` is not a built-in tool")));
        }
    };
    Ok((action, params))
}

/// Why an agent may not write a path, if it may not: a repository's own files (whose settings
/// can name programs that git runs) and Orchestra's project settings.
fn protected(path: &str) -> Option<String> {
    // The path as the workspace will resolve it (`x/../y` is `y`), compared without case, as a
    // case-insensitive file system would.
    let mut parts: Vec<String> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part.to_ascii_lowercase()),
        }
    }
    if parts.iter().any(|part| part == ".git") {
        return Some(format!(
            "`{path}` is inside a git repository's own folder, which an agent may not change"
        ));
    }
    if parts
        .iter()
        .any(|part| part == "orchestra.yaml" || part == ".orchestra")
    {
        return Some(format!(
            "`{path}` holds Orchestra's own settings or runs, which an agent may not change"
        ));
    }
    None
}

/// The `shell` step a workspace tool runs as.
fn command(tool: &Tool) -> (&'static str, Map<String, Value>) {
    let mut params = Map::new();
    match &tool.command {
        Command::Argv(argv) => {
            params.insert("run".into(), Value::from(argv.clone()));
        }
        Command::Line(line) => {
            params.insert("run".into(), Value::from(line.clone()));
            params.insert("shell".into(), Value::Bool(tool.shell));
        }
    }
    ("shell", params)
}

/// What the model reads of a tool's result: its output, and for a program its standard error and
/// a failing exit code too.
fn describe(output: &ActionOutput) -> String {
    let mut text = match &output.output {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if let Some(stderr) = output.stderr.as_deref().filter(|stderr| !stderr.is_empty()) {
        text.push_str("\n[stderr]\n");
        text.push_str(stderr);
    }
    // A program's exit code matters to the model only when it is not success (an HTTP
    // status, which also fills `exit_code`, has no standard error and is not shown).
    if let Some(code) = output
        .exit_code
        .filter(|code| *code != 0 && output.stderr.is_some())
    {
        let _ = write!(text, "\n[exit code {code}]");
    }
    let dropped = crate::cut_to(&mut text, MAX_RESULT);
    if dropped > 0 {
        let _ = write!(text, "\n[{dropped} more bytes not shown]");
    }
    text
}
