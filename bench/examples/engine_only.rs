//! Temporary: the engine's CPU per step with a sink that keeps nothing.
use orchestra_bench::{Shape, Work, generate_work};
use orchestra_engine::run::{RunOptions, RunRequest};
use orchestra_engine::services::{Control, RunSink, Services, SinkError};
use orchestra_engine::{CATALOG, RunEvent, StepResult, compile};
use std::sync::Arc;
use std::time::Instant;
struct Null;
impl RunSink for Null {
    fn record(&self, _: &str, events: &[(jiff::Timestamp, RunEvent)]) -> Result<(), SinkError> {
        for (_, e) in events {
            std::hint::black_box(serde_json::to_string(e).unwrap());
        }
        Ok(())
    }
    fn heartbeat(&self, _: &str, _: jiff::Timestamp) -> Result<Control, SinkError> {
        Ok(Control::default())
    }
    fn cached(&self, _: &str) -> Result<Option<(String, StepResult)>, SinkError> {
        Ok(None)
    }
}
fn main() {
    let shape = if std::env::args().nth(1).as_deref() == Some("fan-out") {
        Shape::FanOut
    } else {
        Shape::Chain
    };
    let text = generate_work(shape, 1000, Work::Noop);
    let checked = orchestra_pipeline::check(
        orchestra_pipeline::Source::new("g.yaml", text.clone()),
        &orchestra_pipeline::Context {
            catalog: &CATALOG,
            library: None,
        },
    );
    let pipeline = checked.pipeline.unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let plan = compile(&pipeline, &CATALOG).unwrap();
        let req = RunRequest {
            run_id: "r".into(),
            plan,
            snapshot: text.clone(),
            pipeline_file: dir.path().join("g.yaml"),
            workspace: dir.path().to_path_buf(),
            inputs: Default::default(),
            history: vec![],
            reuse: vec![],
            parent: None,
            global_dir: None,
        };
        let t = Instant::now();
        rt.block_on(orchestra_engine::run::run(
            req,
            Services::new(Arc::new(Null)),
            RunOptions::default(),
        ))
        .unwrap();
        println!("{:.1} µs/step", t.elapsed().as_secs_f64() * 1e6 / 1000.0);
    }
}
