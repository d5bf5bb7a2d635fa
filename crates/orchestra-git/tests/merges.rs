//! Merges of parallel steps into a run's worktree, in real repositories, checked with the real
//! `git` CLI: fast-forward, a clean three-way merge, and conflicts aborted or written out.

mod common;

use common::{Fixture, git, read, write};
use orchestra_git::{Merge, OnConflict, Repository, Worktree};

/// A run's worktree and two steps' worktrees, all started from the fixture's HEAD.
struct Parallel {
    fixture: Fixture,
    repository: Repository,
    run: Worktree,
    step_a: Worktree,
    step_b: Worktree,
}

impl Parallel {
    fn new() -> Self {
        let fixture = Fixture::new("base");
        let repository = Repository::open(&fixture.path).expect("the fixture is a repository");
        repository
            .exclude(".orchestra/")
            .expect("the exclude file can be written");
        let head = repository.head().expect("the fixture has commits");
        let make = |name: &str| {
            repository
                .create_worktree(
                    name,
                    &format!("orchestra/{name}"),
                    &head,
                    &repository.workdir().join(".orchestra/worktrees").join(name),
                )
                .expect("a fresh worktree can be created")
        };
        let run = make("run");
        let step_a = make("step-a");
        let step_b = make("step-b");
        Self {
            fixture,
            repository,
            run,
            step_a,
            step_b,
        }
    }

    /// Writes `files` in `worktree` and commits them.
    fn commit(worktree: &Worktree, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            write(&worktree.path().join(path), text);
        }
        worktree
            .commit_all(message, &[])
            .expect("the step's files can be committed")
            .expect("written files make a commit")
    }
}

#[test]
fn a_step_ahead_of_the_run_is_fast_forwarded() {
    let parallel = Parallel::new();
    let a = Parallel::commit(
        &parallel.step_a,
        &[("notes.txt", "ONE\n2\nthree\nfour\n")],
        "Shout the first note",
    );

    let merge = parallel
        .run
        .merge(&a, "Merge step a", OnConflict::Abort)
        .expect("the merge can be done");

    assert_eq!(merge, Merge::FastForward { commit: a.clone() });
    assert_eq!(
        parallel.fixture.git(&["rev-parse", "orchestra/run"]),
        a,
        "the run's branch moved to the step's commit"
    );
    assert_eq!(
        read(&parallel.run.path().join("notes.txt")),
        "ONE\n2\nthree\nfour\n",
        "the step's files are checked out in the run's worktree"
    );
    assert_eq!(
        git(parallel.run.path(), &["status", "--porcelain"]),
        "",
        "a fast-forward leaves the worktree clean"
    );

    assert_eq!(
        parallel
            .run
            .merge(&a, "Merge step a again", OnConflict::Abort)
            .expect("merging again can be asked"),
        Merge::AlreadyMerged,
        "a commit already in the run is not merged twice"
    );
    let start = parallel.fixture.git(&["rev-parse", "main"]);
    assert_eq!(
        parallel
            .run
            .merge(&start, "Merge the start", OnConflict::Abort)
            .expect("merging an ancestor can be asked"),
        Merge::AlreadyMerged,
        "an ancestor of HEAD is already merged"
    );
}

#[test]
fn steps_that_changed_different_files_are_merged_with_a_two_parent_commit() {
    let parallel = Parallel::new();
    let a = Parallel::commit(
        &parallel.step_a,
        &[("notes.txt", "ONE\n2\nthree\nfour\n")],
        "Shout the first note",
    );
    let b = Parallel::commit(
        &parallel.step_b,
        &[
            ("README.md", "# Notes\n\nFour of them.\n"),
            ("extra/b.txt", "b\n"),
        ],
        "Explain the notes",
    );
    parallel
        .run
        .merge(&a, "Merge step a", OnConflict::Abort)
        .expect("step a fast-forwards");

    let merge = parallel
        .run
        .merge(&b, "Merge step b\n\nOrchestra-Step: b", OnConflict::Abort)
        .expect("the merge can be done");

    let Merge::Merged { commit } = merge else {
        panic!("steps that changed different files merge cleanly, got {merge:?}");
    };
    assert_eq!(
        parallel
            .fixture
            .git(&["rev-list", "--parents", "-n", "1", &commit]),
        format!("{commit} {a} {b}"),
        "the merge commit's parents are the run's HEAD, then the step"
    );
    assert_eq!(
        parallel.fixture.git(&["rev-parse", "orchestra/run"]),
        commit,
        "the run's branch is at the merge commit"
    );
    assert_eq!(
        parallel
            .fixture
            .git(&["show", "-s", "--format=%B", &commit]),
        // `%B` ends the message with a line break of its own.
        "Merge step b\n\nOrchestra-Step: b\n",
        "the merge commit has the given message"
    );
    assert_eq!(
        read(&parallel.run.path().join("notes.txt")),
        "ONE\n2\nthree\nfour\n",
        "step a's change is in the worktree"
    );
    assert_eq!(
        read(&parallel.run.path().join("README.md")),
        "# Notes\n\nFour of them.\n",
        "step b's change is in the worktree"
    );
    assert!(
        parallel.run.path().join("extra/b.txt").exists(),
        "step b's new file is checked out"
    );
    assert_eq!(
        git(parallel.run.path(), &["status", "--porcelain"]),
        "",
        "the merge leaves the worktree clean"
    );
}

/// Commits conflicting changes of `notes.txt` in both steps (and a clean change of README.md in
/// step b), fast-forwards the run to step a, and returns the two commits.
fn conflicting(parallel: &Parallel) -> (String, String) {
    let a = Parallel::commit(
        &parallel.step_a,
        &[("notes.txt", "one\nTWO (a)\nthree\nfour\n")],
        "Rewrite the second note (a)",
    );
    let b = Parallel::commit(
        &parallel.step_b,
        &[
            ("notes.txt", "one\nTWO (b)\nthree\nfour\n"),
            ("README.md", "# Notes by b\n"),
        ],
        "Rewrite the second note (b)",
    );
    assert_eq!(
        parallel
            .run
            .merge(&a, "Merge step a", OnConflict::Abort)
            .expect("step a fast-forwards"),
        Merge::FastForward { commit: a.clone() }
    );
    (a, b)
}

#[test]
fn a_conflict_with_abort_leaves_the_worktree_unchanged() {
    let parallel = Parallel::new();
    let (a, b) = conflicting(&parallel);

    let merge = parallel
        .run
        .merge(&b, "Merge step b", OnConflict::Abort)
        .expect("a conflict is an outcome, not an error");

    assert_eq!(
        merge,
        Merge::Conflicted {
            paths: vec!["notes.txt".to_owned()]
        },
        "only the file both steps changed conflicts"
    );
    assert_eq!(
        parallel.run.head().expect("the run has a HEAD"),
        a,
        "nothing is committed"
    );
    assert_eq!(
        read(&parallel.run.path().join("notes.txt")),
        "one\nTWO (a)\nthree\nfour\n",
        "the conflicting file is as the run had it"
    );
    assert_eq!(
        read(&parallel.run.path().join("README.md")),
        "# Notes\n",
        "not even the cleanly merged file is touched"
    );
    assert_eq!(
        git(parallel.run.path(), &["status", "--porcelain"]),
        "",
        "an aborted merge leaves no trace in the worktree"
    );
}

#[test]
fn a_conflict_with_markers_is_resolved_and_recorded_as_a_merge() {
    let parallel = Parallel::new();
    let (a, b) = conflicting(&parallel);

    let merge = parallel
        .run
        .merge(&b, "Merge step b", OnConflict::WriteMarkers)
        .expect("a conflict is an outcome, not an error");

    assert_eq!(
        merge,
        Merge::Conflicted {
            paths: vec!["notes.txt".to_owned()]
        }
    );
    let notes = read(&parallel.run.path().join("notes.txt"));
    assert_eq!(
        notes,
        format!("one\n<<<<<<< HEAD\nTWO (a)\n=======\nTWO (b)\n>>>>>>> {b}\nthree\nfour\n"),
        "the conflicting file holds both sides between conflict markers"
    );
    assert_eq!(
        read(&parallel.run.path().join("README.md")),
        "# Notes by b\n",
        "the cleanly merged file is updated"
    );
    assert_eq!(
        parallel.run.head().expect("the run has a HEAD"),
        a,
        "nothing is committed while the conflict is open"
    );
    assert_eq!(
        parallel
            .run
            .changed_paths()
            .expect("the status can be read"),
        ["README.md", "notes.txt"],
        "the merged files wait to be committed"
    );

    write(
        &parallel.run.path().join("notes.txt"),
        "one\nTWO (a and b)\nthree\nfour\n",
    );
    let commit = parallel
        .run
        .commit_all(
            "Merge step b\n\nOrchestra-Resolved: notes.txt",
            std::slice::from_ref(&b),
        )
        .expect("the resolution can be committed")
        .expect("a resolved merge makes a commit");

    assert_eq!(
        parallel
            .fixture
            .git(&["rev-list", "--parents", "-n", "1", &commit]),
        format!("{commit} {a} {b}"),
        "the resolution is a merge commit of the run and the step"
    );
    assert_eq!(
        parallel
            .fixture
            .git(&["show", &format!("{commit}:notes.txt")]),
        "one\nTWO (a and b)\nthree\nfour",
        "the resolved text is committed"
    );
    assert_eq!(
        parallel
            .fixture
            .git(&["show", &format!("{commit}:README.md")]),
        "# Notes by b",
        "the cleanly merged file is committed too"
    );
    assert_eq!(
        git(parallel.run.path(), &["status", "--porcelain"]),
        "",
        "the worktree is clean after the merge is recorded"
    );
    assert_eq!(
        parallel
            .run
            .merge(&b, "Merge step b", OnConflict::Abort)
            .expect("merging again can be asked"),
        Merge::AlreadyMerged,
        "git agrees the step is merged"
    );
}

#[test]
fn a_merge_into_a_dirty_worktree_is_refused() {
    let parallel = Parallel::new();
    let (_a, b) = conflicting(&parallel);
    write(&parallel.run.path().join("draft.txt"), "unsaved\n");

    let error = parallel
        .run
        .merge(&b, "Merge step b", OnConflict::WriteMarkers)
        .expect_err("uncommitted work would be mixed with the merge");

    assert_eq!(
        error.to_string(),
        format!(
            "the worktree at `{}` has uncommitted changes (`draft.txt`), so `{b}` cannot be \
             merged into it; commit or discard them first",
            parallel.run.path().display()
        )
    );
    assert_eq!(
        read(&parallel.run.path().join("notes.txt")),
        "one\nTWO (a)\nthree\nfour\n",
        "a refused merge writes nothing"
    );
    assert!(
        parallel
            .repository
            .worktrees()
            .expect("the worktrees can be listed")
            .iter()
            .any(|info| info.name == "run"),
        "the run's worktree is still there"
    );
}
