//! Pipeline files as the studio's editor holds them, on real files: the project's list with
//! validation state, text and data that round-trip through the canonical writer, saves that stay
//! inside the project, and the settings page.

mod common;

use common::Lab;
use orchestra_api::json::{AliasView, ProviderUrl, SettingsChange};
use serde_json::json;

const HELLO: &str =
    "orchestra: 1\nid: hello\nsteps:\n  - id: greet\n    action: template\n    template: Hello\n";

#[test]
fn the_project_lists_its_pipelines_with_their_problems_and_nothing_else() {
    let lab = Lab::new();
    std::fs::create_dir_all(lab.path("pipelines/nested")).expect("folders");
    std::fs::write(lab.path("pipelines/hello.yaml"), HELLO).expect("a valid pipeline");
    std::fs::write(
        lab.path("pipelines/nested/broken.yaml"),
        "orchestra: 1\nid: broken\nsteps:\n  - id: a\n    action: shel\n",
    )
    .expect("a broken pipeline");
    std::fs::write(
        lab.path("orchestra.yaml"),
        "aliases: { smart: openai:gpt-4.1 }\n",
    )
    .expect("project settings");
    std::fs::write(lab.path("notes.yaml"), "shopping: [milk]\n").expect("some other YAML");
    let entries = lab.project.pipelines();
    let files: Vec<&str> = entries.iter().map(|entry| entry.file.as_str()).collect();
    assert_eq!(
        files,
        ["pipelines/hello.yaml", "pipelines/nested/broken.yaml"],
        "only pipeline files are listed, settings and other YAML are not"
    );
    assert_eq!(
        (entries[0].errors, entries[0].id.as_deref()),
        (0, Some("hello"))
    );
    assert!(
        entries[1].errors > 0,
        "a pipeline with an unknown action shows its errors in the sidebar"
    );
}

#[test]
fn paths_outside_the_project_are_refused() {
    let lab = Lab::new();
    for path in ["../escape.yaml", "/etc/passwd", "a/../../b.yaml", ""] {
        let refused = lab
            .project
            .inside(path)
            .expect_err("a path leaving the project is refused");
        assert!(
            refused
                .to_string()
                .contains("not a path inside the project"),
            "the refusal says why: {refused}"
        );
        assert!(
            lab.project.save_document(path, HELLO).is_err(),
            "nothing is written outside the project through `{path}`"
        );
    }
    assert!(
        !lab.dir
            .path()
            .parent()
            .expect("a parent")
            .join("escape.yaml")
            .exists()
    );
}

#[test]
fn graph_data_comes_back_as_canonical_text_and_text_as_data() {
    let lab = Lab::new();
    // The graph added a step with its dependency and moved a node, in the file's own shape.
    let data = json!({
        "orchestra": 1,
        "id": "hello",
        "steps": [
            { "id": "greet", "action": "template", "template": "Hello" },
            { "action": "shell", "id": "shout", "run": ["echo", "{{ greet.output }}"], "depends_on": ["greet"] }
        ],
        "layout": { "nodes": { "shout": { "x": 280.4, "y": 0 } } }
    });
    let document = lab.project.document_from_data("hello.yaml", &data);
    assert!(document.problems.is_empty(), "{:?}", document.problems);
    assert!(
        document.text.contains(
            "  - id: shout\n    action: shell\n    depends_on: [greet]\n    run: [echo, \"{{ greet.output }}\"]\n"
        ),
        "the text is in canonical key order:\n{}",
        document.text
    );
    let again = lab.project.document_from_text("hello.yaml", &document.text);
    assert_eq!(
        again.pipeline, document.pipeline,
        "the text reads back as the same data"
    );
    assert_eq!(again.text, document.text);

    let mistaken = lab
        .project
        .document_from_text("hello.yaml", &document.text.replace("[greet]", "[gret]"));
    let problem = mistaken
        .problems
        .iter()
        .find(|problem| problem.severity == "error")
        .expect("a dependency on a missing step is an error");
    assert_eq!(
        problem.step.as_deref(),
        Some("shout"),
        "the problem names its step"
    );
    assert!(problem.line > 0, "and its line, for the YAML panel");
}

#[test]
fn saving_writes_the_canonical_form_and_keeps_text_that_is_not_a_pipeline_yet() {
    let lab = Lab::new();
    let untidy = "orchestra: 1\nsteps:\n  - action: template\n    template: Hello\n    id: greet\nid: hello\n";
    let saved = lab
        .project
        .save_document("pipelines/hello.yaml", untidy)
        .expect("a save");
    let on_disk = std::fs::read_to_string(lab.path("pipelines/hello.yaml")).expect("the file");
    assert_eq!(
        on_disk, HELLO,
        "the file is what `orchestra fmt` would write"
    );
    assert_eq!(saved.text, on_disk);

    let half_typed = "orchestra: 1\nid: hello\nsteps: [\n";
    let saved = lab
        .project
        .save_document("pipelines/hello.yaml", half_typed)
        .expect("text that is not YAML yet is still saved");
    assert_eq!(
        std::fs::read_to_string(lab.path("pipelines/hello.yaml")).expect("the file"),
        half_typed,
        "no edit is lost"
    );
    assert!(saved.pipeline.is_none());
    assert!(
        saved
            .problems
            .iter()
            .any(|problem| problem.code == "yaml-syntax"),
        "its problems say why it is not a pipeline: {:?}",
        saved.problems
    );
}

#[test]
fn the_settings_page_changes_the_users_settings_and_never_sees_a_key() {
    let lab = Lab::new();
    let global = lab.path("global");
    let view = orchestra_api::settings::save(
        Some(&global),
        Some(lab.dir.path()),
        SettingsChange {
            base_urls: vec![ProviderUrl {
                name: "ollama".to_owned(),
                base_url: "http://127.0.0.1:11999/v1".to_owned(),
            }],
            aliases: vec![AliasView {
                name: "smart".to_owned(),
                model: "ollama:llama3".to_owned(),
            }],
            default_model: Some("smart".to_owned()),
            orchestrator: None,
            personality: Some(" concise ".to_owned()),
        },
    )
    .expect("the settings save");
    let ollama = view
        .providers
        .iter()
        .find(|provider| provider.name == "ollama")
        .expect("ollama is a provider");
    assert_eq!(ollama.base_url, "http://127.0.0.1:11999/v1");
    assert_eq!(view.personality.as_deref(), Some("concise"));
    assert_eq!(view.aliases.len(), 1);
    let file = std::fs::read_to_string(global.join("settings.yaml")).expect("the settings file");
    assert!(file.contains("smart: ollama:llama3"), "{file}");
    let again = orchestra_api::settings::view(Some(&global), Some(lab.dir.path()))
        .expect("the settings read back");
    assert_eq!(again, view, "what was saved is what is read");
    let serialized = serde_json::to_string(&again).expect("the view serializes");
    assert!(
        !serialized.contains("sk-"),
        "no key value is part of the page"
    );
}

#[test]
fn saving_never_drops_what_the_reader_left_out() {
    let lab = Lab::new();
    // A step without an id is read but left out of the pipeline; its canonical form would lose
    // it (as `orchestra fmt` refuses to), so the text is saved as it was typed.
    let text = format!("{HELLO}  - action: template\n    template: a long prompt\n");
    let saved = lab
        .project
        .save_document("hello.yaml", &text)
        .expect("the text is saved");
    assert_eq!(
        std::fs::read_to_string(lab.path("hello.yaml")).expect("the file"),
        text,
        "the step without an id is still in the file"
    );
    assert!(
        !saved.complete,
        "the editor learns that the graph cannot show all of it"
    );
    let whole = lab.project.document_from_text("hello.yaml", HELLO);
    assert!(
        whole.complete,
        "a pipeline the reader keeps whole can be edited as a graph"
    );
}

#[test]
fn the_studio_writes_only_pipeline_files_of_the_project() {
    let lab = Lab::new();
    for file in [
        ".git/hooks/pre-commit.yaml",
        ".orchestra/x.yaml",
        "notes.txt",
        "orchestra.yaml",
    ] {
        let refused = lab
            .project
            .save_document(file, HELLO)
            .expect_err("not a pipeline file the studio may write");
        assert!(
            refused
                .to_string()
                .contains("not a pipeline file the studio may write"),
            "{refused}"
        );
    }
    let outside = tempfile::tempdir().expect("a folder outside the project");
    std::os::unix::fs::symlink(outside.path(), lab.path("linked")).expect("a link out");
    let refused = lab
        .project
        .save_document("linked/escape.yaml", HELLO)
        .expect_err("a link out of the project is refused");
    assert!(refused.to_string().contains("symbolic link"), "{refused}");
    assert!(!outside.path().join("escape.yaml").exists());
}
