//! A run's or a step's linked worktree: commits, resets and merges on its branch.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use git2::build::CheckoutBuilder;
use git2::{Commit, IndexAddOption, Oid, ResetType, Signature};

use crate::GitError;
use crate::repository::{head_commit, resolve_commit};
use crate::status;

/// The name in the author and committer of every commit Orchestra makes.
const AUTHOR_NAME: &str = "Orchestra";
/// The email in the author and committer of every commit Orchestra makes.
const AUTHOR_EMAIL: &str = "orchestra@localhost";

/// A linked worktree where a run or a step works, with its own branch checked out.
///
/// Get one from [`crate::Repository::create_worktree`] or [`crate::Repository::worktree`].
pub struct Worktree {
    /// The libgit2 handle opened in the worktree, so HEAD and the index are the worktree's.
    repo: git2::Repository,
    /// The canonical path of the worktree's folder.
    path: PathBuf,
}

impl fmt::Debug for Worktree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worktree")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What [`Worktree::merge`] does when the two sides change the same lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Leave the worktree exactly as it was and only report the conflicting files.
    Abort,
    /// Write the merged result into the working tree, with conflict markers in the conflicting
    /// files, and commit nothing; once they are resolved, [`Worktree::commit_all`] with the other
    /// side as an extra parent records the merge.
    WriteMarkers,
}

/// The outcome of [`Worktree::merge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// The other side was already reachable from HEAD; nothing changed.
    AlreadyMerged,
    /// HEAD was reachable from the other side, so the branch moved to it and its files were
    /// checked out.
    FastForward {
        /// The full hex id of the new HEAD (the other side).
        commit: String,
    },
    /// Both sides changed different things; a merge commit with parents HEAD and the other side
    /// was made and checked out.
    Merged {
        /// The full hex id of the merge commit.
        commit: String,
    },
    /// Both sides changed the same lines of these files (relative to the worktree, sorted).
    Conflicted {
        /// The conflicting files.
        paths: Vec<String>,
    },
}

impl Worktree {
    /// Wraps a handle opened in a linked worktree whose canonical folder is `path`.
    pub(crate) fn new(repo: git2::Repository, path: PathBuf) -> Self {
        Self { repo, path }
    }

    /// The canonical path of the worktree's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The full hex id of the commit checked out in this worktree.
    pub fn head(&self) -> Result<String, GitError> {
        head_commit(&self.repo, &self.path).map(|commit| commit.id().to_string())
    }

    /// The short name of the branch checked out in this worktree.
    ///
    /// A detached HEAD is [`GitError::DetachedHead`].
    pub fn branch(&self) -> Result<String, GitError> {
        let head = self
            .repo
            .find_reference("HEAD")
            .map_err(|error| GitError::git("read HEAD", &self.path, &error))?;
        if let Some(target) = head.symbolic_target_bytes() {
            let target = String::from_utf8_lossy(target);
            if let Some(name) = target.strip_prefix("refs/heads/") {
                return Ok(name.to_owned());
            }
        }
        Err(GitError::DetachedHead {
            path: self.path.clone(),
            commit: head.target().map(|id| id.to_string()).unwrap_or_default(),
        })
    }

    /// The paths with uncommitted changes in this worktree: modified, staged, deleted and
    /// untracked files, relative to the worktree with `/` separators, sorted. Ignored files are
    /// left out.
    pub fn changed_paths(&self) -> Result<Vec<String>, GitError> {
        status::changed_paths(&self.repo, &self.path)
    }

    /// Stages every change in the worktree and commits it on the checked-out branch.
    ///
    /// New, modified and deleted files are staged; ignored files stay out (files already tracked
    /// stay tracked). A commit is made when the staged tree differs from HEAD's, or when
    /// `extra_parents` is not empty: then the commit records a merge whose parents are HEAD and
    /// then `extra_parents`, as after [`Worktree::merge`] with [`OnConflict::WriteMarkers`] once
    /// the conflicts are resolved. The message is cleaned up as `git commit` does; the author
    /// and committer are `Orchestra <orchestra@localhost>` at the current time.
    ///
    /// Returns the new commit's full hex id, or `None` when nothing changed and no commit was
    /// made.
    pub fn commit_all(
        &self,
        message: &str,
        extra_parents: &[String],
    ) -> Result<Option<String>, GitError> {
        let head = head_commit(&self.repo, &self.path)?;
        let extra = extra_parents
            .iter()
            .map(|revision| resolve_commit(&self.repo, &self.path, revision))
            .collect::<Result<Vec<_>, _>>()?;
        let tree_id = self.stage_everything()?;
        if tree_id == head.tree_id() && extra.is_empty() {
            return Ok(None);
        }
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|error| GitError::git("read the staged tree", &self.path, &error))?;
        let mut parents: Vec<&Commit<'_>> = vec![&head];
        parents.extend(extra.iter());
        let signature = self.signature()?;
        let id = self
            .repo
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                &clean_message(message),
                &tree,
                &parents,
            )
            .map_err(|error| GitError::git("commit the staged changes", &self.path, &error))?;
        Ok(Some(id.to_string()))
    }

    /// Stages every change of the working tree, resolving any conflicts a merge left in the
    /// index with the files as they now are, and returns the id of the staged tree.
    fn stage_everything(&self) -> Result<Oid, GitError> {
        let staging_failed =
            |error: git2::Error| GitError::git("stage the changes", &self.path, &error);
        let mut index = self.repo.index().map_err(staging_failed)?;
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .map_err(staging_failed)?;
        index.update_all(["*"], None).map_err(staging_failed)?;
        if index.has_conflicts() {
            for path in conflict_paths(&index, &self.path)? {
                let path = Path::new(&path);
                if fs::symlink_metadata(self.path.join(path)).is_ok() {
                    index.add_path(path).map_err(staging_failed)?;
                } else {
                    index.remove_path(path).map_err(staging_failed)?;
                }
            }
        }
        index.write().map_err(staging_failed)?;
        index.write_tree().map_err(staging_failed)
    }

    /// Moves the checked-out branch and the index to `commit`, leaving the files on disk as they
    /// are (a mixed reset).
    ///
    /// On resume this drops a commit whose record was lost in a crash; its changes stay in the
    /// working tree, to be committed again.
    pub fn reset_keeping_files(&self, commit: &str) -> Result<(), GitError> {
        let target = resolve_commit(&self.repo, &self.path, commit)?;
        self.repo
            .reset(target.as_object(), ResetType::Mixed, None)
            .map_err(|error| {
                GitError::git(
                    format!("reset the branch to {}", target.id()),
                    &self.path,
                    &error,
                )
            })
    }

    /// Merges the commit `theirs` into HEAD of this worktree.
    ///
    /// When `theirs` is already reachable from HEAD, nothing changes ([`Merge::AlreadyMerged`]).
    /// Otherwise the worktree must be clean ([`GitError::DirtyWorktree`] if not). When HEAD is
    /// reachable from `theirs`, the branch moves to it and its files are checked out
    /// ([`Merge::FastForward`]). Otherwise the two are merged three ways: without conflicts, a
    /// commit with parents HEAD and `theirs` and the message `message` is made and checked out
    /// ([`Merge::Merged`]); with conflicts, [`Merge::Conflicted`] lists the files, and `conflicts`
    /// says whether the worktree stays unchanged or receives the merged result with conflict
    /// markers.
    pub fn merge(
        &self,
        theirs: &str,
        message: &str,
        conflicts: OnConflict,
    ) -> Result<Merge, GitError> {
        let ours = head_commit(&self.repo, &self.path)?;
        let their_commit = resolve_commit(&self.repo, &self.path, theirs)?;
        if ours.id() == their_commit.id() || self.descends(ours.id(), their_commit.id())? {
            return Ok(Merge::AlreadyMerged);
        }
        let changes = self.changed_paths()?;
        if !changes.is_empty() {
            return Err(GitError::DirtyWorktree {
                path: self.path.clone(),
                theirs: theirs.to_owned(),
                changes,
            });
        }
        if self.descends(their_commit.id(), ours.id())? {
            self.check_out(&their_commit, &format!("fast-forward to {theirs}"))?;
            return Ok(Merge::FastForward {
                commit: their_commit.id().to_string(),
            });
        }
        let merging_failed =
            |error: git2::Error| GitError::git(format!("merge `{theirs}`"), &self.path, &error);
        let mut index = self
            .repo
            .merge_commits(&ours, &their_commit, None)
            .map_err(merging_failed)?;
        if index.has_conflicts() {
            let paths = conflict_paths(&index, &self.path)?;
            if conflicts == OnConflict::WriteMarkers {
                let mut checkout = CheckoutBuilder::new();
                checkout
                    .force()
                    .allow_conflicts(true)
                    .conflict_style_merge(true)
                    .our_label("HEAD")
                    .their_label(theirs);
                self.repo
                    .checkout_index(Some(&mut index), Some(&mut checkout))
                    .map_err(|error| {
                        GitError::git(
                            format!("write the conflicts of merging `{theirs}`"),
                            &self.path,
                            &error,
                        )
                    })?;
            }
            return Ok(Merge::Conflicted { paths });
        }
        let tree_id = index.write_tree_to(&self.repo).map_err(merging_failed)?;
        let tree = self.repo.find_tree(tree_id).map_err(merging_failed)?;
        let signature = self.signature()?;
        let id = self
            .repo
            .commit(
                None,
                &signature,
                &signature,
                &clean_message(message),
                &tree,
                &[&ours, &their_commit],
            )
            .map_err(merging_failed)?;
        let merged = self.repo.find_commit(id).map_err(merging_failed)?;
        self.check_out(&merged, &format!("merge {theirs}"))?;
        Ok(Merge::Merged {
            commit: id.to_string(),
        })
    }

    /// Whether `commit` descends from `ancestor`.
    fn descends(&self, commit: Oid, ancestor: Oid) -> Result<bool, GitError> {
        self.repo
            .graph_descendant_of(commit, ancestor)
            .map_err(|error| {
                GitError::git(
                    format!("compare the commits {commit} and {ancestor}"),
                    &self.path,
                    &error,
                )
            })
    }

    /// Checks out `commit`'s files (the worktree is known to be clean) and then moves the
    /// checked-out branch to it, so a failed checkout leaves the branch where it was.
    fn check_out(&self, commit: &Commit<'_>, reflog: &str) -> Result<(), GitError> {
        let failed = |error: git2::Error| {
            GitError::git(format!("check out {}", commit.id()), &self.path, &error)
        };
        let mut checkout = CheckoutBuilder::new();
        checkout.force();
        self.repo
            .checkout_tree(commit.as_object(), Some(&mut checkout))
            .map_err(failed)?;
        let mut head = self.repo.head().map_err(failed)?;
        head.set_target(commit.id(), &format!("orchestra: {reflog}"))
            .map_err(failed)?;
        Ok(())
    }

    /// The author and committer of Orchestra's commits, at the current time.
    fn signature(&self) -> Result<Signature<'static>, GitError> {
        Signature::now(AUTHOR_NAME, AUTHOR_EMAIL)
            .map_err(|error| GitError::git("make the commit's signature", &self.path, &error))
    }
}

/// The paths in conflict in `index`, sorted and without duplicates.
fn conflict_paths(index: &git2::Index, workdir: &Path) -> Result<Vec<String>, GitError> {
    let reading_failed =
        |error: git2::Error| GitError::git("list the conflicting files", workdir, &error);
    let mut paths = Vec::new();
    for conflict in index.conflicts().map_err(reading_failed)? {
        let conflict = conflict.map_err(reading_failed)?;
        if let Some(entry) = conflict.our.or(conflict.their).or(conflict.ancestor) {
            paths.push(String::from_utf8_lossy(&entry.path).into_owned());
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Cleans a commit message up as `git commit` does: trailing spaces and extra blank lines go,
/// and it ends with one line break.
fn clean_message(message: &str) -> String {
    git2::message_prettify(message, None).unwrap_or_else(|_| message.to_owned())
}
