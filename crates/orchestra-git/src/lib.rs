//! Git-native runs for Orchestra.
//!
//! A run works on a branch of its own, checked out in a linked worktree, so the user's branch and
//! working tree stay untouched while steps write files. Each step's changes become a commit on the
//! run's branch; parallel writers are brought together by three-way merges; finished runs are
//! cleaned up by removing their worktrees and, once nothing of the user's would be lost, their
//! branches. The same crate answers a file's history and the diff of a commit for the studio.
//!
//! Open the user's repository with [`Repository::open`], create a run's worktree with
//! [`Repository::create_worktree`], then record work with [`Worktree::commit_all`] and bring
//! branches together with [`Worktree::merge`]:
//!
//! ```no_run
//! use orchestra_git::{Merge, OnConflict, Repository};
//! use std::path::Path;
//!
//! # fn main() -> Result<(), orchestra_git::GitError> {
//! let repository = Repository::open(Path::new("."))?;
//! repository.exclude(".orchestra/")?;
//! let start = repository.head()?;
//! let path = repository.workdir().join(".orchestra/worktrees/run-1");
//! let run = repository.create_worktree("run-1", "orchestra/run-1", &start, &path)?;
//! // A step writes files in `run.path()`, then its work becomes a commit on the run's branch:
//! let commit = run.commit_all("Write the report\n\nOrchestra-Step: report", &[])?;
//! // Another step's branch is brought in with a three-way merge:
//! if let Merge::Conflicted { paths } = run.merge("orchestra/run-1--review", "Merge the review", OnConflict::Abort)? {
//!     println!("the review conflicts in {paths:?}");
//! }
//! # let _ = commit;
//! # Ok(())
//! # }
//! ```
//!
//! Everything goes through libgit2 (vendored), which runs no hooks: a run's commits never start
//! the user's scripts.

mod history;
mod repository;
mod status;
mod worktree;

use std::path::PathBuf;

pub use history::{Change, CommitDiff, CommitInfo, FileChange, Revision, unified_diff};
pub use repository::{Branch, Repository, WorktreeInfo};
pub use worktree::{Merge, OnConflict, Worktree};

/// What went wrong in a git operation, worded for the person who has to act on it.
///
/// Every message names the repository, worktree, branch, commit or file concerned. A failure of
/// libgit2 that has no variant of its own is a [`GitError::Git`], which says what Orchestra was
/// doing and quotes libgit2's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    /// The folder is not inside any git repository.
    #[error(
        "`{}` is not inside a git repository; run `git init` there or choose a folder inside a repository",
        path.display()
    )]
    NotARepository {
        /// The folder that was opened.
        path: PathBuf,
    },
    /// The repository has no working tree, so there is nothing a run could work on.
    #[error(
        "the repository at `{}` is bare (it has no working tree), so Orchestra cannot run in it; use a clone with a working tree",
        path.display()
    )]
    BareRepository {
        /// The repository's git folder.
        path: PathBuf,
    },
    /// HEAD points at a branch without any commit.
    #[error(
        "the repository at `{}` has no commits yet, so a run has nothing to start from; make a first commit",
        path.display()
    )]
    NoCommits {
        /// The working tree of the repository.
        path: PathBuf,
    },
    /// A revision that does not name a commit.
    #[error("`{revision}` does not name a commit in the repository at `{}`", path.display())]
    UnknownRevision {
        /// The revision as it was given.
        revision: String,
        /// The working tree of the repository.
        path: PathBuf,
    },
    /// A folder that is not a linked worktree of this repository.
    #[error(
        "`{}` is not a linked worktree of the repository at `{}`",
        path.display(),
        repository.display()
    )]
    NotAWorktree {
        /// The folder that was opened as a worktree.
        path: PathBuf,
        /// The working tree of the repository.
        repository: PathBuf,
    },
    /// A run's branch that already exists and belongs to no worktree of that run.
    #[error(
        "the branch `{branch}` already exists in the repository at `{}` and is not the branch of the worktree `{name}`; delete the branch or choose another run name",
        path.display()
    )]
    BranchExists {
        /// The branch that was to be created.
        branch: String,
        /// The worktree that was to be created.
        name: String,
        /// The working tree of the repository.
        path: PathBuf,
    },
    /// A worktree of that name exists but is somewhere else or on another branch.
    #[error(
        "a worktree named `{name}` already exists at `{}`{}, so it cannot be created at `{}` on the branch `{branch}`; remove the old worktree first",
        existing.display(),
        existing_branch.as_deref().map_or_else(String::new, |b| format!(" on the branch `{b}`")),
        path.display()
    )]
    WorktreeClash {
        /// The worktree's name.
        name: String,
        /// Where the existing worktree is.
        existing: PathBuf,
        /// The existing worktree's branch, if it has one checked out.
        existing_branch: Option<String>,
        /// Where the worktree was asked for.
        path: PathBuf,
        /// The branch it was asked for.
        branch: String,
    },
    /// The folder for a new worktree already exists.
    #[error(
        "cannot create the worktree `{name}` at `{}` because that folder already exists; remove it or choose another folder",
        path.display()
    )]
    PathExists {
        /// The worktree's name.
        name: String,
        /// The folder that already exists.
        path: PathBuf,
    },
    /// A worktree whose HEAD is not on a branch.
    #[error(
        "the worktree at `{}` has no branch checked out (its HEAD is detached at {commit})",
        path.display()
    )]
    DetachedHead {
        /// The worktree's folder.
        path: PathBuf,
        /// The commit HEAD points at.
        commit: String,
    },
    /// A merge asked of a worktree that has uncommitted changes.
    #[error(
        "the worktree at `{}` has uncommitted changes ({}), so `{theirs}` cannot be merged into it; commit or discard them first",
        path.display(),
        list_paths(changes)
    )]
    DirtyWorktree {
        /// The worktree's folder.
        path: PathBuf,
        /// The revision that was to be merged.
        theirs: String,
        /// The changed files, relative to the worktree.
        changes: Vec<String>,
    },
    /// A file that cannot be shown as text.
    #[error(
        "`{path}` at commit {commit} is a binary or non-UTF-8 file, so it cannot be shown as text"
    )]
    NotText {
        /// The file, relative to the working tree.
        path: String,
        /// The commit it was read from.
        commit: String,
    },
    /// A path that names a folder or a submodule rather than a file.
    #[error("`{path}` at commit {commit} is not a file (it is a folder or a submodule)")]
    NotAFile {
        /// The path, relative to the working tree.
        path: String,
        /// The commit it was read from.
        commit: String,
    },
    /// An exclude pattern that would add more than one line.
    #[error(
        "an exclude pattern must be one line, but `{}` contains a line break",
        pattern.escape_debug()
    )]
    MultilinePattern {
        /// The pattern as it was given.
        pattern: String,
    },
    /// A file or folder that could not be read or written.
    #[error("could not {action} `{}`: {reason}", path.display())]
    Io {
        /// What Orchestra was doing, as a verb phrase ("write the exclude file").
        action: String,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's explanation.
        reason: String,
    },
    /// Any other failure of libgit2.
    #[error("could not {action} in `{}`: {reason}", path.display())]
    Git {
        /// What Orchestra was doing, as a verb phrase ("create the branch `x`").
        action: String,
        /// The working tree of the repository or worktree concerned.
        path: PathBuf,
        /// libgit2's explanation, without its class and code numbers.
        reason: String,
    },
}

impl GitError {
    /// Wraps a libgit2 failure with what was being done and where.
    pub(crate) fn git(
        action: impl Into<String>,
        path: &std::path::Path,
        error: &git2::Error,
    ) -> Self {
        Self::Git {
            action: action.into(),
            path: path.to_path_buf(),
            reason: error.message().to_owned(),
        }
    }

    /// Wraps a failure of the file system with what was being done and where.
    pub(crate) fn io(
        action: impl Into<String>,
        path: &std::path::Path,
        error: &std::io::Error,
    ) -> Self {
        Self::Io {
            action: action.into(),
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}

/// Lists paths for a message, naming at most five and counting the rest.
fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut parts: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|path| format!("`{path}`"))
        .collect();
    if paths.len() > SHOWN {
        parts.push(format!("and {} more", paths.len() - SHOWN));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::list_paths;

    #[test]
    fn a_long_list_of_paths_names_five_and_counts_the_rest() {
        let paths: Vec<String> = (1..=7).map(|n| format!("f{n}")).collect();
        assert_eq!(
            list_paths(&paths),
            "`f1`, `f2`, `f3`, `f4`, `f5`, and 2 more",
            "a message stays short however many files changed"
        );
        assert_eq!(list_paths(&paths[..1]), "`f1`");
    }
}
