//! Pipeline files as an editor holds them: listed with their validation state, read into text
//! and data with every problem, rebuilt from edited data, and saved by the canonical writer.
//!
//! Every path here is relative to the project's folder and must stay inside it; the studio's web
//! view reaches files only through these functions.

use std::path::{Component, Path, PathBuf};

use orchestra_engine::CATALOG;
use orchestra_pipeline::{Checked, Code, Context, Library, Source, check, save, save_value};
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
        within(self.root(), file, "the project").map_err(|reason| {
            ApiError::Refused(format!(
                "`{file}` {reason}; the studio reads and writes only files of the open project"
            ))
        })
    }

    /// A pipeline file the studio may write: inside the project, a `.yaml` or `.yml` file, not
    /// in a hidden folder (`.git`, `.orchestra`), not the project's settings, and not a link.
    pub fn writable(&self, file: &str) -> Result<PathBuf, ApiError> {
        let path = self.inside(file)?;
        let hidden = Path::new(file)
            .components()
            .any(|part| part.as_os_str().to_string_lossy().starts_with('.'));
        let yaml = Path::new(file)
            .extension()
            .is_some_and(|extension| extension == "yaml" || extension == "yml");
        let link = path
            .symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink());
        let settings = path
            .file_name()
            .is_some_and(|name| name == orchestra_llm::settings::PROJECT_FILE);
        if hidden || !yaml || link || settings {
            return Err(ApiError::Refused(format!(
                "`{file}` is not a pipeline file the studio may write: it writes the project's `.yaml` files, outside hidden folders, and not through links"
            )));
        }
        Ok(path)
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
        let path = self.writable(file)?;
        let checked = self.check_text(file, text);
        // Text with errors may hold values that reading could not keep: like `orchestra fmt`,
        // the studio writes it as it is, since its canonical form could drop them.
        let saved = match checked.valid() {
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

/// The path of `relative` in `folder` (called `name` in the refusal), or why it is not there: it
/// is absolute, climbs out with `..`, or leads out through a symbolic link (the nearest part of
/// it that exists, resolved, must lie in the resolved folder).
pub fn within(folder: &Path, relative: &str, name: &str) -> Result<PathBuf, String> {
    let given = Path::new(relative);
    let leaves = relative.is_empty()
        || given.is_absolute()
        || given
            .components()
            .any(|part| !matches!(part, Component::Normal(_) | Component::CurDir));
    if leaves {
        return Err(format!("is not a path inside {name}"));
    }
    let path = folder.join(given);
    let root = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let existing = path
        .ancestors()
        .find(|ancestor| ancestor.exists())
        .unwrap_or(folder);
    let resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    if !resolved.starts_with(&root) {
        return Err(format!("leads out of {name} through a symbolic link"));
    }
    Ok(path)
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

/// The reader's errors that leave a value out of the pipeline it reads (a key it does not know,
/// a value of the wrong type, a step without a usable id, text that is not YAML).
const DROPPING: &[Code] = &[
    Code::FileTooLarge,
    Code::NotText,
    Code::EmptyFile,
    Code::YamlSyntax,
    Code::YamlLimit,
    Code::DuplicateKey,
    Code::MissingVersion,
    Code::UnsupportedVersion,
    Code::UnknownKey,
    Code::MissingKey,
    Code::WrongType,
    Code::BadId,
    Code::BadDuration,
];

/// Whether the pipeline read from a text holds everything the text says, so that the graph may
/// write it back: no error of the reader left a value out. (A parameter an action refuses, such
/// as an empty command, is kept and may be fixed in the graph.)
fn complete(file: &str, text: &str) -> bool {
    let loaded = orchestra_pipeline::load(&Source::new(file.to_owned(), text.to_owned()), &CATALOG);
    loaded.pipeline.is_some()
        && !loaded
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.is_error() && DROPPING.contains(&diagnostic.code))
}

fn document(file: &str, text: String, checked: &Checked) -> Document {
    Document {
        complete: complete(file, &text),
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
