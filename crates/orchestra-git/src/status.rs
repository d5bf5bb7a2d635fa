//! The uncommitted changes of a working tree.

use std::path::Path;

use git2::{Status, StatusOptions};

use crate::GitError;

/// Lists the paths with uncommitted changes in `repo`'s working tree, sorted and without
/// duplicates: modified, staged, deleted, renamed and untracked files, each relative to the working
/// tree with `/` separators. Ignored files are left out; untracked folders are listed file by file.
pub(crate) fn changed_paths(
    repo: &git2::Repository,
    workdir: &Path,
) -> Result<Vec<String>, GitError> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unmodified(false)
        .exclude_submodules(false);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|error| GitError::git("list the uncommitted changes", workdir, &error))?;
    let mut paths: Vec<String> = statuses
        .iter()
        .filter(|entry| !entry.status().is_empty() && !entry.status().contains(Status::IGNORED))
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}
