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

#[test]
fn a_run_whose_owner_went_silent_shows_as_interrupted() {
    let dir = tempfile::tempdir().expect("a folder");
    let store = open(&dir);
    let long_ago = Timestamp::now() - 1.minute();
    store
        .append("old", &[(long_ago, started("p"))])
        .expect("commit");
    assert_eq!(
        store.run("old").expect("the run").status,
        RunStatus::Interrupted,
        "no heartbeat for a minute"
    );
    assert!(
        !store.owned_elsewhere(&store.run("old").expect("the run")),
        "an interrupted run may be taken over"
    );

    store
        .append("fresh", &now(vec![started("p")]))
        .expect("commit");
    assert_eq!(
        store.run("fresh").expect("the run").status,
        RunStatus::Running,
        "this live process owns it"
    );
    store
        .heartbeat("old", Timestamp::now())
        .expect("a heartbeat");
    assert_eq!(
        store.run("old").expect("the run").status,
        RunStatus::Running,
        "a heartbeat proves the owner is back"
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
