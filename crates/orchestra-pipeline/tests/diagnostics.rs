//! Every kind of mistake gets a diagnostic at the right place; a file with many mistakes gets
//! them all at once.

mod common;

use common::{assert_diagnostics, check_text};

const HEAD: &str = "orchestra: 1\nid: t\n";

/// A pipeline of the given steps (YAML list items at two spaces), with the fixed two-line head,
/// so that step lines start at line 4.
fn steps(body: &str) -> String {
    format!("{HEAD}steps:\n{body}")
}

#[test]
fn a_pipeline_with_ten_different_mistakes_gets_ten_precise_diagnostics() {
    let text = "\
orchestra: 1
id: ten-mistakes
inputs:
  base: { type: string, default: main }
steps:
  - id: diff
    action: shell
    run: [git, diff, \"{{ inputs.bsae }}\"]
    timout: 1m
  - id: review
    action: generat
    prompt: Review it.
  - id: summary
    action: generate
    depends_on: [dif]
    prompt: \"{{ revew.output }}\"
    timeout: 10 minutes
    output_schema: { type: objekt }
  - id: summary
    action: file.write
    path: out.md
    content: done
  - id: a
    action: shell
    run: [\"true\"]
    depends_on: [b]
  - id: b
    action: shell
    run: [\"true\"]
    depends_on: [a]
    qc:
      - regex: \"([a-z\"
";
    assert_diagnostics(
        text,
        &[
            "8:26 unknown-input",
            "9:5 unknown-key",
            "11:13 unknown-action",
            "15:18 unknown-step",
            "16:17 unknown-name",
            "17:14 bad-duration",
            "18:28 bad-schema",
            "19:9 duplicate-step-id",
            "26:18 cycle",
            "32:16 bad-regex",
        ],
    );
}

#[test]
fn unknown_keys_suggest_the_closest_known_key() {
    let checked = check_text(&steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    depend_on: [b]\n",
    ));
    let diagnostic = &checked.report.diagnostics[0];
    assert_eq!(
        diagnostic.help.as_deref(),
        Some("did you mean `depends_on`?")
    );
    assert_eq!(
        diagnostic.step.as_deref(),
        Some("a"),
        "the diagnostic names its step"
    );
    assert_eq!(
        diagnostic.pointer, "/steps/0/depend_on",
        "the pointer finds the key for the studio"
    );
    let top = check_text("orchestra: 1\nid: t\nstep: []\n");
    let helps: Vec<_> = top
        .report
        .diagnostics
        .iter()
        .filter_map(|d| d.help.clone())
        .collect();
    assert!(
        helps.contains(&"did you mean `steps`?".to_owned()),
        "{helps:?}"
    );
}

#[test]
fn keys_of_another_kind_of_step_are_explained() {
    let checked = check_text(&steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    max_parallel: 2\n",
    ));
    let help = checked.report.diagnostics[0]
        .help
        .clone()
        .unwrap_or_default();
    assert!(help.contains("for_each"), "{help}");
}

#[test]
fn action_parameters_are_checked_against_their_declared_kinds() {
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n"),
        &["4:5 missing-key"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n    run: { program: ls }\n"),
        &["6:10 wrong-type"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n    run: []\n"),
        &["6:10 bad-value"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: http\n    url: https://x\n    method: GTE\n"),
        &["7:13 bad-value"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: http\n    url: https://x\n    expect_status: 700\n"),
        &["7:20 wrong-type"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: http\n    url: https://x\n    retries: 9\n"),
        &["7:14 bad-value"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: generate\n    prompt: x\n    temperature: hot\n"),
        &["7:18 wrong-type"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: generate\n    prompt: [x]\n"),
        &["6:13 wrong-type"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: generate\n    prompt: x\n    output_schema: object\n"),
        &["7:20 wrong-type"],
    );
}

#[test]
fn numbers_and_booleans_where_text_belongs_keep_how_they_were_written() {
    let checked = check_text(&steps(
        "  - id: a\n    action: shell\n    run: [echo, 1.10, 0x1F, yes]\n",
    ));
    assert!(
        checked.report.diagnostics.is_empty(),
        "{:#?}",
        checked.report.diagnostics
    );
    let pipeline = checked.pipeline.expect("loads");
    let orchestra_pipeline::model::StepBody::Action { params, .. } = &pipeline.steps[0].body else {
        panic!("an action step");
    };
    assert_eq!(
        params["run"],
        serde_json::json!(["echo", "1.10", "0x1F", "yes"]),
        "argv keeps the written text"
    );
}

#[test]
fn auto_values_are_accepted_for_any_parameter_and_kept_as_written() {
    let text = steps(
        "  - id: a\n    action: generate\n    prompt: hi\n    model: <AUTO>a cheap model</AUTO>\n    temperature: <AUTO>what suits a summary</AUTO>\n",
    );
    let checked = check_text(&text);
    assert!(
        checked.report.diagnostics.is_empty(),
        "{:#?}",
        checked.report.diagnostics
    );
    let saved = orchestra_pipeline::save(&checked.pipeline.expect("loads"));
    assert!(
        saved.contains("model: <AUTO>a cheap model</AUTO>"),
        "{saved}"
    );
    assert!(
        saved.contains("temperature: <AUTO>what suits a summary</AUTO>"),
        "{saved}"
    );
}

#[test]
fn references_to_steps_must_exist_in_the_same_scope() {
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n    run: [ls]\n    on_success: bb\n"),
        &["7:17 unknown-step"],
    );
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n    run: [ls]\n    on_failure: nowhere\n"),
        &["7:17 unknown-step"],
    );
    assert_diagnostics(
        &steps(
            "  - id: a\n    action: shell\n    run: [ls]\n    routes:\n      - { when: \"true\", goto: zz, max_loops: 1 }\n",
        ),
        &["8:31 unknown-step"],
    );
    let into_body = steps(
        "  - id: each\n    for_each: [1, 2]\n    steps:\n      - id: inner\n        action: shell\n        run: [ls]\n  - id: after\n    action: shell\n    run: [ls]\n    depends_on: [inner]\n",
    );
    assert_diagnostics(&into_body, &["13:18 out-of-scope"]);
    let out_of_body = steps(
        "  - id: first\n    action: shell\n    run: [ls]\n  - id: each\n    for_each: [1, 2]\n    steps:\n      - id: inner\n        action: shell\n        run: [ls]\n        depends_on: [first]\n",
    );
    assert_diagnostics(&out_of_body, &["13:22 out-of-scope"]);
}

#[test]
fn cycles_need_a_bounded_route() {
    let unbounded = steps(
        "  - id: draft\n    action: shell\n    run: [ls]\n  - id: check\n    action: shell\n    run: [ls]\n    depends_on: [draft]\n    routes:\n      - { when: \"true\", goto: draft }\n",
    );
    assert_diagnostics(&unbounded, &["12:31 cycle"]);
    let bounded = unbounded.replace("goto: draft }", "goto: draft, max_loops: 3 }");
    assert_diagnostics(&bounded, &[]);
    assert_diagnostics(
        &steps("  - id: a\n    action: shell\n    run: [ls]\n    depends_on: [a]\n"),
        &["7:18 cycle"],
    );
    let failure_loop = steps(
        "  - id: a\n    action: shell\n    run: [ls]\n  - id: b\n    action: shell\n    run: [ls]\n    depends_on: [a]\n    on_failure: a\n",
    );
    assert_diagnostics(&failure_loop, &["11:17 cycle"]);
}

#[test]
fn templates_are_parsed_and_their_names_checked() {
    let two = |second: &str| {
        steps(&format!(
            "  - id: first\n    action: shell\n    run: [ls]\n  - id: second\n    action: generate\n    depends_on: [first]\n    prompt: \"{second}\"\n"
        ))
    };
    assert_diagnostics(&two("{{ first.output }} {{ inputs }} {{ run.id }}"), &[]);
    assert_diagnostics(&two("{{ first.output "), &["10:13 template-syntax"]);
    assert_diagnostics(&two("{{ frist.output }}"), &["10:17 unknown-name"]);
    assert_diagnostics(&two("{{ first.outptu }}"), &["10:17 unknown-result-field"]);
    assert_diagnostics(&two("{{ inputs.nope }}"), &["10:17 unknown-input"]);
    assert_diagnostics(&two("{{ item }}"), &["10:17 unknown-name"]);
    assert_diagnostics(&two("{% for x in first.output %}{{ x }}{% endfor %}"), &[]);
    assert_diagnostics(&two("{{ steps.first.output }}"), &[]);
    assert_diagnostics(&two("{{ steps['first'].output | upper }}"), &[]);
    let not_before = steps(
        "  - id: first\n    action: generate\n    prompt: \"{{ second.output }}\"\n  - id: second\n    action: shell\n    run: [ls]\n",
    );
    assert_diagnostics(&not_before, &["6:17 not-upstream"]);
}

#[test]
fn expressions_are_checked_and_braces_around_them_are_explained() {
    let with = |condition: &str| {
        steps(&format!(
            "  - id: a\n    action: shell\n    run: [ls]\n    condition: \"{condition}\"\n"
        ))
    };
    assert_diagnostics(&with("run.id != ''"), &[]);
    assert_diagnostics(&with("a.output ==="), &["7:16 template-syntax"]);
    let braces = check_text(&with("{{ inputs.x }}"));
    assert_eq!(
        braces.report.diagnostics[0].help.as_deref(),
        Some("write `inputs.x`")
    );
}

#[test]
fn loop_variables_exist_only_in_their_loops() {
    let for_each = steps(
        "  - id: each\n    for_each: [a, b]\n    steps:\n      - id: show\n        action: shell\n        run: [echo, \"{{ item }} {{ index }}\"]\n",
    );
    assert_diagnostics(&for_each, &[]);
    let while_loop = steps(
        "  - id: again\n    while: iteration < 3 and not poll.output\n    max_iterations: 5\n    steps:\n      - id: poll\n        action: shell\n        run: [echo, \"{{ iteration }}\"]\n",
    );
    assert_diagnostics(&while_loop, &[]);
    assert_diagnostics(
        &while_loop.replace("{{ iteration }}", "{{ item }}"),
        &["10:25 unknown-name"],
    );
    let unbounded = steps(
        "  - id: again\n    until: \"true\"\n    steps:\n      - id: poll\n        action: shell\n        run: [ls]\n",
    );
    assert_diagnostics(&unbounded, &["4:5 missing-key"]);
}

#[test]
fn ids_must_be_valid_unique_and_not_reserved() {
    assert_diagnostics(
        &steps("  - id: 1st\n    action: shell\n    run: [ls]\n"),
        &["4:9 bad-id"],
    );
    assert_diagnostics(
        &steps("  - id: inputs\n    action: shell\n    run: [ls]\n"),
        &["4:9 bad-id"],
    );
    assert_diagnostics(
        &steps("  - action: shell\n    run: [ls]\n"),
        &["4:5 missing-key"],
    );
    assert_diagnostics("orchestra: 1\nid: Not Valid\nsteps: []\n", &["2:5 bad-id"]);
    assert_diagnostics("orchestra: 1\nsteps: []\n", &["1:1 missing-key"]);
}

#[test]
fn durations_retries_and_control_keys_are_checked() {
    let step = |extra: &str| {
        steps(&format!(
            "  - id: a\n    action: shell\n    run: [ls]\n{extra}"
        ))
    };
    assert_diagnostics(&step("    timeout: 90s\n"), &[]);
    assert_diagnostics(&step("    timeout: 1.5h\n"), &["7:14 bad-duration"]);
    assert_diagnostics(&step("    retry: 3\n"), &["7:12 wrong-type"]);
    assert_diagnostics(&step("    retry: { delay: 1s }\n"), &["7:12 missing-key"]);
    assert_diagnostics(&step("    retry: { attempts: 0 }\n"), &["7:24 bad-value"]);
    assert_diagnostics(&step("    join: some\n"), &["7:11 bad-value"]);
    assert_diagnostics(
        &step("    qc: [not_empty, contains]\n"),
        &["7:21 wrong-type"],
    );
    assert_diagnostics(&step("    qc: [not_emty]\n"), &["7:10 bad-value"]);
    assert_diagnostics(
        &step("    qc: [{ json_schema: { type: 3 } }]\n"),
        &["7:33 bad-schema"],
    );
    assert_diagnostics(
        &step("    produces: [../outside.txt]\n"),
        &["7:16 path-outside-workspace"],
    );
    assert_diagnostics(&step("    cwd: /etc\n"), &["7:10 path-outside-workspace"]);
    assert_diagnostics(&step("    disabled: yes\n"), &["7:15 wrong-type"]);
}

#[test]
fn settings_without_effect_are_warnings() {
    let text = steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    on_false: b\n    join: any\n  - id: b\n    action: shell\n    run: [ls]\n",
    );
    assert_diagnostics(&text, &["7:5 bad-value", "8:5 bad-value"]);
    assert!(
        !check_text(&text).report.has_errors(),
        "settings without effect do not stop a run"
    );
}

#[test]
fn versions_newer_than_this_build_are_refused_and_a_missing_version_is_reported() {
    assert_diagnostics(
        "orchestra: 2\nid: t\nsteps: []\n",
        &["1:12 unsupported-version"],
    );
    assert_diagnostics(
        "orchestra: 0\nid: t\nsteps: []\n",
        &["1:12 unsupported-version"],
    );
    assert_diagnostics("id: t\nsteps: []\n", &["1:1 missing-version"]);
    assert_diagnostics("orchestra: one\nid: t\nsteps: []\n", &["1:12 wrong-type"]);
}

#[test]
fn models_tools_and_agents_are_looked_up() {
    let step = |extra: &str| {
        steps(&format!(
            "  - id: a\n    action: generate\n    prompt: hi\n{extra}"
        ))
    };
    assert_diagnostics(&step("    model: openai:gpt-4.1\n"), &[]);
    assert_diagnostics(&step("    model: smart\n"), &[]);
    assert_diagnostics(&step("    model: auto\n"), &[]);
    assert_diagnostics(&step("    model: \"openai: gpt\"\n"), &["7:12 bad-model"]);
    assert_diagnostics(&step("    model: brainy\n"), &["7:12 unknown-model-alias"]);
    assert_diagnostics(
        &step("    tools: [read_file, git_dif]\n"),
        &["7:24 unknown-tool"],
    );
    assert_diagnostics(&step("    agent: nobody\n"), &["7:12 unknown-agent"]);
    let with_agent = format!(
        "{HEAD}agents:\n  helper: {{ model: cheap, tools: [read_file] }}\nsteps:\n  - id: a\n    action: generate\n    prompt: hi\n    agent: helper\n"
    );
    assert_diagnostics(&with_agent, &[]);
}

#[test]
fn input_defaults_and_choices_must_match_their_type() {
    let input = |spec: &str| format!("{HEAD}inputs:\n  x: {spec}\nsteps: []\n");
    assert_diagnostics(&input("{ type: integer, default: 3 }"), &[]);
    assert_diagnostics(
        &input("{ type: integer, default: three }"),
        &["4:32 bad-value"],
    );
    assert_diagnostics(
        &input("{ type: string, choices: [a, b], default: c }"),
        &["4:48 bad-value"],
    );
    assert_diagnostics(&input("{ type: strng }"), &["4:14 bad-value"]);
    assert_diagnostics(
        &format!("{HEAD}inputs:\n  my-input: {{ type: string }}\nsteps: []\n"),
        &["4:3 bad-id"],
    );
}

#[test]
fn stale_layout_entries_are_warnings() {
    let text = format!("{HEAD}steps: []\nlayout:\n  nodes:\n    gone: {{ x: 1, y: 2 }}\n");
    assert_diagnostics(&text, &["6:5 stale-layout"]);
    let checked = check_text(&text);
    assert!(
        !checked.report.has_errors(),
        "a stale layout entry does not stop the pipeline"
    );
    assert_diagnostics(
        &format!("{HEAD}steps: []\nlayout:\n  gone: {{ x: 1, y: 2 }}\n"),
        &["5:3 unknown-key"],
    );
}

#[test]
fn subscripts_of_steps_and_inputs_are_checked_too() {
    let text = steps(
        "  - id: my-step\n    action: shell\n    run: [ls]\n  - id: b\n    action: generate\n    depends_on: [my-step]\n    prompt: \"{{ steps['my-step'].output }} {{ steps['nope'].output }} {{ inputs['x'] }}\"\n",
    );
    assert_diagnostics(&text, &["10:54 unknown-name", "10:82 unknown-input"]);
    let not_before = steps(
        "  - id: a\n    action: generate\n    prompt: \"{{ steps['my-step'].outptu }}\"\n  - id: my-step\n    action: shell\n    run: [ls]\n",
    );
    assert_diagnostics(
        &not_before,
        &["6:24 not-upstream", "6:34 unknown-result-field"],
    );
}

#[test]
fn a_dashed_id_read_with_a_dot_is_explained() {
    let text = steps(
        "  - id: my-step\n    action: shell\n    run: [ls]\n  - id: b\n    action: generate\n    depends_on: [my-step]\n    prompt: \"{{ my-step.output }}\"\n",
    );
    let checked = check_text(&text);
    let helps: Vec<_> = checked
        .report
        .diagnostics
        .iter()
        .filter_map(|d| d.help.clone())
        .collect();
    assert!(
        helps
            .iter()
            .any(|help| help == "a step id with `-` is read as `steps['my-step']`"),
        "{helps:?}"
    );
}

#[test]
fn one_mistake_in_a_step_does_not_hide_its_other_mistakes_or_break_its_readers() {
    let text = steps(
        "  - id: a\n    actoin: generate\n    timeout: 10\n    depends_on: [nothere]\n  - id: b\n    action: generate\n    depends_on: [a]\n    prompt: \"{{ a.output }}\"\n",
    );
    assert_diagnostics(
        &text,
        &[
            "4:5 missing-key",
            "5:5 unknown-key",
            "6:14 bad-duration",
            "7:18 unknown-step",
        ],
    );
    let checked = check_text(&text);
    assert_eq!(
        checked.report.diagnostics[1].help.as_deref(),
        Some("did you mean `action`?")
    );
    let unbounded = steps(
        "  - id: lp\n    while: \"true\"\n    timeout: never\n    steps:\n      - id: x\n        action: shell\n        run: [ls]\n  - id: after\n    action: generate\n    depends_on: [lp]\n    prompt: \"{{ lp.output }}\"\n",
    );
    assert_diagnostics(&unbounded, &["4:5 missing-key", "6:14 bad-duration"]);
}

#[test]
fn for_each_takes_a_list_or_one_expression() {
    let with = |items: &str| {
        steps(&format!(
            "  - id: each\n    for_each: {items}\n    steps:\n      - id: x\n        action: shell\n        run: [echo, \"{{{{ item }}}}\"]\n"
        ))
    };
    assert_diagnostics(&with("[a, b]"), &[]);
    assert_diagnostics(&with("\"{{ inputs.paths }}\""), &["5:19 unknown-input"]);
    assert_diagnostics(&with("inputs.paths"), &["5:15 bad-value"]);
    assert_diagnostics(&with("\"{{ a }}, {{ b }}\""), &["5:15 bad-value"]);
}

#[test]
fn template_syntax_errors_stay_inside_their_value() {
    let text = steps(
        "  - id: a\n    action: generate\n    prompt: \"x\\n\\n\\n\\n{{ bad bad }}\"\n  - id: b\n    action: shell\n    run: [ls]\n  - id: c\n    action: shell\n    run: [ls]\n",
    );
    assert_diagnostics(&text, &["6:13 template-syntax"]);
    let block =
        steps("  - id: a\n    action: generate\n    prompt: |\n      one\n      {{ bad bad }}\n");
    assert_diagnostics(&block, &["8:7 template-syntax"]);
}

#[test]
fn paths_cannot_escape_through_comments_or_backslashes() {
    let step = |path: &str| {
        steps(&format!(
            "  - id: a\n    action: file.write\n    path: \"{path}\"\n    content: x\n"
        ))
    };
    assert_diagnostics(
        &step("{# c #}/etc/passwd"),
        &["6:11 path-outside-workspace"],
    );
    assert_diagnostics(&step("..\\\\..\\\\etc"), &["6:11 path-outside-workspace"]);
    assert_diagnostics(&step("reports/{{ run.id }}.md"), &[]);
    assert_diagnostics(
        &format!("{HEAD}workspace: {{ root: / }}\nsteps: []\n"),
        &["3:20 bad-value"],
    );
}

#[test]
fn workspace_tools_and_checks_may_not_run_templates_as_code() {
    let tool = format!(
        "{HEAD}workspace:\n  tools:\n    t: {{ command: [grep, \"{{{{ inputs.p }}}}\"] }}\nsteps: []\n"
    );
    assert_diagnostics(&tool, &["5:19 bad-value"]);
    let check = steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    qc:\n      - command: [sh, -c, \"test {{ a.output }}\"]\n",
    );
    assert_diagnostics(&check, &["8:27 bad-value"]);
    assert_diagnostics(
        &steps(
            "  - id: a\n    action: shell\n    run: [ls]\n    qc:\n      - command: make check\n",
        ),
        &["8:18 wrong-type"],
    );
}

#[test]
fn names_that_read_the_same_are_one_key() {
    let text =
        steps("  - id: a\n    action: shell\n    run: [env]\n    env: { 1: one, \"1\": uno }\n");
    assert_diagnostics(&text, &["7:20 duplicate-key"]);
}

#[test]
fn messages_point_the_right_way() {
    let container = steps(
        "  - id: lp\n    until: \"true\"\n    max_iterations: 2\n    steps:\n      - id: x\n        action: generate\n        prompt: \"{{ lp.output }}\"\n",
    );
    let checked = check_text(&container);
    assert_eq!(
        checked.report.diagnostics[0].message,
        "`lp` is still running while its body runs, so it has no result yet"
    );
    let failure = check_text(&steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    on_failure: Continue\n",
    ));
    assert_eq!(
        failure.report.diagnostics[0].help.as_deref(),
        Some("did you mean `continue`?")
    );
    let braces = check_text(&steps(
        "  - id: a\n    action: shell\n    run: [ls]\n    condition: \"{{ inputs.a }} and {{ inputs.b }}\"\n",
    ));
    assert!(
        braces.report.diagnostics[0]
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("write the expression alone"))
    );
    let bad_id = check_text(&steps("  - id: 9lives\n    action: shell\n    run: [ls]\n"));
    assert_eq!(
        bad_id.report.diagnostics[0].step.as_deref(),
        Some("9lives"),
        "a bad id still names its step"
    );
    let caret = steps(
        "  - id: summary\n    action: shell\n    run: [ls]\n  - id: b\n    action: generate\n    depends_on: [summary]\n    prompt: \"summary: {{ summary.outptu }}\"\n",
    );
    assert_diagnostics(&caret, &["10:26 unknown-result-field"]);
    let long = format!(
        "{HEAD}steps:\n  - id: {}\n    action: shell\n    run: [ls]\n",
        "a".repeat(65)
    );
    assert_diagnostics(&long, &["4:9 bad-id"]);
}
