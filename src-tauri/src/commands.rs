//! The studio's commands: each a few lines over `orchestra-api`, the same API the command line
//! uses. Errors reach the web view as sentences; secrets never do (the settings page learns only
//! whether a key is set).

// Tauri hands a command its arguments and state by value (deserialised from the IPC message), so
// taking them by reference is not an option here.
#![allow(clippy::needless_pass_by_value)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orchestra_api::json::{
    ActionInfo, Change, Document, Json, PipelineEntry, Progress, RevisionView, RunPage, RunSummary,
    SettingsChange, SettingsView,
};
use orchestra_api::{Project, StartOptions, report_html, report_markdown, settings};
use serde_json::Value;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;
use tauri_specta::Event;

use crate::studio::{ProjectView, RunProgress, Studio};

/// Every command's result: a value, or what went wrong as a sentence.
type Answer<T> = Result<T, String>;

fn sentence(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// Opens the project of the last launch, or (the first time) a copy of the bundled examples.
#[tauri::command]
#[specta::specta]
pub fn launch(app: AppHandle, studio: State<'_, Studio>) -> Answer<ProjectView> {
    let folder = studio.launch_folder()?;
    studio.open(&app, &folder)
}

/// Asks the person for a project folder with the system's folder picker, and opens it; `None`
/// when they chose none.
#[tauri::command]
#[specta::specta]
pub async fn choose_project(
    app: AppHandle,
    studio: State<'_, Studio>,
) -> Answer<Option<ProjectView>> {
    let picker = app.clone();
    let chosen =
        tauri::async_runtime::spawn_blocking(move || picker.dialog().file().blocking_pick_folder())
            .await
            .map_err(sentence)?;
    let Some(folder) = chosen else {
        return Ok(None);
    };
    let folder = folder.into_path().map_err(sentence)?;
    studio.open(&app, &folder).map(Some)
}

/// Tells the backend which pipeline file has unsaved changes (`None` once all are saved), so that
/// closing the window asks first.
#[tauri::command]
#[specta::specta]
pub fn set_unsaved(studio: State<'_, Studio>, file: Option<String>) {
    studio.set_unsaved(file);
}

/// Says the question about unsaved changes is on screen ([`crate::studio::CloseAsked`]); until
/// it is, a second try to close the window is not held up by it.
#[tauri::command]
#[specta::specta]
pub fn close_question_shown(studio: State<'_, Studio>) {
    studio.close_question_shown();
}

/// Closes the window as its close button would: with unsaved changes the web view is asked
/// first ([`crate::studio::CloseAsked`]), unless `discard` says the person chose to drop them.
#[tauri::command]
#[specta::specta]
pub fn close_window(window: tauri::Window, studio: State<'_, Studio>, discard: bool) -> Answer<()> {
    if discard {
        studio.confirm_close();
    }
    window.close().map_err(sentence)
}

/// The open project's sidebar, read again (after a save, a run, or a change on disk).
#[tauri::command]
#[specta::specta]
pub fn project(studio: State<'_, Studio>) -> Answer<ProjectView> {
    let project = studio.project()?;
    studio.view(&project)
}

/// The project's pipelines with their validation state.
#[tauri::command]
#[specta::specta]
pub fn pipelines(studio: State<'_, Studio>) -> Answer<Vec<PipelineEntry>> {
    Ok(studio.project()?.pipelines())
}

/// Every action a step can do, with its parameters, for the palette and the inspector.
#[tauri::command]
#[specta::specta]
pub fn actions() -> Vec<ActionInfo> {
    orchestra_api::actions()
        .iter()
        .map(|spec| ActionInfo::from(spec))
        .collect()
}

/// A pipeline file as it is on disk, with its problems.
#[tauri::command]
#[specta::specta]
pub fn load_pipeline(studio: State<'_, Studio>, file: String) -> Answer<Document> {
    studio.project()?.document(&file).map_err(sentence)
}

/// The text of a pipeline file on disk now, to notice a change made outside the studio;
/// `None` when the file is gone.
#[tauri::command]
#[specta::specta]
pub fn disk_text(studio: State<'_, Studio>, file: String) -> Answer<Option<String>> {
    let path = studio.project()?.inside(&file).map_err(sentence)?;
    Ok(std::fs::read_to_string(path).ok())
}

/// A pipeline from the YAML panel's text: its data for the graph and its problems.
#[tauri::command]
#[specta::specta]
pub fn check_text(studio: State<'_, Studio>, file: String, text: String) -> Answer<Document> {
    Ok(studio.project()?.document_from_text(&file, &text))
}

/// A pipeline from the graph's data: its canonical text for the YAML panel and its problems.
#[tauri::command]
#[specta::specta]
pub fn from_data(studio: State<'_, Studio>, file: String, data: Json) -> Answer<Document> {
    Ok(studio.project()?.document_from_data(&file, &data.0))
}

/// Saves a pipeline through the canonical writer (the same as `orchestra fmt`).
#[tauri::command]
#[specta::specta]
pub fn save_pipeline(studio: State<'_, Studio>, file: String, text: String) -> Answer<Document> {
    studio
        .project()?
        .save_document(&file, &text)
        .map_err(sentence)
}

/// Creates a new pipeline file with one step to start from; refused when the file exists.
#[tauri::command]
#[specta::specta]
pub fn new_pipeline(studio: State<'_, Studio>, file: String, id: String) -> Answer<Document> {
    let project = studio.project()?;
    if project.inside(&file).map_err(sentence)?.exists() {
        return Err(format!("`{file}` exists already; choose another name"));
    }
    let text = format!(
        "orchestra: 1\nid: {id}\nname: {id}\nsteps:\n  - id: start\n    action: template\n    template: Hello\n"
    );
    project.save_document(&file, &text).map_err(sentence)
}

/// Starts a run of a saved pipeline with the run form's inputs, and returns its id at once; its
/// progress arrives as `RunProgress` events.
#[tauri::command]
#[specta::specta]
pub fn start_run(
    app: AppHandle,
    studio: State<'_, Studio>,
    file: String,
    inputs: Json,
) -> Answer<String> {
    let project = studio.project()?;
    let path = project.inside(&file).map_err(sentence)?;
    let checked = project.check(&path).map_err(sentence)?;
    if checked.report.has_errors() {
        return Err(format!(
            "`{file}` has errors, so it cannot run; the problems panel lists them"
        ));
    }
    let inputs = named_values(inputs.0);
    drive(
        app,
        &studio,
        project,
        None,
        move |project, run, cancel| async move {
            let options = StartOptions {
                inputs,
                cancel,
                run_id: Some(run),
                ..StartOptions::default()
            };
            project.start(&path, options).await
        },
    )
}

/// Re-runs a pipeline from one of its steps, reusing an earlier run's results for the steps
/// before it; returns the new run's id.
#[tauri::command]
#[specta::specta]
pub fn rerun_from(
    app: AppHandle,
    studio: State<'_, Studio>,
    run: String,
    step: String,
) -> Answer<String> {
    let project = studio.project()?;
    let row = project.store().run(&run).map_err(sentence)?;
    // The command line records the file as it was given, often relative to the project.
    let path = project.root().join(&row.file);
    let inputs = named_values(row.inputs);
    drive(
        app,
        &studio,
        project,
        None,
        move |project, new_run, cancel| async move {
            let options = StartOptions {
                inputs,
                from: Some(step),
                reuse: Some(run),
                cancel,
                run_id: Some(new_run),
            };
            project.start(&path, options).await
        },
    )
}

/// Resumes an interrupted, failed or cancelled run: finished steps keep their results.
#[tauri::command]
#[specta::specta]
pub fn resume_run(app: AppHandle, studio: State<'_, Studio>, run: String) -> Answer<String> {
    let project = studio.project()?;
    drive(
        app,
        &studio,
        project,
        Some(run),
        |project, run, cancel| async move { project.resume(&run, cancel).await },
    )
}

/// Answers a waiting approval (with an optional comment), and drives the run on.
#[tauri::command]
#[specta::specta]
pub fn answer_approval(
    app: AppHandle,
    studio: State<'_, Studio>,
    run: String,
    step: String,
    approved: bool,
    comment: Option<String>,
) -> Answer<String> {
    let project = studio.project()?;
    let comment = comment.filter(|text| !text.trim().is_empty());
    drive(
        app,
        &studio,
        project,
        Some(run),
        move |project, run, cancel| async move {
            project
                .approve(&run, &step, approved, comment, cancel)
                .await
        },
    )
}

/// Sends a message to an interactive step that waits for one, and drives the run on.
#[tauri::command]
#[specta::specta]
pub fn send_reply(
    app: AppHandle,
    studio: State<'_, Studio>,
    run: String,
    step: String,
    text: String,
) -> Answer<String> {
    let project = studio.project()?;
    drive(
        app,
        &studio,
        project,
        Some(run),
        move |project, run, cancel| async move { project.reply(&run, &step, text, cancel).await },
    )
}

/// Cancels a run: its steps stop, child processes included.
#[tauri::command]
#[specta::specta]
pub fn cancel_run(studio: State<'_, Studio>, run: String) -> Answer<String> {
    if studio.cancel(&run) {
        return Ok(format!("run {run} is being cancelled"));
    }
    studio.project()?.cancel(&run).map_err(sentence)
}

/// The project's runs, newest first; only those of one pipeline file when `file` is given.
#[tauri::command]
#[specta::specta]
pub fn runs(studio: State<'_, Studio>, file: Option<String>) -> Answer<Vec<RunSummary>> {
    let project = studio.project()?;
    let wanted = file
        .map(|file| project.inside(&file))
        .transpose()
        .map_err(sentence)?;
    let rows = project.runs(500).map_err(sentence)?;
    Ok(rows
        .iter()
        .filter(|row| row.parent_run.is_none())
        .filter(|row| {
            wanted
                .as_ref()
                .is_none_or(|path| Path::new(&row.file) == path)
        })
        .map(RunSummary::from)
        .collect())
}

/// Everything about one run: steps with their rendered inputs, outputs and logs, files, the QC
/// report, and what waits for a person.
#[tauri::command]
#[specta::specta]
pub fn run_page(studio: State<'_, Studio>, run: String) -> Answer<RunPage> {
    let project = studio.project()?;
    let row = project.store().run(&run).map_err(sentence)?;
    let result = project.result(&run).map_err(sentence)?;
    let state = project.state(&run).map_err(sentence)?;
    let branch = project
        .run_git(&run)
        .map_err(sentence)?
        .map(|git| git.repo.branch);
    Ok(RunPage::from(&row, &result, &state, branch))
}

/// Writes a run's report (`markdown` or `html`) into the project's `reports/` folder and
/// returns the file's path.
#[tauri::command]
#[specta::specta]
pub fn export_report(studio: State<'_, Studio>, run: String, format: String) -> Answer<String> {
    let project = studio.project()?;
    let result = project.result(&run).map_err(sentence)?;
    let qc = result.qc();
    let (text, extension) = match format.as_str() {
        "html" => (report_html(&result, &qc), "html"),
        "markdown" => (report_markdown(&result, &qc), "md"),
        other => {
            return Err(format!(
                "`{other}` is not a report format; choose markdown or html"
            ));
        }
    };
    let short: String = run.chars().take(8).collect();
    let file = project
        .root()
        .join("reports")
        .join(format!("{}-{short}.{extension}", result.pipeline));
    std::fs::create_dir_all(file.parent().unwrap_or(project.root()))
        .and_then(|()| std::fs::write(&file, text))
        .map_err(|error| format!("`{}` cannot be written: {error}", file.display()))?;
    Ok(file.display().to_string())
}

/// Opens a file a run produced with the system's default program.
#[tauri::command]
#[specta::specta]
pub fn open_file(
    app: AppHandle,
    studio: State<'_, Studio>,
    run: String,
    path: String,
) -> Answer<()> {
    let file = produced_file(&studio, &run, &path)?;
    app.opener()
        .open_path(file.display().to_string(), None::<&str>)
        .map_err(sentence)
}

/// Shows a file a run produced in the system's file manager.
#[tauri::command]
#[specta::specta]
pub fn reveal_file(
    app: AppHandle,
    studio: State<'_, Studio>,
    run: String,
    path: String,
) -> Answer<()> {
    let file = produced_file(&studio, &run, &path)?;
    app.opener().reveal_item_in_dir(file).map_err(sentence)
}

/// The settings page: providers (with whether their keys are set), aliases, defaults.
#[tauri::command]
#[specta::specta]
pub fn settings(studio: State<'_, Studio>) -> Answer<SettingsView> {
    let root = studio
        .project()
        .ok()
        .map(|project| project.root().to_path_buf());
    settings::view(studio.global_dir.as_deref(), root.as_deref())
}

/// Saves the settings page.
#[tauri::command]
#[specta::specta]
pub fn save_settings(studio: State<'_, Studio>, change: SettingsChange) -> Answer<SettingsView> {
    let root = studio
        .project()
        .ok()
        .map(|project| project.root().to_path_buf());
    settings::save(studio.global_dir.as_deref(), root.as_deref(), change)
}

/// Stores a provider's key in the OS keychain (or the disclosed key file); the key goes no
/// further than the backend. Returns where it was kept, as a sentence.
#[tauri::command]
#[specta::specta]
pub fn set_key(studio: State<'_, Studio>, provider: String, key: String) -> Answer<String> {
    orchestra_api::auth::set(studio.global_dir.as_deref(), &provider, &key)
}

/// Removes a provider's stored key.
#[tauri::command]
#[specta::specta]
pub fn remove_key(studio: State<'_, Studio>, provider: String) -> Answer<String> {
    orchestra_api::auth::remove(studio.global_dir.as_deref(), &provider)
}

/// Drafts a pipeline from a description with the orchestrator model; it opens unsaved in the
/// editor as `file`, and nothing runs.
#[tauri::command]
#[specta::specta]
pub async fn draft(
    studio: State<'_, Studio>,
    description: String,
    file: String,
) -> Answer<Document> {
    let project = studio.project()?;
    let path = project.inside(&file).map_err(sentence)?;
    if path.exists() {
        return Err(format!(
            "`{file}` exists already; a draft never replaces a file, so choose another name"
        ));
    }
    let (text, _rounds) = project
        .draft_text(&description, &path)
        .await
        .map_err(sentence)?;
    Ok(project.document_from_text(&file, &text))
}

/// A pipeline file's revisions in the project's git repository, newest first.
#[tauri::command]
#[specta::specta]
pub fn history(studio: State<'_, Studio>, file: String) -> Answer<Vec<RevisionView>> {
    let project = studio.project()?;
    let path = project.inside(&file).map_err(sentence)?;
    let revisions = project.pipeline_history(&path, 200).map_err(sentence)?;
    Ok(revisions.iter().map(RevisionView::from).collect())
}

/// The diff of a pipeline file between two revisions; `to` absent means the file on disk.
#[tauri::command]
#[specta::specta]
pub fn diff(
    studio: State<'_, Studio>,
    file: String,
    from: String,
    to: Option<String>,
) -> Answer<String> {
    let project = studio.project()?;
    let path = project.inside(&file).map_err(sentence)?;
    project
        .pipeline_diff(&path, &from, to.as_deref())
        .map_err(sentence)
}

/// A run's inputs by name; anything but a map gives none.
fn named_values(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A file a run produced, refused unless the run recorded it and it lies in its workspace.
fn produced_file(studio: &Studio, run: &str, path: &str) -> Answer<PathBuf> {
    let project = studio.project()?;
    let overview = project.overview(run).map_err(sentence)?;
    if !overview
        .artifacts
        .iter()
        .any(|artifact| artifact.path == path)
    {
        return Err(format!("run {run} produced no file `{path}`"));
    }
    orchestra_api::within(
        Path::new(&overview.run.workspace),
        path,
        "the run's workspace",
    )
    .map_err(|reason| format!("`{path}` {reason}"))
}

/// Drives a run in the background: a new one (`run` absent; its id is made here) or an existing
/// one. Returns the run's id at once. A run that cannot start or go on tells the web view why
/// with a `run_finished` change, as a run that fails does; a run this window drives already is
/// refused here (a second click on Approve or Resume), before anything starts.
fn drive<F, Fut>(
    app: AppHandle,
    studio: &Studio,
    project: Arc<Project>,
    run: Option<String>,
    work: F,
) -> Answer<String>
where
    F: FnOnce(Arc<Project>, String, tokio_util::sync::CancellationToken) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<orchestra_api::Finished, orchestra_api::ApiError>>
        + Send
        + 'static,
{
    let run = run.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let cancel = studio.track(&run)?;
    let id = run.clone();
    let finished = run.clone();
    studio.spawn(work(project, run, cancel), move |outcome| {
        let studio = tauri::Manager::state::<Studio>(&app);
        studio.untrack(&finished);
        if let Err(error) = outcome {
            let progress = Progress {
                run: finished,
                seq: 0.0,
                step: None,
                change: Change::RunFinished {
                    status: "failed".to_owned(),
                    error: Some(error.to_string()),
                },
            };
            let _ = RunProgress(progress).emit(&app);
        }
    });
    Ok(id)
}
