//! The run store on a real `SQLite` file: events are committed before anyone sees them, the
//! summary tables follow the events, dead owners show as interrupted, and the file survives
//! being reopened.

use std::sync::{Arc, Mutex};

use jiff::{Timestamp, ToSpan};
use orchestra_engine::services::RunSink;
use orchestra_engine::{RunEvent, RunStatus, StepKey, StepResult};
use orchestra_store::{Store, StoreError};
use serde_json::{Map, json};

fn started(pipeline: &str) -> RunEvent {
    RunEvent::RunStarted {
        pipeline: pipeline.to_owned(),
        inputs: Map::new(),
        snapshot: format!("orchestra: 1\nid: {pipeline}\nsteps: []\n"),
        file: format!("{pipeline}.yaml"),
        workspace: "/tmp".to_owned(),
        parent: None,
    }
}

fn now(events: Vec<RunEvent>) -> Vec<(Timestamp, RunEvent)> {
    let at = Timestamp::now();
    events.into_iter().map(|event| (at, event)).collect()
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join(".orchestra").join("runs.db")).expect("the store opens")
}

#[test]
fn subscribers_see_only_what_is_already_committed() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let reader = Arc::new(open(&dir));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (check, log) = (Arc::clone(&reader), Arc::clone(&seen));
    store.subscribe(Arc::new(move |run, seq, _| {
        // A second connection reads the file: the event must already be there.
        let stored = check.events(run).expect("the events read");
        let there = stored.iter().any(|stored| stored.seq == seq);
        log.lock().expect("the log").push((seq, there));
    }));
    store
        .append(
            "r1",
            &now(vec![
                started("p"),
                RunEvent::StepQueued {
                    step: StepKey::new("", "a"),
                },
            ]),
        )
        .expect("the events commit");
    let seen = seen.lock().expect("the log").clone();
    assert_eq!(
        seen,
        [(1, true), (2, true)],
        "each event is durable before it is shown, in order"
    );
}

#[test]
fn the_summary_tables_follow_the_events() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let step = StepKey::new("", "fetch");
    let mut result = StepResult::succeeded(json!({"rows": 3}));
    result.attempts = 2;
    result.inputs_hash = Some("abc".to_owned());
    let mut outputs = Map::new();
    outputs.insert("zeta".to_owned(), json!(1));
    outputs.insert("alpha".to_owned(), json!("two"));
    store
        .append(
            "r1",
            &now(vec![
                started("p"),
                RunEvent::StepQueued { step: step.clone() },
                RunEvent::StepStarted {
                    step: step.clone(),
                    attempt: 1,
                    inputs: json!({"url": "http://x"}),
                },
                RunEvent::AttemptFailed {
                    step: step.clone(),
                    attempt: 1,
                    error: "503".to_owned(),
                    retry_in_ms: Some(10),
                },
                RunEvent::StepStarted {
                    step: step.clone(),
                    attempt: 2,
                    inputs: json!({"url": "http://x"}),
                },
                RunEvent::Artifact {
                    step: step.clone(),
                    path: "out/a.csv".to_owned(),
                    sha256: "f".repeat(64),
                    size: 12,
                },
                RunEvent::StepFinished {
                    step: step.clone(),
                    result: result.clone(),
                },
                RunEvent::RunFinished {
                    status: RunStatus::Succeeded,
                    outputs,
                    error: None,
                },
            ]),
        )
        .expect("the events commit");

    let run = store.run("r1").expect("the run");
    assert_eq!(run.status, RunStatus::Succeeded);
    assert!(
        run.finished_at.is_some() && run.owner_pid.is_none(),
        "a finished run has no owner"
    );
    assert!(
        run.snapshot.contains("id: p"),
        "the run keeps a snapshot of its pipeline"
    );
    let steps = store.steps("r1").expect("the steps");
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].status.as_str(), steps[0].attempts),
        ("succeeded", 2)
    );
    assert_eq!(
        steps[0].result.as_ref().map(|r| r.output.clone()),
        Some(json!({"rows": 3}))
    );
    let attempts = store.attempts("r1").expect("the attempts");
    assert_eq!(attempts.len(), 2, "each attempt is a row");
    assert_eq!(attempts[0].error.as_deref(), Some("503"));
    assert_eq!(
        attempts[0].inputs,
        json!({"url": "http://x"}),
        "an attempt keeps its rendered inputs"
    );
    assert!(attempts[1].error.is_none() && attempts[1].finished_at.is_some());
    let artifacts = store.artifacts("r1").expect("the artifacts");
    assert_eq!(
        (
            artifacts[0].path.as_str(),
            artifacts[0].step.as_str(),
            artifacts[0].size
        ),
        ("out/a.csv", "fetch", 12)
    );
    let outputs: Vec<String> = store
        .outputs("r1")
        .expect("the outputs")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        outputs,
        ["zeta", "alpha"],
        "outputs keep the pipeline's order"
    );
    let (from, cached) = store
        .cached("abc")
        .expect("the cache reads")
        .expect("a cached result");
    assert_eq!(
        (from.as_str(), cached.output),
        ("r1/fetch", json!({"rows": 3}))
    );
    assert!(store.cached("other").expect("the cache reads").is_none());
    assert_eq!(store.integrity_check().expect("the check"), "ok");
}

/// Sets a run's owner and heartbeat directly, as another process would have left them.
fn set_owner(dir: &tempfile::TempDir, run: &str, pid: i64, host: &str, heartbeat: Timestamp) {
    let connection = rusqlite::Connection::open(dir.path().join(".orchestra").join("runs.db"))
        .expect("open directly");
    connection
        .execute(
            "UPDATE runs SET owner_pid = ?2, owner_host = ?3, heartbeat_at = ?4 WHERE id = ?1",
            rusqlite::params![run, pid, host, heartbeat.to_string()],
        )
        .expect("set the owner");
}

/// The id of a process that has ended.
fn dead_pid() -> i64 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("`true` starts");
    let pid = i64::from(child.id());
    child.wait().expect("it ends");
    pid
}

#[test]
fn a_run_whose_owner_is_gone_shows_as_interrupted() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let long_ago = Timestamp::now() - 1.minute();
    for run in ["dead", "asleep", "remote", "fresh"] {
        store.append(run, &now(vec![started("p")])).expect("commit");
    }
    set_owner(&dir, "dead", dead_pid(), &host, Timestamp::now());
    set_owner(
        &dir,
        "asleep",
        i64::from(std::process::id()),
        &host,
        long_ago,
    );
    set_owner(&dir, "remote", 1, "another-machine", long_ago);
    let status = |run: &str| store.run(run).expect("the run").status;
    assert_eq!(
        status("dead"),
        RunStatus::Interrupted,
        "its process is gone"
    );
    assert_eq!(
        status("asleep"),
        RunStatus::Running,
        "a live process here that was silent a minute (stopped, asleep) still owns its run"
    );
    assert_eq!(
        status("remote"),
        RunStatus::Interrupted,
        "an owner elsewhere that was silent a minute is presumed gone"
    );
    assert_eq!(
        status("fresh"),
        RunStatus::Running,
        "this live process owns it"
    );
    assert!(
        !store.owned_elsewhere(&store.run("dead").expect("the run")),
        "an interrupted run may be taken over"
    );
}

#[test]
fn of_two_processes_taking_over_a_run_one_wins_and_the_loser_stops() {
    let dir = tempfile::tempdir().expect("a folder");
    let first = open(&dir);
    first
        .append("r1", &now(vec![started("p")]))
        .expect("commit");
    set_owner(
        &dir,
        "r1",
        dead_pid(),
        "gone",
        Timestamp::now() - 1.minute(),
    );
    let seen = first.run("r1").expect("the run");
    let second = open(&dir);
    let seen_too = second.run("r1").expect("the run");
    first.claim(&seen).expect("the first claim wins");
    let lost = second
        .claim(&seen_too)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        lost.contains("changed while this command looked at it"),
        "{lost}"
    );
    set_owner(&dir, "r1", 1, "gone", Timestamp::now());
    let control = first
        .heartbeat("r1", Timestamp::now())
        .expect("a heartbeat");
    assert!(
        control.taken_over,
        "an owner whose run was taken over learns it on its next beat"
    );
}

#[test]
fn attempts_are_read_from_the_events() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let step = StepKey::new("", "build");
    let start = |attempt| RunEvent::StepStarted {
        step: step.clone(),
        attempt,
        inputs: json!({"run": ["make"]}),
    };
    store
        .append(
            "r1",
            &now(vec![
                started("p"),
                RunEvent::StepQueued { step: step.clone() },
                start(1),
            ]),
        )
        .expect("commit");
    // The process died; the resumed run starts the step over and it fails for good.
    store
        .append(
            "r1",
            &now(vec![
                RunEvent::RunResumed,
                RunEvent::StepQueued { step: step.clone() },
                start(1),
                RunEvent::StepFinished {
                    step: step.clone(),
                    result: StepResult::failed("`make` exited with status 2", 1, 5),
                },
            ]),
        )
        .expect("commit");
    let attempts: Vec<(u32, bool, Option<String>)> = store
        .attempts("r1")
        .expect("the attempts")
        .into_iter()
        .map(|row| (row.attempt, row.finished_at.is_some(), row.error))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, false, None),
            (1, true, Some("`make` exited with status 2".to_owned()))
        ],
        "an attempt cut short has no end; a failed step's error is its last attempt's"
    );
}

#[test]
fn a_cancel_request_reaches_the_owner_on_its_next_heartbeat() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    store
        .append("r1", &now(vec![started("p")]))
        .expect("commit");
    assert!(
        !store
            .heartbeat("r1", Timestamp::now())
            .expect("beat")
            .cancel_requested
    );
    open(&dir)
        .request_cancel("r1")
        .expect("another process asks");
    assert!(
        store
            .heartbeat("r1", Timestamp::now())
            .expect("beat")
            .cancel_requested
    );
    let missing = open(&dir)
        .request_cancel("nope")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        missing.as_deref(),
        Some("no run has the id `nope`; `orchestra runs` lists them")
    );
}

#[test]
fn runs_are_found_by_a_unique_prefix_of_their_id() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    for id in ["abcd1234", "abcd5678"] {
        store.append(id, &now(vec![started("p")])).expect("commit");
    }
    assert_eq!(store.run("abcd1").expect("a unique prefix").id, "abcd1234");
    assert!(
        matches!(store.run("abcd"), Err(StoreError::Ambiguous(_))),
        "two runs start with abcd"
    );
    assert!(
        matches!(store.run("abc"), Err(StoreError::NoSuchRun(_))),
        "prefixes shorter than four characters are not guessed"
    );
    let listed: Vec<String> = store
        .runs(10)
        .expect("the list")
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(listed.len(), 2);
}

#[test]
fn the_store_survives_reopening_and_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("a folder");
    {
        let store = open(&dir);
        store
            .append("r1", &now(vec![started("p")]))
            .expect("commit");
    }
    let store = open(&dir);
    assert_eq!(
        store.events("r1").expect("the events").len(),
        1,
        "the events are still there"
    );
    drop(store);
    let path = dir.path().join(".orchestra").join("runs.db");
    let connection = rusqlite::Connection::open(&path).expect("open directly");
    connection
        .pragma_update(None, "user_version", 999)
        .expect("pretend a newer Orchestra wrote it");
    drop(connection);
    let refused = Store::open(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("made by a newer Orchestra"), "{refused}");
}

#[test]
fn a_step_s_summary_is_the_same_whether_its_events_come_in_one_commit_or_many() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let (one, many) = (StepKey::new("", "one"), StepKey::new("", "many"));
    let events = |step: &StepKey| {
        vec![
            RunEvent::StepQueued { step: step.clone() },
            RunEvent::StepStarted {
                step: step.clone(),
                attempt: 1,
                inputs: json!({"n": 1}),
            },
            RunEvent::AttemptFailed {
                step: step.clone(),
                attempt: 1,
                error: "flaky".to_owned(),
                retry_in_ms: Some(5),
            },
            RunEvent::StepStarted {
                step: step.clone(),
                attempt: 2,
                inputs: json!({"n": 1}),
            },
            RunEvent::StepFinished {
                step: step.clone(),
                result: StepResult {
                    attempts: 2,
                    ..StepResult::succeeded(json!("done"))
                },
            },
        ]
    };
    store
        .append("r1", &now(vec![started("p")]))
        .expect("commit");
    store.append("r1", &now(events(&one))).expect("one commit");
    for event in events(&many) {
        store
            .append("r1", &now(vec![event]))
            .expect("a commit per event");
    }
    let steps = store.steps("r1").expect("the steps");
    let row = |key: &str| {
        let row = steps.iter().find(|row| row.step == key).expect("a row");
        (
            row.status.clone(),
            row.attempts,
            row.queued_at.is_some() && row.started_at.is_some() && row.finished_at.is_some(),
            row.result.as_ref().map(|r| r.output.clone()),
        )
    };
    assert_eq!(
        row("one"),
        row("many"),
        "gathering a commit's events changes nothing"
    );
    assert_eq!(
        row("one"),
        ("succeeded".to_owned(), 2, true, Some(json!("done")))
    );
    let attempts = store.attempts("r1").expect("the attempts");
    for key in ["one", "many"] {
        let mine: Vec<(u32, Option<&str>, bool)> = attempts
            .iter()
            .filter(|row| row.step == key)
            .map(|row| (row.attempt, row.error.as_deref(), row.finished_at.is_some()))
            .collect();
        assert_eq!(
            mine,
            [(1, Some("flaky"), true), (2, None, true)],
            "the attempts of `{key}`"
        );
    }
}
