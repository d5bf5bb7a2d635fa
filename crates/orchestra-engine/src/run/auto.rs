//! `<AUTO>` values. When a run starts, the orchestrator model chooses each value a pipeline
//! leaves to it (unless the run is given an answer: a pin, or an earlier run's choice); the
//! answers are recorded with the run, so that a resumed run uses the same ones, and they replace
//! their tags in the plan before any step runs.

use std::fmt::Write as _;
use std::path::Path;

use indexmap::IndexMap;
use orchestra_pipeline::model::auto_instruction;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamSpec};
use serde_json::{Value, json};

use crate::models::{Candidate, ModelClient, ModelSettings, ask_json, fits};
use crate::plan::{AutoAnswer, AutoValue, Graph, Plan, Work};
use crate::result::Usage;

/// Who the orchestrator is when it chooses values.
const SYSTEM: &str = "You choose settings for the steps of AI pipelines: the value that best follows the pipeline author's instruction. You answer only with the JSON asked for.";

/// The most tokens the orchestrator may spend on one answer.
const MAX_ANSWER_TOKENS: u32 = 2_000;

/// Answers every `<AUTO>` value of `plan`: with the answer in `given` to the same instruction
/// where there is one, else by asking the orchestrator model. Fails with a sentence naming the
/// value that could not be chosen.
pub async fn choose(
    models: &dyn ModelClient,
    plan: &Plan,
    pipeline_file: &Path,
    given: &[AutoAnswer],
    usage: &mut Usage,
) -> Result<Vec<AutoAnswer>, String> {
    let settings = ModelSettings::orchestrator(&plan.models, pipeline_file, SYSTEM);
    let mut answers = Vec::with_capacity(plan.auto.len());
    for auto in &plan.auto {
        let cannot = |reason: String| {
            format!(
                "the <AUTO> value of `{}.{}` could not be chosen: {reason}; write the value in the pipeline, or pin one (`orchestra compile --pin`)",
                auto.step, auto.param
            )
        };
        if let Some(answer) = given.iter().find(|answer| answer.answers(auto)) {
            // A pinned, kept or reused answer is checked like a chosen one: it must fit.
            let kind = param_kind(plan, auto).map_err(cannot)?;
            fits(&answer.value, &kind_schema(kind)).map_err(|problem| {
                cannot(format!(
                    "{} ({}) does not fit the parameter: {problem}",
                    answer.value, answer.source
                ))
            })?;
            answers.push(answer.clone());
            continue;
        }
        let (prompt, schema) = question(models, plan, auto).map_err(cannot)?;
        let (reply, model) = ask_json(
            models,
            &settings,
            &prompt,
            &schema,
            MAX_ANSWER_TOKENS,
            usage,
        )
        .await
        .map_err(cannot)?;
        let reason = reply["reason"].as_str().unwrap_or_default().trim();
        answers.push(AutoAnswer {
            step: auto.step.clone(),
            param: auto.param.clone(),
            instruction: auto.instruction.clone(),
            value: reply["value"].clone(),
            source: if reason.is_empty() {
                format!("chosen by the orchestrator model `{model}`")
            } else {
                format!("chosen by the orchestrator model `{model}`: {reason}")
            },
        });
    }
    Ok(answers)
}

/// Puts each answer in the plan in place of its tag.
pub fn apply(plan: &mut Plan, answers: &[AutoAnswer]) {
    for answer in answers {
        if let Some(params) = params_mut(&mut plan.graph, &answer.step)
            && let Some(value) = params.get_mut(&answer.param)
            && value
                .as_str()
                .and_then(auto_instruction)
                .is_some_and(|instruction| instruction == answer.instruction)
        {
            value.clone_from(&answer.value);
        }
    }
}

/// What the orchestrator is asked about one value, and the schema its answer must fit.
fn question(
    models: &dyn ModelClient,
    plan: &Plan,
    auto: &AutoValue,
) -> Result<(String, Value), String> {
    let (action, params, spec, param) = parameter(plan, auto)?;
    let mut prompt = format!(
        "You are the orchestrator of the pipeline `{}`{}. Its author left the value of one parameter of one of its steps for you to choose.\n\nStep: `{}`, action `{action}` ({})\nParameter: `{}`: {}\nThe author's instruction: {}\n",
        plan.pipeline,
        plan.name
            .as_ref()
            .map(|name| format!(" ({name})"))
            .unwrap_or_default(),
        auto.step,
        spec.summary,
        auto.param,
        param.summary,
        auto.instruction,
    );
    let others: IndexMap<&String, &Value> = params
        .iter()
        .filter(|(name, value)| {
            **name != auto.param && value.as_str().and_then(auto_instruction).is_none()
        })
        .collect();
    if !others.is_empty() {
        let mut settings = serde_json::to_string_pretty(&others).unwrap_or_default();
        crate::cut_to(&mut settings, 4_000);
        let _ = write!(prompt, "The step's other settings:\n{settings}\n");
    }
    let mut value_schema = kind_schema(param.kind);
    if matches!(param.kind, ParamKind::Model) {
        let candidates = models.candidates();
        if candidates.is_empty() {
            return Err("no model provider is set up, so there is no model to choose from (`orchestra auth status`)".to_owned());
        }
        prompt.push_str("\nThe models you may choose from (prices in US dollars per million tokens, prompt / reply; tier 1 to 5, 5 the strongest):\n");
        for Candidate { model, summary } in &candidates {
            let _ = writeln!(prompt, "- {model}: {summary}");
        }
        value_schema = json!({
            "enum": candidates.iter().map(|candidate| candidate.model.clone()).collect::<Vec<_>>()
        });
    }
    prompt.push_str("\nAnswer with a JSON object: \"value\", the value itself, and \"reason\", one sentence on why it fits the instruction.");
    let schema = json!({
        "type": "object",
        "required": ["value", "reason"],
        "properties": { "value": value_schema, "reason": { "type": "string" } },
        "additionalProperties": false
    });
    Ok((prompt, schema))
}

/// Where an `<AUTO>` value is: the action's name, the step's parameters, the action's spec and
/// the parameter's.
type Place<'p> = (
    &'p str,
    &'p IndexMap<String, Value>,
    &'static ActionSpec,
    &'static ParamSpec,
);

/// The step and parameter an `<AUTO>` value belongs to.
fn parameter<'p>(plan: &'p Plan, auto: &AutoValue) -> Result<Place<'p>, String> {
    let (action, params) = params_of(&plan.graph, &auto.step)
        .ok_or_else(|| format!("the pipeline has no action step `{}`", auto.step))?;
    let spec = &crate::actions::action(action)
        .ok_or_else(|| format!("the action `{action}` does not exist"))?
        .spec;
    let param = spec
        .param(&auto.param)
        .ok_or_else(|| format!("`{action}` takes no `{}`", auto.param))?;
    Ok((action, params, spec, param))
}

/// The kind of the parameter an `<AUTO>` value belongs to.
fn param_kind(plan: &Plan, auto: &AutoValue) -> Result<ParamKind, String> {
    parameter(plan, auto).map(|(_, _, _, param)| param.kind)
}

/// The JSON Schema of a value of this kind.
fn kind_schema(kind: ParamKind) -> Value {
    match kind.json_schema() {
        // A reference into the pipeline's schema means nothing alone: a duration is text.
        schema if schema.get("$ref").is_some() => json!({ "type": "string" }),
        schema => schema,
    }
}

/// The action and parameters of the step with this id, wherever it is in the plan.
fn params_of<'g>(graph: &'g Graph, id: &str) -> Option<(&'g str, &'g IndexMap<String, Value>)> {
    graph.steps.iter().find_map(|step| match &step.work {
        Work::Action { action, params } if step.id == id => Some((action.as_str(), params)),
        Work::Action { .. } => None,
        Work::ForEach { body, .. } | Work::While { body, .. } | Work::Until { body, .. } => {
            params_of(body, id)
        }
    })
}

/// The parameters of the step with this id, to change.
fn params_mut<'g>(graph: &'g mut Graph, id: &str) -> Option<&'g mut IndexMap<String, Value>> {
    graph
        .steps
        .iter_mut()
        .find_map(|step| match &mut step.work {
            Work::Action { params, .. } if step.id == id => Some(params),
            Work::Action { .. } => None,
            Work::ForEach { body, .. } | Work::While { body, .. } | Work::Until { body, .. } => {
                params_mut(body, id)
            }
        })
}
