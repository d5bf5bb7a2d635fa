//! The example pipelines in `pipelines/`: each validates clean, is already in canonical form,
//! matches the published JSON Schema, and compiles; together they use every action and every
//! control key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use orchestra_engine::{CATALOG, compile};
use orchestra_pipeline::model::{
    CONTROL_KEYS, FOR_EACH_KEYS, LOOP_KEYS, PIPELINE_KEYS, Pipeline, Step, StepBody,
};
use orchestra_pipeline::{check_file, json_schema, save};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests"),
    )
    .join("../../pipelines");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the pipelines folder exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// Loads an example with an empty global folder, so the developer's own files do not matter.
fn load(path: &Path) -> (Pipeline, String) {
    let global = tempfile::tempdir().expect("a temporary global folder");
    let checked = check_file(path, &CATALOG, Some(global.path().to_path_buf()))
        .expect("the example is readable");
    let problems: Vec<String> = checked
        .report
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "{}:{} {} {}",
                path.display(),
                d.span.map_or(0, |s| s.line),
                d.code.as_str(),
                d.message
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "examples must validate without errors or warnings:\n{}",
        problems.join("\n")
    );
    let text = checked.report.source.text().to_owned();
    (checked.pipeline.expect("a clean example loads"), text)
}

#[test]
fn the_examples_include_the_six_the_format_promises() {
    let names: BTreeSet<String> = examples()
        .iter()
        .filter_map(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for required in [
        "hello",
        "data-report",
        "pr-review",
        "research-brief",
        "http-health",
        "regression-loop",
    ] {
        assert!(
            names.contains(required),
            "pipelines/{required}.yaml is missing"
        );
    }
}

#[test]
fn every_example_validates_clean_and_is_in_canonical_form() {
    for path in examples() {
        let (pipeline, text) = load(&path);
        let saved = save(&pipeline);
        assert_eq!(
            saved,
            text,
            "{} is not in canonical form: run `orchestra fmt` on it",
            path.display()
        );
    }
}

#[test]
fn every_example_matches_the_json_schema() {
    let schema = json_schema(&CATALOG);
    let validator =
        jsonschema::validator_for(&schema).expect("the generated schema is a valid JSON Schema");
    for path in examples() {
        let (pipeline, _) = load(&path);
        let document = serde_json::to_value(&pipeline).expect("a pipeline converts to JSON");
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match the schema:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn every_example_compiles() {
    for path in examples() {
        let (pipeline, _) = load(&path);
        let plan = compile(&pipeline, &CATALOG)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(plan.pipeline, pipeline.id);
        assert!(
            !plan.graph.levels.is_empty(),
            "{} has steps in levels",
            path.display()
        );
    }
}

#[test]
fn together_the_examples_use_every_action_control_key_and_section() {
    let mut used = BTreeSet::new();
    for path in examples() {
        let (pipeline, _) = load(&path);
        let document = serde_json::to_value(&pipeline).expect("a pipeline converts to JSON");
        if let Some(object) = document.as_object() {
            used.extend(object.keys().map(|key| format!("section {key}")));
        }
        for step in &pipeline.steps {
            collect_step_keys(step, &mut used);
        }
    }
    let mut expected: BTreeSet<String> = CATALOG
        .action_names()
        .map(|name| format!("action {name}"))
        .collect();
    let step_keys = [CONTROL_KEYS, FOR_EACH_KEYS, LOOP_KEYS].concat();
    expected.extend(step_keys.iter().map(|key| format!("key {key}")));
    expected.extend(
        PIPELINE_KEYS
            .iter()
            .map(|section| format!("section {section}")),
    );
    let missing: Vec<&String> = expected.difference(&used).collect();
    assert!(missing.is_empty(), "no example uses: {missing:?}");
}

fn collect_step_keys(step: &Step, used: &mut BTreeSet<String>) {
    let value = serde_json::to_value(step).expect("a step converts to JSON");
    if let Some(object) = value.as_object() {
        used.extend(object.keys().map(|key| format!("key {key}")));
    }
    match &step.body {
        StepBody::Action { action, .. } => {
            used.insert(format!("action {action}"));
        }
        StepBody::ForEach { steps, .. } | StepBody::Loop { steps, .. } => {
            for inner in steps {
                collect_step_keys(inner, used);
            }
        }
    }
}
