//! The JSON Schema of the pipeline format, for editors and for the studio's forms.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::action::Catalog;
use crate::model::{Duration, Join, OnFailure, Pipeline, QcCheck, Retry, Route};

/// The JSON Schema (draft 2020-12) of a pipeline file whose action steps use `catalog`.
pub fn json_schema(catalog: &Catalog) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let root = generator.root_schema_for::<Pipeline>();
    // Generate the control keys' types so that the step schema can refer to them.
    generator.subschema_for::<Duration>();
    generator.subschema_for::<Join>();
    generator.subschema_for::<OnFailure>();
    generator.subschema_for::<Retry>();
    generator.subschema_for::<Route>();
    generator.subschema_for::<QcCheck>();
    let mut root = root.to_value();
    let mut definitions = generator.take_definitions(true);
    definitions.insert("Step".to_owned(), step_schema(catalog));
    if let Some(object) = root.as_object_mut() {
        object.insert(
            "$id".to_owned(),
            json!("https://orchestra.dev/schema/pipeline-v1.json"),
        );
        let mut all: Map<String, Value> = object
            .remove("$defs")
            .and_then(|d| d.as_object().cloned())
            .unwrap_or_default();
        all.extend(definitions);
        all.sort_keys();
        object.insert("$defs".to_owned(), Value::Object(all));
    }
    drop_null_types(&mut root);
    root
}

/// An optional key is left out of a pipeline, never written as `null` (loading refuses a key
/// with no value), so the `null` that schemars allows for every `Option` is taken back out.
fn drop_null_types(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|kind| kind != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    object.insert("type".to_owned(), only);
                }
            }
            // `anyOf: [{ $ref: X }, { type: null }]` becomes the `$ref` itself.
            if let Some(Value::Array(choices)) = object.get_mut("anyOf") {
                choices.retain(|choice| choice.get("type").is_none_or(|kind| kind != "null"));
                if choices.len() == 1
                    && let Value::Object(only) = choices.remove(0)
                {
                    object.remove("anyOf");
                    for (key, value) in only {
                        object.entry(key).or_insert(value);
                    }
                }
            }
            object.values_mut().for_each(drop_null_types);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_types),
        _ => {}
    }
}

/// The properties every step has, whatever it does.
fn common_properties() -> Map<String, Value> {
    let reference = |name: &str| json!({ "$ref": format!("#/$defs/{name}") });
    let text = |description: &str| json!({ "type": "string", "description": description });
    let list = |description: &str| {
        json!({
            "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }],
            "description": description
        })
    };
    let mut properties = Map::new();
    properties.insert("id".into(), json!({
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$",
        "description": "The step's id, unique in the pipeline; later steps read its results as `{{ id.output }}`."
    }));
    properties.insert("name".into(), text("A name for people."));
    properties.insert("description".into(), text("What the step is for."));
    properties.insert(
        "depends_on".into(),
        list("Steps that must finish first; their results flow into this one."),
    );
    properties.insert("join".into(), reference("Join"));
    properties.insert(
        "condition".into(),
        text("An expression; when false the step is skipped (or `on_false` runs instead)."),
    );
    properties.insert(
        "on_false".into(),
        text("The step to go to when `condition` is false."),
    );
    properties.insert(
        "on_success".into(),
        text("The step to go to when this one succeeds."),
    );
    properties.insert("on_failure".into(), reference("OnFailure"));
    properties.insert("routes".into(), json!({
        "type": "array",
        "items": { "$ref": "#/$defs/Route" },
        "description": "Conditional jumps, checked when the step has finished and the run goes on past it; the first whose `when` holds is taken."
    }));
    properties.insert("timeout".into(), reference("Duration"));
    properties.insert("retry".into(), reference("Retry"));
    properties.insert("cache".into(), json!({ "type": "boolean", "description": "Reuse an earlier result whose rendered inputs are the same." }));
    properties.insert(
        "produces".into(),
        list("Files the step produces (templates), recorded as artifacts of the run."),
    );
    properties.insert("qc".into(), json!({
        "type": "array",
        "items": { "$ref": "#/$defs/QcCheck" },
        "description": "Checks on the step's output, reported in the run's quality-control report."
    }));
    properties.insert(
        "disabled".into(),
        json!({ "type": "boolean", "description": "A disabled step does not run." }),
    );
    properties
}

/// A step: one branch per action, and one each for `for_each`, `while` and `until` bodies.
fn step_schema(catalog: &Catalog) -> Value {
    let common = common_properties();
    let mut branches = Vec::new();
    for spec in catalog.actions {
        let mut properties = common.clone();
        properties.insert(
            "action".into(),
            json!({ "const": spec.name, "description": spec.summary }),
        );
        let mut required = vec![json!("id"), json!("action")];
        for param in spec.params {
            let mut schema = param.kind.json_schema();
            if let Some(object) = schema.as_object_mut() {
                object.insert("description".into(), json!(param.summary));
            }
            let schema = json!({ "anyOf": [schema, { "type": "string", "pattern": "^\\s*<AUTO>[\\s\\S]*</AUTO>\\s*$" }] });
            properties.insert(param.name.into(), schema);
            if param.required {
                required.push(json!(param.name));
            }
        }
        branches.push(json!({
            "title": spec.name,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false
        }));
    }
    let body = json!({ "type": "array", "items": { "$ref": "#/$defs/Step" }, "description": "The steps of the body." });
    let mut for_each = common.clone();
    for_each.insert("for_each".into(), json!({
        "description": "A literal list, or a template whose one expression gives the list; the body runs once per item, which it reads as `item` (and its position as `index`).",
        "type": ["string", "array"]
    }));
    for_each.insert("max_parallel".into(), json!({ "type": "integer", "minimum": 1, "description": "How many items run at the same time." }));
    for_each.insert("steps".into(), body.clone());
    branches.push(json!({
        "title": "for_each",
        "type": "object",
        "properties": for_each,
        "required": ["id", "for_each", "steps"],
        "additionalProperties": false
    }));
    for (key, description) in [
        (
            "while",
            "An expression checked before each pass; the body runs while it is true. Inside, `iteration` counts passes.",
        ),
        (
            "until",
            "An expression checked after each pass; the body runs until it is true. Inside, `iteration` counts passes.",
        ),
    ] {
        let mut properties = common.clone();
        properties.insert(
            key.into(),
            json!({ "type": "string", "description": description }),
        );
        properties.insert("max_iterations".into(), json!({ "type": "integer", "minimum": 1, "description": "The bound on passes; past it the step fails." }));
        properties.insert("steps".into(), body.clone());
        branches.push(json!({
            "title": key,
            "type": "object",
            "properties": properties,
            "required": ["id", key, "max_iterations", "steps"],
            "additionalProperties": false
        }));
    }
    json!({
        "description": "One node of the pipeline graph: an action, or a body of steps run for each item or in a loop.",
        "oneOf": branches
    })
}
