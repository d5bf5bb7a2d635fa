//! `orchestra`: validate, compile, run and report Orchestra pipelines from the command line.
//!
//! This binary is a thin shell: every command is a few lines over the API, pipeline and engine
//! crates, turning their results into text (or JSON with `--json`) and an exit code.

mod commands;
mod progress;
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
        /// Print what each LLM step will send instead: its model, its system prompt (composed
        /// from its role, persona and personality) and its prompt. Nothing is sent.
        #[arg(long, conflicts_with = "explain")]
        show_prompts: bool,
        /// Print what the pipeline is for and how it flows instead, as the orchestrator model
        /// explains it (kept until the file changes).
        #[arg(long)]
        explain: bool,
        /// Pin the answers to the pipeline's `<AUTO>` values in `pins/<name>.yaml` next to it:
        /// every later run uses them.
        #[arg(long, conflicts_with_all = ["explain", "show_prompts"])]
        pin: bool,
    },
    /// Draft a new pipeline from a description with the orchestrator model; it is validated,
    /// corrected (at most three rounds) and written only when valid. Nothing runs.
    New {
        /// What the pipeline should do, in words.
        #[arg(long, value_name = "TEXT")]
        describe: String,
        /// The file to write; an existing file is never replaced.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
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
    /// Run a pipeline and show its progress. Exits 0 when it succeeds, 1 when it fails (or is
    /// cancelled or rejected), 2 for a usage error or an invalid pipeline, and 3 when it pauses
    /// for an approval.
    Run {
        /// The pipeline file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// An input, as `name=value` (repeat for several).
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// Re-run from this step, reusing the results of the steps before it (with `--reuse`).
        #[arg(long, value_name = "STEP", requires = "reuse")]
        from: Option<String>,
        /// The earlier run whose results `--from` reuses.
        #[arg(long, value_name = "RUN", requires = "from")]
        reuse: Option<String>,
        /// Print the result as JSON when the run ends.
        #[arg(long)]
        json: bool,
        /// Show what the steps print as they run.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// List the project's runs, newest first.
    Runs {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a run produced.
    Show {
        /// The run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
        /// Its log of events.
        #[arg(long, group = "view")]
        log: bool,
        /// Its outputs.
        #[arg(long, group = "view")]
        outputs: bool,
        /// Its quality-control report.
        #[arg(long, group = "view")]
        qc: bool,
        /// The full report, as `md` (Markdown) or `html` (one self-contained page).
        #[arg(long, group = "view", value_name = "FORMAT", value_parser = ["md", "html"])]
        report: Option<String>,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Continue an interrupted, failed, cancelled or paused run: finished steps keep their
    /// results, the rest start over.
    Resume {
        /// The run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
        /// Print the result as JSON when the run ends.
        #[arg(long)]
        json: bool,
        /// Show what the steps print as they run.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Run again from a checkpoint: a new run starts with the results an earlier run had when
    /// it reached STEP and, for a pipeline with a repository, on a new branch from the commit
    /// the earlier run's branch was at then.
    Replay {
        /// The earlier run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
        /// The top-level step to replay from.
        #[arg(long, value_name = "STEP")]
        at: String,
        /// Print the result as JSON when the run ends.
        #[arg(long)]
        json: bool,
        /// Show what the steps print as they run.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Remove the branches and worktrees of runs that finished some time ago. A running,
    /// paused or interrupted run keeps its own; a branch holding commits a person made there is
    /// kept; a worktree with uncommitted changes is kept unless `--force`.
    Cleanup {
        /// Only runs that finished longer ago than this (`14d`, `12h`, `0s` for all).
        #[arg(long, value_name = "AGE", default_value = "14d")]
        older_than: String,
        /// Remove worktrees with uncommitted changes too.
        #[arg(long)]
        force: bool,
        /// Print what was removed and kept as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer an approval a run waits for, and continue the run.
    Approve {
        /// The run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
        /// The approval step.
        #[arg(value_name = "STEP")]
        step: String,
        /// Reject instead of approving.
        #[arg(long)]
        reject: bool,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
        /// Print the result as JSON when the run ends.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Take part in a run's conversation: read what an interactive agent step said and answer
    /// it, end it (`/done`) or reject it (`/reject`), or approve or reject a tool call an agent
    /// waits to make. Exits like `run` when the run ends, and 3 when you leave while it waits.
    Attach {
        /// The run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
        /// The step to talk to, when more than one waits.
        #[arg(long, value_name = "STEP")]
        step: Option<String>,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Stop a run: its running steps are stopped and what finished is kept.
    Cancel {
        /// The run's id (or the start of it).
        #[arg(value_name = "RUN")]
        run: String,
    },
    /// Manage the API keys of model providers.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Print the JSON Schema of the pipeline format, for editors.
    Schema {
        /// Print the schema of prompt layer and personality files instead.
        #[arg(long)]
        personality: bool,
    },
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

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Store a provider's API key, read from standard input (not shown on a terminal).
    Set {
        /// The provider, such as `openai` or `anthropic`.
        provider: String,
    },
    /// Show every provider, where its requests go, and whether its key is set (never the key).
    Status {
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a provider's stored key.
    Remove {
        /// The provider.
        provider: String,
    },
}

/// Where LLM steps get their answers.
#[derive(Debug, clap::Args)]
struct ModelArgs {
    /// Save every exchange with a model to FILE, so that the run can be replayed offline.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    record: Option<PathBuf>,
    /// Answer LLM steps from a recording made with `--record`; a request it does not hold fails.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
}

impl ModelArgs {
    fn mode(self) -> orchestra_api::ModelMode {
        match (self.record, self.replay) {
            (Some(file), _) => orchestra_api::ModelMode::Record(file),
            (None, Some(file)) => orchestra_api::ModelMode::Replay(file),
            (None, None) => orchestra_api::ModelMode::Live,
        }
    }
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
    /// The run paused: it waits for a person (an approval, or their turn in a conversation).
    Paused = 3,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let global_dir = orchestra_api::global_dir();
    let outcome = match cli.command {
        Command::Validate {
            files,
            json,
            deny_warnings,
        } => commands::validate::run(&files, json, deny_warnings, global_dir.as_deref()),
        Command::Compile {
            file,
            json,
            show_prompts,
            explain,
            pin,
        } => {
            if explain {
                commands::new::explain(&file, json, global_dir.as_deref())
            } else {
                let args = commands::compile::CompileArgs {
                    file: &file,
                    json,
                    show_prompts,
                    pin,
                };
                commands::compile::run(&args, global_dir.as_deref())
            }
        }
        Command::New { describe, output } => {
            commands::new::draft(&describe, &output, global_dir.as_deref())
        }
        Command::Fmt { files, check } => commands::fmt::run(&files, check, global_dir.as_deref()),
        Command::Run {
            file,
            inputs,
            from,
            reuse,
            json,
            verbose,
            models,
        } => {
            let args = commands::run::RunArgs {
                file: &file,
                inputs: &inputs,
                from,
                reuse,
                json,
                verbose,
                models: models.mode(),
            };
            commands::run::run(&args, global_dir.as_deref())
        }
        Command::Runs { json } => commands::runs::run(json, global_dir.as_deref()),
        Command::Show {
            run,
            log,
            outputs,
            qc,
            report,
            json,
        } => {
            let view = match (log, outputs, qc, report.as_deref()) {
                (true, ..) => commands::show::View::Log,
                (_, true, ..) => commands::show::View::Outputs,
                (_, _, true, _) => commands::show::View::Qc,
                (.., Some("html")) => commands::show::View::Html,
                (.., Some(_)) => commands::show::View::Markdown,
                _ => commands::show::View::Summary,
            };
            commands::show::run(&run, view, json, global_dir.as_deref())
        }
        Command::Resume {
            run,
            json,
            verbose,
            models,
        } => commands::run::go_on(
            &run,
            commands::run::Stored::Resume,
            json,
            verbose,
            &models.mode(),
            global_dir.as_deref(),
        ),
        Command::Replay {
            run,
            at,
            json,
            verbose,
            models,
        } => commands::run::go_on(
            &run,
            commands::run::Stored::Replay { at: &at },
            json,
            verbose,
            &models.mode(),
            global_dir.as_deref(),
        ),
        Command::Cleanup {
            older_than,
            force,
            json,
        } => commands::cleanup::run(&older_than, force, json, global_dir.as_deref()),
        Command::Approve {
            run,
            step,
            reject,
            comment,
            json,
            models,
        } => {
            let answer = commands::run::Answer {
                step: &step,
                approved: !reject,
                comment,
            };
            commands::run::go_on(
                &run,
                commands::run::Stored::Answer(answer),
                json,
                false,
                &models.mode(),
                global_dir.as_deref(),
            )
        }
        Command::Attach { run, step, models } => {
            commands::attach::run(&run, step.as_deref(), &models.mode(), global_dir.as_deref())
        }
        Command::Cancel { run } => commands::cancel::run(&run, global_dir.as_deref()),
        Command::Auth { command } => match command {
            AuthCommand::Set { provider } => commands::auth::set(&provider, global_dir.as_deref()),
            AuthCommand::Status { json } => commands::auth::status(json, global_dir.as_deref()),
            AuthCommand::Remove { provider } => {
                commands::auth::remove(&provider, global_dir.as_deref())
            }
        },
        Command::Schema { personality } => commands::schema::run(personality),
        Command::Actions { json, markdown } => commands::actions::run(json, markdown),
    };
    ExitCode::from(outcome as u8)
}
