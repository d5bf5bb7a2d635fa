//! The engine's overhead per step: a generated pipeline of no-op `template` steps, run for real
//! in-process with every step durably checkpointed in a `SQLite` run store.
//!
//! `cargo run --release -p orchestra-bench --example engine_overhead -- chain 1000 5` prints one
//! JSON line: the shape, the steps, each repetition's times and the median time per step. `run`
//! is the run alone, from its first event to its last, as the peer's time is its graph's
//! `invoke` alone; `total` adds reading, validating and compiling the file.

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
    let (mut total, mut run) = (Vec::new(), Vec::new());
    for _ in 0..repetitions {
        let started = Instant::now();
        let finished = runtime
            .block_on(project.start(&file, StartOptions::default()))
            .expect("the run starts");
        total.push(started.elapsed().as_secs_f64());
        assert_eq!(
            finished.outcome.status,
            RunStatus::Succeeded,
            "the run must succeed"
        );
        let log = project.store().events(&finished.run_id).expect("the log");
        let (first, last) = (
            log.first().expect("an event"),
            log.last().expect("an event"),
        );
        run.push(last.at.duration_since(first.at).as_secs_f64());
    }
    #[allow(clippy::cast_precision_loss)] // Step counts are far below 2^52.
    let per_step_us = |seconds: &[f64]| median(seconds) / steps as f64 * 1e6;
    println!(
        "{}",
        serde_json::json!({
            "engine": "orchestra",
            "shape": shape.name(),
            "steps": steps,
            "run_seconds": run,
            "total_seconds": total,
            "per_step_us": per_step_us(&run),
            "per_step_us_with_load": per_step_us(&total),
        })
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
