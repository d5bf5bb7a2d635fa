//! `file.list`: lists files of the workspace.
//!
//! ## What it does
//! Lists the files under a folder of the workspace, optionally matching a glob pattern; the
//! step's `output` is the list of paths, relative to the workspace.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

/// The `file.list` action.
pub const SPEC: ActionSpec = ActionSpec {
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
