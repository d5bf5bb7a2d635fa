//! Git-native runs against real repositories, built by `tests/fixtures/git-repository.sh` and read back
//! with the real `git` program: a branch per run, a commit per step that changed something, the
//! user's branch and working tree untouched, parallel writers merged at their join (cleanly, or
//! failing on a conflict, or handing it on), replay from a checkpoint, cleanup, and a pipeline
//! file's history.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Lab, assert_run};
use orchestra_api::{Change, RunStatus, StartOptions, StepStatus};

/// Runs `git` in `dir` and returns what it printed, failing the test when it fails.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Tester")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Tester")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

/// A lab whose folder is a git repository with the given pipelines (`id`, steps) committed.
fn repository(pipelines: &[(&str, &str)]) -> (Lab, Vec<PathBuf>) {
    let lab = Lab::new();
    let mut files = Vec::new();
    for (id, body) in pipelines {
        let file = lab.path(&format!("{id}.yaml"));
        std::fs::write(
            &file,
            format!("orchestra: 1\nid: {id}\nworkspace:\n  repo: .\n{body}"),
        )
        .expect("write the pipeline");
        files.push(file);
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/git-repository.sh");
    let mut command = Command::new("bash");
    command.arg(&fixture).arg(lab.dir.path());
    command.args(
        files
            .iter()
            .map(|file| file.file_name().expect("a file name")),
    );
    let status = command.status().expect("the fixture runs");
    assert!(status.success(), "the repository fixture failed");
    (lab, files)
}

/// The repository, branch and commits of a run.
fn run_git(lab: &Lab, run: &str) -> orchestra_api::GitState {
    lab.project
        .run_git(run)
        .expect("the run's log reads")
        .expect("the run works in a repository")
}

fn branch_of(lab: &Lab, run: &str) -> String {
    run_git(lab, run).repo.branch
}

/// A step's output.
fn output(result: &orchestra_api::PipelineResult, step: &str) -> Option<serde_json::Value> {
    result.step(step).map(|s| s.output.clone())
}

/// The subjects of the commits on `branch` that `main` does not have, oldest first.
fn subjects(lab: &Lab, branch: &str) -> Vec<String> {
    git(
        lab.dir.path(),
        &[
            "log",
            "--reverse",
            "--format=%s",
            &format!("main..{branch}"),
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

#[tokio::test]
async fn each_step_that_changes_files_commits_on_the_run_s_branch_and_the_user_s_branch_is_untouched()
 {
    let steps = "steps:\n  - { id: write, action: shell, run: [sh, -c, 'echo findings > report.md'] }\n  - { id: look, action: shell, run: [cat, notes.txt], depends_on: [write] }\n  - { id: edit, action: file.write, path: notes.txt, content: rewritten, depends_on: [look] }\n  - { id: remove, action: shell, run: [rm, README.md], depends_on: [edit] }\n  - { id: build, action: shell, run: [sh, -c, 'mkdir -p target && echo x > target/out'], depends_on: [remove] }\n";
    let (lab, files) = repository(&[("edits", steps)]);
    let main_before = git(lab.dir.path(), &["rev-parse", "main"]);

    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let branch = branch_of(&lab, &finished.run_id);
    assert_eq!(
        branch,
        format!("orchestra/edits/{}", finished.run_id),
        "the run's branch is named after the pipeline and the run"
    );
    assert_eq!(
        subjects(&lab, &branch),
        [
            "edits: write (succeeded)",
            "edits: edit (succeeded)",
            "edits: remove (succeeded)"
        ],
        "one commit per step that changed a file; `look` changed nothing and `build` only wrote ignored files"
    );
    let trailers = git(
        lab.dir.path(),
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Orchestra-Step,valueonly)%(trailers:key=Orchestra-Run,valueonly)",
            &branch,
        ],
    );
    assert_eq!(
        trailers,
        format!("remove\n{}", finished.run_id),
        "the trailers name the step and the run, for machines"
    );
    assert_eq!(
        git(lab.dir.path(), &["rev-parse", "main"]),
        main_before,
        "the user's branch does not move"
    );
    assert_eq!(
        git(lab.dir.path(), &["status", "--porcelain"]),
        "",
        "the user's working tree is untouched, and the run's worktrees do not show in it"
    );
    assert!(
        lab.path("README.md").exists() && lab.lines("notes.txt").len() == 6,
        "the user's files are as they were"
    );
    assert_eq!(
        git(lab.dir.path(), &["show", &format!("{branch}:notes.txt")]),
        "rewritten",
        "the run's branch holds what the step wrote"
    );
    let edit = result.step("edit").expect("the edit step");
    assert!(
        edit.commit.is_some() && result.step("look").and_then(|s| s.commit.clone()).is_none(),
        "a step's result names its commit, and a step that changed nothing has none"
    );
    let diff = lab
        .project
        .step_diff(&finished.run_id, "remove")
        .expect("the diff reads")
        .expect("`remove` changed something");
    assert_eq!(diff.files.len(), 1, "one file changed: {:?}", diff.files);
    assert_eq!(
        (diff.files[0].path.as_str(), diff.files[0].change),
        ("README.md", Change::Deleted),
        "the studio's per-step diff shows what the step did"
    );
    let git_state = run_git(&lab, &finished.run_id);
    assert_eq!(
        git_state.snapshots.len(),
        3,
        "a snapshot per commit, only when something changed"
    );
    assert_eq!(
        git_state.head,
        git(lab.dir.path(), &["rev-parse", &branch]),
        "the last snapshot is the branch's head"
    );
}

#[tokio::test]
async fn a_dirty_working_tree_is_left_alone_and_the_run_starts_from_head() {
    let steps = "steps:\n  - { id: read, action: shell, run: [tail, -n, '1', notes.txt] }\n";
    let (lab, files) = repository(&[("reader", steps)]);
    std::fs::write(lab.path("notes.txt"), "uncommitted work\n").expect("edit the file");

    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "read"),
        Some(serde_json::json!("fourth line\n")),
        "the run sees the committed file, not the uncommitted change"
    );
    let git_state = run_git(&lab, &finished.run_id);
    assert_eq!(
        git_state.repo.dirty,
        ["notes.txt"],
        "the run records (and the shells say) what it did not see"
    );
    assert_eq!(
        std::fs::read_to_string(lab.path("notes.txt")).expect("read"),
        "uncommitted work\n",
        "the user's uncommitted change is kept"
    );
}

#[tokio::test]
async fn a_folder_that_is_not_a_repository_is_refused_clearly_unless_the_pipeline_needs_no_git() {
    let lab = Lab::new();
    let file = lab.path("needs-git.yaml");
    std::fs::write(
        &file,
        "orchestra: 1\nid: needs-git\nworkspace: { repo: . }\nsteps:\n  - { id: a, action: shell, run: ['true'] }\n",
    )
    .expect("write");
    let error = lab
        .project
        .start(&file, StartOptions::default())
        .await
        .expect_err("a run that needs a repository cannot start without one");
    let message = error.to_string();
    assert!(
        message.contains("is not inside a git repository") && message.contains("git init"),
        "the message says what is wrong and what to do: {message}"
    );
    assert_eq!(lab.result_count(), 0, "no half-started run is left");

    let plain = lab.pipeline(
        "plain",
        "steps:\n  - { id: a, action: shell, run: [sh, -c, 'echo ok > out.txt'] }\n",
    );
    let (_, result) = lab.run(&plain, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("out.txt"),
        ["ok"],
        "without `repo` no git is needed"
    );
}

const PARALLEL: &str = "steps:\n  - { id: prepare, action: shell, run: [sh, -c, 'echo base > shared.txt'] }\n  - { id: left, action: shell, run: [sh, -c, 'LEFT'], depends_on: [prepare] }\n  - { id: right, action: shell, run: [sh, -c, 'RIGHT'], depends_on: [prepare] }\n  - { id: join, action: shell, run: [sh, -c, 'JOIN'], depends_on: [left, right] }\n";

fn parallel(left: &str, right: &str, join: &str, extra: &str) -> String {
    format!(
        "{extra}{}",
        PARALLEL
            .replace("LEFT", left)
            .replace("RIGHT", right)
            .replace("JOIN", join)
    )
}

#[tokio::test]
async fn parallel_writers_work_in_worktrees_of_their_own_and_merge_cleanly_at_the_join() {
    let body = parallel(
        "sleep 0.2; echo left > left.txt",
        "echo right > right.txt",
        "cat left.txt right.txt shared.txt",
        "",
    );
    let (lab, files) = repository(&[("fan", &body)]);
    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "join"),
        Some(serde_json::json!("left\nright\nbase\n")),
        "the join sees both writers' work"
    );
    let branch = branch_of(&lab, &finished.run_id);
    let log = subjects(&lab, &branch);
    for expected in [
        "fan: prepare (succeeded)",
        "fan: left (succeeded)",
        "fan: right (succeeded)",
    ] {
        assert!(
            log.iter().any(|subject| subject == expected),
            "the branch holds `{expected}`: {log:?}"
        );
    }
    assert!(
        log.iter()
            .any(|subject| subject.starts_with("fan: merge `")),
        "the two lines of work were joined by a three-way merge: {log:?}"
    );
    let worktrees = git(lab.dir.path(), &["worktree", "list"]);
    assert!(
        !worktrees.contains("--left") && !worktrees.contains("--right"),
        "merged writers' worktrees are removed: {worktrees}"
    );
    assert!(
        git(lab.dir.path(), &["branch", "--list", "orchestra/*"])
            .lines()
            .count()
            == 1,
        "only the run's own branch is left"
    );
}

#[tokio::test]
async fn parallel_writers_that_conflict_fail_the_join_with_the_paths_and_keep_their_worktrees() {
    let body = parallel(
        "echo left > shared.txt",
        "echo right > shared.txt",
        "cat shared.txt",
        "",
    );
    let (lab, files) = repository(&[("clash", &body)]);
    let (_, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Failed);
    let join = result.step("join").expect("the join");
    assert_eq!(join.status, StepStatus::Failed, "the join fails");
    let error = join.error.clone().unwrap_or_default();
    assert!(
        error.contains("conflicts") && error.contains("shared.txt"),
        "the error lists the conflicting path: {error}"
    );
    let worktrees = git(lab.dir.path(), &["worktree", "list"]);
    assert!(
        worktrees.contains("--right") || worktrees.contains("--left"),
        "the worktree of the writer whose work conflicts is kept for inspection: {worktrees}"
    );
}

#[tokio::test]
async fn a_conflict_is_handed_to_the_join_when_the_pipeline_says_so_and_its_commit_records_the_merge()
 {
    // Lines indented under the header's `workspace:` continue it.
    let body = parallel(
        "echo left > shared.txt",
        "echo right > shared.txt",
        "echo \"$CONFLICTS\"; echo resolved > shared.txt",
        "  on_conflict: continue\n",
    )
    .replace(
        "depends_on: [left, right] }",
        "depends_on: [left, right], env: { CONFLICTS: \"{{ run.conflicts | join(',') }}\" } }",
    );
    let (lab, files) = repository(&[("handed", &body)]);
    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "join"),
        Some(serde_json::json!("shared.txt\n")),
        "the join reads the conflicting paths in `run.conflicts`"
    );
    let branch = branch_of(&lab, &finished.run_id);
    let parents = git(
        lab.dir.path(),
        &["rev-list", "--parents", "-n", "1", &branch],
    );
    assert_eq!(
        parents.split(' ').count(),
        3,
        "the join's commit is the merge: it has two parents ({parents})"
    );
    assert_eq!(
        git(lab.dir.path(), &["show", &format!("{branch}:shared.txt")]),
        "resolved",
        "the join's resolution is what the branch holds"
    );
}

#[tokio::test]
async fn replay_from_a_middle_step_starts_a_new_branch_from_that_checkpoint() {
    let steps = "inputs:\n  word: { type: string, default: one }\nsteps:\n  - { id: first, action: shell, run: [sh, -c, 'echo \"first $WORD\" >> log.txt'], env: { WORD: \"{{ inputs.word }}\" } }\n  - { id: second, action: shell, run: [sh, -c, 'echo second >> log.txt'], depends_on: [first] }\n  - { id: third, action: shell, run: [sh, -c, 'echo third >> log.txt; cat log.txt'], depends_on: [second] }\n";
    let (lab, files) = repository(&[("replayed", steps)]);
    let (first_run, result) = lab
        .run(&files[0], &[("word", serde_json::json!("given"))])
        .await;
    assert_run(&result, RunStatus::Succeeded);
    let first_branch = branch_of(&lab, &first_run.run_id);
    let first_head = git(lab.dir.path(), &["rev-parse", &first_branch]);
    let after_first = result
        .step("first")
        .and_then(|s| s.commit.clone())
        .expect("`first` committed");

    let replay = lab
        .project
        .replay(
            &first_run.run_id,
            "second",
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("the replay runs");
    let replayed = lab.result(&replay.run_id);
    assert_run(&replayed, RunStatus::Succeeded);
    let step = replayed.step("first").expect("first");
    assert!(
        step.reused_from.is_some(),
        "the step before the checkpoint is reused, not run again"
    );
    assert_eq!(
        output(&replayed, "third"),
        Some(serde_json::json!("first given\nsecond\nthird\n")),
        "the replay sees the files as they were at the checkpoint, with the earlier run's inputs"
    );
    let branch = branch_of(&lab, &replay.run_id);
    assert_ne!(branch, first_branch, "a replay works on a new branch");
    assert_eq!(
        git(lab.dir.path(), &["merge-base", &branch, &first_branch]),
        after_first,
        "the new branch starts from the commit the earlier run had when it reached `second`"
    );
    assert_eq!(
        git(lab.dir.path(), &["rev-parse", &first_branch]),
        first_head,
        "the earlier run's branch is untouched"
    );
    let error = lab
        .project
        .replay(
            &first_run.run_id,
            "nowhere",
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect_err("a step the run never reached has no checkpoint");
    assert!(
        error.to_string().contains("never reached"),
        "the refusal says why: {error}"
    );
}

#[tokio::test]
async fn cleanup_removes_finished_runs_branches_and_keeps_what_it_must() {
    let writes = "steps:\n  - { id: write, action: shell, run: [sh, -c, 'echo $RUN > out.txt'], env: { RUN: \"{{ run.id }}\" } }\n";
    let paused = "steps:\n  - { id: write, action: shell, run: [sh, -c, 'echo paused > out.txt'] }\n  - { id: ask, action: approval, message: Go on?, depends_on: [write] }\n";
    let (lab, files) = repository(&[("done", writes), ("paused", paused)]);
    let (old, _) = lab.run(&files[0], &[]).await;
    let (kept_by_user, _) = lab.run(&files[0], &[]).await;
    let (dirty, _) = lab.run(&files[0], &[]).await;
    let (waiting, result) = lab.run(&files[1], &[]).await;
    assert_run(&result, RunStatus::Waiting);

    // A person adds a commit of their own on one run's branch, and edits a file in another's
    // worktree without committing.
    let user_branch = branch_of(&lab, &kept_by_user.run_id);
    let user_worktree = run_git(&lab, &kept_by_user.run_id).repo.worktree;
    std::fs::write(Path::new(&user_worktree).join("mine.txt"), "mine").expect("write");
    git(Path::new(&user_worktree), &["add", "mine.txt"]);
    git(Path::new(&user_worktree), &["commit", "-qm", "My own work"]);
    let dirty_worktree = run_git(&lab, &dirty.run_id).repo.worktree;
    std::fs::write(Path::new(&dirty_worktree).join("out.txt"), "edited").expect("edit");

    let report = lab
        .project
        .cleanup(jiff::Timestamp::now(), false)
        .expect("cleanup runs");
    let old_branch = branch_of(&lab, &old.run_id);
    assert!(
        report.branches.contains(&old_branch),
        "a finished run's branch is removed: {report:?}"
    );
    let branches = git(lab.dir.path(), &["branch", "--list", "orchestra/*"]);
    assert!(
        !branches.contains(&old.run_id),
        "it is gone from git: {branches}"
    );
    assert!(
        branches.contains(&user_branch),
        "a branch holding a person's commit is kept: {branches}"
    );
    assert!(
        report
            .kept
            .iter()
            .any(|kept| kept.contains(&user_branch) && kept.contains("no run made")),
        "and the report says why: {:?}",
        report.kept
    );
    assert!(
        branches.contains(&waiting.run_id)
            && Path::new(&run_git(&lab, &waiting.run_id).repo.worktree).exists(),
        "a paused run keeps its branch and worktree: {branches}"
    );
    assert!(
        Path::new(&dirty_worktree).exists() && branches.contains(&dirty.run_id),
        "a worktree with uncommitted changes is kept without --force"
    );
    let forced = lab
        .project
        .cleanup(jiff::Timestamp::now(), true)
        .expect("cleanup runs");
    assert!(
        !Path::new(&dirty_worktree).exists() && forced.worktrees.contains(&dirty_worktree),
        "--force removes it: {forced:?}"
    );
    let none = lab
        .project
        .cleanup(
            jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 14),
            false,
        )
        .expect("cleanup runs");
    assert!(
        none.branches.is_empty() && none.worktrees.is_empty(),
        "nothing younger than the age given is removed: {none:?}"
    );
}

#[tokio::test]
async fn a_pipeline_file_s_revisions_and_the_diff_between_them_come_from_git() {
    let steps = "steps:\n  - { id: a, action: shell, run: ['true'] }\n";
    let (lab, files) = repository(&[("history", steps)]);
    let text = std::fs::read_to_string(&files[0]).expect("read");
    std::fs::write(&files[0], text.replace("['true']", "[echo, changed]")).expect("write");
    git(lab.dir.path(), &["commit", "-qam", "Change the step"]);
    std::fs::write(
        &files[0],
        std::fs::read_to_string(&files[0])
            .expect("read")
            .replace("changed", "on disk"),
    )
    .expect("write");

    let revisions = lab
        .project
        .pipeline_history(&files[0], 10)
        .expect("the history reads");
    let summaries: Vec<&str> = revisions.iter().map(|r| r.summary.as_str()).collect();
    assert_eq!(
        summaries,
        ["Change the step", "Add the pipelines"],
        "the file's revisions, newest first"
    );
    let diff = lab
        .project
        .pipeline_diff(&files[0], &revisions[1].commit, Some(&revisions[0].commit))
        .expect("the diff reads");
    assert!(
        diff.contains("-  - { id: a, action: shell, run: ['true'] }")
            && diff.contains("+  - { id: a, action: shell, run: [echo, changed] }"),
        "the diff between two revisions shows the changed line: {diff}"
    );
    let on_disk = lab
        .project
        .pipeline_diff(&files[0], &revisions[0].commit, None)
        .expect("the diff reads");
    assert!(
        on_disk.contains("+  - { id: a, action: shell, run: [echo, on disk] }"),
        "and against the file on disk: {on_disk}"
    );
}

#[tokio::test]
async fn a_parallel_writer_that_failed_keeps_its_work_when_it_runs_again_after_a_resume() {
    // `left` writes its file and fails; run again, it finds the file and succeeds without
    // changing anything more: what it wrote the first time must still reach the join.
    let body = parallel(
        "if [ -f left.txt ]; then exit 0; fi; echo left > left.txt; exit 1",
        "echo right > right.txt",
        "cat left.txt right.txt",
        "",
    );
    let (lab, files) = repository(&[("again", &body)]);
    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Failed);
    let resumed = lab
        .project
        .resume(&finished.run_id, tokio_util::sync::CancellationToken::new())
        .await
        .expect("the run resumes");
    let result = lab.result(&resumed.run_id);
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        output(&result, "join"),
        Some(serde_json::json!("left\nright\n")),
        "the failed attempt's work was kept in the writer's worktree and merged"
    );
    let branch = branch_of(&lab, &finished.run_id);
    assert_eq!(
        git(lab.dir.path(), &["show", &format!("{branch}:left.txt")]),
        "left",
        "and it is on the run's branch"
    );
}

#[tokio::test]
async fn replay_at_a_join_starts_from_the_merged_work_of_its_writers() {
    let body = parallel(
        "echo left > left.txt",
        "echo right > right.txt",
        "cat left.txt right.txt",
        "",
    );
    let (lab, files) = repository(&[("rejoin", &body)]);
    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let replay = lab
        .project
        .replay(
            &finished.run_id,
            "join",
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("the replay runs");
    let replayed = lab.result(&replay.run_id);
    assert_run(&replayed, RunStatus::Succeeded);
    assert_eq!(
        output(&replayed, "join"),
        Some(serde_json::json!("left\nright\n")),
        "the checkpoint of a join holds its writers' merged work"
    );
}

#[tokio::test]
async fn a_resume_refuses_to_drop_a_commit_a_person_made_on_the_run_s_branch() {
    let steps = "steps:\n  - { id: write, action: shell, run: [sh, -c, 'echo one > out.txt'] }\n  - { id: ask, action: approval, message: Go on?, depends_on: [write] }\n  - { id: more, action: shell, run: [sh, -c, 'echo two >> out.txt'], depends_on: [ask] }\n";
    let (lab, files) = repository(&[("guarded", steps)]);
    let (finished, result) = lab.run(&files[0], &[]).await;
    assert_run(&result, RunStatus::Waiting);
    let worktree = run_git(&lab, &finished.run_id).repo.worktree;
    std::fs::write(Path::new(&worktree).join("mine.txt"), "mine").expect("write");
    git(Path::new(&worktree), &["add", "mine.txt"]);
    git(Path::new(&worktree), &["commit", "-qm", "My fix"]);
    let mine = git(Path::new(&worktree), &["rev-parse", "HEAD"]);

    let error = lab
        .project
        .approve(
            &finished.run_id,
            "ask",
            true,
            None,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect_err("the run cannot go on over a person's commit");
    let message = error.to_string();
    assert!(
        message.contains("which the run did not make") && message.contains(&mine[..7]),
        "the refusal names the commit and what to do: {message}"
    );
    assert_eq!(
        git(Path::new(&worktree), &["rev-parse", "HEAD"]),
        mine,
        "the person's commit is still there"
    );
}
