//! `orchestra compile FILE`

use std::fmt::Write;
use std::path::Path;

use orchestra_engine::{Graph, Plan, PlannedStep, Work};
use orchestra_pipeline::model::EdgeKind;
use serde_json::Value;

use orchestra_api::{AutoAnswer, Project};

use crate::Outcome;
use crate::render;

/// What `compile` was asked to show.
pub struct CompileArgs<'a> {
    pub file: &'a Path,
    pub json: bool,
    pub show_prompts: bool,
    pub pin: bool,
}

pub fn run(args: &CompileArgs<'_>, global_dir: Option<&Path>) -> Outcome {
    let CompileArgs {
        file,
        json,
        show_prompts,
        pin,
    } = *args;
    let checked = match super::check(file, global_dir) {
        Ok(checked) => checked,
        Err(unusable) => return unusable,
    };
    let report = &checked.report;
    let Some(pipeline) = checked.valid() else {
        for diagnostic in &report.diagnostics {
            anstream::println!("{}\n", render::diagnostic(&report.source, diagnostic));
        }
        anstream::println!("`{}` has errors, so it cannot be compiled", file.display());
        return Outcome::Problems;
    };
    let plan = match orchestra_engine::compile(pipeline, &orchestra_engine::CATALOG) {
        Ok(plan) => plan,
        Err(error) => {
            anstream::println!("error: {error}");
            return Outcome::Problems;
        }
    };
    if show_prompts {
        return prompts(file, json, global_dir);
    }
    let answers = if plan.auto.is_empty() {
        Ok(Vec::new())
    } else {
        choose_auto(file, pin, global_dir)
    };
    if json {
        let mut value = serde_json::to_value(&plan).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "auto_answers".to_owned(),
                match &answers {
                    Ok(answers) => serde_json::to_value(answers).unwrap_or_default(),
                    Err(reason) => serde_json::json!({ "error": reason }),
                },
            );
        }
        return super::print_json(&value);
    }
    for diagnostic in &report.diagnostics {
        anstream::println!("{}\n", render::diagnostic(&report.source, diagnostic));
    }
    anstream::print!("{}", describe(&plan, &answers));
    if pin && answers.is_err() {
        return Outcome::Problems;
    }
    Outcome::Clean
}

/// The answers to the pipeline's `<AUTO>` values that a run would start with (asking the
/// orchestrator model for those not known yet), pinned when `pin` says so; or why they could
/// not be chosen.
fn choose_auto(
    file: &Path,
    pin: bool,
    global_dir: Option<&Path>,
) -> Result<Vec<AutoAnswer>, String> {
    let project = Project::discover(file, global_dir.map(Path::to_path_buf))
        .map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime
        .block_on(async {
            if pin {
                let (path, answers) = project.pin_auto(file).await?;
                anstream::eprintln!("pinned in {}", path.display());
                Ok(answers)
            } else {
                project.choose_auto(file).await
            }
        })
        .map_err(|error| error.to_string())
}

/// Prints what each LLM step will send: its model, its system prompt and its prompt.
fn prompts(file: &Path, json: bool, global_dir: Option<&Path>) -> Outcome {
    let prompts = match Project::discover(file, global_dir.map(Path::to_path_buf))
        .and_then(|project| project.prompts(file))
    {
        Ok(prompts) => prompts,
        Err(error) => {
            anstream::eprintln!("error: {error}");
            return Outcome::Unusable;
        }
    };
    if json {
        let entries: Vec<Value> = prompts
            .iter()
            .map(|entry| match &entry.prepared {
                Ok(prepared) => serde_json::json!({
                    "step": entry.step, "action": entry.action, "model": prepared.model,
                    "chosen_by": prepared.chosen_by, "system": prepared.system, "prompt": entry.prompt,
                }),
                Err(error) => serde_json::json!({
                    "step": entry.step, "action": entry.action, "error": error, "prompt": entry.prompt,
                }),
            })
            .collect();
        return super::print_json(&entries);
    }
    if prompts.is_empty() {
        anstream::println!("`{}` has no LLM steps", file.display());
        return Outcome::Clean;
    }
    let mut failed = false;
    for entry in &prompts {
        let mut out = String::new();
        let _ = writeln!(out, "── {} ({})", entry.step, entry.action);
        match &entry.prepared {
            Ok(prepared) => {
                let how = prepared
                    .chosen_by
                    .as_ref()
                    .map(|how| format!(" ({how})"))
                    .unwrap_or_default();
                let _ = writeln!(out, "model: {}{how}", prepared.model);
                let system = if prepared.system.is_empty() {
                    "(none)"
                } else {
                    &prepared.system
                };
                let _ = writeln!(out, "system:\n{}", indent(system));
            }
            Err(error) => {
                failed = true;
                let _ = writeln!(out, "error: {error}");
            }
        }
        let _ = writeln!(out, "prompt:\n{}", indent(entry.prompt.trim_end()));
        anstream::println!("{}", crate::progress::sanitize_lines(&out));
    }
    if failed {
        Outcome::Problems
    } else {
        Outcome::Clean
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("  {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan as text for people.
fn describe(plan: &Plan, answers: &Result<Vec<AutoAnswer>, String>) -> String {
    let mut out = String::new();
    let title = plan.name.as_ref().map_or_else(
        || plan.pipeline.clone(),
        |name| format!("{} ({})", plan.pipeline, one_line(name)),
    );
    let _ = writeln!(out, "plan for {title}");
    let steps = count_steps(&plan.graph);
    let _ = writeln!(
        out,
        "{steps} step{} in {} level{}; {}",
        if steps == 1 { "" } else { "s" },
        plan.graph.levels.len(),
        if plan.graph.levels.len() == 1 {
            ""
        } else {
            "s"
        },
        plan.concurrency.map_or_else(
            || "no concurrency limit".to_owned(),
            |n| format!("at most {n} at once")
        ),
    );
    if !plan.inputs.is_empty() {
        let _ = writeln!(out, "\ninputs");
        for (name, input) in &plan.inputs {
            let default = input.default.as_ref().map_or_else(
                || "required".to_owned(),
                |value| format!("default {}", short(value)),
            );
            let _ = writeln!(out, "  {name}: {} ({default})", input.kind.as_str());
        }
    }
    graph(&mut out, &plan.graph, 0);
    if !plan.outputs.is_empty() {
        let _ = writeln!(out, "\noutputs");
        for (name, template) in &plan.outputs {
            let _ = writeln!(out, "  {name}: {}", one_line(template));
        }
    }
    if !plan.auto.is_empty() {
        let _ = writeln!(
            out,
            "\n<AUTO> values, chosen by the orchestrator model (a run uses these; `--pin` fixes them)"
        );
        for auto in &plan.auto {
            let _ = writeln!(
                out,
                "  {}.{}: {}",
                auto.step,
                auto.param,
                one_line(&auto.instruction)
            );
            let answer = answers
                .as_ref()
                .map(|answers| answers.iter().find(|answer| answer.answers(auto)));
            let _ = match answer {
                Ok(Some(answer)) => writeln!(
                    out,
                    "    = {} ({})",
                    one_line(&answer.value.to_string()),
                    one_line(&answer.source)
                ),
                Ok(None) | Err(_) => writeln!(out, "    not chosen yet"),
            };
        }
        if let Err(reason) = answers {
            let _ = writeln!(out, "  {}", one_line(reason));
        }
    }
    out
}

fn count_steps(graph: &Graph) -> usize {
    graph
        .steps
        .iter()
        .map(|step| match &step.work {
            Work::Action { .. } => 1,
            Work::ForEach { body, .. } | Work::While { body, .. } | Work::Until { body, .. } => {
                1 + count_steps(body)
            }
        })
        .sum()
}

fn graph(out: &mut String, graph: &Graph, depth: usize) {
    let pad = "  ".repeat(depth);
    let width = graph
        .steps
        .iter()
        .map(|step| step.id.len())
        .max()
        .unwrap_or(0);
    for (level, ids) in graph.levels.iter().enumerate() {
        let _ = writeln!(out, "\n{pad}level {level}");
        for id in ids {
            let Some(step) = graph.steps.iter().find(|step| &step.id == id) else {
                continue;
            };
            let _ = writeln!(out, "{pad}  {:width$}  {}", step.id, summary(step));
            let settings = settings(step);
            if !settings.is_empty() {
                let _ = writeln!(out, "{pad}  {:width$}  {}", "", settings.join(" · "));
            }
            match &step.work {
                Work::ForEach { body, .. }
                | Work::While { body, .. }
                | Work::Until { body, .. } => {
                    self::graph(out, body, depth + 2);
                }
                Work::Action { .. } => {}
            }
        }
    }
    if !graph.edges.is_empty() {
        let _ = writeln!(out, "\n{pad}edges");
        for edge in &graph.edges {
            let arrow = if edge.back { "⟲" } else { "→" };
            let what = match edge.kind {
                EdgeKind::Data => "data".to_owned(),
                EdgeKind::Success => "on success".to_owned(),
                EdgeKind::Failure => "on failure".to_owned(),
                EdgeKind::False => "when the condition is false".to_owned(),
                EdgeKind::Route => {
                    let bound = edge
                        .max_loops
                        .map(|n| format!(", at most {n} time{}", if n == 1 { "" } else { "s" }))
                        .unwrap_or_default();
                    format!(
                        "route when {}{bound}",
                        one_line(edge.when.as_deref().unwrap_or("?"))
                    )
                }
            };
            let _ = writeln!(out, "{pad}  {} {arrow} {}  ({what})", edge.from, edge.to);
        }
    }
}

/// What a step does, in one line.
fn summary(step: &PlannedStep) -> String {
    match &step.work {
        Work::Action { action, params } => {
            let main = ["run", "prompt", "url", "path", "template", "message"]
                .iter()
                .find_map(|key| {
                    params
                        .get(*key)
                        .map(|value| format!("{key}: {}", short(value)))
                });
            match main {
                Some(main) => format!("{action:10}  {main}"),
                None => action.clone(),
            }
        }
        Work::ForEach {
            items,
            max_parallel,
            ..
        } => {
            let parallel = max_parallel
                .map(|n| format!(", {n} at a time"))
                .unwrap_or_default();
            format!("for each item of {}{parallel}", short(items))
        }
        Work::While {
            condition,
            max_iterations,
            ..
        } => format!(
            "while {} (at most {max_iterations} passes)",
            one_line(condition)
        ),
        Work::Until {
            condition,
            max_iterations,
            ..
        } => format!(
            "until {} (at most {max_iterations} passes)",
            one_line(condition)
        ),
    }
}

/// The settings that differ from the plain defaults, such as `timeout 10m`.
fn settings(step: &PlannedStep) -> Vec<String> {
    let mut settings = Vec::new();
    if let Work::Action { params, .. } = &step.work {
        for key in ["agent", "model", "personality"] {
            if let Some(value) = params.get(key) {
                settings.push(format!("{key} {}", short(value)));
            }
        }
    }
    if let Some(condition) = &step.condition {
        settings.push(format!("if {}", one_line(condition)));
    }
    if let Some(timeout) = &step.timeout {
        settings.push(format!("timeout {timeout}"));
    }
    if step.retry.attempts > 1 {
        settings.push(format!("{} attempts", step.retry.attempts));
    }
    if step.on_failure.as_str() != "fail" {
        settings.push(format!("on failure {}", step.on_failure.as_str()));
    }
    if step.cache {
        settings.push("cached".to_owned());
    }
    if !step.qc.is_empty() {
        settings.push(format!(
            "{} qc check{}",
            step.qc.len(),
            if step.qc.len() == 1 { "" } else { "s" }
        ));
    }
    if step.disabled {
        settings.push("disabled".to_owned());
    }
    settings
}

/// A value in at most one short line.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(short).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    };
    one_line(&text)
}

/// The first line of a text, shortened, with control characters escaped so that a value cannot
/// send commands to the terminal.
fn one_line(text: &str) -> String {
    const MAX: usize = 60;
    let first = text.lines().next().unwrap_or_default();
    let mut out: String = first
        .chars()
        .take(MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if first.chars().count() > MAX {
        out.push('…');
    } else if text.lines().nth(1).is_some() {
        out.push_str(" …");
    }
    out
}
