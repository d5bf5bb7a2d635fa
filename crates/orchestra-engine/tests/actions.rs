//! The action registry: names are unique, parameters do not shadow the keys every step has, and
//! every action's documented example is a valid step.

use std::collections::HashSet;

use orchestra_engine::CATALOG;
use orchestra_pipeline::model::{CONTROL_KEYS, FOR_EACH_KEYS, IDENTITY_KEYS, LOOP_KEYS};
use orchestra_pipeline::{Source, load, save};

/// Keys every step has; no action may declare a parameter with one of these names.
fn step_keys() -> Vec<&'static str> {
    [
        IDENTITY_KEYS,
        &["action"],
        CONTROL_KEYS,
        FOR_EACH_KEYS,
        LOOP_KEYS,
    ]
    .concat()
}

#[test]
fn every_action_is_registered_once_with_distinct_parameters() {
    let mut names = HashSet::new();
    for spec in CATALOG.actions {
        assert!(
            names.insert(spec.name),
            "the action `{}` is registered twice",
            spec.name
        );
        assert!(
            spec.summary.ends_with('.'),
            "the summary of `{}` must be a sentence",
            spec.name
        );
        let mut params = HashSet::new();
        for param in spec.params {
            assert!(
                params.insert(param.name),
                "`{}` declares `{}` twice",
                spec.name,
                param.name
            );
            assert!(
                !step_keys().contains(&param.name),
                "`{}.{}` shadows a step key",
                spec.name,
                param.name
            );
            assert!(
                param.summary.ends_with('.'),
                "the summary of `{}.{}` must be a sentence",
                spec.name,
                param.name
            );
        }
    }
}

#[test]
fn every_action_example_is_a_valid_canonical_step() {
    for spec in CATALOG.actions {
        let step: String = spec
            .example
            .lines()
            .enumerate()
            .map(|(at, line)| {
                if at == 0 {
                    format!("  - {line}\n")
                } else {
                    format!("    {line}\n")
                }
            })
            .collect();
        let text = format!("orchestra: 1\nid: example\nsteps:\n{step}");
        let loaded = load(&Source::new("example.yaml", text.clone()), &CATALOG);
        let problems: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        assert!(
            problems.is_empty(),
            "the example of `{}` does not load: {problems:?}\n{text}",
            spec.name
        );
        let pipeline = loaded.pipeline.expect("the example loads");
        assert_eq!(
            pipeline.steps[0].action(),
            Some(spec.name),
            "the example of `{}` uses it",
            spec.name
        );
        assert_eq!(
            save(&pipeline),
            text,
            "the example of `{}` is not in canonical form",
            spec.name
        );
    }
}

/// Loads one step of the given action and returns the messages of the action's own checks.
fn problems(step: &str) -> Vec<String> {
    let text = format!("orchestra: 1\nid: t\nsteps:\n  - id: s\n{step}");
    load(&Source::new("t.yaml", text), &CATALOG)
        .diagnostics
        .into_iter()
        .map(|d| d.message)
        .collect()
}

#[test]
fn a_shell_command_line_needs_shell_true_and_takes_no_templates() {
    assert_eq!(
        problems("    action: shell\n    run: [git, status]\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        problems("    action: shell\n    run: git status\n"),
        ["a command written as one string runs only with `shell: true`"]
    );
    assert_eq!(
        problems("    action: shell\n    shell: true\n    run: \"ls | wc -l\"\n"),
        Vec::<String>::new()
    );
    let pasted =
        problems("    action: shell\n    shell: true\n    run: \"rm {{ inputs.file }}\"\n");
    assert_eq!(pasted.len(), 1);
    assert!(
        pasted[0].contains("templates cannot be pasted"),
        "{pasted:?}"
    );
    assert_eq!(
        problems("    action: shell\n    shell: true\n    run: [ls]\n").len(),
        1,
        "a list with shell: true is refused"
    );
}

#[test]
fn shells_and_interpreters_may_not_run_templates_as_code() {
    let pasted = problems("    action: shell\n    run: [bash, -lc, \"rm -rf {{ inputs.dir }}\"]\n");
    assert_eq!(
        pasted,
        ["`bash` runs argument 3 as code, and a template in it could run as a command"]
    );
    let safe = problems(
        "    action: shell\n    run: [bash, -c, \"rm -rf \\\"$DIR\\\"\"]\n    env: { DIR: \"{{ inputs.dir }}\" }\n",
    );
    assert!(safe.is_empty(), "values through env are fine: {safe:?}");
    let chosen =
        problems("    action: shell\n    shell: true\n    run: <AUTO>a cleanup command</AUTO>\n");
    assert_eq!(chosen.len(), 1);
    assert!(
        chosen[0].contains("cannot be chosen by a model"),
        "{chosen:?}"
    );
    assert!(
        problems("    action: shell\n    run: <AUTO>the arguments</AUTO>\n").is_empty(),
        "a model may choose argv"
    );
}

#[test]
fn a_tool_that_needs_approval_must_be_one_the_agent_may_call() {
    assert!(
        problems(
            "    action: agent\n    prompt: x\n    tools: [read_file]\n    approve_tools: [read_file]\n",
        )
        .is_empty(),
        "a listed tool may wait for approval"
    );
    assert_eq!(
        problems(
            "    action: agent\n    prompt: x\n    tools: [read_file]\n    approve_tools: [write_file]\n",
        ),
        ["`write_file` needs approval, but the step does not list it in `tools`"],
        "approving a tool the step cannot call would be a promise nothing keeps"
    );
    assert_eq!(
        problems("    action: agent\n    prompt: x\n    mode: chatty\n").len(),
        1,
        "a mode is one of the words the action knows"
    );
    assert_eq!(
        problems("    action: agent\n    prompt: x\n    tools: <AUTO>what it needs</AUTO>\n"),
        ["`tools` cannot be <AUTO>: an agent's privileges are the author's to choose"],
        "a model does not choose its own privileges"
    );
}

#[test]
fn literal_urls_must_be_http_and_child_inputs_a_map() {
    assert_eq!(
        problems("    action: http\n    url: ftp://example.com\n"),
        ["`ftp://example.com` is not an HTTP URL"]
    );
    assert!(
        problems("    action: http\n    url: \"{{ inputs.url }}\"\n").is_empty(),
        "templated URLs are checked when they run"
    );
    assert_eq!(
        problems("    action: pipeline\n    path: x.yaml\n    inputs: [a]\n"),
        ["`inputs` should be a map of input names to values"]
    );
}

#[test]
fn the_catalog_lists_the_built_in_tools() {
    for tool in [
        "read_file",
        "list_files",
        "write_file",
        "http_get",
        "git_diff",
    ] {
        assert!(
            CATALOG.builtin_tools.contains(&tool),
            "{tool} is a built-in tool"
        );
    }
}
