//! Generated pipelines for Orchestra's benchmarks, and the work the benchmarks time.

use std::fmt::Write;

use orchestra_engine::{CATALOG, Plan, compile};
use orchestra_pipeline::{Context, Source, check};

/// The shape of a generated pipeline.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Each step depends on the one before and reads its output.
    Chain,
    /// One root, every other step reads it, and a last step joins them all.
    FanOut,
}

impl Shape {
    /// The shape's name in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chain => "chain",
            Self::FanOut => "fan-out",
        }
    }
}

/// The YAML of a pipeline of `steps` shell steps in the given shape. Every step but the first
/// depends on an earlier one and reads its output in a template; timeouts and retries come from
/// `defaults`, as people write them.
pub fn generate(shape: Shape, steps: usize) -> String {
    let mut text = String::from(
        "orchestra: 1\nid: generated\ninputs:\n  greeting: { type: string, default: hello }\ndefaults:\n  timeout: 5m\n  retry: { attempts: 2, delay: 1s }\nsteps:\n",
    );
    let id = |n: usize| format!("s{n:05}");
    for n in 0..steps {
        let _ = writeln!(text, "  - id: {}", id(n));
        text.push_str("    action: shell\n");
        let reads = match (shape, n) {
            (_, 0) => None,
            (Shape::Chain, _) => Some(vec![id(n - 1)]),
            (Shape::FanOut, n) if n + 1 == steps => Some((1..n).map(id).collect()),
            (Shape::FanOut, _) => Some(vec![id(0)]),
        };
        match reads {
            None => text.push_str("    run: [echo, \"{{ inputs.greeting }}\"]\n"),
            Some(reads) => {
                let _ = writeln!(text, "    depends_on: [{}]", reads.join(", "));
                let _ = writeln!(text, "    run: [echo, \"{{{{ {}.output }}}}\"]", reads[0]);
            }
        }
    }
    text
}

/// Loads, validates and compiles a pipeline's text: what `orchestra compile` does, and what the
/// studio does when it opens a pipeline.
pub fn load_validate_compile(text: &str) -> Plan {
    let checked = check(
        Source::new("generated.yaml", text),
        &Context {
            catalog: &CATALOG,
            library: None,
        },
    );
    let errors: Vec<&str> = checked
        .report
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        errors.is_empty(),
        "a generated pipeline must be valid: {errors:?}"
    );
    let pipeline = checked.pipeline.expect("a valid pipeline loads");
    compile(&pipeline, &CATALOG).expect("a generated pipeline compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pipelines_are_valid_and_have_the_promised_shape() {
        let chain = load_validate_compile(&generate(Shape::Chain, 50));
        assert_eq!(
            chain.graph.levels.len(),
            50,
            "a chain has one step per level"
        );
        let fan = load_validate_compile(&generate(Shape::FanOut, 50));
        assert_eq!(
            fan.graph.levels.iter().map(Vec::len).collect::<Vec<_>>(),
            [1, 48, 1],
            "root, the fan, the join"
        );
    }
}
