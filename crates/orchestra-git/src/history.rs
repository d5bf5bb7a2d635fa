//! A file's history, its text at a commit, and the diffs of commits and of texts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, ErrorCode, ObjectType, Oid, Patch};
use jiff::Timestamp;

use crate::GitError;
use crate::repository::{Repository, head_commit, resolve_commit};

/// The number of hex digits in a short commit id.
const SHORT_ID: usize = 7;

/// A commit that changed a file, as [`Repository::file_history`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The commit's full hex id.
    pub commit: String,
    /// The first seven hex digits of the id.
    pub short: String,
    /// The first line of the commit's message.
    pub summary: String,
    /// The author's name.
    pub author: String,
    /// When the change was authored (the author time, as `git log` shows it).
    pub time: Timestamp,
}

/// How a file changed in a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The file is new (or a copy of another file).
    Added,
    /// The file's content or mode changed.
    Modified,
    /// The file was removed.
    Deleted,
    /// The file moved, possibly with changes; [`FileChange::old_path`] says from where.
    Renamed,
}

/// One file of a [`CommitDiff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file's path after the change (before it, for a deleted file), relative to the
    /// working tree with `/` separators.
    pub path: String,
    /// The file's path before a rename; `None` unless [`FileChange::change`] is
    /// [`Change::Renamed`].
    pub old_path: Option<String>,
    /// How the file changed.
    pub change: Change,
    /// The number of lines added (zero for a binary file).
    pub insertions: usize,
    /// The number of lines removed (zero for a binary file).
    pub deletions: usize,
}

/// The changes of a commit, as [`Repository::commit_diff`] computes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDiff {
    /// Every changed file, in path order.
    pub files: Vec<FileChange>,
    /// The whole change as a git-style unified diff (`diff --git` headers, three lines of
    /// context).
    pub patch: String,
}

/// A commit's message, parents and trailers, as [`Repository::commit_info`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's full hex id.
    pub commit: String,
    /// The first line of the message.
    pub summary: String,
    /// The whole message.
    pub message: String,
    /// The full hex ids of the parents, first parent first.
    pub parents: Vec<String>,
    /// When the commit was authored.
    pub time: Timestamp,
    /// The trailers of the message's last paragraph (`Key: value` lines), in order.
    pub trailers: Vec<(String, String)>,
}

impl Repository {
    /// The commits reachable from HEAD that changed the file `path` (relative to the working
    /// tree, with `/` separators), newest first, at most `limit` of them.
    ///
    /// History is simplified as `git log -- <path>` does: a merge that took the file from one of
    /// its parents is not listed, and only that parent's side is followed.
    pub fn file_history(&self, path: &str, limit: usize) -> Result<Vec<Revision>, GitError> {
        let path = normalize(path);
        let head = head_commit(&self.repo, self.workdir())?;
        let mut queue = BinaryHeap::new();
        let mut seen = HashSet::new();
        let mut order = 0_usize;
        queue.push((head.time().seconds(), Reverse(order), head.id()));
        seen.insert(head.id());
        let mut history = Vec::new();
        while let Some((_, _, id)) = queue.pop() {
            if history.len() >= limit {
                break;
            }
            let commit = self.find_commit(id)?;
            let entry = self.entry_id(&commit, path)?;
            let mut parents = Vec::new();
            for parent in commit.parents() {
                let parent_entry = self.entry_id(&parent, path)?;
                parents.push((parent, parent_entry));
            }
            let same_as = parents
                .iter()
                .position(|(_, parent_entry)| *parent_entry == entry);
            let (changed, follow) = match same_as {
                // The file is as one parent had it: this commit did not change it, and that
                // parent's side is where its history is.
                Some(index) => (false, parents.into_iter().nth(index).into_iter().collect()),
                None if parents.is_empty() => (entry.is_some(), Vec::new()),
                None => (true, parents),
            };
            if changed {
                history.push(revision(&commit));
            }
            for (parent, _) in follow {
                if seen.insert(parent.id()) {
                    order += 1;
                    queue.push((parent.time().seconds(), Reverse(order), parent.id()));
                }
            }
        }
        Ok(history)
    }

    /// The text of the file `path` at `commit`, or `None` when the commit has no such file.
    ///
    /// A binary or non-UTF-8 file is [`GitError::NotText`]; a folder or submodule is
    /// [`GitError::NotAFile`].
    pub fn file_at(&self, commit: &str, path: &str) -> Result<Option<String>, GitError> {
        let path = normalize(path);
        let commit = resolve_commit(&self.repo, self.workdir(), commit)?;
        let short = short_id(commit.id());
        let tree = commit.tree().map_err(|error| {
            GitError::git(format!("read the files of {short}"), self.workdir(), &error)
        })?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(error) if error.code() == ErrorCode::NotFound => return Ok(None),
            Err(error) => {
                return Err(GitError::git(
                    format!("look up `{path}` at {short}"),
                    self.workdir(),
                    &error,
                ));
            }
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Err(GitError::NotAFile {
                path: path.to_owned(),
                commit: short,
            });
        }
        let blob = self.repo.find_blob(entry.id()).map_err(|error| {
            GitError::git(format!("read `{path}` at {short}"), self.workdir(), &error)
        })?;
        if blob.is_binary() {
            return Err(GitError::NotText {
                path: path.to_owned(),
                commit: short,
            });
        }
        match std::str::from_utf8(blob.content()) {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(_) => Err(GitError::NotText {
                path: path.to_owned(),
                commit: short,
            }),
        }
    }

    /// The changes `commit` made, compared with `against` or, by default, with its first parent
    /// (with an empty tree for a commit without parents). Renames are detected.
    pub fn commit_diff(&self, commit: &str, against: Option<&str>) -> Result<CommitDiff, GitError> {
        let new = resolve_commit(&self.repo, self.workdir(), commit)?;
        let failed = |error: git2::Error| {
            GitError::git(
                format!("compute the changes of {}", short_id(new.id())),
                self.workdir(),
                &error,
            )
        };
        let old = match against {
            Some(revision) => Some(resolve_commit(&self.repo, self.workdir(), revision)?),
            None if new.parent_count() > 0 => Some(new.parent(0).map_err(failed)?),
            None => None,
        };
        let old_tree = old
            .map(|commit| commit.tree())
            .transpose()
            .map_err(failed)?;
        let new_tree = new.tree().map_err(failed)?;
        let mut options = DiffOptions::new();
        options.context_lines(3);
        let mut diff = self
            .repo
            .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut options))
            .map_err(failed)?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))
            .map_err(failed)?;
        let mut files = Vec::new();
        let mut patch_text = String::new();
        for (index, delta) in diff.deltas().enumerate() {
            let change = match delta.status() {
                Delta::Added | Delta::Copied => Change::Added,
                Delta::Deleted => Change::Deleted,
                Delta::Renamed => Change::Renamed,
                _ => Change::Modified,
            };
            let new_path = delta.new_file().path_bytes();
            let old_path = delta.old_file().path_bytes();
            let path = match change {
                Change::Deleted => old_path.or(new_path),
                _ => new_path.or(old_path),
            };
            let (insertions, deletions) = match Patch::from_diff(&diff, index).map_err(failed)? {
                Some(mut file_patch) => {
                    let (_, insertions, deletions) = file_patch.line_stats().map_err(failed)?;
                    let text = file_patch.to_buf().map_err(failed)?;
                    patch_text.push_str(&String::from_utf8_lossy(&text));
                    (insertions, deletions)
                }
                None => (0, 0),
            };
            files.push(FileChange {
                path: lossy(path),
                old_path: (change == Change::Renamed).then(|| lossy(old_path)),
                change,
                insertions,
                deletions,
            });
        }
        Ok(CommitDiff {
            files,
            patch: patch_text,
        })
    }

    /// The message, parents and trailers of `commit`.
    pub fn commit_info(&self, commit: &str) -> Result<CommitInfo, GitError> {
        let commit = resolve_commit(&self.repo, self.workdir(), commit)?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let trailers = git2::message_trailers_strs(&message)
            .map_err(|error| {
                GitError::git(
                    format!("read the trailers of {}", short_id(commit.id())),
                    self.workdir(),
                    &error,
                )
            })?
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        Ok(CommitInfo {
            commit: commit.id().to_string(),
            summary: summary(&commit),
            parents: commit.parent_ids().map(|id| id.to_string()).collect(),
            time: timestamp(commit.author().when()),
            trailers,
            message,
        })
    }

    /// Reads the commit `id`.
    fn find_commit(&self, id: Oid) -> Result<git2::Commit<'_>, GitError> {
        self.repo
            .find_commit(id)
            .map_err(|error| GitError::git(format!("read the commit {id}"), self.workdir(), &error))
    }

    /// The id of what `path` names in `commit`'s tree, or `None` when it names nothing.
    fn entry_id(&self, commit: &git2::Commit<'_>, path: &str) -> Result<Option<Oid>, GitError> {
        let failed = |error: git2::Error| {
            GitError::git(
                format!("look up `{path}` at {}", short_id(commit.id())),
                self.workdir(),
                &error,
            )
        };
        let tree = commit.tree().map_err(failed)?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(error) if error.code() == ErrorCode::NotFound => Ok(None),
            Err(error) => Err(failed(error)),
        }
    }
}

/// A unified diff from `old` to `new`, with `old_label` and `new_label` as the two file names;
/// empty when the texts are equal.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::new();
    }
    let patch = Patch::from_buffers(
        old.as_bytes(),
        Some(Path::new(old_label)),
        new.as_bytes(),
        Some(Path::new(new_label)),
        None,
    )
    .and_then(|mut patch| patch.to_buf());
    match patch {
        Ok(text) => String::from_utf8_lossy(&text).into_owned(),
        // libgit2 fails here only when it runs out of memory; replacing every line is still a
        // correct diff, if not the shortest.
        Err(_) => whole_replacement(old, new, old_label, new_label),
    }
}

/// A unified diff that removes every line of `old` and adds every line of `new`.
fn whole_replacement(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut text = format!(
        "--- a/{old_label}\n+++ b/{new_label}\n@@ -{} +{} @@\n",
        range(old_lines.len()),
        range(new_lines.len())
    );
    for line in old_lines {
        text.push('-');
        text.push_str(line);
        text.push('\n');
    }
    for line in new_lines {
        text.push('+');
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A hunk range covering a whole file of `lines` lines.
fn range(lines: usize) -> String {
    if lines == 0 {
        "0,0".to_owned()
    } else {
        format!("1,{lines}")
    }
}

/// The [`Revision`] of a commit.
fn revision(commit: &git2::Commit<'_>) -> Revision {
    let id = commit.id();
    let author = commit.author();
    Revision {
        commit: id.to_string(),
        short: short_id(id),
        summary: summary(commit),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        time: timestamp(author.when()),
    }
}

/// The first line of a commit's message.
fn summary(commit: &git2::Commit<'_>) -> String {
    commit
        .summary_bytes()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}

/// The first seven hex digits of a commit id.
fn short_id(id: Oid) -> String {
    let mut text = id.to_string();
    text.truncate(SHORT_ID);
    text
}

/// A path as a string, replacing bytes that are not UTF-8.
fn lossy(path: Option<&[u8]>) -> String {
    path.map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}

/// A path relative to the working tree, without a leading `./` or surrounding slashes.
fn normalize(path: &str) -> &str {
    path.trim_start_matches("./").trim_matches('/')
}

/// A git time as a timestamp, clamped to the range a timestamp can hold.
pub(crate) fn timestamp(time: git2::Time) -> Timestamp {
    let seconds = time.seconds();
    Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}
