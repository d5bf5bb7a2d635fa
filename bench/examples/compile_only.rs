//! Compiles a 5,000-step chain many times, for profiling.

use orchestra_bench::{Shape, generate};
use orchestra_engine::{CATALOG, compile};
use orchestra_pipeline::{Source, load};

fn main() {
    let text = generate(Shape::Chain, 5_000);
    let loaded = load(&Source::new("g.yaml", text.as_str()), &CATALOG);
    let pipeline = loaded.pipeline.expect("loads");
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let plan = compile(&pipeline, &CATALOG).expect("compiles");
        assert_eq!(plan.graph.steps.len(), 5_000);
    }
    println!("{:?} per compile", start.elapsed() / 20);
}
