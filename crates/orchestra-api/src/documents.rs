//! Pipeline files as an editor holds them: listed with their validation state, read into text
//! and data with every problem, rebuilt from edited data, and saved by the canonical writer.
//!
//! Every path here is relative to the project's folder and must stay inside it; the studio's web
//! view reaches files only through these functions.

use std::path::{Component, Path, PathBuf};

use orchestra_engine::CATALOG;
use orchestra_pipeline::{Checked, Context, Library, Source, check, save, save_value};
use serde_json::Value;

use crate::json::{Document, PipelineEntry, Problem};
use crate::project::{ApiError, Project};

/// Folders never searched for pipelines: the run store, version control, builds, packages.
const SKIPPED_FOLDERS: &[&str] = &["target", "node_modules", "dist", "recordings"];

/// How deep under the project's folder pipelines are looked for.
const SEARCH_DEPTH: usize = 4;

impl Project {
    /// The absolute path of a file given relative to the project, refused when it would leave
    /// the project's folder.
    pub fn inside(&self, file: &str) -> Result<PathBuf, ApiError> {
        let relative = Path::new(file);
        let leaves = relative.is_absolute()
            || relative
                .components()
                .any(|part| !matches!(part, Component::Normal(_) | Component::CurDir));
        if leaves || file.is_empty() {
            return Err(ApiError::Refused(format!(
                "`{file}` is not a path inside the project; the studio reads and writes only files of the open project"
            )));
        }
        Ok(self.root().join(relative))
    }

    /// Every pipeline file of the project (a YAML file with a top-level `orchestra:` key), with
    /// how many errors and warnings it has, in path order.
    pub fn pipelines(&self) -> Vec<PipelineEntry> {
        let mut files = Vec::new();
        find_pipelines(self.root(), SEARCH_DEPTH, &mut files);
        files.sort();
        files
            .into_iter()
            .filter_map(|path| {
                let relative = path.strip_prefix(self.root()).ok()?.to_str()?.to_owned();
                let checked = self.check(&path).ok()?;
                Some(entry(relative, &checked))
            })
            .collect()
    }

    /// A pipeline file as it is on disk.
    pub fn document(&self, file: &str) -> Result<Document, ApiError> {
        let path = self.inside(file)?;
        let text = std::fs::read_to_string(&path).map_err(|error| ApiError::Unreadable {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        Ok(self.document_from_text(file, &text))
    }

    /// A pipeline from text being edited (it need not be saved, nor valid).
    pub fn document_from_text(&self, file: &str, text: &str) -> Document {
        let checked = self.check_text(file, text);
        document(file, text.to_owned(), &checked)
    }

    /// A pipeline from data in its file's shape, as the graph editor changes it: its canonical
    /// text (when the data reads as a pipeline) and every problem.
    pub fn document_from_data(&self, file: &str, data: &Value) -> Document {
        let text = save_value(data);
        let checked = self.check_text(file, &text);
        match &checked.pipeline {
            Some(pipeline) if save(pipeline) != text => {
                let canonical = save(pipeline);
                let checked = self.check_text(file, &canonical);
                document(file, canonical, &checked)
            }
            _ => document(file, text, &checked),
        }
    }

    /// Saves a pipeline's text to its file. Text that reads as a pipeline is written by the
    /// canonical writer (the same as `orchestra fmt`), so the file on disk is what the command
    /// line would write; text that does not is written as it is, so that no edit is lost, and
    /// its problems are returned with it.
    pub fn save_document(&self, file: &str, text: &str) -> Result<Document, ApiError> {
        let path = self.inside(file)?;
        let checked = self.check_text(file, text);
        let saved = match &checked.pipeline {
            Some(pipeline) => {
                orchestra_pipeline::save_checked(pipeline, &CATALOG).map_err(ApiError::Refused)?
            }
            None => text.to_owned(),
        };
        write_atomically(&path, &saved)?;
        Ok(self.document_from_text(file, &saved))
    }

    fn check_text(&self, file: &str, text: &str) -> Checked {
        let path = self.root().join(file);
        let library = Library::for_pipeline(&path, self.global_dir().map(Path::to_path_buf));
        check(
            Source::new(file.to_owned(), text.to_owned()),
            &Context {
                catalog: &CATALOG,
                library: Some(&library),
            },
        )
    }
}

/// Writes through a file beside the target and a rename, so that a crash never leaves half a
/// pipeline on disk.
fn write_atomically(path: &Path, text: &str) -> Result<(), ApiError> {
    let unwritable = |error: std::io::Error| {
        ApiError::Refused(format!("`{}` cannot be written: {error}", path.display()))
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(unwritable)?;
    }
    let partial = path.with_extension("yaml.saving");
    std::fs::write(&partial, text).map_err(unwritable)?;
    std::fs::rename(&partial, path).map_err(unwritable)
}

fn document(file: &str, text: String, checked: &Checked) -> Document {
    Document {
        file: file.to_owned(),
        text,
        pipeline: checked
            .pipeline
            .as_ref()
            .and_then(|pipeline| serde_json::to_value(pipeline).ok()),
        problems: checked
            .report
            .diagnostics
            .iter()
            .map(Problem::from)
            .collect(),
    }
}

fn entry(file: String, checked: &Checked) -> PipelineEntry {
    let count = |errors: bool| {
        let found = checked
            .report
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error() == errors)
            .count();
        u32::try_from(found).unwrap_or(u32::MAX)
    };
    PipelineEntry {
        file,
        id: checked
            .pipeline
            .as_ref()
            .map(|pipeline| pipeline.id.clone()),
        name: checked
            .pipeline
            .as_ref()
            .and_then(|pipeline| pipeline.name.clone()),
        errors: count(true),
        warnings: count(false),
    }
}

/// Collects the pipeline files under `folder`, skipping hidden and build folders.
fn find_pipelines(folder: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if depth > 0 && !SKIPPED_FOLDERS.contains(&name.as_ref()) {
                find_pipelines(&path, depth - 1, found);
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && name != orchestra_llm::settings::PROJECT_FILE
            && is_pipeline(&path)
        {
            found.push(path);
        }
    }
}

/// Whether a YAML file says it is a pipeline: a line `orchestra: …` at the top level.
fn is_pipeline(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines()
            .any(|line| line.starts_with("orchestra:") && !line.contains("orchestra: {"))
    })
}
