//! A run's life in a real repository: its worktree and branch, commits, resets and cleanup, and
//! the errors a user meets when opening a folder. Results are checked with the real `git` CLI.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{Fixture, git, read, write};
use orchestra_git::{GitError, Repository, Worktree, WorktreeInfo};

/// The folder where the tests put run worktrees, inside the user's working tree as Orchestra
/// does.
fn run_path(repository: &Repository, name: &str) -> PathBuf {
    repository.workdir().join(".orchestra/worktrees").join(name)
}

/// Opens the fixture and creates the run worktree `name` on `orchestra/<name>` from HEAD.
fn start_run(fixture: &Fixture, name: &str) -> (Repository, Worktree) {
    let repository = Repository::open(&fixture.path).expect("the fixture is a repository");
    repository
        .exclude(".orchestra/")
        .expect("the exclude file can be written");
    let head = repository.head().expect("the fixture has commits");
    let worktree = repository
        .create_worktree(
            name,
            &format!("orchestra/{name}"),
            &head,
            &run_path(&repository, name),
        )
        .expect("a fresh run worktree can be created");
    (repository, worktree)
}

#[test]
fn a_run_commits_on_its_own_branch_and_leaves_the_user_untouched() {
    let fixture = Fixture::new("base");
    let main_before = fixture.git(&["rev-parse", "main"]);
    let (repository, worktree) = start_run(&fixture, "run-1");

    assert_eq!(
        worktree.path(),
        run_path(&repository, "run-1"),
        "the worktree is where it was asked for"
    );
    assert_eq!(
        worktree.branch().expect("the run's branch is checked out"),
        "orchestra/run-1"
    );
    assert_eq!(
        worktree.head().expect("the worktree has a HEAD"),
        main_before,
        "a run starts from the user's HEAD"
    );
    assert_eq!(
        read(&worktree.path().join("notes.txt")),
        "one\n2\nthree\nfour\n",
        "the worktree has the files of its commit checked out"
    );

    write(
        &worktree.path().join("notes.txt"),
        "one\n2\nthree\nfour\nfive\n",
    );
    write(&worktree.path().join("report/summary.md"), "# Summary\n");
    assert_eq!(
        worktree
            .changed_paths()
            .expect("the worktree's status can be read"),
        ["notes.txt", "report/summary.md"],
        "the worktree lists its own changes"
    );
    let reopened = Repository::open(worktree.path())
        .and_then(|inside| inside.worktree(worktree.path()))
        .expect("a worktree can be opened from a repository opened inside it");
    assert_eq!(
        reopened
            .changed_paths()
            .expect("the worktree's status can be read"),
        ["notes.txt", "report/summary.md"],
        "a worktree opened again sees the same changes"
    );
    let message = "Write the summary\n\nOrchestra-Run: run-1\nOrchestra-Step: summarize\n";
    let commit = worktree
        .commit_all(message, &[])
        .expect("the changes can be committed")
        .expect("changed files make a commit");

    assert_eq!(
        fixture.git(&["rev-parse", "orchestra/run-1"]),
        commit,
        "the commit is on the run's branch"
    );
    assert_eq!(
        fixture.git(&["rev-parse", &format!("{commit}^")]),
        main_before,
        "the commit's parent is where the run started"
    );
    assert_eq!(
        fixture.git(&["show", "-s", "--format=%s", &commit]),
        "Write the summary"
    );
    assert_eq!(
        fixture.git(&["show", "-s", "--format=%an <%ae>|%cn <%ce>", &commit]),
        "Orchestra <orchestra@localhost>|Orchestra <orchestra@localhost>",
        "Orchestra is the author and committer of a run's commits"
    );
    assert_eq!(
        fixture.git(&["show", "-s", "--format=%(trailers)", &commit]),
        // Each trailer line ends with a line break of its own.
        "Orchestra-Run: run-1\nOrchestra-Step: summarize\n",
        "git reads the commit's trailers"
    );
    assert_eq!(
        fixture.git(&[
            "diff-tree",
            "--no-commit-id",
            "--name-status",
            "-r",
            &commit
        ]),
        "M\tnotes.txt\nA\treport/summary.md",
        "the commit holds the new and the modified file"
    );
    assert_eq!(
        git(worktree.path(), &["status", "--porcelain"]),
        "",
        "nothing is left uncommitted in the worktree"
    );

    assert_eq!(
        fixture.git(&["rev-parse", "main"]),
        main_before,
        "the user's branch does not move"
    );
    assert_eq!(
        fixture.git(&["symbolic-ref", "--short", "HEAD"]),
        "main",
        "the user's checkout stays on their branch"
    );
    assert_eq!(
        read(&fixture.path.join("notes.txt")),
        "one\n2\nthree\nfour\n",
        "the user's files are untouched"
    );
    assert_eq!(
        fixture.git(&["status", "--porcelain"]),
        "",
        "with `.orchestra/` excluded the user's working tree shows no change"
    );
    assert!(
        fixture
            .git(&["worktree", "list", "--porcelain"])
            .contains(&format!("worktree {}", worktree.path().display())),
        "git sees the run's worktree"
    );
}

#[test]
fn exclude_adds_a_line_once_to_the_shared_exclude_file() {
    let fixture = Fixture::new("base");
    let repository = Repository::open(&fixture.path).expect("the fixture is a repository");
    let exclude = fixture.path.join(".git/info/exclude");
    fs::remove_dir_all(fixture.path.join(".git/info")).expect("the fixture has an info folder");

    repository
        .exclude(".orchestra/")
        .expect("the exclude file can be created");
    repository
        .exclude(".orchestra/")
        .expect("excluding again is fine");
    repository
        .exclude("*.tmp")
        .expect("a second pattern can be added");

    assert_eq!(
        read(&exclude),
        ".orchestra/\n*.tmp\n",
        "each pattern is one line, written once, in a file created when missing"
    );
    let error = repository
        .exclude("a\nb")
        .expect_err("a pattern with a line break would add two patterns");
    assert_eq!(
        error.to_string(),
        "an exclude pattern must be one line, but `a\\nb` contains a line break"
    );
}

#[test]
fn commit_all_without_changes_makes_no_commit() {
    let fixture = Fixture::new("base");
    let (_repository, worktree) = start_run(&fixture, "run-1");
    let before = fixture.git(&["rev-parse", "orchestra/run-1"]);

    let commit = worktree
        .commit_all("Nothing to say", &[])
        .expect("an unchanged worktree can be asked to commit");

    assert_eq!(commit, None, "no change means no commit");
    assert_eq!(
        fixture.git(&["rev-parse", "orchestra/run-1"]),
        before,
        "the branch does not move when nothing changed"
    );
}

#[test]
fn ignored_files_stay_out_and_deleted_files_are_committed_as_deletions() {
    let fixture = Fixture::new("base");
    let (_repository, worktree) = start_run(&fixture, "run-1");
    write(
        &worktree.path().join("target/debug/build.log"),
        "compiled\n",
    );
    fs::remove_file(worktree.path().join("src/main.rs")).expect("the fixture has src/main.rs");

    let commit = worktree
        .commit_all("Remove the program", &[])
        .expect("the deletion can be committed")
        .expect("a deleted file is a change");

    assert_eq!(
        fixture.git(&[
            "diff-tree",
            "--no-commit-id",
            "--name-status",
            "-r",
            &commit
        ]),
        "D\tsrc/main.rs",
        "the commit deletes the file and holds nothing under the ignored `target/`"
    );
    assert!(
        !fixture
            .git(&["ls-tree", "-r", "--name-only", &commit])
            .contains("target/"),
        "ignored files are never committed"
    );
    assert!(
        worktree.path().join("target/debug/build.log").exists(),
        "the ignored file stays on disk"
    );
    assert_eq!(
        worktree
            .commit_all("Again", &[])
            .expect("committing again works"),
        None,
        "an ignored file alone is not a change"
    );
}

#[test]
fn create_worktree_is_idempotent_and_refuses_clashes() {
    let fixture = Fixture::new("base");
    let (repository, worktree) = start_run(&fixture, "run-1");
    let start = fixture.git(&["rev-parse", "main"]);
    write(&worktree.path().join("notes.txt"), "changed\n");
    let commit = worktree
        .commit_all("Change the notes", &[])
        .expect("the change can be committed")
        .expect("a change makes a commit");

    let again = repository
        .create_worktree(
            "run-1",
            "orchestra/run-1",
            &start,
            &run_path(&repository, "run-1"),
        )
        .expect("a resumed run gets its existing worktree back");
    assert_eq!(again.path(), worktree.path());
    assert_eq!(
        again.head().expect("the worktree has a HEAD"),
        commit,
        "the existing worktree is returned unchanged, not reset to the start commit"
    );

    let clash = repository
        .create_worktree(
            "run-2",
            "orchestra/run-1",
            &start,
            &run_path(&repository, "run-2"),
        )
        .expect_err("another worktree cannot take the branch of run-1");
    assert_eq!(
        clash.to_string(),
        format!(
            "the branch `orchestra/run-1` already exists in the repository at `{}` and is not \
             the branch of the worktree `run-2`; delete the branch or choose another run name",
            fixture.path.display()
        )
    );
    let users_branch = repository
        .create_worktree("run-3", "main", &start, &run_path(&repository, "run-3"))
        .expect_err("a run never takes the user's branch");
    assert!(
        matches!(users_branch, GitError::BranchExists { ref branch, .. } if branch == "main"),
        "the user's branch is refused by name: {users_branch}"
    );
    assert!(
        !run_path(&repository, "run-2").exists() && !run_path(&repository, "run-3").exists(),
        "a refused worktree leaves no folder behind"
    );

    let elsewhere = fixture.outside("elsewhere");
    let moved = repository
        .create_worktree("run-1", "orchestra/run-1", &start, &elsewhere)
        .expect_err("the name run-1 is taken by a worktree in another folder");
    assert_eq!(
        moved.to_string(),
        format!(
            "a worktree named `run-1` already exists at `{}` on the branch `orchestra/run-1`, \
             so it cannot be created at `{}` on the branch `orchestra/run-1`; remove the old \
             worktree first",
            worktree.path().display(),
            elsewhere.display()
        )
    );
    assert_eq!(
        fixture.git(&["rev-parse", "orchestra/run-1"]),
        commit,
        "refusals do not move the run's branch"
    );
}

#[test]
fn reset_keeping_files_drops_a_commit_but_keeps_its_files() {
    let fixture = Fixture::new("base");
    let (_repository, worktree) = start_run(&fixture, "run-1");
    let start = worktree.head().expect("the worktree has a HEAD");
    write(&worktree.path().join("notes.txt"), "rewritten\n");
    write(&worktree.path().join("new.txt"), "new\n");
    worktree
        .commit_all("A commit whose record was lost", &[])
        .expect("the change can be committed")
        .expect("a change makes a commit");

    worktree
        .reset_keeping_files(&start)
        .expect("the branch can be reset");

    assert_eq!(
        fixture.git(&["rev-parse", "orchestra/run-1"]),
        start,
        "the branch is back at the start"
    );
    assert_eq!(worktree.head().expect("the worktree has a HEAD"), start);
    assert_eq!(
        read(&worktree.path().join("notes.txt")),
        "rewritten\n",
        "a mixed reset leaves the files on disk"
    );
    assert_eq!(
        git(worktree.path(), &["status", "--porcelain"]),
        " M notes.txt\n?? new.txt",
        "the dropped commit's changes are uncommitted again, and unstaged"
    );
}

#[test]
fn remove_worktree_deletes_the_folder_and_keeps_the_branch() {
    let fixture = Fixture::new("base");
    let (repository, worktree) = start_run(&fixture, "run-1");
    let folder = worktree.path().to_path_buf();
    drop(worktree);
    assert_eq!(
        repository.worktrees().expect("the worktrees can be listed"),
        [WorktreeInfo {
            name: "run-1".to_owned(),
            path: folder.clone(),
            branch: Some("orchestra/run-1".to_owned()),
        }],
        "the run's worktree is listed with its branch"
    );

    repository
        .remove_worktree("run-1")
        .expect("the worktree can be removed");

    assert!(!folder.exists(), "the worktree's folder is gone");
    assert!(
        !fixture
            .git(&["worktree", "list", "--porcelain"])
            .contains(&folder.display().to_string()),
        "git no longer lists the worktree"
    );
    assert!(
        !fixture.path.join(".git/worktrees/run-1").exists(),
        "the worktree's admin files are pruned"
    );
    assert_eq!(
        fixture.git(&["branch", "--list", "orchestra/run-1"]),
        "  orchestra/run-1",
        "the run's branch stays for the user to inspect"
    );
    assert_eq!(
        repository.worktrees().expect("the worktrees can be listed"),
        [],
        "no linked worktree is left"
    );
    repository
        .remove_worktree("run-1")
        .expect("removing a missing worktree is not an error, so cleanup can repeat");
}

#[test]
fn a_worktree_whose_folder_was_deleted_can_be_created_again_after_its_branch_is_gone() {
    let fixture = Fixture::new("base");
    let (repository, worktree) = start_run(&fixture, "run-1");
    let folder = worktree.path().to_path_buf();
    drop(worktree);
    fs::remove_dir_all(&folder).expect("the test can delete the worktree's folder");
    repository
        .delete_branch("orchestra/run-1")
        .expect("a branch whose worktree folder is gone can be deleted");

    let head = repository.head().expect("the fixture has commits");
    let worktree = repository
        .create_worktree("run-1", "orchestra/run-1", &head, &folder)
        .expect("the stale admin files are pruned and the worktree made again");

    assert_eq!(worktree.head().expect("the worktree has a HEAD"), head);
    assert!(
        folder.join("notes.txt").exists(),
        "the files are checked out again"
    );
}

#[test]
fn branches_and_reachability_guide_cleanup() {
    let fixture = Fixture::new("base");
    let (repository, worktree) = start_run(&fixture, "run-1");
    let (_, idle) = start_run(&fixture, "run-2");
    write(&worktree.path().join("result.txt"), "result\n");
    let commit = worktree
        .commit_all("Record the result", &[])
        .expect("the change can be committed")
        .expect("a change makes a commit");

    let branches = repository
        .branches("orchestra/")
        .expect("the branches can be listed");
    let names: Vec<&str> = branches.iter().map(|branch| branch.name.as_str()).collect();
    assert_eq!(
        names,
        ["orchestra/run-1", "orchestra/run-2"],
        "only the runs' branches match the prefix"
    );
    assert_eq!(branches[0].commit, commit);
    let age = jiff::Timestamp::now().duration_since(branches[0].time);
    assert!(
        age.as_secs() < 600,
        "the tip's time is when Orchestra committed, just now (it is {age:?} old)"
    );
    assert_eq!(
        branches[1].time,
        "2024-01-03T10:00:00Z"
            .parse::<jiff::Timestamp>()
            .expect("a valid time"),
        "an idle run's tip is the fixture's last commit"
    );

    assert!(
        !repository
            .reachable_elsewhere(&commit, "orchestra/")
            .expect("reachability can be computed"),
        "a commit only the run has would be lost by deleting the run's branch"
    );
    let idle_head = idle.head().expect("the idle run has a HEAD");
    assert!(
        repository
            .reachable_elsewhere(&idle_head, "orchestra/")
            .expect("reachability can be computed"),
        "a run without commits of its own loses nothing"
    );

    fixture.git(&["merge", "-q", "--ff-only", "orchestra/run-1"]);
    assert!(
        repository
            .reachable_elsewhere(&commit, "orchestra/")
            .expect("reachability can be computed"),
        "once the user fast-forwarded main to the run, its commit is safe"
    );

    repository
        .remove_worktree("run-1")
        .expect("the worktree can be removed");
    repository
        .delete_branch("orchestra/run-1")
        .expect("the branch can be deleted");
    assert_eq!(
        fixture.git(&["branch", "--list", "orchestra/run-1"]),
        "",
        "the branch is gone"
    );
    repository
        .delete_branch("orchestra/run-1")
        .expect("deleting a missing branch is not an error");
    let checked_out = repository
        .delete_branch("orchestra/run-2")
        .expect_err("a branch checked out in a worktree cannot be deleted");
    assert!(
        checked_out.to_string().starts_with(&format!(
            "could not delete the branch `orchestra/run-2` in `{}`: ",
            fixture.path.display()
        )),
        "the refusal names the branch: {checked_out}"
    );
}

#[test]
fn changed_paths_lists_every_kind_of_uncommitted_change() {
    let fixture = Fixture::new("dirty");
    let repository = Repository::open(&fixture.path).expect("the fixture is a repository");

    assert_eq!(
        repository.changed_paths().expect("the status can be read"),
        [
            "README.md",
            "docs/guide.md",
            "scratch/todo.txt",
            "src/main.rs"
        ],
        "modified, staged, untracked and deleted files are listed, the ignored one is not"
    );
}

#[test]
fn open_finds_the_repository_from_a_folder_inside_it() {
    let fixture = Fixture::new("base");
    let repository =
        Repository::open(&fixture.path.join("src")).expect("src is inside the fixture");

    assert_eq!(
        repository.workdir(),
        fixture.path,
        "the working tree is the repository's root"
    );
    let head = fixture.git(&["rev-parse", "HEAD"]);
    assert_eq!(repository.head().expect("the fixture has commits"), head);
    assert_eq!(
        repository.resolve(&head[..7]).expect("a short id resolves"),
        head
    );
    assert_eq!(
        repository.resolve("main~1").expect("a revision resolves"),
        fixture.git(&["rev-parse", "main~1"])
    );
    let unknown = repository
        .resolve("no-such-branch")
        .expect_err("an unknown name is not a commit");
    assert_eq!(
        unknown.to_string(),
        format!(
            "`no-such-branch` does not name a commit in the repository at `{}`",
            fixture.path.display()
        )
    );
    let main = repository
        .worktree(&fixture.path)
        .expect_err("the main working tree is not a linked worktree");
    assert_eq!(
        main.to_string(),
        format!(
            "`{}` is not a linked worktree of the repository at `{}`",
            fixture.path.display(),
            fixture.path.display()
        )
    );
}

#[test]
fn a_folder_outside_any_repository_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let error = Repository::open(dir.path()).expect_err("an empty folder is not a repository");

    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is not inside a git repository; run `git init` there or choose a folder inside \
             a repository",
            dir.path().display()
        )
    );
}

#[test]
fn a_repository_without_commits_has_nothing_to_start_from() {
    let fixture = Fixture::new("empty");
    let repository = Repository::open(&fixture.path).expect("an empty repository opens");

    let error = repository.head().expect_err("there is no commit at HEAD");
    assert_eq!(
        error.to_string(),
        format!(
            "the repository at `{}` has no commits yet, so a run has nothing to start from; make \
             a first commit",
            fixture.path.display()
        )
    );
    assert_eq!(
        repository
            .changed_paths()
            .expect("the status can be read without commits"),
        ["draft.txt"],
        "an untracked file is a change even before the first commit"
    );
}

#[test]
fn a_bare_repository_is_refused_with_a_sentence() {
    let fixture = Fixture::new("bare");
    let error = Repository::open(&fixture.path).expect_err("a bare repository has no working tree");

    assert_eq!(
        error.to_string(),
        format!(
            "the repository at `{}` is bare (it has no working tree), so Orchestra cannot run \
             in it; use a clone with a working tree",
            fixture.path.display()
        )
    );
}
