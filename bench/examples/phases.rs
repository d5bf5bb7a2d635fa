//! Where the time of load + validate + compile goes, phase by phase, on 5,000-step pipelines:
//! `cargo run --release -p orchestra-bench --example phases`. A companion to the criterion
//! benchmark, which times the whole.

use std::time::{Duration, Instant};

use orchestra_bench::{Shape, generate};
use orchestra_engine::{CATALOG, compile};
use orchestra_pipeline::{Context, Locator, Node, Source, load, validate};

const ROUNDS: u32 = 10;

fn main() {
    for shape in [Shape::Chain, Shape::FanOut] {
        let text = generate(shape, 5_000);
        let mut totals = [Duration::ZERO; 4];
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let tree: Node = serde_saphyr::from_str(&text).expect("the generated YAML parses");
            totals[0] += start.elapsed();
            drop(tree);

            let source = Source::new("generated.yaml", text.as_str());
            let start = Instant::now();
            let loaded = load(&source, &CATALOG);
            totals[1] += start.elapsed();
            let pipeline = loaded.pipeline.expect("the generated pipeline loads");

            let start = Instant::now();
            let context = Context {
                catalog: &CATALOG,
                library: None,
            };
            let diagnostics = validate(
                &pipeline,
                Locator::new(loaded.tree.as_ref(), Some(&source)),
                &context,
            );
            totals[2] += start.elapsed();
            assert!(diagnostics.is_empty(), "the generated pipeline is valid");

            let start = Instant::now();
            let plan = compile(&pipeline, &CATALOG).expect("the generated pipeline compiles");
            totals[3] += start.elapsed();
            assert_eq!(plan.graph.steps.len(), 5_000);
        }
        let [parse, load, validate, compile] = totals.map(|total| total / ROUNDS);
        println!(
            "{:8} {} bytes: YAML parse alone {parse:.1?}; load (parse included) {load:.1?}, validate {validate:.1?}, compile {compile:.1?}; total {:.1?}",
            shape.name(),
            text.len(),
            load + validate + compile,
        );
    }
}
