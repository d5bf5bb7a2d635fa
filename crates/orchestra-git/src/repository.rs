//! The user's repository: opening it, its worktrees and branches, and what cleanup needs to know.

use std::fmt;
use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use git2::{BranchType, ErrorCode, WorktreeAddOptions, WorktreePruneOptions};
use jiff::Timestamp;

use crate::GitError;
use crate::history::timestamp;
use crate::status;
use crate::worktree::Worktree;

/// The user's repository, opened at its working tree or any folder inside it.
///
/// Runs never change the user's working tree or checked-out branch through this type: they get a
/// [`Worktree`] of their own from [`Repository::create_worktree`].
pub struct Repository {
    /// The libgit2 handle.
    pub(crate) repo: git2::Repository,
    /// The canonical path of the working tree.
    workdir: PathBuf,
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("workdir", &self.workdir)
            .finish_non_exhaustive()
    }
}

/// A linked worktree of the repository, as [`Repository::worktrees`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeInfo {
    /// The worktree's name: its admin folder is `<git dir>/worktrees/<name>`.
    pub name: String,
    /// The worktree's folder (canonical when it still exists).
    pub path: PathBuf,
    /// The short name of the branch checked out there, or `None` when its HEAD is detached or its
    /// folder can no longer be opened.
    pub branch: Option<String>,
}

/// A local branch, as [`Repository::branches`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The branch's short name, such as `orchestra/run-1`.
    pub name: String,
    /// The full hex id of the commit at its tip.
    pub commit: String,
    /// When the tip commit was made (its committer time).
    pub time: Timestamp,
}

impl Repository {
    /// Opens the repository that contains `path`, searching upward from it.
    ///
    /// A folder outside any repository is [`GitError::NotARepository`]; a bare repository is
    /// refused with [`GitError::BareRepository`], since a run needs a working tree.
    pub fn open(path: &Path) -> Result<Self, GitError> {
        fs::metadata(path).map_err(|error| GitError::io("open the folder", path, &error))?;
        let repo = git2::Repository::discover(path).map_err(|error| {
            if error.code() == ErrorCode::NotFound {
                GitError::NotARepository {
                    path: path.to_path_buf(),
                }
            } else {
                GitError::git("open the repository", path, &error)
            }
        })?;
        let Some(workdir) = repo.workdir() else {
            return Err(GitError::BareRepository {
                path: canonical_or_same(repo.path()),
            });
        };
        let workdir = fs::canonicalize(workdir)
            .map_err(|error| GitError::io("resolve the working tree", workdir, &error))?;
        Ok(Self { repo, workdir })
    }

    /// The canonical path of the working tree this repository was opened in.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The full hex id of the commit HEAD points at.
    ///
    /// A repository without commits is [`GitError::NoCommits`].
    pub fn head(&self) -> Result<String, GitError> {
        head_commit(&self.repo, &self.workdir).map(|commit| commit.id().to_string())
    }

    /// Resolves a commit id, a short id, a branch or any other revision to a full commit id.
    ///
    /// A revision that names no commit is [`GitError::UnknownRevision`].
    pub fn resolve(&self, revision: &str) -> Result<String, GitError> {
        resolve_commit(&self.repo, &self.workdir, revision).map(|commit| commit.id().to_string())
    }

    /// The paths with uncommitted changes in this working tree: modified, staged, deleted and
    /// untracked files, relative to the working tree with `/` separators, sorted. Ignored files
    /// are left out.
    pub fn changed_paths(&self) -> Result<Vec<String>, GitError> {
        status::changed_paths(&self.repo, &self.workdir)
    }

    /// Adds `pattern` as a line of `<git dir>/info/exclude` unless that line is already there,
    /// creating the file and its folder when needed.
    ///
    /// The exclude file applies to every worktree and, unlike `.gitignore`, is not part of the
    /// project, so excluding `.orchestra/` keeps run files out of `git status` without a commit.
    /// A blank pattern changes nothing; a pattern with a line break is refused.
    pub fn exclude(&self, pattern: &str) -> Result<(), GitError> {
        if pattern.contains(['\n', '\r']) {
            return Err(GitError::MultilinePattern {
                pattern: pattern.to_owned(),
            });
        }
        let pattern = pattern.trim_end();
        if pattern.is_empty() {
            return Ok(());
        }
        let folder = self.repo.commondir().join("info");
        let file = folder.join("exclude");
        let existing = match fs::read(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) if error.kind() == ErrorKind::NotFound => String::new(),
            Err(error) => return Err(GitError::io("read the exclude file", &file, &error)),
        };
        if existing.lines().any(|line| line.trim_end() == pattern) {
            return Ok(());
        }
        fs::create_dir_all(&folder)
            .map_err(|error| GitError::io("create the folder", &folder, &error))?;
        let mut text = String::new();
        if !existing.is_empty() && !existing.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(pattern);
        text.push('\n');
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut handle| handle.write_all(text.as_bytes()))
            .map_err(|error| GitError::io("write the exclude file", &file, &error))
    }

    /// Creates the local branch `branch` at `commit` and a linked worktree named `name` at `path`
    /// with that branch checked out, creating the parent folders of `path`.
    ///
    /// A resumed run may call this again: when the worktree `name` already exists at `path` with
    /// `branch` checked out, it is opened and returned unchanged. A worktree `name` elsewhere or on
    /// another branch is [`GitError::WorktreeClash`]; a branch `branch` that already exists
    /// otherwise is [`GitError::BranchExists`]; an existing folder at `path` is
    /// [`GitError::PathExists`]. Admin files left by a worktree whose folder is gone are pruned
    /// first. When creating the worktree fails, the branch made for it is deleted again.
    pub fn create_worktree(
        &self,
        name: &str,
        branch: &str,
        commit: &str,
        path: &Path,
    ) -> Result<Worktree, GitError> {
        let path = self.prepare_worktree_path(path)?;
        match self.repo.find_worktree(name) {
            Ok(existing) if existing.validate().is_ok() => {
                let existing_path = canonical_or_same(existing.path());
                let existing_branch = worktree_branch(&existing);
                if existing_path == path && existing_branch.as_deref() == Some(branch) {
                    return self.worktree(&path);
                }
                return Err(GitError::WorktreeClash {
                    name: name.to_owned(),
                    existing: existing_path,
                    existing_branch,
                    path,
                    branch: branch.to_owned(),
                });
            }
            Ok(stale) => {
                // The folder is gone (a crash during removal, or the user deleted it), so only
                // admin files remain; pruning them frees the name.
                stale
                    .prune(Some(&mut WorktreePruneOptions::new()))
                    .map_err(|error| {
                        GitError::git(
                            format!("prune the stale worktree `{name}`"),
                            &self.workdir,
                            &error,
                        )
                    })?;
            }
            Err(error) if error.code() == ErrorCode::NotFound => {}
            Err(error) => {
                return Err(GitError::git(
                    format!("look up the worktree `{name}`"),
                    &self.workdir,
                    &error,
                ));
            }
        }
        if self.repo.find_branch(branch, BranchType::Local).is_ok() {
            return Err(GitError::BranchExists {
                branch: branch.to_owned(),
                name: name.to_owned(),
                path: self.workdir.clone(),
            });
        }
        if fs::symlink_metadata(&path).is_ok() {
            return Err(GitError::PathExists {
                name: name.to_owned(),
                path,
            });
        }
        let start = resolve_commit(&self.repo, &self.workdir, commit)?;
        let reference = self
            .repo
            .branch(branch, &start, false)
            .map_err(|error| {
                GitError::git(
                    format!("create the branch `{branch}`"),
                    &self.workdir,
                    &error,
                )
            })?
            .into_reference();
        let added = {
            let mut options = WorktreeAddOptions::new();
            options.reference(Some(&reference));
            self.repo.worktree(name, &path, Some(&options)).map(drop)
        };
        if let Err(error) = added {
            self.undo_worktree(name, branch);
            return Err(GitError::git(
                format!(
                    "create the worktree `{name}` at `{}` on the branch `{branch}`",
                    path.display()
                ),
                &self.workdir,
                &error,
            ));
        }
        self.worktree(&path)
    }

    /// Makes `path` absolute and canonical, creating its parent folders.
    fn prepare_worktree_path(&self, path: &Path) -> Result<PathBuf, GitError> {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.workdir.join(path)
        };
        let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
            return Err(GitError::Io {
                action: "create a worktree at".to_owned(),
                path,
                reason: "the path has no folder name to create".to_owned(),
            });
        };
        fs::create_dir_all(parent)
            .map_err(|error| GitError::io("create the folder", parent, &error))?;
        let parent = fs::canonicalize(parent)
            .map_err(|error| GitError::io("resolve the folder", parent, &error))?;
        Ok(parent.join(file_name))
    }

    /// Removes what a failed [`Repository::create_worktree`] left: the worktree's admin files and
    /// folder, and the branch made for it.
    ///
    /// This runs while another error is being reported, so its own failures are not reported: the
    /// first error is the one the user needs.
    fn undo_worktree(&self, name: &str, branch: &str) {
        if let Ok(worktree) = self.repo.find_worktree(name) {
            let _ = worktree.prune(Some(
                WorktreePruneOptions::new().valid(true).working_tree(true),
            ));
        }
        if let Ok(mut created) = self.repo.find_branch(branch, BranchType::Local) {
            let _ = created.delete();
        }
    }

    /// Opens the linked worktree of this repository whose folder is `path`.
    ///
    /// A folder that is not the root of a linked worktree of this repository is
    /// [`GitError::NotAWorktree`].
    pub fn worktree(&self, path: &Path) -> Result<Worktree, GitError> {
        let not_a_worktree = || GitError::NotAWorktree {
            path: path.to_path_buf(),
            repository: self.workdir.clone(),
        };
        let canonical = fs::canonicalize(path).map_err(|_| not_a_worktree())?;
        let repo = git2::Repository::open(&canonical).map_err(|_| not_a_worktree())?;
        let same_repository =
            canonical_or_same(repo.commondir()) == canonical_or_same(self.repo.commondir());
        let at_root = repo.workdir().map(canonical_or_same).as_deref() == Some(canonical.as_path());
        if !repo.is_worktree() || !same_repository || !at_root {
            return Err(not_a_worktree());
        }
        Ok(Worktree::new(repo, canonical))
    }

    /// The linked worktrees of this repository (not the main working tree), sorted by name.
    pub fn worktrees(&self) -> Result<Vec<WorktreeInfo>, GitError> {
        let names = self
            .repo
            .worktrees()
            .map_err(|error| GitError::git("list the worktrees", &self.workdir, &error))?;
        let mut list = Vec::new();
        // A name that is not UTF-8 cannot be one of Orchestra's, and libgit2 could not look it
        // up by name anyway, so it is left out.
        for name in names.iter().flatten().flatten() {
            let worktree = self.repo.find_worktree(name).map_err(|error| {
                GitError::git(
                    format!("look up the worktree `{name}`"),
                    &self.workdir,
                    &error,
                )
            })?;
            list.push(WorktreeInfo {
                name: name.to_owned(),
                path: canonical_or_same(worktree.path()),
                branch: worktree_branch(&worktree),
            });
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Deletes the worktree `name`: its folder and its admin files. Its branch stays.
    ///
    /// A worktree that does not exist is not an error, so cleanup can be repeated. A locked
    /// worktree is refused.
    pub fn remove_worktree(&self, name: &str) -> Result<(), GitError> {
        let worktree = match self.repo.find_worktree(name) {
            Ok(worktree) => worktree,
            Err(error) if error.code() == ErrorCode::NotFound => return Ok(()),
            Err(error) => {
                return Err(GitError::git(
                    format!("look up the worktree `{name}`"),
                    &self.workdir,
                    &error,
                ));
            }
        };
        let folder = worktree.path().to_path_buf();
        worktree
            .prune(Some(
                WorktreePruneOptions::new().valid(true).working_tree(true),
            ))
            .map_err(|error| {
                GitError::git(
                    format!("remove the worktree `{name}`"),
                    &self.workdir,
                    &error,
                )
            })?;
        // libgit2 deletes the folder only while its `.git` file is there; a folder that lost it
        // is still the run's folder and goes too.
        match fs::remove_dir_all(&folder) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(GitError::io("remove the worktree folder", &folder, &error)),
        }
    }

    /// The local branches whose name starts with `prefix`, sorted by name.
    pub fn branches(&self, prefix: &str) -> Result<Vec<Branch>, GitError> {
        let listing_failed =
            |error: git2::Error| GitError::git("list the local branches", &self.workdir, &error);
        let mut list = Vec::new();
        for item in self
            .repo
            .branches(Some(BranchType::Local))
            .map_err(listing_failed)?
        {
            let (branch, _) = item.map_err(listing_failed)?;
            let name =
                String::from_utf8_lossy(branch.name_bytes().map_err(listing_failed)?).into_owned();
            if !name.starts_with(prefix) {
                continue;
            }
            let tip = branch.get().peel_to_commit().map_err(|error| {
                GitError::git(
                    format!("read the tip of the branch `{name}`"),
                    &self.workdir,
                    &error,
                )
            })?;
            list.push(Branch {
                commit: tip.id().to_string(),
                time: timestamp(tip.time()),
                name,
            });
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Deletes the local branch `name`. A branch that does not exist is not an error; a branch
    /// checked out in a worktree is refused.
    pub fn delete_branch(&self, name: &str) -> Result<(), GitError> {
        let mut branch = match self.repo.find_branch(name, BranchType::Local) {
            Ok(branch) => branch,
            Err(error) if error.code() == ErrorCode::NotFound => return Ok(()),
            Err(error) => {
                return Err(GitError::git(
                    format!("look up the branch `{name}`"),
                    &self.workdir,
                    &error,
                ));
            }
        };
        branch.delete().map_err(|error| {
            GitError::git(format!("delete the branch `{name}`"), &self.workdir, &error)
        })
    }

    /// Whether `commit` is reachable from HEAD or from a local branch whose name does not start
    /// with `except_prefix`.
    ///
    /// Cleanup asks this before deleting a run's branch (with the runs' prefix as
    /// `except_prefix`): when it is true, deleting the branch loses nothing of the user's.
    pub fn reachable_elsewhere(&self, commit: &str, except_prefix: &str) -> Result<bool, GitError> {
        let target = resolve_commit(&self.repo, &self.workdir, commit)?.id();
        let mut tips = Vec::new();
        if let Ok(head) = self.repo.head()
            && let Some(id) = head.target()
        {
            tips.push(id);
        }
        for branch in self.branches("")? {
            if !branch.name.starts_with(except_prefix)
                && let Ok(id) = git2::Oid::from_str(&branch.commit)
            {
                tips.push(id);
            }
        }
        for tip in tips {
            let reachable = tip == target
                || self
                    .repo
                    .graph_descendant_of(tip, target)
                    .map_err(|error| {
                        GitError::git(
                            format!("compare the commits {tip} and {target}"),
                            &self.workdir,
                            &error,
                        )
                    })?;
            if reachable {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The commit HEAD points at; an unborn HEAD is [`GitError::NoCommits`].
pub(crate) fn head_commit<'r>(
    repo: &'r git2::Repository,
    workdir: &Path,
) -> Result<git2::Commit<'r>, GitError> {
    let head = match repo.head() {
        Ok(head) => head,
        Err(error) if matches!(error.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            return Err(GitError::NoCommits {
                path: workdir.to_path_buf(),
            });
        }
        Err(error) => return Err(GitError::git("read HEAD", workdir, &error)),
    };
    head.peel_to_commit()
        .map_err(|error| GitError::git("read the commit at HEAD", workdir, &error))
}

/// The commit that `revision` names; a revision naming none is [`GitError::UnknownRevision`].
pub(crate) fn resolve_commit<'r>(
    repo: &'r git2::Repository,
    workdir: &Path,
    revision: &str,
) -> Result<git2::Commit<'r>, GitError> {
    repo.revparse_single(revision)
        .and_then(|object| object.peel_to_commit())
        .map_err(|error| match error.code() {
            ErrorCode::NotFound
            | ErrorCode::InvalidSpec
            | ErrorCode::Peel
            | ErrorCode::Invalid
            | ErrorCode::UnbornBranch => GitError::UnknownRevision {
                revision: revision.to_owned(),
                path: workdir.to_path_buf(),
            },
            _ => GitError::git(format!("resolve `{revision}`"), workdir, &error),
        })
}

/// The short name of the branch checked out in a linked worktree, if it can be read.
fn worktree_branch(worktree: &git2::Worktree) -> Option<String> {
    let repo = git2::Repository::open_from_worktree(worktree).ok()?;
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target_bytes()?;
    let target = String::from_utf8_lossy(target);
    target.strip_prefix("refs/heads/").map(str::to_owned)
}

/// The canonical form of `path`, or `path` itself when it cannot be resolved (it is gone).
pub(crate) fn canonical_or_same(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
