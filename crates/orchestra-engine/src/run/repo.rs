//! A run's repository while it runs: its branch and worktree, a commit for each step that changed
//! something, worktrees of their own for parallel writers, and the merges at their joins.
//!
//! The order of things is what keeps a run's branch and its log in step. A commit is made before
//! the step's end is recorded, and carried in its result, so the log never names a commit that is
//! not there; a commit whose record a crash lost is dropped when the run resumes (the branch goes
//! back to the last recorded commit, the files stay), and the step that made it runs again and
//! commits once. Every operation on the repository takes one lock, so two steps that end together
//! never commit at the same time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{RunState, Shared};
use crate::event::{RepoRecord, RunEvent, StepKey};
use crate::result::StepResult;
use crate::state::StepStatus;
use crate::versioning::{Merged, OnConflict, RepoRequest, Versioning, ref_safe};
use crate::workspace::Workspace;

/// The run's repository.
pub(crate) struct RunRepo {
    vcs: Arc<dyn Versioning>,
    record: RepoRecord,
    /// Where the workspace root lies inside the repository.
    inside: PathBuf,
    on_conflict: OnConflict,
    lock: tokio::sync::Mutex<()>,
}

/// Where a step works: the run's worktree, or its own.
pub(crate) struct StepCheckout {
    /// The workspace the step's actions see.
    workspace: Workspace,
    /// The top of the worktree it commits in.
    worktree: PathBuf,
}

impl StepCheckout {
    /// The workspace the step's actions see.
    pub(crate) fn workspace(&self) -> &Workspace {
        &self.workspace
    }
}

impl RunRepo {
    /// Opens the run's branch and worktree: a new one for a new run (with the event that records
    /// it), or the recorded one of a resumed run, set back to its last recorded commit, with
    /// the worktrees of its parallel writers that are still out.
    pub(crate) async fn open(
        vcs: Arc<dyn Versioning>,
        request: RepoRequest,
        run_id: &str,
        pipeline: &str,
        state: &RunState,
    ) -> Result<(Self, Option<RunEvent>), String> {
        let inside = request.inside.clone();
        let on_conflict = request.on_conflict;
        if let Some(git) = &state.git {
            let mut restore = vec![(
                worktree_name(&git.repo.worktree),
                git.repo.branch.clone(),
                git.head.clone(),
                git.repo.worktree.clone(),
            )];
            for fork in git.forks.values().filter(|fork| !fork.merged) {
                restore.push((
                    worktree_name(&fork.worktree),
                    fork.branch.clone(),
                    fork.commit.clone().unwrap_or_else(|| fork.base.clone()),
                    fork.worktree.clone(),
                ));
            }
            let repo = PathBuf::from(&git.repo.path);
            let vcs_for_task = Arc::clone(&vcs);
            blocking(move || {
                for (name, branch, commit, worktree) in restore {
                    vcs_for_task.restore(&repo, &name, &branch, &commit, Path::new(&worktree))?;
                }
                Ok(())
            })
            .await?;
            let opened = Self {
                vcs,
                record: git.repo.clone(),
                inside,
                on_conflict,
                lock: tokio::sync::Mutex::new(()),
            };
            return Ok((opened, None));
        }
        let branch = format!("orchestra/{pipeline}/{run_id}");
        let worktree = request.worktrees.join(run_id);
        let (repo, name, base) = (
            request.path.clone(),
            run_id.to_owned(),
            request.base.clone(),
        );
        let (task_vcs, task_branch, task_worktree) =
            (Arc::clone(&vcs), branch.clone(), worktree.clone());
        let checkout = blocking(move || {
            task_vcs.open(&repo, &name, &task_branch, base.as_deref(), &task_worktree)
        })
        .await
        .map_err(|reason| {
            format!(
                "the repository `{}` ({}) cannot be used: {reason}",
                request.name,
                request.path.display()
            )
        })?;
        let record = RepoRecord {
            name: request.name,
            path: request.path.display().to_string(),
            branch,
            base: checkout.base,
            worktree: worktree.display().to_string(),
            worktrees: request.worktrees.display().to_string(),
            dirty: checkout.dirty,
        };
        let event = RunEvent::RepositoryOpened {
            repo: record.clone(),
        };
        let opened = Self {
            vcs,
            record,
            inside,
            on_conflict,
            lock: tokio::sync::Mutex::new(()),
        };
        Ok((opened, Some(event)))
    }

    /// The workspace root of the run: its worktree, or the folder inside it the pipeline names.
    pub(crate) fn workspace_root(&self) -> PathBuf {
        Path::new(&self.record.worktree).join(&self.inside)
    }

    /// The run's branch.
    pub(crate) fn branch(&self) -> &str {
        &self.record.branch
    }

    /// Where a step works. A parallel writer gets a worktree of its own from the run's branch as
    /// recorded now (recorded before it starts), or finds again the one it had before the run
    /// was interrupted.
    pub(crate) async fn checkout(
        &self,
        shared: &Arc<Shared>,
        key: &StepKey,
        own_worktree: bool,
    ) -> Result<StepCheckout, String> {
        let run_worktree = PathBuf::from(&self.record.worktree);
        if !own_worktree {
            return Ok(StepCheckout {
                workspace: shared.workspace.clone(),
                worktree: run_worktree,
            });
        }
        let _lock = self.lock.lock().await;
        let (existing, head) = {
            let state = shared.state.lock().map_err(|_| poisoned())?;
            let git = state.git.as_ref();
            (
                // A writer that runs again before its work was merged (a retry after a resume,
                // a route back before the join) goes on in its worktree, on top of what it did.
                git.and_then(|git| git.forks.get(key))
                    .filter(|fork| !fork.merged)
                    .map(|fork| PathBuf::from(&fork.worktree)),
                git.map(|git| git.head.clone()).unwrap_or_default(),
            )
        };
        let worktree = if let Some(worktree) = existing {
            worktree
        } else {
            let suffix = ref_safe(key.as_str());
            let name = format!("{}--{suffix}", worktree_name(&self.record.worktree));
            let branch = format!("{}--{suffix}", self.record.branch);
            let worktree = PathBuf::from(&self.record.worktrees).join(&name);
            let (vcs, repo) = (Arc::clone(&self.vcs), PathBuf::from(&self.record.path));
            let (task_branch, task_worktree, base) =
                (branch.clone(), worktree.clone(), head.clone());
            blocking(move || vcs.open(&repo, &name, &task_branch, Some(&base), &task_worktree))
                .await
                .map_err(|reason| {
                    format!("a worktree of its own for `{key}` cannot be made: {reason}")
                })?;
            shared
                .commit(vec![RunEvent::WorktreeForked {
                    step: key.clone(),
                    branch,
                    worktree: worktree.display().to_string(),
                    base: head,
                }])
                .map_err(|error| error.0)?;
            worktree
        };
        let root = worktree.join(&self.inside);
        std::fs::create_dir_all(&root)
            .map_err(|error| format!("the folder `{}` cannot be made: {error}", root.display()))?;
        let workspace = Workspace::new(&root)
            .map_err(|error| format!("the folder `{}` cannot be used: {error}", root.display()))?;
        Ok(StepCheckout {
            workspace,
            worktree,
        })
    }

    /// Commits what a step changed, before its end is recorded, and names the commit in its
    /// result. A step that was cancelled or waits for a person commits nothing yet.
    pub(crate) async fn commit_step(
        &self,
        shared: &Arc<Shared>,
        key: &StepKey,
        checkout: &StepCheckout,
        result: &mut StepResult,
    ) -> Result<(), String> {
        if !matches!(result.status, StepStatus::Succeeded | StepStatus::Failed) {
            return Ok(());
        }
        let _lock = self.lock.lock().await;
        let handed = {
            let state = shared.state.lock().map_err(|_| poisoned())?;
            state
                .git
                .as_ref()
                .and_then(|git| git.handed.as_ref())
                .filter(|handed| {
                    handed.step == *key && checkout.worktree == Path::new(&self.record.worktree)
                })
                .map(|handed| handed.commits.clone())
                .unwrap_or_default()
        };
        let message = Self::step_message(shared, key, result, !handed.is_empty());
        let (vcs, worktree) = (Arc::clone(&self.vcs), checkout.worktree.clone());
        let commit = blocking(move || vcs.commit(&worktree, &message, &handed))
            .await
            .map_err(|reason| format!("what `{key}` changed cannot be committed: {reason}"))?;
        result.commit = commit;
        Ok(())
    }

    /// Merges the work of the parallel writers among `writers` that finished and are not merged
    /// yet into the run's branch, before `join` runs (or, with `join` as `None`, when their
    /// scope ended). A conflict fails the join with the paths, keeping the worktrees; or, when
    /// the pipeline says so and the join can resolve it (`join_resolves`: an action that writes
    /// in the run's worktree), is handed to the join.
    pub(crate) async fn merge_writers(
        &self,
        shared: &Arc<Shared>,
        join: Option<&StepKey>,
        join_resolves: bool,
        writers: &[StepKey],
    ) -> Result<(), String> {
        let _lock = self.lock.lock().await;
        let pending: Vec<(StepKey, crate::run::state::Fork)> = {
            let state = shared.state.lock().map_err(|_| poisoned())?;
            let Some(git) = &state.git else {
                return Ok(());
            };
            writers
                .iter()
                .filter_map(|key| {
                    git.forks
                        .get(key)
                        .filter(|fork| fork.finished && !fork.merged)
                        .map(|fork| (key.clone(), fork.clone()))
                })
                .collect()
        };
        let run_worktree = PathBuf::from(&self.record.worktree);
        let hand_on = self.on_conflict == OnConflict::Continue && join_resolves;
        for (writer, fork) in pending {
            let at = join.unwrap_or(&writer).clone();
            let merged = match &fork.commit {
                None => Merged::Already,
                Some(commit) => {
                    let message = Self::merge_message(shared, &at, &writer);
                    let (vcs, worktree, theirs) =
                        (Arc::clone(&self.vcs), run_worktree.clone(), commit.clone());
                    blocking(move || vcs.merge(&worktree, &theirs, &message, hand_on))
                        .await
                        .map_err(|reason| {
                            format!("the work of `{writer}` cannot be merged: {reason}")
                        })?
                }
            };
            let event = match merged {
                Merged::Already => RunEvent::Merged {
                    step: at,
                    from: writer.clone(),
                    commit: self.head(shared)?,
                },
                Merged::Commit(commit) => RunEvent::Merged {
                    step: at,
                    from: writer.clone(),
                    commit,
                },
                Merged::Conflicted(paths) => {
                    let listed = paths.join(", ");
                    let commit = fork.commit.clone().unwrap_or_default();
                    if !hand_on {
                        return Err(format!(
                            "the work of `{writer}` conflicts with the run's branch in {listed}; \
                             both are kept for inspection: `{writer}`'s worktree {} (branch {}) \
                             and the run's {} (branch {})",
                            fork.worktree, fork.branch, self.record.worktree, self.record.branch
                        ));
                    }
                    shared
                        .commit(vec![RunEvent::MergeConflicted {
                            step: at,
                            from: writer.clone(),
                            commit,
                            paths,
                        }])
                        .map_err(|error| error.0)?;
                    // One conflict at a time: the other writers' work is merged once the join
                    // has committed its resolution (at the next join, or when the scope ends).
                    break;
                }
            };
            shared.commit(vec![event]).map_err(|error| error.0)?;
            // Merged work needs its worktree no more; one that cannot be removed stays for
            // `orchestra cleanup`.
            let (vcs, repo) = (Arc::clone(&self.vcs), PathBuf::from(&self.record.path));
            let (name, branch) = (worktree_name(&fork.worktree), fork.branch.clone());
            let _ = blocking(move || vcs.remove(&repo, &name, &branch)).await;
        }
        Ok(())
    }

    fn head(&self, shared: &Shared) -> Result<String, String> {
        let state = shared.state.lock().map_err(|_| poisoned())?;
        Ok(state
            .git
            .as_ref()
            .map_or_else(|| self.record.base.clone(), |git| git.head.clone()))
    }

    /// A step's commit message: a summary naming the pipeline and the step, a sentence naming the
    /// run, and trailers for machines.
    fn step_message(
        shared: &Shared,
        key: &StepKey,
        result: &StepResult,
        resolves_merge: bool,
    ) -> String {
        let pipeline = &shared.plan.pipeline;
        let status = result.status.as_str();
        let mut body = format!(
            "Step `{key}` of run {} of the pipeline `{pipeline}` {status}",
            shared.run_id
        );
        if result.attempts > 1 {
            let _ = write!(body, " after {} attempts", result.attempts);
        }
        body.push_str(if resolves_merge {
            "; this commit also resolves the merge it was handed."
        } else {
            "; this commit holds what it changed."
        });
        format!(
            "{pipeline}: {key} ({status})\n\n{body}\n\n{}",
            trailers(&[
                ("Orchestra-Pipeline", pipeline),
                ("Orchestra-Run", &shared.run_id),
                ("Orchestra-Step", key.as_str()),
                ("Orchestra-Status", status),
            ])
        )
    }

    /// A merge's commit message.
    fn merge_message(shared: &Shared, join: &StepKey, writer: &StepKey) -> String {
        let pipeline = &shared.plan.pipeline;
        format!(
            "{pipeline}: merge `{writer}` at `{join}`\n\nRun {} of the pipeline `{pipeline}` brings the work of `{writer}`, made in a worktree of its own, back to its branch before `{join}`.\n\n{}",
            shared.run_id,
            trailers(&[
                ("Orchestra-Pipeline", pipeline),
                ("Orchestra-Run", &shared.run_id),
                ("Orchestra-Step", join.as_str()),
                ("Orchestra-Merge", writer.as_str()),
            ])
        )
    }
}

fn trailers(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A worktree's name: its folder's name.
fn worktree_name(worktree: &str) -> String {
    Path::new(worktree)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn poisoned() -> String {
    "the run's state was poisoned by a crash".to_owned()
}

/// Git work under way in this process: a run that is dropped (its process closing) does not stop
/// a commit or merge already running on a blocking thread, so whoever ends the process waits for
/// them ([`git_work_done`]), lest git's lock files stay behind in the person's repository.
static GIT_WORK: std::sync::LazyLock<tokio_util::task::TaskTracker> =
    std::sync::LazyLock::new(tokio_util::task::TaskTracker::new);

/// Runs git's work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let under_way = GIT_WORK.token();
    tokio::task::spawn_blocking(move || {
        let done = work();
        drop(under_way);
        done
    })
    .await
    .map_err(|_| "the git operation stopped unexpectedly".to_owned())?
}

/// Waits until the git work under way in this process has ended, for a process about to exit.
/// No new git work is expected after this is called.
pub async fn git_work_done() {
    GIT_WORK.close();
    GIT_WORK.wait().await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_process_that_ends_waits_for_git_work_under_way_even_when_its_run_was_dropped() {
        let (finish, finished) = std::sync::mpsc::channel::<()>();
        let run = tokio::spawn(blocking(move || {
            // Git's work, until the test lets it end.
            let _ = finished.recv();
            Ok(())
        }));
        while GIT_WORK.is_empty() {
            tokio::task::yield_now().await;
        }
        // The run is dropped as the studio drops its runs when it closes.
        run.abort();
        let done = tokio::spawn(git_work_done());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !done.is_finished(),
            "the process does not end while git's work goes on"
        );
        finish.send(()).expect("the work is waiting");
        tokio::time::timeout(Duration::from_secs(10), done)
            .await
            .expect("the wait ends once git's work has")
            .expect("the wait does not panic");
    }
}
