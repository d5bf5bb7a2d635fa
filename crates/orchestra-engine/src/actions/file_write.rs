//! `file.write`: writes a file of the workspace.
//!
//! ## What it does
//! Writes (or appends) text to a file inside the workspace, creating its folders, and records
//! the file as an artifact of the run.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::{Action, ActionOutput, Call, Done, Failure};
use crate::event::RunEvent;

/// The `file.write` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::Always,
};

/// What `file.write` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "file.write",
    summary: "Writes text to a file inside the workspace.",
    example: "id: save\naction: file.write\ndepends_on: [summary]\npath: \"reports/{{ run.id }}.md\"\ncontent: \"{{ summary.output }}\"\n",
    params: &[
        ParamSpec {
            name: "path",
            kind: ParamKind::Path,
            required: true,
            summary: "The file, relative to the workspace; a template.",
        },
        ParamSpec {
            name: "content",
            kind: ParamKind::Text,
            required: true,
            summary: "The text to write, a template.",
        },
        ParamSpec {
            name: "append",
            kind: ParamKind::Bool,
            required: false,
            summary: "Add to the end of the file instead of replacing it.",
        },
    ],
    check: no_check,
};

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(run(call))
}

async fn run(call: Call<'_>) -> Result<Done, Failure> {
    let path = call.required("path")?;
    let content = call.text("content").unwrap_or_default();
    let workspace = call.env.workspace();
    let full = workspace
        .resolve(path)
        .map_err(|error| Failure::fatal(error.to_string()))?;
    let io =
        |error: std::io::Error| Failure::retryable(format!("writing `{path}` failed: {error}"));
    let write = async {
        if let Some(folder) = full.parent() {
            tokio::fs::create_dir_all(folder).await?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(call.flag("append"))
            .truncate(!call.flag("append"))
            .open(&full)
            .await?;
        file.write_all(content.as_bytes()).await?;
        file.sync_all().await?;
        tokio::fs::read(&full).await
    };
    let written = call.bounded(write).await?.map_err(io)?;
    let relative = workspace.relative(&full);
    let sha256 = crate::sha256_hex(&written);
    call.env.emit(RunEvent::Artifact {
        step: call.step.clone(),
        path: relative.clone(),
        sha256,
        size: u64::try_from(written.len()).unwrap_or(u64::MAX),
    })?;
    Ok(Done::Output(ActionOutput {
        output: Value::String(relative.clone()),
        files: vec![relative],
        ..ActionOutput::default()
    }))
}
