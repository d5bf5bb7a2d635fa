//! Runs validation of a 5,000-step fan-out many times, for profiling.

use orchestra_bench::{Shape, generate};
use orchestra_engine::CATALOG;
use orchestra_pipeline::{Context, Locator, Source, load, validate};

fn main() {
    let text = generate(Shape::FanOut, 5_000);
    let source = Source::new("g.yaml", text.as_str());
    let loaded = load(&source, &CATALOG);
    let pipeline = loaded.pipeline.expect("loads");
    let context = Context {
        catalog: &CATALOG,
        library: None,
    };
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let diagnostics = validate(
            &pipeline,
            Locator::new(loaded.tree.as_ref(), Some(&source)),
            &context,
        );
        assert!(diagnostics.is_empty());
    }
    println!("{:?} per validation", start.elapsed() / 20);
}
