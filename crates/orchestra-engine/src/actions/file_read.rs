//! `file.read`: reads a file of the workspace.
//!
//! ## What it does
//! Reads a text file inside the workspace; its text is the step's `output`. A path that leaves
//! the workspace (absolute, `..`, or a symbolic link pointing out) is refused.

use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec, no_check};

/// The `file.read` action.
pub const SPEC: ActionSpec = ActionSpec {
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
