//! Loading: from YAML text to a [`Pipeline`], reporting every problem in the file's shape.
//!
//! Loading never stops at the first problem. A value it cannot read is left out and reported,
//! and the rest is read, so that the editor can show every broken field at once. Checks that
//! need the whole pipeline (references, templates, cycles) are in [`crate::validate`].

mod pipeline;
mod reader;
mod step;
mod version;

use crate::action::Catalog;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Pipeline;
use crate::source::Source;
use crate::yaml::{self, Node};

pub use version::{Migration, migrate};

/// What loading a file produced.
#[derive(Debug)]
pub struct Loaded {
    /// The pipeline, when the file is YAML with a map at its top; values that could not be read
    /// are left out of it.
    pub pipeline: Option<Pipeline>,
    /// The YAML tree, which knows where every value is written; validation uses it to place its
    /// diagnostics.
    pub tree: Option<Node>,
    /// Every problem found, in the order of the file.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads a pipeline from its text. Action steps are checked against the actions in `catalog`.
pub fn load(source: &Source, catalog: &Catalog) -> Loaded {
    let tree = match yaml::parse(source) {
        Ok(tree) => tree,
        Err(diagnostic) => {
            return Loaded {
                pipeline: None,
                tree: None,
                diagnostics: vec![*diagnostic],
            };
        }
    };
    if tree.is_null() {
        let diagnostic = Diagnostic::error(Code::EmptyFile, "", "the file holds no pipeline")
            .at(source.span(0, 0))
            .with_help("a pipeline file starts with `orchestra: 1`, an `id` and its `steps`");
        return Loaded {
            pipeline: None,
            tree: Some(tree),
            diagnostics: vec![diagnostic],
        };
    }
    let mut reader = reader::Reader::new(source);
    let Some(tree) = version::check(&mut reader, tree) else {
        return Loaded {
            pipeline: None,
            tree: None,
            diagnostics: reader.diagnostics,
        };
    };
    let pipeline = pipeline::read(&mut reader, &tree, catalog);
    Loaded {
        pipeline,
        tree: Some(tree),
        diagnostics: reader.diagnostics,
    }
}
