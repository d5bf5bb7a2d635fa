//! `file.list`: lists files of the workspace.
//!
//! ## What it does
//! Lists the files under a folder of the workspace, optionally matching a glob pattern; the
//! step's `output` is the list of paths, relative to the workspace.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

use std::path::Path;

use futures::future::BoxFuture;
use globset::Glob;
use serde_json::Value;

use super::{Action, ActionOutput, Call, Done, Failure};
use crate::workspace::Workspace;

/// The `file.list` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::ReadOnly,
    writes: super::Writes::Never,
};

/// What `file.list` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "file.list",
    summary: "Lists the files of a folder inside the workspace.",
    example: "id: sources\naction: file.list\npath: src\npattern: \"*.rs\"\nrecursive: true\n",
    params: &[
        ParamSpec {
            name: "path",
            kind: ParamKind::Path,
            required: false,
            summary: "The folder, relative to the workspace; its top when left out.",
        },
        ParamSpec {
            name: "pattern",
            kind: ParamKind::Text,
            required: false,
            summary: "A glob pattern the file names must match, such as `*.md`.",
        },
        ParamSpec {
            name: "recursive",
            kind: ParamKind::Bool,
            required: false,
            summary: "Include the files of sub-folders.",
        },
    ],
    check: no_check,
};

/// The most files a listing returns; a larger listing is almost certainly a mistake.
const MAX_FILES: usize = 100_000;

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(run(call))
}

async fn run(call: Call<'_>) -> Result<Done, Failure> {
    let path = call.text("path").unwrap_or(".");
    let workspace = call.env.workspace().clone();
    let folder = workspace
        .resolve(path)
        .map_err(|error| Failure::fatal(error.to_string()))?;
    let pattern = match call.text("pattern") {
        Some(pattern) => Some(
            Glob::new(pattern)
                .map_err(|error| {
                    Failure::fatal(format!("`{pattern}` is not a glob pattern: {error}"))
                })?
                .compile_matcher(),
        ),
        None => None,
    };
    let recursive = call.flag("recursive");
    let shown = path.to_owned();
    let listing = tokio::task::spawn_blocking(move || {
        list(&workspace, &folder, pattern.as_ref(), recursive, &shown)
    });
    let files = call
        .bounded(listing)
        .await?
        .map_err(|error| Failure::fatal(format!("listing `{path}` stopped: {error}")))??;
    let output = Value::from(files.clone());
    Ok(Done::Output(ActionOutput {
        output,
        ..ActionOutput::default()
    }))
}

/// The files under `folder` (following no symbolic link out of the workspace), sorted, as paths
/// relative to the workspace.
fn list(
    workspace: &Workspace,
    folder: &Path,
    pattern: Option<&globset::GlobMatcher>,
    recursive: bool,
    shown: &str,
) -> Result<Vec<String>, Failure> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(current) = folders.pop() {
        let entries = std::fs::read_dir(&current).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => Failure::fatal(format!(
                "the folder `{shown}` does not exist in the workspace"
            )),
            _ => Failure::retryable(format!(
                "listing `{}` failed: {error}",
                workspace.relative(&current)
            )),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = workspace.relative(&path);
            // A link that points out of the workspace is not listed.
            if workspace.resolve(&relative).is_err() {
                continue;
            }
            if path.is_dir() {
                if recursive {
                    folders.push(path);
                }
                continue;
            }
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            if pattern.is_none_or(|pattern| pattern.is_match(&name)) {
                files.push(relative);
            }
            if files.len() > MAX_FILES {
                return Err(Failure::fatal(format!(
                    "`{shown}` holds more than {MAX_FILES} files"
                )));
            }
        }
    }
    files.sort();
    Ok(files)
}
