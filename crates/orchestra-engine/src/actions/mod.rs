//! The actions, one file each, and the one list that registers them.
//!
//! Adding an action means adding its file and one line to [`ACTIONS`]; a test checks that no
//! name is registered twice and that every action's example validates.

mod agent;
mod approval;
mod file_list;
mod file_read;
mod file_write;
mod generate;
mod http;
mod pipeline;
mod shell;
mod template;

use orchestra_pipeline::{ActionSpec, Catalog};

/// Every action, in the order they are documented.
pub const ACTIONS: &[&ActionSpec] = &[
    &shell::SPEC,
    &generate::SPEC,
    &agent::SPEC,
    &http::SPEC,
    &file_read::SPEC,
    &file_write::SPEC,
    &file_list::SPEC,
    &template::SPEC,
    &approval::SPEC,
    &pipeline::SPEC,
];

/// The tools an agent may call without the workspace declaring them.
pub const BUILTIN_TOOLS: &[&str] = &[
    "read_file",
    "list_files",
    "write_file",
    "http_get",
    "git_diff",
];

/// The actions and tools of this engine, for loading and validating pipelines.
pub const CATALOG: Catalog = Catalog {
    actions: ACTIONS,
    builtin_tools: BUILTIN_TOOLS,
};
