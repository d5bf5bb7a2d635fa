//! Input that is not a pipeline at all gets one readable diagnostic with a location, never a
//! panic, and never a wall of follow-on errors.

mod common;

use std::fmt::Write;

use orchestra_pipeline::{Code, MAX_FILE_BYTES, read_source};

/// Reads bytes as a file would be read, then loads and validates them; returns the diagnostics.
fn diagnose_bytes(bytes: &[u8]) -> Vec<orchestra_pipeline::Diagnostic> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("input.yaml");
    std::fs::write(&path, bytes).expect("write the input file");
    match read_source(&path).expect("the file is readable") {
        Ok(source) => common::check_text(source.text()).report.diagnostics,
        Err(report) => report.diagnostics,
    }
}

/// Asserts exactly one error with this code, at a real position, whose message is a sentence
/// and not a debug dump.
fn assert_one(bytes: &[u8], code: Code, line: usize) -> String {
    let diagnostics = diagnose_bytes(bytes);
    assert_eq!(
        diagnostics.len(),
        1,
        "one diagnostic expected, got {diagnostics:#?}"
    );
    let diagnostic = &diagnostics[0];
    assert_eq!(
        diagnostic.code, code,
        "wrong code; message was: {}",
        diagnostic.message
    );
    let span = diagnostic
        .span
        .expect("the diagnostic must have a location");
    assert_eq!(span.line, line, "wrong line for: {}", diagnostic.message);
    assert!(span.column >= 1, "columns count from 1");
    for debug_marker in ["{ ", " }", "Some(", "Budget", "Err("] {
        assert!(
            !diagnostic.message.contains(debug_marker),
            "debug output leaked into: {}",
            diagnostic.message
        );
    }
    diagnostic.message.clone()
}

#[test]
fn an_empty_file_says_it_holds_no_pipeline() {
    let message = assert_one(b"", Code::EmptyFile, 1);
    assert!(message.contains("no pipeline"), "{message}");
    assert_one(b"# only a comment\n\n", Code::EmptyFile, 1);
}

#[test]
fn a_binary_file_is_refused_at_its_first_nul_byte() {
    let mut bytes = b"orchestra: 1\nid: x\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(4096));
    let message = assert_one(&bytes, Code::NotText, 3);
    assert!(message.contains("binary"), "{message}");
}

#[test]
fn invalid_utf8_is_refused_at_the_bad_byte() {
    let message = assert_one(b"orchestra: 1\nid: caf\xe9\n", Code::NotText, 2);
    assert!(
        message.contains("0xE9"),
        "the message names the bad byte: {message}"
    );
}

#[test]
fn a_ten_megabyte_file_is_refused_before_it_is_parsed() {
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    let bytes = line.repeat(10 * 1024 * 1024 / line.len() + 1).into_bytes();
    assert!(bytes.len() > MAX_FILE_BYTES);
    let message = assert_one(&bytes, Code::FileTooLarge, 1);
    assert!(
        message.contains("MiB"),
        "the message gives the sizes: {message}"
    );
}

#[test]
fn yaml_nested_two_hundred_levels_deep_is_refused() {
    let mut block = String::new();
    for depth in 0..200 {
        let _ = writeln!(block, "{}k:", "  ".repeat(depth));
    }
    let message = assert_one(block.as_bytes(), Code::YamlLimit, 65);
    assert!(message.contains("nests deeper"), "{message}");
    let flow = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
    assert_one(flow.as_bytes(), Code::YamlLimit, 1);
}

#[test]
fn an_alias_bomb_is_refused() {
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let aliases = vec![format!("*{previous}"); 9].join(", ");
        let _ = writeln!(bomb, "{name}: &{name} [{aliases}]");
    }
    let message = assert_one(bomb.as_bytes(), Code::YamlLimit, 6);
    assert!(message.contains("aliases"), "{message}");
}

#[test]
fn a_duplicate_key_names_the_key() {
    let message = assert_one(
        b"orchestra: 1\nid: x\nsteps: []\nid: y\n",
        Code::DuplicateKey,
        4,
    );
    assert!(message.contains("`id`"), "{message}");
}

#[test]
fn a_tab_used_for_indentation_is_explained() {
    let diagnostics = diagnose_bytes(b"orchestra: 1\nid: x\nsteps:\n\t- id: a\n");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, Code::YamlSyntax);
    assert_eq!(diagnostics[0].span.map(|s| s.line), Some(4));
    let help = diagnostics[0].help.clone().unwrap_or_default();
    assert!(help.contains("spaces"), "the help explains tabs: {help}");
}

#[test]
fn a_list_where_the_pipeline_map_belongs_is_one_type_error() {
    let message = assert_one(b"- orchestra: 1\n- id: x\n", Code::WrongType, 1);
    assert!(message.contains("found a list"), "{message}");
}

#[test]
fn a_list_where_a_step_map_belongs_is_one_type_error() {
    let message = assert_one(
        b"orchestra: 1\nid: x\nsteps:\n  - [shell, echo]\n",
        Code::WrongType,
        4,
    );
    assert!(message.contains("step 1"), "{message}");
}

#[test]
fn a_yaml_syntax_error_is_one_diagnostic_at_its_place() {
    let message = assert_one(b"orchestra: 1\nid: x\nsteps: [a, b\n", Code::YamlSyntax, 3);
    assert!(message.contains("bracket"), "{message}");
    assert!(!message.is_empty());
}

#[test]
fn several_documents_in_one_file_are_refused() {
    let message = assert_one(
        b"orchestra: 1\nid: a\nsteps: []\n---\norchestra: 1\n",
        Code::YamlSyntax,
        4,
    );
    assert!(message.contains("more than one"), "{message}");
}

#[test]
fn a_document_nested_as_deep_as_allowed_is_read_checked_and_saved() {
    // A JSON Schema nested 25 levels deep (two YAML levels each) inside a step: near the limit.
    let mut schema = String::from("{ type: string }");
    for _ in 0..25 {
        schema = format!("{{ type: object, properties: {{ x: {schema} }} }}");
    }
    let text = format!(
        "orchestra: 1\nid: deep\nsteps:\n  - id: a\n    action: generate\n    prompt: hi\n    output_schema: {schema}\n"
    );
    let checked = common::check_text(&text);
    assert!(
        checked.report.diagnostics.is_empty(),
        "{:#?}",
        checked.report.diagnostics
    );
    let pipeline = checked.pipeline.expect("the pipeline loads");
    let saved = orchestra_pipeline::save(&pipeline);
    let again = common::check_text(&saved);
    assert_eq!(
        again.pipeline,
        Some(pipeline),
        "a deep pipeline survives a save and a load"
    );
}

#[test]
fn utf16_is_named_for_what_it_is() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "orchestra: 1\n".encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let message = assert_one(&bytes, Code::NotText, 1);
    assert!(message.contains("UTF-16"), "{message}");
}

#[test]
fn a_tab_on_the_line_after_the_reported_one_is_explained() {
    let diagnostics = diagnose_bytes(
        b"orchestra: 1\nid: x\nsteps:\n  - id: a\n    action: template\n\ttemplate: x\n",
    );
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let help = diagnostics[0].help.clone().unwrap_or_default();
    assert!(help.contains("spaces"), "the help explains the tab: {help}");
}
