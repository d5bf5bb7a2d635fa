//! A project folder for journeys with the real binary: a copy of the repository's examples (or
//! nothing), a private global folder, and the `orchestra` command run inside it with no model
//! provider's variables but those a test gives.

#![allow(dead_code)] // Each test file uses part of the harness.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests"),
    )
    .join("../..")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("the folder lists") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// A project folder and a global folder, both temporary.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub global: tempfile::TempDir,
}

impl Project {
    /// A project holding a copy of the examples, their personalities and prompts.
    pub fn with_examples() -> Self {
        let project = Self::empty();
        for folder in ["pipelines", "personalities", "prompts"] {
            copy_tree(&repo().join(folder), &project.dir.path().join(folder));
        }
        project
    }

    /// An empty project.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("a project folder");
        std::fs::create_dir(dir.path().join(".orchestra")).expect("the project marker");
        let global = tempfile::tempdir().expect("a global folder");
        Self { dir, global }
    }

    /// Writes a file of the project.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("write a file");
    }

    /// The binary with `args`, run in the project with no provider variables but `env`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchestra"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("ORCHESTRA_HOME", self.global.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for variable in [
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "OLLAMA_HOST",
        ] {
            command.env_remove(variable);
        }
        // No test reaches the OS keychain of the machine it runs on (a developer's desktop has
        // one): an empty bus address means no keychain, unless a test gives its own.
        command.env("DBUS_SESSION_BUS_ADDRESS", "");
        command.envs(env.iter().copied());
        command
    }

    /// Runs the binary and returns its exit code, standard output and standard error.
    pub fn orchestra_with(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Option<i32>, String, String) {
        let output = self.command(args, env).output().expect("orchestra runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs the binary with no provider variables.
    pub fn orchestra(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.orchestra_with(args, &[])
    }

    /// The id of the project's newest run.
    pub fn newest_run(&self) -> String {
        let (_, stdout, _) = self.orchestra(&["runs", "--json"]);
        let runs: Value = serde_json::from_str(&stdout).expect("runs --json is JSON");
        runs[0]["id"].as_str().expect("a run id").to_owned()
    }
}

/// Asserts that no file under `folder` (searched through every sub-folder; `what` says what it
/// is) holds `secret`, and returns how many files were searched.
pub fn assert_in_no_file(folder: &Path, secret: &str, what: &str) -> usize {
    let (found, searched) = orchestra_llm_server::files_holding(folder, secret);
    assert!(
        found.is_empty(),
        "{what} holds the secret in no file (of {searched}), but these hold it: {found:?}"
    );
    searched
}

/// Runs git in `dir` as a fixed author at a fixed time, so that commits (and so diffs and
/// recordings made from them) are the same on every machine.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Reviewer",
            "-c",
            "user.email=reviewer@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} succeeds in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

/// A run's branch: `orchestra/<pipeline>/<run>`.
pub fn run_branch(pipeline: &str, run: &str) -> String {
    format!("orchestra/{pipeline}/{run}")
}

/// The commits on `branch` that `base` does not have, oldest first: each subject, and the files
/// it changed.
pub fn commits_beyond(dir: &Path, base: &str, branch: &str) -> Vec<(String, Vec<String>)> {
    let ids = git(
        dir,
        &[
            "rev-list",
            "--reverse",
            "--no-merges",
            &format!("{base}..{branch}"),
        ],
    );
    ids.lines()
        .map(|id| {
            let subject = git(dir, &["show", "-s", "--format=%s", id]);
            let files = git(dir, &["show", "--format=", "--name-only", id])
                .lines()
                .map(str::to_owned)
                .collect();
            (subject, files)
        })
        .collect()
}
