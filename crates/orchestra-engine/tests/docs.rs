//! `docs/pipeline-format.md` stays true: every example in it loads (and every complete pipeline
//! validates clean and is canonical), and its table of diagnostic codes matches the code.

use std::path::Path;

use orchestra_engine::CATALOG;
use orchestra_pipeline::{Code, Context, Source, check, load, save};

fn document() -> String {
    std::fs::read_to_string(
        Path::new(
            &std::env::var_os("CARGO_MANIFEST_DIR")
                .expect("cargo sets CARGO_MANIFEST_DIR for tests"),
        )
        .join("../../docs/pipeline-format.md"),
    )
    .expect("docs/pipeline-format.md exists")
}

/// The YAML code blocks of the document, with the line each starts on.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (at, line) in text.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some((at + 2, String::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, block)), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_complete_example_validates_clean_and_is_canonical() {
    let mut complete = 0;
    for (line, block) in yaml_blocks(&document()) {
        if !block.starts_with("orchestra: 1") {
            continue;
        }
        complete += 1;
        let checked = check(
            Source::new("doc.yaml", block.clone()),
            &Context {
                catalog: &CATALOG,
                library: None,
            },
        );
        let problems: Vec<String> = checked
            .report
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        assert!(
            problems.is_empty(),
            "the example at docs/pipeline-format.md:{line} has problems: {problems:?}"
        );
        let saved = save(checked.pipeline.as_ref().expect("a clean example loads"));
        assert_eq!(
            saved, block,
            "the example at docs/pipeline-format.md:{line} is not in canonical form"
        );
    }
    assert!(
        complete >= 10,
        "the document shows complete pipelines, found {complete}"
    );
}

#[test]
fn every_step_example_loads_without_problems() {
    let mut fragments = 0;
    for (line, block) in yaml_blocks(&document()) {
        if !block.starts_with("- id:") {
            continue;
        }
        fragments += 1;
        let mut text = String::from("orchestra: 1\nid: doc\nsteps:\n");
        for step_line in block.lines() {
            text.push_str("  ");
            text.push_str(step_line);
            text.push('\n');
        }
        let loaded = load(&Source::new("doc.yaml", text), &CATALOG);
        let problems: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        assert!(
            problems.is_empty(),
            "the step example at docs/pipeline-format.md:{line} does not load: {problems:?}"
        );
    }
    assert!(
        fragments >= 15,
        "every control key has an example, found {fragments}"
    );
}

#[test]
fn the_table_of_diagnostic_codes_matches_the_code() {
    let text = document();
    for code in Code::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.summary());
        assert!(
            text.contains(&row),
            "docs/pipeline-format.md must list `{row}`"
        );
    }
    let rows = text
        .lines()
        .filter(|line| line.starts_with("| `") && line.ends_with(". |"))
        .count();
    assert!(rows >= Code::ALL.len(), "one row per code");
}
