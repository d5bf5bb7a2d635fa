//! The engine's overhead per step: a generated pipeline of no-op `template` steps, run for real
//! in-process with every step durably checkpointed in a `SQLite` run store, timed from the start
//! of the run to its end (the process's own start-up is not counted, as for the peer).
//!
//! `cargo run --release -p orchestra-bench --example engine_overhead -- chain 1000 5` prints one
//! JSON line: the shape, the steps, each repetition's seconds and the median time per step.

use std::time::Instant;

use orchestra_api::{Project, RunStatus, StartOptions};
use orchestra_bench::{Shape, Work, generate_work};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = match args.first().map(String::as_str) {
        Some("fan-out") => Shape::FanOut,
        Some("chain") | None => Shape::Chain,
        Some(other) => {
            eprintln!("error: the shape is `chain` or `fan-out`, not `{other}`");
            std::process::exit(2);
        }
    };
    let steps: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let repetitions: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5);

    let dir = tempfile::tempdir().expect("a temporary project");
    let file = dir.path().join("generated.yaml");
    std::fs::write(&file, generate_work(shape, steps, Work::Noop)).expect("write the pipeline");
    let project = Project::open(dir.path(), None).expect("the project opens");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut seconds = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let started = Instant::now();
        let finished = runtime
            .block_on(project.start(&file, StartOptions::default()))
            .expect("the run starts");
        seconds.push(started.elapsed().as_secs_f64());
        assert_eq!(
            finished.outcome.status,
            RunStatus::Succeeded,
            "the run must succeed"
        );
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    #[allow(clippy::cast_precision_loss)] // Step counts are far below 2^52.
    let per_step_us = median / steps as f64 * 1e6;
    println!(
        "{}",
        serde_json::json!({
            "engine": "orchestra",
            "shape": shape.name(),
            "steps": steps,
            "seconds": seconds,
            "per_step_us": per_step_us,
        })
    );
}
