//! One module per subcommand.

pub mod actions;
pub mod attach;
pub mod auth;
pub mod cancel;
pub mod cleanup;
pub mod compile;
pub mod fmt;
pub mod new;
pub mod run;
pub mod runs;
pub mod schema;
pub mod show;
pub mod validate;

use std::path::Path;

use orchestra_pipeline::Checked;

use crate::Outcome;

/// The runtime a command drives runs on, or why there is none (said on standard error).
pub fn runtime() -> Result<tokio::runtime::Runtime, Outcome> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            anstream::eprintln!("error: cannot start the runtime: {error}");
            Outcome::Unusable
        })
}

/// Prints a value as pretty JSON, the form every `--json` output takes.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Outcome {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            anstream::println!("{text}");
            Outcome::Clean
        }
        Err(error) => {
            anstream::eprintln!("error: cannot write the JSON output: {error}");
            Outcome::Unusable
        }
    }
}

/// Loads and validates a file with the engine's actions, or says on standard error why the file
/// cannot be read.
fn check(path: &Path, global_dir: Option<&Path>) -> Result<Checked, Outcome> {
    orchestra_pipeline::check_file(
        path,
        &orchestra_engine::CATALOG,
        global_dir.map(Path::to_path_buf),
    )
    .map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::IsADirectory => "it is a folder, not a file".to_owned(),
            _ => error.to_string(),
        };
        anstream::eprintln!("error: cannot read `{}`: {reason}", path.display());
        Outcome::Unusable
    })
}
