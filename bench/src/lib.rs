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
    /// No step depends on another.
    Parallel,
}

impl Shape {
    /// The shape's name in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chain => "chain",
            Self::FanOut => "fan-out",
            Self::Parallel => "parallel",
        }
    }
}

/// What each generated step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// A `shell` step that runs `echo` on what it reads (for load, validate and compile).
    Echo,
    /// A `template` step that renders what it reads: no process, no file, only the engine's own
    /// work and its durable checkpoints (for the engine's overhead per step).
    Noop,
    /// A `template` step whose output is 10 KB of text (for memory).
    TenKilobytes,
    /// A `shell` step that sleeps 0.2 s (for concurrency).
    Nap,
}

/// The YAML of a pipeline of `steps` shell steps in the given shape. Every step but the first
/// depends on an earlier one and reads its output in a template; timeouts and retries come from
/// `defaults`, as people write them.
pub fn generate(shape: Shape, steps: usize) -> String {
    generate_work(shape, steps, Work::Echo)
}

/// The YAML of a pipeline of `steps` steps doing `work`, in the given shape.
pub fn generate_work(shape: Shape, steps: usize, work: Work) -> String {
    let mut text = String::from(
        "orchestra: 1\nid: generated\ninputs:\n  greeting: { type: string, default: hello }\ndefaults:\n  timeout: 5m\n  retry: { attempts: 2, delay: 1s }\nsteps:\n",
    );
    let id = |n: usize| format!("s{n:05}");
    let (action, key, quote) = match work {
        Work::Echo => ("shell", "run", ("[echo, \"", "\"]")),
        Work::Noop | Work::TenKilobytes => ("template", "template", ("\"", "\"")),
        Work::Nap => ("shell", "run", ("[sleep, \"0.2\"]", "")),
    };
    for n in 0..steps {
        let _ = writeln!(text, "  - id: {}", id(n));
        let _ = writeln!(text, "    action: {action}");
        let reads = match (shape, n) {
            (_, 0) | (Shape::Parallel, _) => None,
            (Shape::Chain, _) => Some(vec![id(n - 1)]),
            (Shape::FanOut, n) if n + 1 == steps => Some((1..n).map(id).collect()),
            (Shape::FanOut, _) => Some(vec![id(0)]),
        };
        let read = match reads {
            None => "{{ inputs.greeting }}".to_owned(),
            Some(reads) => {
                let _ = writeln!(text, "    depends_on: [{}]", reads.join(", "));
                format!("{{{{ {}.output }}}}", reads[0])
            }
        };
        let value = match work {
            Work::Echo | Work::Noop => read,
            Work::TenKilobytes => "{{ 'x' * 10240 }}".to_owned(),
            Work::Nap => String::new(),
        };
        let _ = writeln!(text, "    {key}: {}{value}{}", quote.0, quote.1);
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
