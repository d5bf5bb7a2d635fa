//! The system prompts that steps send, composed from the prompt layers shipped in
//! `personalities/` and `prompts/` and from files next to a pipeline. Snapshots keep the exact
//! text under review: a change to a layer, or to how layers are joined, shows in the diff.

use std::path::{Path, PathBuf};

use orchestra_llm::prompts::{Layers, compose, layer_schema, read_layer, render_layer};
use orchestra_pipeline::Library;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lies two folders below the repository")
        .to_path_buf()
}

/// The library of a pipeline in the repository's `pipelines/`.
fn shipped() -> Library {
    Library::new(repo().join("pipelines"), Some(repo()), None)
}

#[test]
fn every_shipped_personality_renders() {
    for name in ["standard", "concise", "skeptical", "teacher", "analyst"] {
        let text = render_layer(&shipped(), "personality", name).unwrap_or_else(|error| {
            panic!("the shipped personality `{name}` must render: {error}")
        });
        insta::assert_snapshot!(format!("personality_{name}"), text);
    }
}

#[test]
fn the_security_reviewer_of_the_pr_review_example_composes_every_layer() {
    let system = compose(
        &shipped(),
        &Layers {
            role: Some("security-reviewer"),
            persona: Some("senior-appsec"),
            personality: Some("skeptical"),
            system: Some("Only report problems you can point to in the diff."),
        },
    )
    .expect("the example's layers exist");
    insta::assert_snapshot!(system);
}

#[test]
fn every_shipped_layer_header_fits_the_published_schema() {
    let schema = layer_schema();
    let validator = jsonschema::validator_for(&schema).expect("the layer schema is valid");
    let published = std::fs::read_to_string(repo().join("docs/personality.schema.json"))
        .expect("docs/personality.schema.json exists");
    let published: serde_json::Value =
        serde_json::from_str(&published).expect("the published schema is JSON");
    assert_eq!(
        published, schema,
        "docs/personality.schema.json is stale: run `cargo run -p orchestra-cli -- schema --personality > docs/personality.schema.json`"
    );
    for folder in ["personalities", "prompts"] {
        for entry in std::fs::read_dir(repo().join(folder)).expect("the folder is there") {
            let path = entry.expect("an entry").path();
            let layer = read_layer(&path).unwrap_or_else(|error| panic!("{error}"));
            let header = serde_json::to_value(&layer.header).expect("the header serialises");
            assert!(
                validator.is_valid(&header),
                "the header of `{}` must fit the schema",
                path.display()
            );
            assert_eq!(
                layer.header.name.as_deref(),
                path.file_stem().and_then(|stem| stem.to_str()),
                "`{}` names itself after its file",
                path.display()
            );
            assert!(
                layer.header.description.is_some() && !layer.text.is_empty(),
                "`{}` has a description and a text",
                path.display()
            );
        }
    }
}

#[test]
fn a_layer_next_to_the_pipeline_wins_and_yaml_layers_work() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let project = dir.path();
    std::fs::create_dir_all(project.join("pipelines")).expect("a pipelines folder");
    std::fs::create_dir_all(project.join("personalities")).expect("a personalities folder");
    std::fs::write(
        project.join("personalities/voice.md"),
        "---\nname: voice\n---\nThe project's voice.\n",
    )
    .expect("the project's layer");
    std::fs::write(
        project.join("pipelines/voice.yaml"),
        "name: voice\ndescription: The pipeline's own.\nextends: base\nprompt: The pipeline's voice.\n",
    )
    .expect("the pipeline's layer, in YAML");
    std::fs::write(
        project.join("personalities/base.md"),
        "---\nname: base\noutput_format: A list.\n---\nBe kind.\n",
    )
    .expect("a base layer");
    let library = Library::new(project.join("pipelines"), Some(project.to_path_buf()), None);
    assert_eq!(
        render_layer(&library, "personality", "voice").as_deref(),
        Ok("Be kind.\n\nThe pipeline's voice.\n\nOutput format: A list."),
        "the file next to the pipeline wins, its base comes first, and the base's format applies"
    );
}

#[test]
fn broken_layers_are_clear_messages() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("a layer file");
    };
    write("a.md", "---\nextends: b\n---\nA.\n");
    write("b.md", "---\nextends: a\n---\nB.\n");
    write("c.md", "---\nextend: a\n---\nC.\n");
    let library = Library::new(dir.path().to_path_buf(), None, None);
    let error = render_layer(&library, "personality", "a").expect_err("a cycle is refused");
    assert!(
        error.contains("extends itself"),
        "a cycle is named: {error}"
    );
    let error = render_layer(&library, "role", "missing").expect_err("a missing layer is refused");
    assert!(
        error.starts_with("no role is called `missing`: looked for `missing.md`"),
        "a missing layer says where it was looked for: {error}"
    );
    let error = render_layer(&library, "personality", "c").expect_err("a misspelt key is refused");
    assert!(
        error.contains("c.md") && error.contains("extend"),
        "the file and the key are named: {error}"
    );
}
