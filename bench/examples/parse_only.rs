//! Times the YAML parser alone on a 5,000-step pipeline, for profiling.

use orchestra_bench::{Shape, generate};

fn main() {
    let text = generate(Shape::Chain, 5_000);
    println!("{} bytes", text.len());
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("parses");
        println!(
            "into serde_json::Value: {:?} ({})",
            start.elapsed(),
            value.is_object()
        );
        let start = std::time::Instant::now();
        let node: orchestra_pipeline::Node = serde_saphyr::from_str(&text).expect("parses");
        println!(
            "into a spanned tree: {:?} ({})",
            start.elapsed(),
            node.as_map().is_some()
        );
        let start = std::time::Instant::now();
        let options = serde_saphyr::options! { budget: None };
        let value: serde_json::Value =
            serde_saphyr::from_str_with_options(&text, options).expect("parses");
        println!(
            "without a budget: {:?} ({})",
            start.elapsed(),
            value.is_object()
        );
    }
}
