//! Properties that must hold for any input: loading never panics, and whatever is saved reads
//! back as the same pipeline. Bounded so that they run in CI on every change.

mod common;

use indexmap::IndexMap;
use orchestra_pipeline::model::{
    Control, Defaults, Input, InputType, Layout, Limits, Models, Pipeline, Step, StepBody,
    Workspace,
};
use proptest::prelude::*;
use serde_json::Value;

/// Characters that YAML treats specially, mixed with ordinary text and some non-ASCII.
fn tricky_string() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just(":".to_owned()),
        Just(": ".to_owned()),
        Just("#".to_owned()),
        Just(" #".to_owned()),
        Just("-".to_owned()),
        Just("- ".to_owned()),
        Just("{{ x }}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\t".to_owned()),
        Just(" ".to_owned()),
        Just("  ".to_owned()),
        Just("|".to_owned()),
        Just(">".to_owned()),
        Just("!".to_owned()),
        Just("&a".to_owned()),
        Just("*a".to_owned()),
        Just("%".to_owned()),
        Just("@".to_owned()),
        Just("`".to_owned()),
        Just("?".to_owned()),
        Just("~".to_owned()),
        Just("null".to_owned()),
        Just("yes".to_owned()),
        Just("true".to_owned()),
        Just("1.0".to_owned()),
        Just("0x1F".to_owned()),
        Just("1e3".to_owned()),
        Just("---".to_owned()),
        Just("...".to_owned()),
        Just("\r".to_owned()),
        Just("é".to_owned()),
        Just("日本".to_owned()),
        Just("🙂".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\0".to_owned()),
        Just("<AUTO>".to_owned()),
        "[a-z]{1,6}",
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|parts| parts.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A pipeline whose free-text places all hold `text` and whose request body holds `body`.
fn pipeline_with(text: &str, body: Value) -> Pipeline {
    let mut params = IndexMap::new();
    params.insert("url".to_owned(), Value::from(text));
    params.insert("body".to_owned(), body);
    let mut inputs = IndexMap::new();
    inputs.insert(
        "topic".to_owned(),
        Input {
            kind: InputType::String,
            default: Some(Value::from(text)),
            description: Some(text.to_owned()),
            choices: Vec::new(),
        },
    );
    let mut outputs = IndexMap::new();
    outputs.insert("text".to_owned(), text.to_owned());
    Pipeline {
        version: 1,
        id: "roundtrip".to_owned(),
        name: Some(text.to_owned()),
        description: Some(text.to_owned()),
        inputs,
        defaults: Defaults::default(),
        models: Models::default(),
        agents: IndexMap::new(),
        workspace: Workspace::default(),
        limits: Limits::default(),
        steps: vec![Step {
            id: "call".to_owned(),
            name: Some(text.to_owned()),
            description: None,
            body: StepBody::Action {
                action: "http".to_owned(),
                params,
            },
            control: Control::default(),
        }],
        outputs,
        layout: Layout::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_and_any_json_survive_a_save_and_a_load(text in tricky_string(), body in json_value()) {
        let pipeline = pipeline_with(&text, body);
        let saved = orchestra_pipeline::save(&pipeline);
        let loaded = orchestra_pipeline::load(&orchestra_pipeline::Source::new("t.yaml", saved.clone()), &common::CATALOG);
        let shape_errors: Vec<_> = loaded.diagnostics.iter().map(|d| d.message.clone()).collect();
        prop_assert!(shape_errors.is_empty(), "saved text does not load cleanly:\n{}\n{:?}", saved, shape_errors);
        prop_assert_eq!(loaded.pipeline.as_ref(), Some(&pipeline), "load(save(p)) != p for:\n{}", saved);
        let again = orchestra_pipeline::save(loaded.pipeline.as_ref().expect("checked above"));
        prop_assert_eq!(again, saved, "saving twice must give the same bytes");
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let checked = common::check_text(&text);
        prop_assert!(checked.pipeline.is_some() || !checked.report.diagnostics.is_empty(), "a failed load must say why");
    }

    #[test]
    fn mutated_example_pipelines_never_panic(
        example in 0usize..7,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, tricky_string()), 1..6),
    ) {
        let text = examples()[example].clone();
        let mut text: Vec<char> = text.chars().collect();
        for (at, kind, insert) in edits {
            let at = at.index(text.len().max(1)).min(text.len());
            match kind {
                0 => { text.splice(at..at, insert.chars()); }
                1 => { let end = (at + insert.len()).min(text.len()); text.drain(at..end); }
                2 => { let end = (at + 1).min(text.len()); text.splice(at..end, insert.chars()); }
                _ => { text.splice(at..at, "\n  ".chars()); }
            }
        }
        let text: String = text.into_iter().collect();
        let checked = common::check_text(&text);
        for diagnostic in &checked.report.diagnostics {
            prop_assert!(!diagnostic.message.is_empty(), "every diagnostic has a message");
            prop_assert!(diagnostic.span.is_some(), "every diagnostic of a file has a place: {}", diagnostic.message);
        }
    }
}

fn examples() -> &'static Vec<String> {
    static EXAMPLES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let dir = std::path::Path::new(
            &std::env::var_os("CARGO_MANIFEST_DIR")
                .expect("cargo sets CARGO_MANIFEST_DIR for tests"),
        )
        .join("../../pipelines");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("the example pipelines exist")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        assert!(
            files.len() >= 7,
            "expected the seven example pipelines, found {files:?}"
        );
        files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("read an example"))
            .collect()
    })
}
