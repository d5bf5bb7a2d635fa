//! The `orchestra-studio` program: the desktop studio.

use std::process::ExitCode;

fn main() -> ExitCode {
    match orchestra_studio::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
