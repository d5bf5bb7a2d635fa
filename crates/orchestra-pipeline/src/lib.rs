//! The Orchestra pipeline file: its types, YAML load and save, validation and JSON Schema.
//!
//! A pipeline is one YAML file (see `docs/pipeline-format.md`). This crate reads it into a
//! [`Pipeline`], reporting every problem with its line and column ([`load`], [`validate`], or
//! both at once with [`check`]); writes it back in a canonical, diff-friendly form ([`save`]);
//! and describes the format as a JSON Schema ([`json_schema`]).
//!
//! The actions a step may name are not defined here but in the engine, which passes them in as
//! a [`Catalog`]; this crate knows only how an action declares its parameters.
//!
//! ```
//! use orchestra_pipeline::{Catalog, Context, Source, check};
//!
//! let catalog = Catalog { actions: &[], builtin_tools: &[] };
//! let source = Source::new("hello.yaml", "orchestra: 1\nid: hello\nsteps: []\n");
//! let checked = check(source, &Context { catalog: &catalog, library: None });
//! assert!(checked.report.diagnostics.is_empty());
//! ```

mod action;
mod command;
mod diagnostic;
mod library;
mod load;
pub mod model;
mod save;
mod schema;
mod source;
mod suggest;
mod validate;
mod yaml;

use std::path::Path;

pub use action::{ActionSpec, Catalog, ParamKind, ParamProblem, ParamSpec, no_check};
pub use command::{is_template, templated_script};
pub use diagnostic::{Code, Diagnostic, Report, Severity, sort_diagnostics};
pub use library::Library;
pub use load::{Loaded, Migration, load, migrate};
pub use model::{Pipeline, Step};
pub use save::{save, save_value};
pub use schema::json_schema;
pub use source::{Source, Span};
pub use suggest::did_you_mean;
pub use validate::{Context, Locator, validate};
pub use yaml::{MAX_FILE_BYTES, Node, NodeValue};

/// The canonical text of a pipeline, read back and compared before it is returned: an `Err` (a
/// sentence) means the writer would change the pipeline, and nothing should be written.
pub fn save_checked(pipeline: &Pipeline, catalog: &Catalog) -> Result<String, String> {
    let text = save(pipeline);
    let loaded = load(&Source::new("saved.yaml", text.clone()), catalog);
    if loaded.pipeline.as_ref() == Some(pipeline) {
        return Ok(text);
    }
    let reason = loaded.diagnostics.first().map_or_else(
        || "it reads back as a different pipeline".to_owned(),
        |diagnostic| format!("it does not read back: {}", diagnostic.message),
    );
    Err(format!(
        "the pipeline cannot be saved faithfully ({reason}); this is a bug in Orchestra"
    ))
}

/// A pipeline file after loading and validation.
#[derive(Debug)]
pub struct Checked {
    /// The pipeline, when the file could be read as one (possibly with errors in it).
    pub pipeline: Option<Pipeline>,
    /// Every diagnostic, sorted by position.
    pub report: Report,
}

impl Checked {
    /// The pipeline, if it has no errors.
    pub fn valid(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref().filter(|_| !self.report.has_errors())
    }
}

/// Loads and validates a pipeline's text, returning everything that is wrong with it at once.
pub fn check(source: Source, context: &Context<'_>) -> Checked {
    let loaded = load(&source, context.catalog);
    let mut diagnostics = loaded.diagnostics;
    if let Some(pipeline) = &loaded.pipeline {
        let locator = Locator::new(loaded.tree.as_ref(), Some(&source));
        diagnostics.extend(validate(pipeline, locator, context));
    }
    sort_diagnostics(&mut diagnostics);
    Checked {
        pipeline: loaded.pipeline,
        report: Report {
            source,
            diagnostics,
        },
    }
}

/// Reads a file as pipeline text. An unreadable file is an `Err`; a file that is too large,
/// binary or not UTF-8 is an `Ok` report with one diagnostic, since that is a problem with the
/// file's content rather than with reaching it.
pub fn read_source(path: &Path) -> std::io::Result<Result<Source, Report>> {
    let bytes = read_limited(path)?;
    let name = path.display().to_string();
    Ok(yaml::decode(&name, bytes).map_err(|boxed| {
        let (source, diagnostic) = *boxed;
        Report {
            source,
            diagnostics: vec![diagnostic],
        }
    }))
}

/// Reads at most one byte more than a pipeline may be, so that a huge file is refused without
/// reading it all.
fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Loads and validates a pipeline file, with its library found from its path.
pub fn check_file(
    path: &Path,
    catalog: &Catalog,
    global_dir: Option<std::path::PathBuf>,
) -> std::io::Result<Checked> {
    let library = Library::for_pipeline(path, global_dir);
    let context = Context {
        catalog,
        library: Some(&library),
    };
    Ok(match read_source(path)? {
        Ok(source) => check(source, &context),
        Err(report) => Checked {
            pipeline: None,
            report,
        },
    })
}
