//! Helpers shared by the integration tests: scripted fixture repositories and the real `git` CLI.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of these helpers"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A fixture repository in a temporary folder, deleted when this is dropped.
pub struct Fixture {
    /// Keeps the temporary folder alive.
    _dir: TempDir,
    /// The canonical path of the repository's working tree (or git folder, for a bare one).
    pub path: PathBuf,
}

impl Fixture {
    /// Builds the fixture `tests/fixtures/<name>.sh` in a new temporary folder.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder is needed for the fixture");
        let root = fs::canonicalize(dir.path()).expect("the temporary folder exists");
        let path = root.join("repo");
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("{name}.sh"));
        let output = Command::new("bash")
            .arg(&script)
            .arg(&path)
            .output()
            .expect("bash must be installed to build the fixtures");
        assert!(
            output.status.success(),
            "the fixture {name}.sh must build its repository: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { _dir: dir, path }
    }

    /// A path next to the repository, inside the temporary folder, that does not exist yet.
    pub fn outside(&self, name: &str) -> PathBuf {
        self.path
            .parent()
            .expect("the repository is inside the temporary folder")
            .join(name)
    }

    /// Runs `git` in the repository and returns its standard output without the final newline.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }
}

/// Runs the real `git` CLI in `dir`, with no user configuration and a fixed identity, asserts
/// that it succeeded and returns its standard output without the final newline.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git must be installed to check the results");
    assert!(
        output.status.success(),
        "`git {}` must succeed in {}: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut text = String::from_utf8(output.stdout).expect("git prints UTF-8 here");
    if text.ends_with('\n') {
        text.pop();
    }
    text
}

/// Writes `text` to `path`, creating its folders.
pub fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("the test can create folders in its temporary folder");
    }
    fs::write(path, text).expect("the test can write files in its temporary folder");
}

/// Reads the text of `path`.
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("the file the test reads exists")
}
