//! `orchestra fmt FILE…`: rewrites pipeline files in the canonical form the studio saves.

use std::path::{Path, PathBuf};

use crate::Outcome;
use crate::render;

pub fn run(files: &[PathBuf], check: bool, global_dir: Option<&Path>) -> Outcome {
    let mut outcome = Outcome::Clean;
    for path in files {
        let result = format_file(path, check, global_dir);
        if result != Outcome::Clean && outcome != Outcome::Unusable {
            outcome = result;
        }
    }
    outcome
}

fn format_file(path: &Path, check: bool, global_dir: Option<&Path>) -> Outcome {
    let checked = match super::check(path, global_dir) {
        Ok(checked) => checked,
        Err(unusable) => return unusable,
    };
    // A file with errors may hold values that loading could not keep; rewriting it could lose
    // them, so it is left alone.
    let Some(pipeline) = checked.valid() else {
        for diagnostic in &checked.report.diagnostics {
            anstream::println!(
                "{}\n",
                render::diagnostic(&checked.report.source, diagnostic)
            );
        }
        anstream::println!(
            "`{}` has errors; fix them before formatting it",
            path.display()
        );
        return Outcome::Problems;
    };
    // The text is read back before it replaces the file, so a flaw in the writer can never turn
    // a working pipeline into a broken one.
    let formatted = match orchestra_pipeline::save_checked(pipeline, &orchestra_engine::CATALOG) {
        Ok(text) => text,
        Err(reason) => {
            anstream::eprintln!("error: `{}` was left as it is: {reason}", path.display());
            return Outcome::Unusable;
        }
    };
    if formatted == checked.report.source.text() {
        return Outcome::Clean;
    }
    if check {
        anstream::println!(
            "`{}` is not in canonical form; `orchestra fmt` would rewrite it",
            path.display()
        );
        return Outcome::Problems;
    }
    match std::fs::write(path, formatted) {
        Ok(()) => {
            anstream::println!("formatted `{}`", path.display());
            Outcome::Clean
        }
        Err(error) => {
            anstream::eprintln!("error: cannot write `{}`: {error}", path.display());
            Outcome::Unusable
        }
    }
}
