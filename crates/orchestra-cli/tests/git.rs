//! Git-native runs through the real binary, in repositories built by
//! `tests/fixtures/git-repository.sh`: a run killed mid-way and resumed leaves one commit per
//! step (a commit whose record the kill lost is dropped, its files kept), `show` lists the
//! commits, a dirty working tree is reported, `cleanup` removes a finished run's branch, and a
//! folder that is not a repository gets a sentence.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, commits_beyond, git, repo, run_branch};

/// A project whose folder is a repository with `pipeline.yaml` committed.
fn repository(pipeline: &str) -> Project {
    let project = Project::empty();
    project.write("pipeline.yaml", pipeline);
    let status = Command::new("bash")
        .arg(repo().join("tests/fixtures/git-repository.sh"))
        .arg(project.dir.path())
        .arg("pipeline.yaml")
        .status()
        .expect("the fixture runs");
    assert!(status.success(), "the repository fixture failed");
    project
}

/// Three steps that each write a file; `b` writes its file and then waits, unless the file is
/// there already (the second time, after a resume).
const WRITERS: &str = "orchestra: 1\nid: writers\nworkspace: { repo: . }\nsteps:\n  - { id: a, action: shell, run: [sh, -c, 'echo a > a.txt'] }\n  - { id: b, action: shell, run: [sh, -c, 'if [ ! -f b.txt ]; then echo b > b.txt; sleep 30; fi'], depends_on: [a] }\n  - { id: c, action: shell, run: [sh, -c, 'echo c > c.txt'], depends_on: [b] }\n";

/// Waits for the one run worktree's `file` to appear, and returns the worktree.
fn wait_for_worktree_file(project: &Project, file: &str) -> std::path::PathBuf {
    let worktrees = project.dir.path().join(".orchestra/worktrees");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(&worktrees) {
            for entry in entries.flatten() {
                if entry.path().join(file).exists() {
                    return entry.path();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no run worktree got `{file}` within 20 s");
}

#[test]
fn a_run_killed_mid_way_resumes_with_one_commit_per_step() {
    let project = repository(WRITERS);
    let dir = project.dir.path();
    let mut child = project
        .command(&["run", "pipeline.yaml"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("orchestra run starts");
    let worktree = wait_for_worktree_file(&project, "b.txt");
    child.kill().expect("kill the run");
    child.wait().expect("reap it");
    let run = worktree
        .file_name()
        .expect("the worktree is named after its run")
        .to_string_lossy()
        .into_owned();
    let branch = run_branch("writers", &run);
    // As if the process had committed `b`'s work, with the trailers it writes, and died before
    // recording it.
    git(&worktree, &["add", "b.txt"]);
    let message = format!("writers: b (succeeded)\n\nOrchestra-Run: {run}\nOrchestra-Step: b");
    git(&worktree, &["commit", "-qm", &message]);
    assert_eq!(
        commits_beyond(dir, "main", &branch).len(),
        2,
        "`a` was committed and recorded, `b`'s commit was not recorded"
    );

    let (code, stdout, stderr) = project.orchestra(&["resume", &run]);
    assert_eq!(code, Some(0), "the run resumes\n{stdout}\n{stderr}");
    assert_eq!(
        commits_beyond(dir, "main", &branch),
        [
            (
                "writers: a (succeeded)".to_owned(),
                vec!["a.txt".to_owned()]
            ),
            (
                "writers: b (succeeded)".to_owned(),
                vec!["b.txt".to_owned()]
            ),
            (
                "writers: c (succeeded)".to_owned(),
                vec!["c.txt".to_owned()]
            ),
        ],
        "one commit per step: the unrecorded commit was dropped and `b` committed its file once"
    );
    let ids: Vec<String> = git(dir, &["rev-list", "--reverse", &format!("main..{branch}")])
        .lines()
        .map(|id| id[..7].to_owned())
        .collect();
    let (code, shown, _) = project.orchestra(&["show", &run]);
    assert_eq!(code, Some(0));
    let listed: Vec<String> = shown
        .lines()
        .skip_while(|line| !line.starts_with("commits"))
        .skip(1)
        .map(|line| line.trim().to_owned())
        .collect();
    assert_eq!(
        listed,
        [
            format!("{}  a", ids[0]),
            format!("{}  b", ids[1]),
            format!("{}  c", ids[2])
        ],
        "`show` lists the run's snapshots, and they are the branch's commits:\n{shown}"
    );
    assert!(
        shown.contains(&format!("branch {branch} of . (")),
        "`show` names the branch:\n{shown}"
    );
}

#[test]
fn the_command_line_reports_a_dirty_tree_cleans_up_and_refuses_a_folder_without_git() {
    let project = repository(WRITERS.replace("sleep 30", "true").as_str());
    let dir = project.dir.path();
    std::fs::write(dir.join("notes.txt"), "uncommitted\n").expect("edit a tracked file");
    let (code, stdout, stderr) = project.orchestra(&["run", "pipeline.yaml"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("1 uncommitted changes (notes.txt)")
            && stderr.contains("does not see them"),
        "the run says it starts from HEAD without the uncommitted change:\n{stderr}"
    );
    let run = project.newest_run();

    let (code, _, stderr) = project.orchestra(&["cleanup", "--older-than", "2 weeks"]);
    assert_eq!(code, Some(2), "a bad age is a usage error");
    assert!(
        stderr.contains("is not a duration"),
        "it says why: {stderr}"
    );
    let (code, stdout, _) = project.orchestra(&["cleanup"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("nothing to remove"),
        "a run that just finished is younger than 14 days: {stdout}"
    );
    let (code, stdout, stderr) = project.orchestra(&["cleanup", "--older-than", "0s"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let branch = run_branch("writers", &run);
    assert!(
        stdout.contains(&format!("removed branch {branch}")) && stdout.contains("removed worktree"),
        "cleanup says what it removed: {stdout}"
    );
    assert_eq!(
        git(dir, &["branch", "--list", "orchestra/*"]),
        "",
        "the run's branch is gone"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("read"),
        "uncommitted\n",
        "the user's uncommitted work is still there"
    );

    let plain = Project::empty();
    plain.write("pipeline.yaml", WRITERS);
    let (code, stdout, stderr) = plain.orchestra(&["run", "pipeline.yaml"]);
    assert_eq!(code, Some(2), "a run that needs git cannot start\n{stdout}");
    assert!(
        stderr.contains("is not inside a git repository; run `git init` there"),
        "the message says what is wrong and what to do: {stderr}"
    );
    assert!(
        !Path::new(&plain.dir.path().join(".orchestra/worktrees")).exists(),
        "nothing was made"
    );
}
