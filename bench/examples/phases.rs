//! Times each phase of load + validate + compile once, for finding where time goes.

use std::time::Instant;

use orchestra_bench::{Shape, generate};
use orchestra_engine::{CATALOG, compile};
use orchestra_pipeline::{Context, Locator, Source, load, validate};

fn main() {
    for shape in [Shape::Chain, Shape::FanOut] {
        let text = generate(shape, 5_000);
        for _ in 0..3 {
            let source = Source::new("g.yaml", text.as_str());
            let parse_start = Instant::now();
            let value: serde_json::Value = serde_saphyr::from_str(&text).expect("parses");
            println!(
                "plain serde-saphyr parse into serde_json::Value: {:?} ({} top keys)",
                parse_start.elapsed(),
                value.as_object().map_or(0, |o| o.len())
            );
            let start = Instant::now();
            let loaded = load(&source, &CATALOG);
            let loaded_at = start.elapsed();
            let pipeline = loaded.pipeline.expect("loads");
            let context = Context {
                catalog: &CATALOG,
                library: None,
            };
            let diagnostics = validate(
                &pipeline,
                Locator::new(loaded.tree.as_ref(), Some(&source)),
                &context,
            );
            let validated_at = start.elapsed();
            let plan = compile(&pipeline, &CATALOG).expect("compiles");
            let compiled_at = start.elapsed();
            let drop_start = Instant::now();
            drop(loaded.tree);
            drop(pipeline);
            println!(
                "dropping the tree and the pipeline: {:?}",
                drop_start.elapsed()
            );
            println!(
                "{}: load {:?}, validate {:?}, compile {:?} ({} diagnostics, {} levels)",
                shape.name(),
                loaded_at,
                validated_at - loaded_at,
                compiled_at - validated_at,
                diagnostics.len(),
                plan.graph.levels.len()
            );
        }
    }
}
