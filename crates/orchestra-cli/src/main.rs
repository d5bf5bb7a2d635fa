//! `orchestra`: validate, compile and describe Orchestra pipelines from the command line.
//!
//! This binary is a thin shell: every command is a few lines over the pipeline and engine
//! crates, turning their results into text (or JSON with `--json`) and an exit code.

mod commands;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Orchestra runs AI pipelines written as YAML: this is its command line.
#[derive(Debug, Parser)]
#[command(name = "orchestra", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check pipeline files and print every problem found, with its line and column.
    ///
    /// Exits 0 when every file is free of errors, 1 when problems were found, and 2 when a
    /// file cannot be read.
    Validate {
        /// The pipeline files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print the diagnostics as JSON, for tools.
        #[arg(long)]
        json: bool,
        /// Count warnings as problems too (exit 1 when there are any).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Compile a pipeline and print its execution plan: steps with their defaults applied, the
    /// edges between them, and the levels in which they can run.
    Compile {
        /// The pipeline file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the plan as JSON, for tools.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite pipeline files in the canonical form the studio saves: keys in a fixed order,
    /// short lists on one line, prompts as blocks. Comments are not kept.
    Fmt {
        /// The pipeline files to format.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Change nothing; exit 1 if a file is not in canonical form.
        #[arg(long)]
        check: bool,
    },
    /// Print the JSON Schema of the pipeline format, for editors.
    Schema,
    /// List the actions a step can use, with their parameters.
    Actions {
        /// Print them as JSON, for tools.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print them as the Markdown reference page (`docs/actions.md`).
        #[arg(long)]
        markdown: bool,
    },
}

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was fine.
    Clean = 0,
    /// The command ran and found problems in its input.
    Problems = 1,
    /// The command could not do its work: bad usage, or a file that cannot be read.
    Unusable = 2,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let global_dir = global_dir();
    let outcome = match cli.command {
        Command::Validate {
            files,
            json,
            deny_warnings,
        } => commands::validate::run(&files, json, deny_warnings, global_dir.as_deref()),
        Command::Compile { file, json } => {
            commands::compile::run(&file, json, global_dir.as_deref())
        }
        Command::Fmt { files, check } => commands::fmt::run(&files, check, global_dir.as_deref()),
        Command::Schema => commands::schema::run(),
        Command::Actions { json, markdown } => commands::actions::run(json, markdown),
    };
    ExitCode::from(outcome as u8)
}

/// The user's global Orchestra folder, where personalities and agents shared by every project
/// live: `$ORCHESTRA_HOME`, else `$XDG_CONFIG_HOME/orchestra`, else `~/.config/orchestra`.
fn global_dir() -> Option<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    from_env("ORCHESTRA_HOME")
        .or_else(|| from_env("XDG_CONFIG_HOME").map(|dir| dir.join("orchestra")))
        .or_else(|| from_env("HOME").map(|home| home.join(".config").join("orchestra")))
}
