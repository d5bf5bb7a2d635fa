//! The studio's state: the open project, the runs this window drives, and where the studio keeps
//! what it remembers between launches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use orchestra_api::Project;
use orchestra_api::json::{PipelineEntry, Progress, RunSummary};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// A committed change of a run, sent to the web view as it happens.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct RunProgress(pub Progress);

/// The window was asked to close while a pipeline has unsaved changes: the web view asks the
/// person whether to save them, drop them, or keep editing.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CloseAsked {
    /// The pipeline file with unsaved changes.
    pub file: String,
}

/// How long closing waits for the runs this window drives to stop their programs.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long the web view has to show the question about unsaved changes; a page that has not
/// said it showed it by then (crashed, or hung) does not keep the window from closing next time.
const QUESTION_GRACE: Duration = Duration::from_secs(2);

/// The open project, as the sidebar shows it.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type)]
pub struct ProjectView {
    /// The project's folder.
    pub root: String,
    /// Its name (the folder's).
    pub name: String,
    /// Its pipelines with their validation state.
    pub pipelines: Vec<PipelineEntry>,
    /// Whether it is a git repository, so that pipelines have a history.
    pub git: bool,
    /// Runs whose process died mid-run; the studio offers to resume them.
    pub interrupted: Vec<RunSummary>,
    /// Whether this is the bundled examples, copied on the first launch.
    pub examples: bool,
}

/// What the studio remembers between launches (`studio.json` in the user's Orchestra folder).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memory {
    /// The project open when the studio last closed.
    project: Option<PathBuf>,
}

/// The studio's state, shared by every command.
pub struct Studio {
    /// The user's Orchestra folder (settings, keys, global personalities).
    pub global_dir: Option<PathBuf>,
    project: RwLock<Option<Arc<Project>>>,
    /// Runs started from this window, by id, with what cancels them.
    runs: Mutex<HashMap<String, CancellationToken>>,
    /// The tasks that drive those runs, so that closing can wait for them to stop.
    tasks: TaskTracker,
    /// Fired when the studio closes: each run's task drops its work, which kills the programs
    /// its steps started; the run stays `running` in the store with its owner gone, which is
    /// what makes it interrupted (and resumable) rather than cancelled.
    closing: CancellationToken,
    /// The pipeline file the web view holds unsaved changes of, if any.
    unsaved: Mutex<Option<String>>,
    /// The person chose to close despite unsaved changes.
    close_confirmed: AtomicBool,
    /// When the web view was last asked about closing, and whether it said it showed the question.
    close_asked: Mutex<Option<(Instant, bool)>>,
}

impl Studio {
    /// A studio with no project open yet.
    pub fn new(global_dir: Option<PathBuf>) -> Self {
        Self {
            global_dir,
            project: RwLock::new(None),
            runs: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
            unsaved: Mutex::new(None),
            close_confirmed: AtomicBool::new(false),
            close_asked: Mutex::new(None),
        }
    }

    /// The open project.
    pub fn project(&self) -> Result<Arc<Project>, String> {
        self.project
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| "no project is open; open a folder first".to_owned())
    }

    /// Opens the project at `root`, sends its runs' progress to the web view, and remembers it
    /// for the next launch.
    pub fn open<R: Runtime>(&self, app: &AppHandle<R>, root: &Path) -> Result<ProjectView, String> {
        if !root.is_dir() {
            return Err(format!("`{}` is not a folder", root.display()));
        }
        let project =
            Project::open(root, self.global_dir.clone()).map_err(|error| error.to_string())?;
        let app = app.clone();
        project.subscribe(Arc::new(move |run, seq, event| {
            // A window that is gone has no one to tell; the change is in the store regardless.
            let _ = RunProgress(Progress::from(run, seq, event)).emit(&app);
        }));
        let project = Arc::new(project);
        *self.project.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&project));
        self.remember(root);
        self.view(&project)
    }

    /// The open project's sidebar.
    pub fn view(&self, project: &Project) -> Result<ProjectView, String> {
        let runs = project.runs(200).map_err(|error| error.to_string())?;
        Ok(ProjectView {
            root: project.root().display().to_string(),
            name: project.root().file_name().map_or_else(
                || project.root().display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
            pipelines: project.pipelines(),
            git: project.root().join(".git").exists(),
            interrupted: runs
                .iter()
                .filter(|row| {
                    row.status == orchestra_api::RunStatus::Interrupted && row.parent_run.is_none()
                })
                .map(RunSummary::from)
                .collect(),
            examples: Self::examples_folder().is_some_and(|folder| folder == project.root()),
        })
    }

    /// The project the studio opens at launch: the last one, or on the first launch a copy of
    /// the bundled examples.
    pub fn launch_folder(&self) -> Result<PathBuf, String> {
        if let Some(project) = self.memory().project.filter(|folder| folder.is_dir()) {
            return Ok(project);
        }
        let folder = Self::examples_folder().ok_or_else(|| {
            "there is no home folder to copy the examples into (set HOME)".to_owned()
        })?;
        install_examples(&folder)?;
        Ok(folder)
    }

    /// Where the first launch copies the examples: `~/Orchestra/examples`.
    fn examples_folder() -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(|home| PathBuf::from(home).join("Orchestra").join("examples"))
    }

    fn memory_file(&self) -> Option<PathBuf> {
        self.global_dir.as_ref().map(|dir| dir.join("studio.json"))
    }

    fn memory(&self) -> Memory {
        self.memory_file()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn remember(&self, project: &Path) {
        let Some(file) = self.memory_file() else {
            return;
        };
        let memory = Memory {
            project: Some(project.to_path_buf()),
        };
        // Forgetting the last project costs only opening it again by hand.
        if let (Some(folder), Ok(text)) = (file.parent(), serde_json::to_string_pretty(&memory)) {
            let _ = std::fs::create_dir_all(folder).and_then(|()| std::fs::write(&file, text));
        }
    }

    /// Registers a run this window drives, returning what cancels it; refused when the window
    /// drives it already.
    pub fn track(&self, run: &str) -> Result<CancellationToken, String> {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if runs.contains_key(run) {
            return Err(format!(
                "run {run} is going on already; wait for it to pause or end"
            ));
        }
        let token = CancellationToken::new();
        runs.insert(run.to_owned(), token.clone());
        Ok(token)
    }

    /// Forgets a run that ended or paused.
    pub fn untrack(&self, run: &str) {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(run);
    }

    /// Cancels a run this window drives; `false` when it drives no such run.
    pub fn cancel(&self, run: &str) -> bool {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.get(run).inspect(|token| token.cancel()).is_some()
    }

    /// Drives a run's work in the background until it ends or the studio closes. `done` gets the
    /// work's outcome; when the studio closes first, the work is dropped and `done` is not called.
    pub fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
        done: impl FnOnce(T) + Send + 'static,
    ) {
        let closing = self.closing.clone();
        tauri::async_runtime::spawn(self.tasks.track_future(async move {
            tokio::select! {
                outcome = work => done(outcome),
                () = closing.cancelled() => {}
            }
        }));
    }

    /// Stops the runs this window drives as the studio closes, and waits (a few seconds at most)
    /// until their programs are killed. Their runs show as interrupted from then on.
    pub fn shut_down(&self) {
        self.closing.cancel();
        self.tasks.close();
        let tasks = self.tasks.clone();
        tauri::async_runtime::block_on(async move {
            // Past the grace the process ends anyway; a program still alive is orphaned. A git
            // commit or merge under way is waited for, so that it leaves no lock behind.
            let _ = tokio::time::timeout(STOP_GRACE, async {
                tasks.wait().await;
                orchestra_api::git_work_done().await;
            })
            .await;
        });
    }

    /// Notes which pipeline file has unsaved changes in the web view (`None`: all are saved).
    pub fn set_unsaved(&self, file: Option<String>) {
        *self.unsaved.lock().unwrap_or_else(PoisonError::into_inner) = file;
    }

    /// Confirms that the window may close even with unsaved changes.
    pub fn confirm_close(&self) {
        self.close_confirmed.store(true, Ordering::SeqCst);
    }

    /// The file whose unsaved changes should be asked about before the window closes, if any.
    /// `None` too when the web view was asked before and never said it showed the question: a
    /// page that cannot answer must not keep the window open.
    pub fn ask_before_close(&self) -> Option<String> {
        if self.close_confirmed.load(Ordering::SeqCst) {
            return None;
        }
        let file = self
            .unsaved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        let mut asked = self
            .close_asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((at, false)) = *asked
            && at.elapsed() > QUESTION_GRACE
        {
            return None;
        }
        *asked = Some((Instant::now(), false));
        Some(file)
    }

    /// The web view showed the question about unsaved changes.
    pub fn close_question_shown(&self) {
        if let Some((_, shown)) = self
            .close_asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            *shown = true;
        }
    }
}

/// Copies the bundled examples into `folder`, keeping any file already there (a person may have
/// changed it).
pub fn install_examples(folder: &Path) -> Result<(), String> {
    for (relative, bytes) in EXAMPLE_FILES {
        let path = folder.join(relative);
        if path.exists() {
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, bytes));
        written.map_err(|error| {
            format!("cannot copy the examples to `{}`: {error}", path.display())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_asks_only_with_unsaved_changes_and_until_the_person_confirms() {
        let studio = Studio::new(None);
        assert_eq!(
            studio.ask_before_close(),
            None,
            "nothing unsaved: the window closes"
        );
        studio.set_unsaved(Some("pipelines/hello.yaml".to_owned()));
        assert_eq!(
            studio.ask_before_close().as_deref(),
            Some("pipelines/hello.yaml"),
            "unsaved changes: the web view is asked, naming the file"
        );
        studio.close_question_shown();
        assert!(
            studio.ask_before_close().is_some(),
            "the person kept editing: the next close asks again"
        );
        studio.set_unsaved(None);
        assert_eq!(studio.ask_before_close(), None, "saved since: no question");
        studio.set_unsaved(Some("pipelines/hello.yaml".to_owned()));
        studio.confirm_close();
        assert_eq!(
            studio.ask_before_close(),
            None,
            "the person chose to close without saving"
        );
    }

    #[test]
    fn a_page_that_never_shows_the_question_does_not_keep_the_window_open() {
        let studio = Studio::new(None);
        studio.set_unsaved(Some("pipelines/hello.yaml".to_owned()));
        assert!(studio.ask_before_close().is_some(), "the first close asks");
        assert!(
            studio.ask_before_close().is_some(),
            "a second close at once still waits for the page"
        );
        std::thread::sleep(QUESTION_GRACE + Duration::from_millis(100));
        assert_eq!(
            studio.ask_before_close(),
            None,
            "the page never said it showed the question: the next close goes through"
        );
    }
}
