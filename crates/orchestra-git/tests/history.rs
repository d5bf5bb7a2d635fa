//! A file's history, its text at a commit, and diffs, in a scripted repository with a rename, a
//! binary file and a merged side branch, checked against the real `git` CLI.

mod common;

use common::Fixture;
use orchestra_git::{Change, FileChange, Repository, unified_diff};

/// The history fixture and the repository opened in it.
fn open() -> (Fixture, Repository) {
    let fixture = Fixture::new("history");
    let repository = Repository::open(&fixture.path).expect("the fixture is a repository");
    (fixture, repository)
}

/// The full id of the commit whose subject is `subject`.
fn commit_named(fixture: &Fixture, subject: &str) -> String {
    fixture.git(&[
        "log",
        "--all",
        "--format=%H",
        "--fixed-strings",
        &format!("--grep={subject}"),
    ])
}

#[test]
fn file_history_lists_the_commits_that_changed_a_file_as_git_log_does() {
    let (fixture, repository) = open();

    let history = repository
        .file_history("notes.txt", 10)
        .expect("the history can be read");

    let subjects: Vec<&str> = history
        .iter()
        .map(|revision| revision.summary.as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "Add a fifth note",
            "Correct the second note",
            "Add a fourth note and a program",
            "Start the notes"
        ],
        "every commit that changed the file, newest first, and not the merge that did not"
    );
    let ids: Vec<&str> = history
        .iter()
        .map(|revision| revision.commit.as_str())
        .collect();
    assert_eq!(
        ids.join("\n"),
        fixture.git(&["log", "--format=%H", "--", "notes.txt"]),
        "the same commits as `git log -- notes.txt`"
    );
    let newest = &history[0];
    assert_eq!(
        newest.short,
        newest.commit[..7],
        "the short id is seven digits"
    );
    assert_eq!(newest.author, "Ada Lovelace");
    assert_eq!(
        newest.time,
        "2024-01-06T10:00:00Z"
            .parse::<jiff::Timestamp>()
            .expect("a valid time"),
        "the author time of the commit"
    );

    let readme: Vec<String> = repository
        .file_history("README.md", 10)
        .expect("the history can be read")
        .into_iter()
        .map(|revision| revision.commit)
        .collect();
    assert_eq!(
        readme.join("\n"),
        fixture.git(&["log", "--format=%H", "--", "README.md"]),
        "a change made on a merged side branch is found through the merge"
    );
    assert_eq!(
        readme.len(),
        2,
        "the side branch's commit and the first commit"
    );

    let limited = repository
        .file_history("./notes.txt", 2)
        .expect("the history can be read");
    assert_eq!(limited.len(), 2, "the limit caps the list");
    assert_eq!(limited[0], history[0], "a `./` prefix names the same file");
    assert_eq!(
        repository
            .file_history("no-such-file", 10)
            .expect("a file that never existed has a history"),
        [],
        "a file that never existed has no commits"
    );
}

#[test]
fn file_at_reads_a_file_as_it_was_at_a_commit() {
    let (fixture, repository) = open();
    let first = commit_named(&fixture, "Start the notes");

    assert_eq!(
        repository
            .file_at(&first, "notes.txt")
            .expect("the file can be read"),
        Some("one\ntwo\nthree\n".to_owned())
    );
    assert_eq!(
        repository
            .file_at("HEAD", "notes.txt")
            .expect("the file can be read"),
        Some("one\n2\nthree\nfour\nfive\n".to_owned())
    );
    assert_eq!(
        repository
            .file_at(&first, "src/app.rs")
            .expect("a missing file is not an error"),
        None,
        "the program did not exist in the first commit"
    );
    let short = &fixture.git(&["rev-parse", "HEAD"])[..7];
    let binary = repository
        .file_at("HEAD", "logo.bin")
        .expect_err("a binary file is not text");
    assert_eq!(
        binary.to_string(),
        format!(
            "`logo.bin` at commit {short} is a binary or non-UTF-8 file, so it cannot be shown as text"
        )
    );
    let folder = repository
        .file_at("HEAD", "src")
        .expect_err("a folder is not a file");
    assert_eq!(
        folder.to_string(),
        format!("`src` at commit {short} is not a file (it is a folder or a submodule)")
    );
}

#[test]
fn commit_diff_lists_files_and_a_git_style_patch() {
    let (fixture, repository) = open();
    let rename = commit_named(&fixture, "Rename the program and add a logo");

    let diff = repository
        .commit_diff(&rename, None)
        .expect("the diff can be computed");

    assert_eq!(
        diff.files,
        [
            FileChange {
                path: "logo.bin".to_owned(),
                old_path: None,
                change: Change::Added,
                insertions: 0,
                deletions: 0,
            },
            FileChange {
                path: "src/app.rs".to_owned(),
                old_path: Some("src/main.rs".to_owned()),
                change: Change::Renamed,
                insertions: 1,
                deletions: 1,
            },
        ],
        "a binary file counts no lines and a moved file is a rename with its edit"
    );
    assert!(
        diff.patch
            .contains("rename from src/main.rs\nrename to src/app.rs\n"),
        "the patch names the rename: {}",
        diff.patch
    );
    assert!(
        diff.patch
            .contains("-    let notes = 4;\n+    let notes = 5;\n"),
        "the patch shows the edited line: {}",
        diff.patch
    );

    let correct = commit_named(&fixture, "Correct the second note");
    let diff = repository
        .commit_diff(&correct, None)
        .expect("the diff can be computed");
    assert_eq!(
        diff.patch.trim_end(),
        fixture.git(&["show", "--format=", &correct]),
        "the patch is what `git show` prints"
    );
    assert_eq!(diff.files.len(), 1);
    assert_eq!(diff.files[0].change, Change::Modified);
    assert_eq!((diff.files[0].insertions, diff.files[0].deletions), (1, 1));

    let first = commit_named(&fixture, "Start the notes");
    let root = repository
        .commit_diff(&first, None)
        .expect("a root commit's diff can be computed");
    let added: Vec<(&str, Change)> = root
        .files
        .iter()
        .map(|file| (file.path.as_str(), file.change))
        .collect();
    assert_eq!(
        added,
        [
            (".gitignore", Change::Added),
            ("README.md", Change::Added),
            ("notes.txt", Change::Added)
        ],
        "a root commit adds every file"
    );

    let span = repository
        .commit_diff(&correct, Some(&first))
        .expect("a diff against another commit can be computed");
    let changes: Vec<(&str, Change, usize, usize)> = span
        .files
        .iter()
        .map(|file| {
            (
                file.path.as_str(),
                file.change,
                file.insertions,
                file.deletions,
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("notes.txt", Change::Modified, 2, 1),
            ("src/main.rs", Change::Added, 5, 0)
        ],
        "the diff spans both commits"
    );
    let merge = fixture.git(&["rev-parse", "HEAD"]);
    let deleted = repository
        .commit_diff(&first, Some(&merge))
        .expect("a diff backwards can be computed");
    assert!(
        deleted
            .files
            .iter()
            .any(|file| file.path == "logo.bin" && file.change == Change::Deleted),
        "going back to the first commit deletes the logo: {:?}",
        deleted.files
    );
}

#[test]
fn commit_info_reads_the_message_parents_and_trailers() {
    let (fixture, repository) = open();
    let correct = commit_named(&fixture, "Correct the second note");

    let info = repository
        .commit_info(&correct)
        .expect("the commit can be read");

    assert_eq!(info.commit, correct);
    assert_eq!(info.summary, "Correct the second note");
    assert_eq!(
        info.message,
        "Correct the second note\n\nReviewed-by: Grace Hopper\n"
    );
    assert_eq!(
        info.parents,
        [fixture.git(&["rev-parse", &format!("{correct}^")])]
    );
    assert_eq!(
        info.trailers,
        [("Reviewed-by".to_owned(), "Grace Hopper".to_owned())],
        "the trailers are read as git reads them"
    );
    assert_eq!(
        info.time,
        "2024-01-03T10:00:00Z"
            .parse::<jiff::Timestamp>()
            .expect("a valid time")
    );

    let merge = repository
        .commit_info("HEAD")
        .expect("the merge commit can be read");
    assert_eq!(
        merge.parents.join(" "),
        fixture
            .git(&["rev-parse", "HEAD^1", "HEAD^2"])
            .replace('\n', " "),
        "a merge has both parents, first parent first"
    );
    assert_eq!(merge.trailers, [], "a message without trailers has none");
}

#[test]
fn unified_diff_compares_two_texts() {
    let (fixture, repository) = open();
    let first = commit_named(&fixture, "Start the notes");
    let old = repository
        .file_at(&first, "notes.txt")
        .expect("the file can be read")
        .expect("the file exists");
    let new = repository
        .file_at("HEAD", "notes.txt")
        .expect("the file can be read")
        .expect("the file exists");

    let diff = unified_diff(&old, &new, "notes.txt", "notes.txt");

    let hunks = |text: &str| -> String {
        text.lines()
            .skip_while(|line| !line.starts_with("@@"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        hunks(&diff),
        hunks(&fixture.git(&["diff", &first, "HEAD", "--", "notes.txt"])),
        "the hunks are the ones git computes"
    );
    assert!(
        diff.contains("--- a/notes.txt\n+++ b/notes.txt\n"),
        "the labels name the two sides: {diff}"
    );
    assert_eq!(
        unified_diff(&old, &old, "notes.txt", "notes.txt"),
        "",
        "equal texts have an empty diff"
    );
}
