//! Git-native runs, as the shells see them: the engine's version control done by `orchestra-git`,
//! where a run's repository and worktrees are, what a step changed, a pipeline file's revisions,
//! and the cleanup of finished runs' branches and worktrees.

use std::path::{Component, Path, PathBuf};

use orchestra_engine::run::{GitState, RunState};
use orchestra_engine::versioning::{
    Checkout, Merged, OnConflict, RepoRequest, Versioning, short_commit,
};
use orchestra_engine::{RunStatus, StepKey};
use orchestra_git::{GitError, Merge, Repository};

use crate::project::{ApiError, Project};

pub use orchestra_git::{Change, CommitDiff, FileChange, Revision};

/// The engine's version control, over libgit2.
#[derive(Debug, Default)]
pub(crate) struct Git;

#[allow(clippy::needless_pass_by_value)] // It is the shape `map_err` hands over.
fn say(error: GitError) -> String {
    error.to_string()
}

impl Versioning for Git {
    fn open(
        &self,
        repo: &Path,
        name: &str,
        branch: &str,
        base: Option<&str>,
        path: &Path,
    ) -> Result<Checkout, String> {
        let repository = Repository::open(repo).map_err(say)?;
        // The run's worktrees may lie inside the repository's own working tree (the project is
        // the repository): they are kept out of the user's `git status`.
        if let Some(orchestra) = path.parent().and_then(Path::parent)
            && let Ok(inside) = orchestra.strip_prefix(repository.workdir())
            && !inside.as_os_str().is_empty()
        {
            let pattern = format!("/{}/", inside.to_string_lossy().replace('\\', "/"));
            repository.exclude(&pattern).map_err(say)?;
        }
        let base = match base {
            Some(commit) => repository.resolve(commit).map_err(say)?,
            None => repository.head().map_err(say)?,
        };
        let dirty = repository.changed_paths().map_err(say)?;
        repository
            .create_worktree(name, branch, &base, path)
            .map_err(say)?;
        Ok(Checkout { base, dirty })
    }

    fn restore(
        &self,
        repo: &Path,
        name: &str,
        branch: &str,
        commit: &str,
        path: &Path,
    ) -> Result<(), String> {
        let repository = Repository::open(repo).map_err(say)?;
        let worktree = repository
            .create_worktree(name, branch, commit, path)
            .map_err(say)?;
        let tip = worktree.head().map_err(say)?;
        if tip != commit {
            unrecorded_run_commits(&repository, &tip, commit, branch)?;
            worktree.reset_keeping_files(commit).map_err(say)?;
        }
        Ok(())
    }

    fn commit(
        &self,
        path: &Path,
        message: &str,
        extra_parents: &[String],
    ) -> Result<Option<String>, String> {
        let repository = Repository::open(path).map_err(say)?;
        let worktree = repository.worktree(path).map_err(say)?;
        worktree.commit_all(message, extra_parents).map_err(say)
    }

    fn merge(
        &self,
        path: &Path,
        theirs: &str,
        message: &str,
        keep_conflicts: bool,
    ) -> Result<Merged, String> {
        let repository = Repository::open(path).map_err(say)?;
        let worktree = repository.worktree(path).map_err(say)?;
        let conflicts = if keep_conflicts {
            orchestra_git::OnConflict::WriteMarkers
        } else {
            orchestra_git::OnConflict::Abort
        };
        Ok(
            match worktree.merge(theirs, message, conflicts).map_err(say)? {
                Merge::AlreadyMerged => Merged::Already,
                Merge::FastForward { commit } | Merge::Merged { commit } => Merged::Commit(commit),
                Merge::Conflicted { paths } => Merged::Conflicted(paths),
            },
        )
    }

    fn remove(&self, repo: &Path, name: &str, branch: &str) -> Result<(), String> {
        let repository = Repository::open(repo).map_err(say)?;
        repository.remove_worktree(name).map_err(say)?;
        repository.delete_branch(branch).map_err(say)
    }
}

/// Checks that the commits on `branch` after the recorded `commit` up to `tip` are the run's own
/// (their record lost in a crash), which a resume may drop: a commit a person made there, or a
/// branch whose history no longer holds the recorded commit, is refused with what to do.
fn unrecorded_run_commits(
    repository: &Repository,
    tip: &str,
    commit: &str,
    branch: &str,
) -> Result<(), String> {
    const LOOK_BACK: usize = 64;
    let mut at = tip.to_owned();
    for _ in 0..LOOK_BACK {
        if at == commit {
            return Ok(());
        }
        let info = repository.commit_info(&at).map_err(say)?;
        if !info.trailers.iter().any(|(key, _)| key == "Orchestra-Run") {
            return Err(format!(
                "the branch `{branch}` holds commit {} (\"{}\"), which the run did not make; move it to a branch of your own (`git branch mine {}`), then reset `{branch}` to {} and resume",
                short_commit(&at),
                info.summary,
                short_commit(&at),
                short_commit(commit)
            ));
        }
        match info.parents.first() {
            Some(parent) => at.clone_from(parent),
            None => break,
        }
    }
    Err(format!(
        "the branch `{branch}` no longer leads back to the run's last recorded commit {}; it was rewritten outside the run, which cannot go on from it",
        short_commit(commit)
    ))
}

/// A path made absolute and free of `.` and `..`, without asking the file system.
fn normal(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What `orchestra cleanup` did, and what it kept and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cleanup {
    /// The run branches removed.
    pub branches: Vec<String>,
    /// The worktrees removed.
    pub worktrees: Vec<String>,
    /// What was kept, each with the reason.
    pub kept: Vec<String>,
}

impl Project {
    /// The repository a new run (or the resumption of one) of `pipeline` works in, when it names
    /// one: its folder, where the workspace root lies inside it, and where worktrees go.
    pub(crate) fn repo_request(
        &self,
        file: &Path,
        pipeline: &orchestra_pipeline::Pipeline,
        base: Option<String>,
    ) -> Result<Option<RepoRequest>, ApiError> {
        let Some(repo) = &pipeline.workspace.repo else {
            return Ok(None);
        };
        let folder = file
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = folder.join(repo).canonicalize().map_err(|_| {
            ApiError::Refused(format!(
                "the repository `{repo}` that `workspace.repo` names does not exist (looked for {})",
                normal(&folder.join(repo)).display()
            ))
        })?;
        let root = pipeline
            .workspace
            .root
            .as_ref()
            .map_or_else(|| path.clone(), |root| normal(&folder.join(root)));
        let root = root.canonicalize().unwrap_or(root);
        let inside = root.strip_prefix(&path).map_err(|_| {
            ApiError::Refused(format!(
                "the workspace root {} lies outside the repository {}; with `workspace.repo`, a run works in a worktree of the repository, so its root must lie inside it",
                root.display(),
                path.display()
            ))
        })?;
        Ok(Some(RepoRequest {
            name: repo.clone(),
            inside: inside.to_path_buf(),
            path,
            worktrees: self.root().join(".orchestra").join("worktrees"),
            base,
            on_conflict: pipeline.workspace.on_conflict.unwrap_or(OnConflict::Fail),
        }))
    }

    /// The repository, branch and commits of a run, when its pipeline names a repository.
    pub fn run_git(&self, run: &str) -> Result<Option<GitState>, ApiError> {
        Ok(self.state(run)?.git)
    }

    /// What a step of a run changed in the run's repository: the files and the patch of the
    /// commit it made (its latest, for a step that ran more than once). `None` when it changed
    /// nothing.
    pub fn step_diff(&self, run: &str, step: &str) -> Result<Option<CommitDiff>, ApiError> {
        let state = self.state(run)?;
        let Some(git) = &state.git else {
            return Err(ApiError::Refused(format!(
                "run `{run}` works in no repository (its pipeline has no `workspace.repo`)"
            )));
        };
        let key = StepKey::new("", step);
        let Some(snapshot) = git
            .snapshots
            .iter()
            .rev()
            .find(|snapshot| snapshot.step == key || snapshot.step.as_str() == step)
        else {
            return Ok(None);
        };
        let repository = Repository::open(Path::new(&git.repo.path)).map_err(refused)?;
        repository
            .commit_diff(&snapshot.commit, None)
            .map(Some)
            .map_err(refused)
    }

    /// The revisions of a pipeline file in its git repository, newest first.
    pub fn pipeline_history(&self, file: &Path, limit: usize) -> Result<Vec<Revision>, ApiError> {
        let (repository, path) = file_in_repository(file)?;
        repository.file_history(&path, limit).map_err(refused)
    }

    /// The unified diff of a pipeline file between two revisions; `to` as `None` is the file on
    /// disk now. Empty when they are the same.
    pub fn pipeline_diff(
        &self,
        file: &Path,
        from: &str,
        to: Option<&str>,
    ) -> Result<String, ApiError> {
        let (repository, path) = file_in_repository(file)?;
        let text_at = |revision: &str| -> Result<(String, String), ApiError> {
            let commit = repository.resolve(revision).map_err(refused)?;
            let text = repository
                .file_at(&commit, &path)
                .map_err(refused)?
                .unwrap_or_default();
            Ok((text, format!("{path} ({})", short_commit(&commit))))
        };
        let (old, old_label) = text_at(from)?;
        let (new, new_label) = match to {
            Some(revision) => text_at(revision)?,
            None => (
                std::fs::read_to_string(file).map_err(|error| ApiError::Unreadable {
                    path: file.to_path_buf(),
                    reason: error.to_string(),
                })?,
                format!("{path} (on disk)"),
            ),
        };
        Ok(orchestra_git::unified_diff(
            &old, &new, &old_label, &new_label,
        ))
    }

    /// Removes the branches and worktrees of runs that finished (succeeded, failed, cancelled
    /// or rejected) before `cutoff`. Never those of a run that is running, paused or
    /// interrupted (it may still go on); never a branch holding commits that no run made and no
    /// other branch has (a person's work); never a worktree with uncommitted changes unless
    /// `force`.
    pub fn cleanup(&self, cutoff: jiff::Timestamp, force: bool) -> Result<Cleanup, ApiError> {
        let mut report = Cleanup::default();
        let mut runs = Vec::new();
        // Every commit any run recorded: a replay's branch holds its earlier run's commits, and
        // a commit no run recorded is a person's, whatever its trailers say.
        let mut recorded = std::collections::HashSet::new();
        for row in self.store().runs(usize::MAX)? {
            let state = self.state(&row.id)?;
            if let Some(git) = state.git {
                recorded.extend(git.snapshots.iter().map(|snapshot| snapshot.commit.clone()));
                runs.push((row, git));
            }
        }
        for (row, git) in runs {
            let over = matches!(
                row.status,
                RunStatus::Succeeded
                    | RunStatus::Failed
                    | RunStatus::Cancelled
                    | RunStatus::Rejected
            );
            // A time that cannot be read counts as now: the run is kept.
            let ended: jiff::Timestamp = row
                .finished_at
                .as_deref()
                .unwrap_or(&row.started_at)
                .parse()
                .unwrap_or_else(|_| jiff::Timestamp::now());
            if !over || self.store().owned_elsewhere(&row) {
                if ended < cutoff {
                    report.kept.push(format!(
                        "branch `{}`: run `{}` is {} and may still go on",
                        git.repo.branch,
                        row.id,
                        row.status.as_str()
                    ));
                }
                continue;
            }
            if ended >= cutoff {
                continue;
            }
            let Ok(repository) = Repository::open(Path::new(&git.repo.path)) else {
                report.kept.push(format!(
                    "branch `{}`: the repository {} cannot be opened",
                    git.repo.branch, git.repo.path
                ));
                continue;
            };
            Self::clean_run(&repository, &row.id, &git, &recorded, force, &mut report)?;
        }
        Ok(report)
    }

    fn clean_run(
        repository: &Repository,
        run: &str,
        git: &GitState,
        recorded: &std::collections::HashSet<String>,
        force: bool,
        report: &mut Cleanup,
    ) -> Result<(), ApiError> {
        let mut worktrees_left = false;
        for worktree in repository.worktrees().map_err(refused)? {
            if worktree.name != run && !worktree.name.starts_with(&format!("{run}--")) {
                continue;
            }
            let changed = repository
                .worktree(&worktree.path)
                .and_then(|open| open.changed_paths())
                .unwrap_or_default();
            if !changed.is_empty() && !force {
                worktrees_left = true;
                report.kept.push(format!(
                    "worktree {}: {} uncommitted changes ({}); `--force` removes it",
                    worktree.path.display(),
                    changed.len(),
                    changed
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            }
            repository
                .remove_worktree(&worktree.name)
                .map_err(refused)?;
            report.worktrees.push(worktree.path.display().to_string());
        }
        let mut branches = vec![git.repo.branch.clone()];
        branches.extend(git.forks.values().map(|fork| fork.branch.clone()));
        for branch in branches {
            let Ok(tip) = repository.resolve(&branch) else {
                continue;
            };
            if worktrees_left {
                report
                    .kept
                    .push(format!("branch `{branch}`: a worktree of the run is kept"));
                continue;
            }
            if let Some(foreign) = Self::foreign_commit(repository, recorded, &tip)? {
                report.kept.push(format!(
                    "branch `{branch}`: it holds commit {foreign}, which no run made and no other branch has"
                ));
                continue;
            }
            repository.delete_branch(&branch).map_err(refused)?;
            report.branches.push(branch);
        }
        Ok(())
    }

    /// A commit on a run's branch that no run recorded and that no branch outside the runs'
    /// holds: a person's work, which cleanup must not lose.
    fn foreign_commit(
        repository: &Repository,
        recorded: &std::collections::HashSet<String>,
        tip: &str,
    ) -> Result<Option<String>, ApiError> {
        let mut pending = vec![tip.to_owned()];
        let mut seen = std::collections::HashSet::new();
        while let Some(commit) = pending.pop() {
            if !seen.insert(commit.clone())
                || repository
                    .reachable_elsewhere(&commit, "orchestra/")
                    .map_err(refused)?
            {
                continue;
            }
            if !recorded.contains(&commit) {
                return Ok(Some(short_commit(&commit).to_owned()));
            }
            pending.extend(repository.commit_info(&commit).map_err(refused)?.parents);
        }
        Ok(None)
    }
}

/// The repository that holds `file`, and the file's path inside it.
fn file_in_repository(file: &Path) -> Result<(Repository, String), ApiError> {
    let absolute = file.canonicalize().map_err(|error| ApiError::Unreadable {
        path: file.to_path_buf(),
        reason: error.to_string(),
    })?;
    let folder = absolute.parent().unwrap_or(Path::new("/"));
    let repository = Repository::open(folder).map_err(refused)?;
    let path = absolute
        .strip_prefix(repository.workdir())
        .map_err(|_| {
            ApiError::Refused(format!(
                "{} is not inside the working tree of its repository",
                file.display()
            ))
        })?
        .to_string_lossy()
        .replace('\\', "/");
    Ok((repository, path))
}

#[allow(clippy::needless_pass_by_value)] // It is the shape `map_err` hands over.
fn refused(error: GitError) -> ApiError {
    ApiError::Refused(error.to_string())
}

/// The branch state of a run's log at the moment `step` (a top-level step) was first reached:
/// the run's branch then, and the top-level steps that had succeeded by then. A replay starts
/// from there.
pub(crate) fn checkpoint(
    history: &[orchestra_engine::RunEvent],
    step: &str,
) -> Result<(RunState, bool), ApiError> {
    let mut state = RunState::default();
    let target = StepKey::new("", step);
    let mut reached = false;
    for event in history {
        // The merges before a join belong to the checkpoint where the join starts.
        let merge = matches!(
            event,
            orchestra_engine::RunEvent::Merged { .. }
                | orchestra_engine::RunEvent::MergeConflicted { .. }
        );
        if !merge
            && event
                .step()
                .is_some_and(|key| key == &target || key.is_within(&target))
        {
            reached = true;
            break;
        }
        state
            .apply(event)
            .map_err(|error| ApiError::Refused(error.to_string()))?;
    }
    Ok((state, reached))
}
