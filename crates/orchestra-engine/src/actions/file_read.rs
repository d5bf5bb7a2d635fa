//! `file.read`: reads a file of the workspace.
//!
//! ## What it does
//! Reads a text file inside the workspace; its text is the step's `output`. A path that leaves
//! the workspace (absolute, `..`, or a symbolic link pointing out) is refused.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use futures::future::BoxFuture;
use serde_json::Value;

use super::{Action, ActionOutput, Call, Done, Failure};

/// The `file.read` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::ReadOnly,
    writes: super::Writes::Never,
};

/// What `file.read` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "file.read",
    summary: "Reads a text file inside the workspace.",
    example: "id: data\naction: file.read\npath: data/sales.csv\n",
    params: &[ParamSpec {
        name: "path",
        kind: ParamKind::Path,
        required: true,
        summary: "The file, relative to the workspace; a template.",
    }],
    check: no_check,
};

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(run(call))
}

async fn run(call: Call<'_>) -> Result<Done, Failure> {
    let path = call.required("path")?;
    let full = call
        .env
        .workspace()
        .resolve(path)
        .map_err(|error| Failure::fatal(error.to_string()))?;
    let bytes = call
        .bounded(tokio::fs::read(&full))
        .await?
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                Failure::fatal(format!("the file `{path}` does not exist in the workspace"))
            }
            std::io::ErrorKind::IsADirectory => {
                Failure::fatal(format!("`{path}` is a folder, not a file"))
            }
            _ => Failure::retryable(format!("reading `{path}` failed: {error}")),
        })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::fatal(format!("the file `{path}` is not UTF-8 text")))?;
    Ok(Done::Output(ActionOutput {
        output: Value::String(text),
        ..ActionOutput::default()
    }))
}
