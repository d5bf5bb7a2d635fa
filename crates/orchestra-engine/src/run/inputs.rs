//! A run's inputs: the values given, converted to each input's type, with defaults filled in.

use indexmap::IndexMap;
use orchestra_pipeline::model::{Input, InputType};
use serde_json::{Map, Value};

/// Inputs that do not fit the pipeline, as a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The inputs of a run: each declared input from `given` (text, as a command line gives it, is
/// converted to the input's type) or its default. Unknown inputs, missing required ones, values
/// of the wrong type and values outside `choices` are refused, all at once.
pub fn resolve_inputs(
    declared: &IndexMap<String, Input>,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, InputError> {
    let mut problems = Vec::new();
    for name in given.keys() {
        if !declared.contains_key(name) {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            let hint = orchestra_pipeline::did_you_mean(name, known.iter().copied()).map_or_else(
                || {
                    if known.is_empty() {
                        " (it takes none)".to_owned()
                    } else {
                        format!(" (it takes {})", known.join(", "))
                    }
                },
                |close| format!(" (did you mean `{close}`?)"),
            );
            problems.push(format!("the pipeline has no input `{name}`{hint}"));
        }
    }
    let mut inputs = Map::new();
    for (name, input) in declared {
        let value = match (given.get(name), &input.default) {
            (Some(value), _) => {
                if let Some(value) = convert(value, input.kind) {
                    value
                } else {
                    problems.push(format!(
                        "the input `{name}` should be {}, not {value}",
                        describe(input.kind)
                    ));
                    continue;
                }
            }
            (None, Some(default)) => default.clone(),
            (None, None) => {
                let about = input
                    .description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                problems.push(format!("the input `{name}` is required{about}"));
                continue;
            }
        };
        if !input.choices.is_empty() && !input.choices.contains(&value) {
            let choices: Vec<String> = input.choices.iter().map(Value::to_string).collect();
            problems.push(format!(
                "the input `{name}` must be one of {}, not {value}",
                choices.join(", ")
            ));
            continue;
        }
        inputs.insert(name.clone(), value);
    }
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(InputError(problems.join("; ")))
    }
}

/// A given value as the input's type; text is parsed when the type is not text.
fn convert(value: &Value, kind: InputType) -> Option<Value> {
    if kind.accepts(value) {
        return Some(value.clone());
    }
    let text = value.as_str()?;
    let parsed = match kind {
        InputType::Boolean => match text {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => return None,
        },
        InputType::Integer => Value::from(text.trim().parse::<i64>().ok()?),
        InputType::Number => {
            serde_json::Number::from_f64(text.trim().parse::<f64>().ok()?).map(Value::Number)?
        }
        InputType::List | InputType::Object => serde_json::from_str(text).ok()?,
        InputType::String | InputType::Text | InputType::File => return None,
    };
    kind.accepts(&parsed).then_some(parsed)
}

fn describe(kind: InputType) -> &'static str {
    match kind {
        InputType::String | InputType::Text => "text",
        InputType::File => "a path",
        InputType::Boolean => "`true` or `false`",
        InputType::Integer => "a whole number",
        InputType::Number => "a number",
        InputType::List => "a list (such as `[\"a\", \"b\"]`)",
        InputType::Object => "a map (such as `{\"key\": \"value\"}`)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declared() -> IndexMap<String, Input> {
        let input = |kind, default: Option<Value>, choices: Vec<Value>| Input {
            kind,
            default,
            description: None,
            choices,
        };
        let mut inputs = IndexMap::new();
        inputs.insert(
            "topic".to_owned(),
            input(InputType::String, None, Vec::new()),
        );
        inputs.insert(
            "depth".to_owned(),
            input(InputType::Integer, Some(json!(3)), Vec::new()),
        );
        inputs.insert(
            "strict".to_owned(),
            input(InputType::Boolean, Some(json!(false)), Vec::new()),
        );
        inputs.insert(
            "paths".to_owned(),
            input(InputType::List, Some(json!([])), Vec::new()),
        );
        inputs.insert(
            "tone".to_owned(),
            input(
                InputType::String,
                Some(json!("plain")),
                vec![json!("plain"), json!("formal")],
            ),
        );
        inputs
    }

    fn given(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect()
    }

    #[test]
    fn text_from_a_command_line_becomes_each_inputs_type_and_defaults_fill_the_rest() {
        let inputs = resolve_inputs(
            &declared(),
            &given(&[
                ("topic", "rust"),
                ("depth", "5"),
                ("strict", "true"),
                ("paths", "[\"a\"]"),
            ]),
        )
        .expect("the inputs fit");
        assert_eq!(
            Value::Object(inputs),
            json!({ "topic": "rust", "depth": 5, "strict": true, "paths": ["a"], "tone": "plain" })
        );
    }

    #[test]
    fn every_problem_with_the_inputs_is_reported_at_once() {
        let error = resolve_inputs(
            &declared(),
            &given(&[("depth", "deep"), ("tone", "loud"), ("topc", "x")]),
        )
        .expect_err("they do not fit");
        let message = error.0;
        assert!(
            message.contains("no input `topc` (did you mean `topic`?)"),
            "{message}"
        );
        assert!(message.contains("`topic` is required"), "{message}");
        assert!(
            message.contains("`depth` should be a whole number"),
            "{message}"
        );
        assert!(message.contains("`tone` must be one of"), "{message}");
    }
}
