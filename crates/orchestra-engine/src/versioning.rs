//! The seam to version control. A run whose pipeline names a repository (`workspace.repo`) works
//! on a branch and in a worktree of its own, commits what each step changed, and gives steps that
//! may write at the same time worktrees of their own, merged back at the join. The engine decides
//! when these happen and records them as events; [`Versioning`] does them (`orchestra-git`, over
//! libgit2, in the shells).

use std::path::{Path, PathBuf};

pub use orchestra_pipeline::model::OnConflict;

/// The repository a new run works in, as its shell found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoRequest {
    /// The repository as the pipeline names it (`..`), for messages.
    pub name: String,
    /// The repository's folder.
    pub path: PathBuf,
    /// The folder the run's worktrees go in (`.orchestra/worktrees/` of the project).
    pub worktrees: PathBuf,
    /// Where the workspace's root lies inside the repository (empty for its top).
    pub inside: PathBuf,
    /// The commit the run starts from instead of the repository's HEAD (a replay).
    pub base: Option<String>,
    /// What a merge of parallel writers that conflicts does.
    pub on_conflict: OnConflict,
}

/// A worktree opened for a run or a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// The commit its branch started from.
    pub base: String,
    /// Paths with uncommitted changes in the repository's own working tree, which the run does
    /// not see (it starts from the commit).
    pub dirty: Vec<String>,
}

/// What merging a parallel writer's commit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merged {
    /// Its work was already there.
    Already,
    /// The branch now holds it, at this commit (a fast-forward or a merge commit).
    Commit(String),
    /// Both sides changed these paths differently.
    Conflicted(Vec<String>),
}

/// Version control for runs, as a sentence on failure.
pub trait Versioning: Send + Sync {
    /// Creates `branch` at `base` (the repository's HEAD when `None`) with a worktree named
    /// `name` at `path`, and returns where it started. A worktree that already exists there on
    /// that branch is opened unchanged.
    fn open(
        &self,
        repo: &Path,
        name: &str,
        branch: &str,
        base: Option<&str>,
        path: &Path,
    ) -> Result<Checkout, String>;

    /// Makes `branch` point at `commit` again while keeping the files of its worktree at `path`
    /// (a crash may have lost the record of a later commit), re-creating the worktree when it
    /// was removed.
    fn restore(
        &self,
        repo: &Path,
        name: &str,
        branch: &str,
        commit: &str,
        path: &Path,
    ) -> Result<(), String>;

    /// Commits every change in the worktree at `path` (ignored files stay out), with
    /// `extra_parents` after HEAD for a merge that a step resolved. `None` when nothing changed.
    fn commit(
        &self,
        path: &Path,
        message: &str,
        extra_parents: &[String],
    ) -> Result<Option<String>, String>;

    /// Merges commit `theirs` into the worktree at `path` with a three-way merge. On a conflict,
    /// with `keep_conflicts` the files are left with conflict markers for a step to resolve;
    /// otherwise nothing changes.
    fn merge(
        &self,
        path: &Path,
        theirs: &str,
        message: &str,
        keep_conflicts: bool,
    ) -> Result<Merged, String>;

    /// Removes the worktree `name` and its branch once its work was merged.
    fn remove(&self, repo: &Path, name: &str, branch: &str) -> Result<(), String>;
}

/// A commit's short id, as people read it: its first seven characters.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// A name usable in a branch and a folder for a step key: letters, digits, `-` and `_`.
pub fn ref_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
