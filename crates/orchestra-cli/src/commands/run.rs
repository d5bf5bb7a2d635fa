//! `orchestra run`, `resume` and `approve`: drive a run and show how it went.

use std::path::Path;
use std::sync::Arc;

use orchestra_api::{
    ApiError, Finished, ModelMode, Overview, Project, RunStatus, SkipReason, StartOptions,
    StepLine, WaitingFor, human_duration,
};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::progress::{Progress, sanitize};
use crate::render;

/// What `run` was asked.
pub struct RunArgs<'a> {
    pub file: &'a Path,
    pub inputs: &'a [String],
    pub from: Option<String>,
    pub reuse: Option<String>,
    pub json: bool,
    pub verbose: bool,
    pub models: ModelMode,
}

/// A person's answer to an approval.
pub struct Answer<'a> {
    pub step: &'a str,
    pub approved: bool,
    pub comment: Option<String>,
}

pub fn run(args: &RunArgs<'_>, global_dir: Option<&Path>) -> Outcome {
    let inputs = match parse_inputs(args.inputs) {
        Ok(inputs) => inputs,
        Err(message) => {
            anstream::eprintln!("error: {message}");
            return Outcome::Unusable;
        }
    };
    let mut project = match Project::discover(args.file, global_dir.map(Path::to_path_buf)) {
        Ok(project) => project,
        Err(error) => return report_error(&error),
    };
    // A new run records afresh; `resume` and `approve` add to the recording of their run.
    if let ModelMode::Record(file) = &args.models
        && file.is_file()
        && let Err(error) = std::fs::remove_file(file)
    {
        anstream::eprintln!(
            "error: the recording {} cannot be replaced: {error}",
            file.display()
        );
        return Outcome::Unusable;
    }
    if let Err(outcome) = use_models(&mut project, &args.models) {
        return outcome;
    }
    let total = project
        .check(args.file)
        .ok()
        .and_then(|checked| checked.pipeline.map(|pipeline| pipeline.steps.len()))
        .unwrap_or(0);
    drive(&project, total, args.json, args.verbose, |cancel| {
        let options = StartOptions {
            inputs,
            from: args.from.clone(),
            reuse: args.reuse.clone(),
            cancel,
            run_id: None,
        };
        Box::pin(project.start(args.file, options))
    })
}

/// What to do with a stored run.
pub enum Stored<'a> {
    /// Continue it where its log ends.
    Resume,
    /// `orchestra replay RUN --at STEP`: a new run from the checkpoint where the stored run
    /// reached the step, on a new branch from the repository as it was then.
    Replay {
        /// The step.
        at: &'a str,
    },
    /// Answer what it waits for, then continue it.
    Answer(Answer<'a>),
}

/// Drives a stored run on (`resume`, `replay`, `approve`), with progress, and prints how it went.
pub fn go_on(
    run_id: &str,
    what: Stored<'_>,
    json: bool,
    verbose: bool,
    models: &ModelMode,
    global_dir: Option<&Path>,
) -> Outcome {
    let project = match stored_run_project(models, global_dir) {
        Ok(project) => project,
        Err(outcome) => return outcome,
    };
    let total = top_level_steps(&project, run_id);
    drive(&project, total, json, verbose, |cancel| match what {
        Stored::Resume => Box::pin(project.resume(run_id, cancel)),
        Stored::Replay { at } => Box::pin(project.replay(run_id, at, cancel)),
        Stored::Answer(answer) => {
            Box::pin(project.approve(run_id, answer.step, answer.approved, answer.comment, cancel))
        }
    })
}

/// The project of the current folder, whose stored runs `resume` and `approve` continue, with
/// its LLM steps answered as `models` says.
pub fn stored_run_project(
    models: &ModelMode,
    global_dir: Option<&Path>,
) -> Result<Project, Outcome> {
    let mut project = current_project(global_dir).map_err(|error| report_error(&error))?;
    use_models(&mut project, models)?;
    Ok(project)
}

/// Sets where LLM steps get their answers, and says so when they are not live models; a
/// recording that cannot be replayed is refused before anything runs.
fn use_models(project: &mut Project, models: &ModelMode) -> Result<(), Outcome> {
    project
        .set_models(models)
        .map_err(|error| report_error(&error))?;
    match models {
        ModelMode::Live => {}
        ModelMode::Record(file) => anstream::eprintln!(
            "recording every exchange with a model to {}",
            file.display()
        ),
        ModelMode::Replay(file) => anstream::eprintln!(
            "answers come from the recording {}: no model is called",
            file.display()
        ),
    }
    Ok(())
}

/// How many top-level steps a stored run has, for the progress bar.
fn top_level_steps(project: &Project, run_id: &str) -> usize {
    project.result(run_id).map_or(0, |result| {
        result
            .steps
            .iter()
            .filter(|step| !step.key.contains('/'))
            .count()
    })
}

/// The project of the current folder.
pub fn current_project(global_dir: Option<&Path>) -> Result<Project, ApiError> {
    let here = std::env::current_dir().unwrap_or_default();
    Project::discover(&here, global_dir.map(Path::to_path_buf))
}

type Drive<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Finished, ApiError>> + 'a>>;

/// Runs `start` with progress shown and Ctrl-C cancelling, then prints how the run went.
fn drive<'a>(
    project: &'a Project,
    total: usize,
    json: bool,
    verbose: bool,
    start: impl FnOnce(CancellationToken) -> Drive<'a>,
) -> Outcome {
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(outcome) => return outcome,
    };
    let progress = Progress::new(total, verbose);
    let printer = Arc::clone(&progress);
    project.subscribe(Arc::new(move |_, _, event| printer.event(event)));
    let cancel = CancellationToken::new();
    let finished = runtime.block_on(async {
        let on_interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                anstream::eprintln!(
                    "stopping: the running steps are being stopped; what finished is kept"
                );
                on_interrupt.cancel();
            }
        });
        start(cancel).await
    });
    progress.finish();
    match finished {
        Ok(finished) => summary(project, &finished, json),
        Err(error) => report_error(&error),
    }
}

/// Prints the run's summary (or its result as JSON) and maps its status to the exit code.
fn summary(project: &Project, finished: &Finished, json: bool) -> Outcome {
    if json {
        return match project.result(&finished.run_id) {
            Ok(result) => match super::print_json(&result) {
                Outcome::Clean => outcome(finished.outcome.status),
                failed => failed,
            },
            Err(error) => report_error(&error),
        };
    }
    let overview = project.overview(&finished.run_id);
    if let Ok(overview) = &overview {
        print_overview(overview);
    }
    let status = finished.outcome.status;
    let took = overview
        .as_ref()
        .ok()
        .and_then(|overview| overview.run.duration_ms())
        .map(human_duration)
        .unwrap_or_default();
    let line = match status {
        RunStatus::Waiting => waits_for(project, &finished.run_id),
        RunStatus::Cancelled | RunStatus::Failed | RunStatus::Interrupted => format!(
            "run {} {} after {took}; `orchestra resume {}` continues it",
            finished.run_id,
            status.as_str(),
            finished.run_id
        ),
        _ => format!("run {} {} in {took}", finished.run_id, status.as_str()),
    };
    if let Ok(overview) = &overview
        && overview.usage.total_tokens > 0
    {
        let usage = &overview.usage;
        let cost = usage
            .cost_usd
            .map_or_else(|| "cost unknown".to_owned(), |cost| format!("${cost:.4}"));
        anstream::println!(
            "models used {} tokens ({} in, {} out), {cost}",
            usage.total_tokens,
            usage.prompt_tokens,
            usage.completion_tokens
        );
    }
    if let Some(error) = &finished.outcome.error {
        anstream::println!("error: {}", sanitize(error));
    }
    anstream::println!("{line}");
    outcome(status)
}

/// What a paused run waits for, and the command that answers each.
fn waits_for(project: &Project, run_id: &str) -> String {
    let mut answers: Vec<String> = project
        .state(run_id)
        .map(|state| {
            state
                .waiting
                .iter()
                .map(|(key, waiting)| match waiting.kind {
                    WaitingFor::Approval => format!(
                        "`{key}` waits for approval: `orchestra approve {run_id} {key}` (or `--reject`)"
                    ),
                    WaitingFor::Reply => {
                        format!(
                            "`{key}` waits for your reply: `orchestra attach {run_id} --step {key}`"
                        )
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    answers.sort();
    format!("run {run_id} paused; {}", answers.join("; "))
}

/// Up to this many steps, every step gets a line; beyond it, the counts and the steps that did
/// not succeed.
const ALL_STEPS_UP_TO: usize = 40;
/// How many steps that did not succeed are listed for a large run.
const NOTABLE_STEPS: usize = 20;

/// The steps, outputs and files of a run, for people.
pub fn print_overview(overview: &Overview) {
    let shown: Vec<&StepLine> = if overview.steps.len() <= ALL_STEPS_UP_TO {
        overview.steps.iter().collect()
    } else {
        overview
            .steps
            .iter()
            .filter(|step| step.status != "succeeded")
            .take(NOTABLE_STEPS)
            .collect()
    };
    if overview.steps.len() > ALL_STEPS_UP_TO {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for step in &overview.steps {
            match counts.iter_mut().find(|(status, _)| *status == step.status) {
                Some((_, count)) => *count += 1,
                None => counts.push((&step.status, 1)),
            }
        }
        let counts: Vec<String> = counts
            .iter()
            .map(|(status, count)| format!("{count} {status}"))
            .collect();
        anstream::println!("\n{} steps: {}", overview.steps.len(), counts.join(", "));
    }
    if !shown.is_empty() {
        let width = shown
            .iter()
            .map(|step| step.step.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        anstream::println!("\n{:width$}  {:10}  {:>8}  note", "step", "status", "time");
        for step in &shown {
            let note = step
                .error
                .as_deref()
                .map(sanitize)
                .or_else(|| step.skipped.as_deref().map(skip_words))
                .or_else(|| {
                    step.reused_from
                        .as_ref()
                        .map(|from| format!("reused from {from}"))
                })
                .unwrap_or_default();
            let note = note.lines().next().unwrap_or_default().to_owned();
            let line = format!(
                "{:width$}  {:10}  {:>8}  {note}",
                sanitize(&step.step),
                step.status,
                step.duration_ms.map(human_duration).unwrap_or_default()
            );
            anstream::println!("{}", line.trim_end());
        }
    }
    if !overview.outputs.is_empty() {
        anstream::println!("\noutputs");
        for (name, value) in &overview.outputs {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let mut lines = text.lines();
            anstream::println!("  {name}: {}", sanitize(lines.next().unwrap_or_default()));
            for line in lines {
                anstream::println!("    {}", sanitize(line));
            }
        }
    }
    if !overview.artifacts.is_empty() {
        anstream::println!("\nfiles (in {})", overview.run.workspace);
        for artifact in &overview.artifacts {
            anstream::println!(
                "  {} ({} bytes, from {})",
                artifact.path,
                artifact.size,
                artifact.step
            );
        }
    }
    anstream::println!();
}

/// Why a step was skipped, from the word the store keeps.
fn skip_words(word: &str) -> String {
    serde_json::from_value::<SkipReason>(Value::from(word)).map_or_else(
        |_| word.replace('_', " "),
        |reason| format!("skipped: {}", reason.describe()),
    )
}

/// The exit code of a run's status: 0 succeeded, 1 failed (or cancelled, rejected), 3 paused.
pub fn outcome(status: RunStatus) -> Outcome {
    match status {
        RunStatus::Succeeded => Outcome::Clean,
        RunStatus::Waiting => Outcome::Paused,
        _ => Outcome::Problems,
    }
}

/// Prints an API error the way the command line shows errors: an invalid pipeline with its
/// diagnostics (exit 2), anything else as a sentence.
pub fn report_error(error: &ApiError) -> Outcome {
    if let ApiError::Invalid(report) = error {
        for diagnostic in &report.diagnostics {
            anstream::eprintln!("{}\n", render::diagnostic(&report.source, diagnostic));
        }
    }
    anstream::eprintln!("error: {}", sanitize(&error.to_string()));
    match error {
        // A run that started and could not go on has failed; anything else is a command that
        // could not be done as asked (an unknown run, an invalid pipeline, an unusable store).
        ApiError::Run(orchestra_engine::run::RunError::Store(_)) => Outcome::Problems,
        _ => Outcome::Unusable,
    }
}

/// `--input name=value` pairs. The value is text; the engine converts it to the input's type.
fn parse_inputs(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut inputs = Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("`--input {pair}` should be `--input name=value`"));
        };
        if inputs
            .insert(name.trim().to_owned(), Value::String(value.to_owned()))
            .is_some()
        {
            return Err(format!("the input `{}` is given twice", name.trim()));
        }
    }
    Ok(inputs)
}
