//! Compiling pipelines into plans: levels, edges and their direction, defaults, and `<AUTO>`.

use orchestra_engine::{CATALOG, Plan, Work, compile};
use orchestra_pipeline::model::{EdgeKind, OnFailure};
use orchestra_pipeline::{Context, Source, check};

fn plan(text: &str) -> Plan {
    let checked = check(
        Source::new("t.yaml", text),
        &Context {
            catalog: &CATALOG,
            library: None,
        },
    );
    let errors: Vec<String> = checked
        .report
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert!(
        errors.is_empty(),
        "the test pipeline must be valid: {errors:?}"
    );
    compile(checked.pipeline.as_ref().expect("loads"), &CATALOG).expect("compiles")
}

fn shell(id: &str, extra: &str) -> String {
    format!("  - id: {id}\n    action: shell\n    run: [echo, {id}]\n{extra}")
}

#[test]
fn a_chain_has_one_step_per_level_and_a_fan_out_shares_a_level() {
    let chain = plan(&format!(
        "orchestra: 1\nid: t\nsteps:\n{}{}{}",
        shell("a", ""),
        shell("b", "    depends_on: [a]\n"),
        shell("c", "    depends_on: [b]\n")
    ));
    assert_eq!(chain.graph.levels, [vec!["a"], vec!["b"], vec!["c"]]);
    let fan = plan(&format!(
        "orchestra: 1\nid: t\nsteps:\n{}{}{}{}",
        shell("root", ""),
        shell("x", "    depends_on: [root]\n"),
        shell("y", "    depends_on: [root]\n"),
        shell("join", "    depends_on: [x, y]\n    join: any\n"),
    ));
    assert_eq!(
        fan.graph.levels,
        [vec!["root"], vec!["x", "y"], vec!["join"]]
    );
    assert_eq!(
        fan.graph.steps[3].join,
        orchestra_pipeline::model::Join::Any
    );
    assert!(
        fan.graph
            .edges
            .iter()
            .all(|edge| edge.kind == EdgeKind::Data && !edge.back)
    );
}

#[test]
fn a_bounded_route_back_is_a_back_edge_and_a_forward_route_gates_its_target() {
    let text = format!(
        "orchestra: 1\nid: t\nsteps:\n{}{}{}",
        shell("draft", ""),
        shell(
            "review",
            "    depends_on: [draft]\n    routes:\n      - { when: review.exit_code != 0, goto: draft, max_loops: 2 }\n      - { when: review.exit_code == 0, goto: publish }\n"
        ),
        shell("publish", ""),
    );
    let plan = plan(&text);
    let back: Vec<_> = plan.graph.edges.iter().filter(|edge| edge.back).collect();
    assert_eq!(back.len(), 1, "{:?}", plan.graph.edges);
    assert_eq!(
        (
            back[0].from.as_str(),
            back[0].to.as_str(),
            back[0].max_loops
        ),
        ("review", "draft", Some(2))
    );
    assert_eq!(
        plan.graph.levels,
        [vec!["draft"], vec!["review"], vec!["publish"]],
        "the back edge does not reorder"
    );
    let gated: Vec<&str> = plan
        .graph
        .steps
        .iter()
        .filter(|step| step.gated)
        .map(|step| step.id.as_str())
        .collect();
    assert_eq!(
        gated,
        ["publish"],
        "only the forward route's target waits to be routed to"
    );
}

#[test]
fn defaults_fill_in_what_steps_leave_out() {
    let text = "orchestra: 1
id: t
defaults:
  timeout: 5m
  retry: { attempts: 3, delay: 2s }
  on_failure: continue
  model: smart
  personality: standard
agents:
  writer: { model: cheap }
steps:
  - id: plain
    action: generate
    prompt: hi
  - id: own
    action: generate
    prompt: hi
    model: openai:gpt-4.1
    timeout: 1m
    on_failure: fail
    retry: { attempts: 1 }
  - id: with_agent
    action: generate
    prompt: hi
    agent: writer
  - id: tool
    action: shell
    run: [ls]
";
    let plan = plan(text);
    let step = |id: &str| {
        plan.graph
            .steps
            .iter()
            .find(|step| step.id == id)
            .expect("the step exists")
    };
    let param = |id: &str, name: &str| match &step(id).work {
        Work::Action { params, .. } => params.get(name).and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    };
    assert_eq!(param("plain", "model").as_deref(), Some("smart"));
    assert_eq!(param("plain", "personality").as_deref(), Some("standard"));
    assert_eq!(
        param("own", "model").as_deref(),
        Some("openai:gpt-4.1"),
        "a step's own value wins"
    );
    assert_eq!(
        param("with_agent", "model").as_deref(),
        Some("cheap"),
        "the agent's model is the step's, over the default"
    );
    assert_eq!(
        param("tool", "model"),
        None,
        "actions without the parameter get no default"
    );
    assert_eq!(
        step("plain")
            .timeout
            .as_ref()
            .map(orchestra_pipeline::model::Duration::text),
        Some("5m")
    );
    assert_eq!(
        step("own")
            .timeout
            .as_ref()
            .map(orchestra_pipeline::model::Duration::text),
        Some("1m")
    );
    assert_eq!(step("plain").on_failure, OnFailure::Continue);
    assert_eq!(step("own").on_failure, OnFailure::Fail);
    let retry = &step("plain").retry;
    assert_eq!(
        (
            retry.attempts,
            retry.exponential,
            retry.delay.millis(),
            retry.max_delay.millis(),
            retry.jitter
        ),
        (3, true, 2_000, 200_000, true)
    );
    assert_eq!(step("own").retry.attempts, 1);
}

#[test]
fn bodies_compile_into_their_own_graphs_and_auto_values_are_listed() {
    let text = "orchestra: 1
id: t
steps:
  - id: each
    for_each: [a, b]
    max_parallel: 2
    steps:
      - id: first
        action: shell
        run: [echo, \"{{ item }}\"]
      - id: second
        action: generate
        depends_on: [first]
        prompt: \"{{ first.output }}\"
        model: <AUTO>a fast model</AUTO>
  - id: poll
    until: check.exit_code == 0
    max_iterations: 5
    depends_on: [each]
    steps:
      - id: check
        action: shell
        run: [\"true\"]
";
    let plan = plan(text);
    let Work::ForEach {
        body, max_parallel, ..
    } = &plan.graph.steps[0].work
    else {
        panic!("a for_each step")
    };
    assert_eq!(*max_parallel, Some(2));
    assert_eq!(body.levels, [vec!["first"], vec!["second"]]);
    let Work::Until {
        condition,
        max_iterations,
        body,
    } = &plan.graph.steps[1].work
    else {
        panic!("an until loop")
    };
    assert_eq!(
        (condition.as_str(), *max_iterations),
        ("check.exit_code == 0", 5)
    );
    assert_eq!(body.levels, [vec!["check"]]);
    assert_eq!(plan.auto.len(), 1);
    assert_eq!(
        (
            plan.auto[0].step.as_str(),
            plan.auto[0].param.as_str(),
            plan.auto[0].instruction.as_str()
        ),
        ("second", "model", "a fast model")
    );
}

#[test]
fn an_agent_from_a_file_keeps_its_own_settings_and_auto_values_in_any_parameter_are_listed() {
    let text = "orchestra: 1
id: t
defaults:
  model: cheap
  temperature: 0.2
steps:
  - id: a
    action: generate
    prompt: hi
    agent: reviewer-from-file
  - id: b
    action: pipeline
    path: other.yaml
    inputs: <AUTO>inputs that suit the topic</AUTO>
";
    let dir = tempfile::tempdir().expect("a temporary project");
    std::fs::create_dir_all(dir.path().join("agents")).expect("create the agents folder");
    std::fs::write(
        dir.path().join("agents/reviewer-from-file.yaml"),
        "model: openai:gpt-4.1\n",
    )
    .expect("write the agent");
    std::fs::write(
        dir.path().join("other.yaml"),
        "orchestra: 1\nid: other\nsteps: []\n",
    )
    .expect("write the child");
    let library = orchestra_pipeline::Library::new(dir.path().to_path_buf(), None, None);
    let checked = check(
        Source::new("t.yaml", text),
        &Context {
            catalog: &CATALOG,
            library: Some(&library),
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
        "the test pipeline must be valid: {errors:?}"
    );
    let plan = compile(checked.pipeline.as_ref().expect("loads"), &CATALOG).expect("compiles");
    let Work::Action { params, .. } = &plan.graph.steps[0].work else {
        panic!("an action")
    };
    assert_eq!(
        params.get("model"),
        None,
        "the agent file's model is applied when the step runs"
    );
    assert_eq!(params.get("temperature"), None);
    assert_eq!(plan.auto.len(), 1, "{:?}", plan.auto);
    assert_eq!(
        (plan.auto[0].step.as_str(), plan.auto[0].param.as_str()),
        ("b", "inputs")
    );
}

#[test]
fn the_plan_serializes_for_machines() {
    let plan = plan(&format!("orchestra: 1\nid: t\nsteps:\n{}", shell("a", "")));
    let json = serde_json::to_value(&plan).expect("a plan converts to JSON");
    assert_eq!(json["graph"]["steps"][0]["kind"], "action");
    assert_eq!(json["graph"]["steps"][0]["action"], "shell");
    assert_eq!(json["graph"]["levels"], serde_json::json!([["a"]]));
}
