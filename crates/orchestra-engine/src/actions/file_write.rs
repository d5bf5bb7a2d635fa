//! `file.write`: writes a file of the workspace.
//!
//! ## What it does
//! Writes (or appends) text to a file inside the workspace, creating its folders, and records
//! the file as an artifact of the run.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

/// The `file.write` action.
pub const SPEC: ActionSpec = ActionSpec {
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
