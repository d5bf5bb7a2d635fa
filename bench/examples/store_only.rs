//! Temporary: the store's cost per step commit.
use orchestra_api::Store;
use orchestra_engine::{RunEvent, StepKey, StepResult};
use serde_json::json;
use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let at = jiff::Timestamp::now();
    store
        .append(
            "r",
            &[(
                at,
                RunEvent::RunStarted {
                    pipeline: "p".into(),
                    inputs: Default::default(),
                    snapshot: "x".into(),
                    file: "f".into(),
                    workspace: "w".into(),
                    parent: None,
                },
            )],
        )
        .unwrap();
    for round in 0..3 {
        let t = Instant::now();
        for n in 0..1000 {
            let step = StepKey::new("", &format!("s{round}_{n:05}"));
            let events = vec![
                (at, RunEvent::StepQueued { step: step.clone() }),
                (
                    at,
                    RunEvent::StepStarted {
                        step: step.clone(),
                        attempt: 1,
                        inputs: json!({"template": "hello"}),
                    },
                ),
                (
                    at,
                    RunEvent::StepFinished {
                        step: step.clone(),
                        result: StepResult {
                            duration_ms: 0,
                            ..StepResult::succeeded(json!("hello"))
                        },
                    },
                ),
            ];
            store.append("r", &events).unwrap();
        }
        println!(
            "{:.1} µs per step commit",
            t.elapsed().as_secs_f64() * 1e6 / 1000.0
        );
    }
}
