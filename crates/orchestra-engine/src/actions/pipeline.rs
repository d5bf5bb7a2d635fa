//! `pipeline`: runs another pipeline as one step.
//!
//! ## What it does
//! Runs the pipeline file at `path` (relative to this pipeline's folder) with the given inputs,
//! as a child run; the step's `output` is the child run's outputs.

use indexmap::IndexMap;
use orchestra_pipeline::{ActionSpec, ParamKind, ParamProblem, ParamSpec};
use serde_json::Value;

use futures::future::BoxFuture;
use serde_json::Map;

use super::{Action, ActionOutput, Call, Done, Failure};

/// The `pipeline` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::Always,
};

/// What `pipeline` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "pipeline",
    summary: "Runs another pipeline file as one step.",
    example: "id: brief\naction: pipeline\npath: research-brief.yaml\ninputs: { topics: [\"{{ inputs.topic }}\"] }\n",
    params: &[
        ParamSpec {
            name: "path",
            kind: ParamKind::Path,
            required: true,
            summary: "The pipeline file, relative to this pipeline's folder.",
        },
        ParamSpec {
            name: "inputs",
            kind: ParamKind::Json,
            required: false,
            summary: "The child run's inputs by name; strings in it are templates.",
        },
    ],
    check,
};

fn check(params: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    match params.get("inputs") {
        Some(inputs)
            if !inputs.is_object()
                && !inputs.as_str().is_some_and(|text| {
                    orchestra_pipeline::model::auto_instruction(text).is_some()
                }) =>
        {
            vec![ParamProblem {
                param: "inputs",
                message: "`inputs` should be a map of input names to values".to_owned(),
                help: Some("such as `inputs: { topic: \"{{ inputs.topic }}\" }`".to_owned()),
            }]
        }
        _ => Vec::new(),
    }
}

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(async move {
        let path = call.required("path")?;
        let inputs: Map<String, Value> = match call.params.get("inputs") {
            Some(Value::Object(inputs)) => inputs.clone(),
            _ => Map::new(),
        };
        // The child run stops with the step: when the run stops, and when the step's `timeout`
        // runs out (the child is then cancelled and given the time to stop its steps).
        let stop = call.env.cancel().child_token();
        let child = call.env.run_child(call.step, path, inputs, stop.clone());
        tokio::pin!(child);
        let deadline = async {
            match call.timeout {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let outputs = tokio::select! {
            outputs = &mut child => outputs?,
            () = deadline => {
                stop.cancel();
                let _ = child.await;
                return Err(call.timed_out());
            }
        };
        Ok(Done::Output(ActionOutput {
            output: outputs,
            ..ActionOutput::default()
        }))
    })
}
