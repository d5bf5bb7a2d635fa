//! Reading steps: their kind, parameters and control keys.

use indexmap::IndexMap;
use serde_json::Value;

use super::reader::{Fields, Reader, named};
use crate::action::{ActionSpec, Catalog, ParamKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Backoff, CONTROL_KEYS, Control, FOR_EACH_KEYS, IDENTITY_KEYS, Join, LOOP_KEYS, LoopCondition,
    OnFailure, QcCheck, RESERVED_NAMES, Retry, Route, Step, StepBody, is_step_id,
};
use crate::suggest::{help_for, quote_list};
use crate::yaml::{Node, NodeValue, push_pointer};

const ROUTE_KEYS: &[&str] = &["when", "goto", "max_loops"];
const RETRY_KEYS: &[&str] = &["attempts", "backoff", "delay", "max_delay", "jitter"];

pub(super) fn read_steps(
    reader: &mut Reader<'_>,
    node: &Node,
    pointer: &str,
    catalog: &Catalog,
) -> Vec<Step> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            reader.wrong_type(node, pointer, "`steps`", "a list of steps");
        }
        return Vec::new();
    };
    let mut steps = Vec::with_capacity(items.len());
    for (at, item) in items.iter().enumerate() {
        let item_pointer = push_pointer(pointer, &at.to_string());
        steps.extend(read_step(reader, item, &item_pointer, at, catalog));
    }
    steps
}

fn read_step(
    reader: &mut Reader<'_>,
    node: &Node,
    pointer: &str,
    at: usize,
    catalog: &Catalog,
) -> Option<Step> {
    let outer_step = reader.step.clone();
    let what = format!("step {}", at + 1);
    let fields = reader.fields(node, pointer, &what, false)?;
    // Diagnostics name the step by what its `id` says, even when that is not a valid id.
    reader.step = fields
        .get("id")
        .and_then(|id| id.scalar_text(reader.source))
        .map(std::borrow::Cow::into_owned);
    let id = read_id(reader, &fields, &what);
    let step = read_step_fields(reader, &fields, id.as_deref().unwrap_or(&what), catalog);
    reader.step = outer_step;
    // A step without an id is read (so that every problem in it is reported) but left out: no
    // other step could name it.
    Some(Step { id: id?, ..step })
}

fn read_id(reader: &mut Reader<'_>, fields: &Fields<'_>, what: &str) -> Option<String> {
    let Some(node) = fields.get("id") else {
        reader.missing(
            fields,
            "id",
            what,
            Some("give the step an id such as `id: summarize`".to_owned()),
        );
        return None;
    };
    let pointer = fields.child("id");
    let id = reader.text(node, &pointer, "`id`")?;
    if RESERVED_NAMES.contains(&id.as_str()) {
        reader.report(
            Diagnostic::error(
                Code::BadId,
                pointer,
                format!("`{id}` is reserved and cannot be a step id"),
            )
            .at(node.span)
            .with_help(format!(
                "these names are reserved: {}",
                quote_list(RESERVED_NAMES)
            )),
        );
    } else if !is_step_id(&id) {
        reader.report(
            Diagnostic::error(
                Code::BadId,
                pointer,
                format!("`{id}` is not a valid step id"),
            )
            .at(node.span)
            .with_help(
                "step ids use letters, digits, `-` and `_`, start with a letter or `_`, and have at \
                 most 64 characters",
            ),
        );
    }
    Some(id)
}

/// Reads everything of a step but its id; `label` names it in messages. A part that cannot be
/// read is reported and replaced by a placeholder (an empty action, a loop bound of 0), so that
/// the step keeps its place and the rest of it is still checked; a pipeline with such an error
/// never runs.
fn read_step_fields(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    label: &str,
    catalog: &Catalog,
) -> Step {
    let what = format!("step `{label}`");
    let is_for_each = fields.has("for_each");
    let is_loop = fields.has("while") || fields.has("until");
    let body = if is_for_each {
        let mut known = [IDENTITY_KEYS, CONTROL_KEYS, FOR_EACH_KEYS].concat();
        if is_loop && let Some(node) = fields.get("for_each") {
            reader.error(
                Code::BadValue,
                node,
                &fields.child("for_each"),
                "a step cannot be both a `for_each` and a `while`/`until` loop; nest one inside the other",
            );
            known.extend(LOOP_KEYS);
        }
        reader_unknown_step_keys(reader, fields, &known, &what);
        read_for_each(reader, fields, catalog)
    } else if is_loop {
        let known = [IDENTITY_KEYS, CONTROL_KEYS, LOOP_KEYS].concat();
        reader_unknown_step_keys(reader, fields, &known, &what);
        read_loop(reader, fields, &what, catalog)
    } else {
        read_action(reader, fields, &what, catalog)
    };
    Step {
        id: String::new(),
        name: reader.opt_text(fields, "name"),
        description: reader.opt_text(fields, "description"),
        body,
        control: read_control(reader, fields),
    }
}

/// Reports unknown keys of a step, explaining keys that belong to another kind of step.
fn reader_unknown_step_keys(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    known: &[&str],
    what: &str,
) {
    reader.unknown_keys_explained(fields, known, what, |name| {
        if FOR_EACH_KEYS.contains(&name) || LOOP_KEYS.contains(&name) {
            Some(format!(
                "`{name}` belongs to `for_each`, `while` and `until` steps"
            ))
        } else if name == "action" {
            Some(
                "a `for_each`, `while` or `until` step runs the `steps` in its body, not an action"
                    .to_owned(),
            )
        } else {
            None
        }
    });
}

fn read_action(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    what: &str,
    catalog: &Catalog,
) -> StepBody {
    let names: Vec<&str> = catalog.action_names().collect();
    let action = if let Some(node) = fields.get("action") {
        reader.text(node, &fields.child("action"), "`action`")
    } else {
        reader.missing(
            fields,
            "action",
            what,
            Some(format!(
                "actions: {}; or make it a `for_each`, `while` or `until` step",
                quote_list(&names)
            )),
        );
        None
    };
    let spec = action.as_deref().and_then(|action| catalog.action(action));
    let Some(spec) = spec else {
        if let (Some(action), Some(node)) = (&action, fields.get("action")) {
            let help = help_for(action, names.iter().copied(), "the actions are");
            reader.report(
                Diagnostic::error(
                    Code::UnknownAction,
                    fields.child("action"),
                    format!("unknown action `{action}`"),
                )
                .at(node.span)
                .with_optional_help(help),
            );
        }
        // Without a known action, any key that no action takes is reported (it is most likely a
        // misspelt step key), and the rest is kept so that nothing the step says is lost.
        let any_param: Vec<&str> = catalog
            .actions
            .iter()
            .flat_map(|spec| spec.params.iter().map(|param| param.name))
            .collect();
        let known = [IDENTITY_KEYS, &["action"], CONTROL_KEYS, &any_param].concat();
        reader_unknown_step_keys(reader, fields, &known, what);
        let mut params = IndexMap::new();
        for (name, _, value) in &fields.entries {
            if !is_step_key(name) && any_param.contains(&name.as_ref()) {
                let value = reader.json(value, &fields.child(name));
                params.insert(name.to_string(), value);
            }
        }
        return StepBody::Action {
            action: action.unwrap_or_default(),
            params,
        };
    };
    let param_names: Vec<&str> = spec.params.iter().map(|param| param.name).collect();
    let known = [IDENTITY_KEYS, &["action"], CONTROL_KEYS, &param_names].concat();
    reader_unknown_step_keys(reader, fields, &known, what);

    let mut params = IndexMap::new();
    for param in spec.params {
        match fields.get(param.name) {
            Some(node) => {
                let pointer = fields.child(param.name);
                if let Some(value) = read_param(reader, node, &pointer, param.name, param.kind) {
                    params.insert(param.name.to_owned(), value);
                }
            }
            None if param.required => reader.missing(
                fields,
                param.name,
                &format!("a `{}` step", spec.name),
                Some(format!("`{}`: {}", param.name, param.summary)),
            ),
            None => {}
        }
    }
    check_action(reader, fields, spec, &params);
    StepBody::Action {
        action: spec.name.to_owned(),
        params,
    }
}

fn is_step_key(name: &str) -> bool {
    IDENTITY_KEYS.contains(&name) || name == "action" || CONTROL_KEYS.contains(&name)
}

/// Runs the action's own check of its parameters together.
fn check_action(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    spec: &ActionSpec,
    params: &IndexMap<String, Value>,
) {
    for problem in (spec.check)(params) {
        let pointer = fields.child(problem.param);
        let span = fields
            .get(problem.param)
            .map_or(fields.span, |node| node.span);
        reader.report(
            Diagnostic::error(Code::BadValue, pointer, problem.message)
                .at(span)
                .with_optional_help(problem.help),
        );
    }
}

/// Reads one parameter by its declared kind. Any parameter may hold `<AUTO>…</AUTO>`.
fn read_param(
    reader: &mut Reader<'_>,
    node: &Node,
    pointer: &str,
    name: &str,
    kind: ParamKind,
) -> Option<Value> {
    if Reader::is_auto(node) {
        return Some(reader.json(node, pointer));
    }
    let what = named(name);
    let text = |reader: &mut Reader<'_>| reader.text(node, pointer, &what).map(Value::String);
    match kind {
        ParamKind::Text
        | ParamKind::Path
        | ParamKind::Model
        | ParamKind::Agent
        | ParamKind::Personality
        | ParamKind::PromptLayer => text(reader),
        ParamKind::Command => match &node.value {
            NodeValue::Seq(items) if items.is_empty() => {
                reader.error(
                    Code::BadValue,
                    node,
                    pointer,
                    format!("{what} names no program"),
                );
                None
            }
            NodeValue::Seq(_) => Some(Value::from(reader.text_list(node, pointer, &what))),
            _ => text(reader),
        },
        ParamKind::Bool => reader.boolean(node, pointer, &what).map(Value::Bool),
        ParamKind::Integer { min, max } => {
            let number = match &node.value {
                NodeValue::Number(number) => number.as_i64(),
                _ => None,
            };
            match number {
                Some(n) if (min..=max).contains(&n) => Some(Value::from(n)),
                Some(n) => {
                    reader.error(
                        Code::BadValue,
                        node,
                        pointer,
                        format!("{what} is {n}, but it must be from {min} to {max}"),
                    );
                    None
                }
                None => {
                    reader.wrong_type(node, pointer, &what, "a whole number");
                    None
                }
            }
        }
        ParamKind::Number { min, max } => reader
            .number(node, pointer, &what, (min, max))
            .map(Value::from),
        ParamKind::Choice { choices } => {
            let table: Vec<(&str, &str)> =
                choices.iter().map(|choice| (*choice, *choice)).collect();
            reader.choice(node, pointer, &what, &table).map(Value::from)
        }
        ParamKind::TextMap => reader.text_map(node, pointer, &what).map(Value::Object),
        ParamKind::TextList | ParamKind::Tools => {
            Some(Value::from(reader.text_list(node, pointer, &what)))
        }
        ParamKind::Json => Some(reader.json(node, pointer)),
        ParamKind::JsonSchema => {
            if node.as_map().is_none() {
                reader.wrong_type(
                    node,
                    pointer,
                    &what,
                    "a JSON Schema (a map such as `{ type: object }`)",
                );
                return None;
            }
            Some(reader.json(node, pointer))
        }
        ParamKind::StatusCodes => read_status_codes(reader, node, pointer, &what),
        ParamKind::Duration => reader
            .duration(node, pointer, &what)
            .map(|d| Value::from(d.text())),
    }
}

fn read_status_codes(
    reader: &mut Reader<'_>,
    node: &Node,
    pointer: &str,
    what: &str,
) -> Option<Value> {
    let one = |reader: &mut Reader<'_>, node: &Node, pointer: &str| {
        let code = match &node.value {
            NodeValue::Number(number) => number.as_u64(),
            _ => None,
        };
        if let Some(code @ 100..=599) = code {
            Some(Value::from(code))
        } else {
            reader.wrong_type(node, pointer, what, "an HTTP status code from 100 to 599");
            None
        }
    };
    match node.as_seq() {
        Some(items) => Some(Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(at, item)| one(reader, item, &push_pointer(pointer, &at.to_string())))
                .collect(),
        )),
        None => one(reader, node, pointer),
    }
}

fn read_for_each(reader: &mut Reader<'_>, fields: &Fields<'_>, catalog: &Catalog) -> StepBody {
    let items = fields.get("for_each").map_or(Value::Null, |node| {
        let pointer = fields.child("for_each");
        match &node.value {
            NodeValue::Seq(_) => reader.json(node, &pointer),
            _ => match reader.text(node, &pointer, "`for_each`") {
                Some(text) if is_single_expression(&text) => Value::String(text),
                Some(text) => {
                    reader.report(
                        Diagnostic::error(
                            Code::BadValue,
                            pointer,
                            format!("`for_each` cannot go over the text `{text}`"),
                        )
                        .at(node.span)
                        .with_help(
                            "write a list, such as `[a, b]`, or one expression that gives a list, \
                             such as `\"{{ inputs.paths }}\"`",
                        ),
                    );
                    Value::Null
                }
                None => Value::Null,
            },
        }
    });
    StepBody::ForEach {
        items,
        max_parallel: reader.opt_count(fields, "max_parallel", 1),
        steps: read_body(reader, fields, "a `for_each` step", catalog),
    }
}

/// Whether a template is one `{{ expression }}` and nothing else, as `for_each` needs.
fn is_single_expression(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .is_some_and(|inner| {
            !inner.contains("{{") && !inner.contains("}}") && !inner.trim().is_empty()
        })
}

fn read_loop(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    what: &str,
    catalog: &Catalog,
) -> StepBody {
    let read = |reader: &mut Reader<'_>, key: &str| {
        fields
            .get(key)
            .and_then(|node| reader.text(node, &fields.child(key), &named(key)))
            .unwrap_or_default()
    };
    let condition = match (fields.get("while"), fields.get("until")) {
        (Some(_), Some(node)) => {
            reader.error(
                Code::BadValue,
                node,
                &fields.child("until"),
                format!("{what} has both `while` and `until`; a loop has one condition"),
            );
            LoopCondition::While(read(reader, "while"))
        }
        (None, Some(_)) => LoopCondition::Until(read(reader, "until")),
        _ => LoopCondition::While(read(reader, "while")),
    };
    let max_iterations = if fields.has("max_iterations") {
        reader.opt_count(fields, "max_iterations", 1)
    } else {
        reader.missing(
            fields,
            "max_iterations",
            what,
            Some(
                "bound the loop, such as `max_iterations: 10`, so that it cannot run forever"
                    .to_owned(),
            ),
        );
        None
    };
    let steps = read_body(reader, fields, "a loop", catalog);
    StepBody::Loop {
        condition,
        max_iterations: max_iterations.unwrap_or(0),
        steps,
    }
}

fn read_body(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    what: &str,
    catalog: &Catalog,
) -> Vec<Step> {
    if let Some(node) = fields.get("steps") {
        read_steps(reader, node, &fields.child("steps"), catalog)
    } else {
        reader.missing(
            fields,
            "steps",
            what,
            Some("add the `steps` of its body".to_owned()),
        );
        Vec::new()
    }
}

fn read_control(reader: &mut Reader<'_>, fields: &Fields<'_>) -> Control {
    Control {
        depends_on: reader.opt_text_list(fields, "depends_on"),
        join: reader.opt_choice(fields, "join", Join::ALL),
        condition: reader.opt_text(fields, "condition"),
        on_false: reader.opt_text(fields, "on_false"),
        on_success: reader.opt_text(fields, "on_success"),
        on_failure: reader
            .opt_text(fields, "on_failure")
            .map(|text| OnFailure::from_text(&text)),
        routes: fields
            .get("routes")
            .map(|node| read_routes(reader, node, &fields.child("routes")))
            .unwrap_or_default(),
        timeout: reader.opt_duration(fields, "timeout"),
        retry: fields
            .get("retry")
            .and_then(|node| read_retry(reader, node, &fields.child("retry"))),
        cache: reader.opt_boolean(fields, "cache"),
        produces: reader.opt_text_list(fields, "produces"),
        qc: fields
            .get("qc")
            .map(|node| read_qc(reader, node, &fields.child("qc")))
            .unwrap_or_default(),
        disabled: reader.opt_boolean(fields, "disabled").unwrap_or(false),
    }
}

fn read_routes(reader: &mut Reader<'_>, node: &Node, pointer: &str) -> Vec<Route> {
    let Some(items) = node.as_seq() else {
        reader.wrong_type(
            node,
            pointer,
            "`routes`",
            "a list of `{ when, goto }` routes",
        );
        return Vec::new();
    };
    let mut routes = Vec::new();
    for (at, item) in items.iter().enumerate() {
        let item_pointer = push_pointer(pointer, &at.to_string());
        let what = format!("route {}", at + 1);
        let Some(fields) = reader.fields(item, &item_pointer, &what, false) else {
            continue;
        };
        reader.unknown_keys(&fields, ROUTE_KEYS, &what);
        let required = |reader: &mut Reader<'_>, key: &str, help: &str| {
            if fields.has(key) {
                reader.opt_text(&fields, key)
            } else {
                reader.missing(&fields, key, &what, Some(help.to_owned()));
                None
            }
        };
        let when = required(
            reader,
            "when",
            "add the condition, such as `when: review.output.verdict == 'revise'`",
        );
        let goto = required(reader, "goto", "add the id of the step to go to");
        let max_loops = reader.opt_count(&fields, "max_loops", 1);
        if let (Some(when), Some(goto)) = (when, goto) {
            routes.push(Route {
                when,
                goto,
                max_loops,
            });
        }
    }
    routes
}

pub(super) fn read_retry(reader: &mut Reader<'_>, node: &Node, pointer: &str) -> Option<Retry> {
    if let NodeValue::Number(number) = &node.value {
        reader.report(
            Diagnostic::error(
                Code::WrongType,
                pointer,
                "`retry` should be a map of retry settings, found a number",
            )
            .at(node.span)
            .with_help(format!("write `retry: {{ attempts: {number} }}`")),
        );
        return None;
    }
    let fields = reader.fields(node, pointer, "`retry`", false)?;
    reader.unknown_keys(&fields, RETRY_KEYS, "`retry`");
    let attempts = if fields.has("attempts") {
        reader.opt_count(&fields, "attempts", 1)
    } else {
        reader.missing(
            &fields,
            "attempts",
            "`retry`",
            Some("such as `attempts: 3`".to_owned()),
        );
        None
    };
    Some(Retry {
        attempts: attempts?,
        backoff: reader.opt_choice(&fields, "backoff", Backoff::ALL),
        delay: reader.opt_duration(&fields, "delay"),
        max_delay: reader.opt_duration(&fields, "max_delay"),
        jitter: reader.opt_boolean(&fields, "jitter"),
    })
}

fn read_qc(reader: &mut Reader<'_>, node: &Node, pointer: &str) -> Vec<QcCheck> {
    let Some(items) = node.as_seq() else {
        reader.wrong_type(node, pointer, "`qc`", "a list of checks");
        return Vec::new();
    };
    let all: Vec<&str> = QcCheck::WORDS
        .iter()
        .chain(QcCheck::KEYS)
        .copied()
        .collect();
    let mut checks = Vec::new();
    for (at, item) in items.iter().enumerate() {
        let item_pointer = push_pointer(pointer, &at.to_string());
        let (name, value, name_node) = match &item.value {
            NodeValue::String(word) => (word.clone(), None, item),
            NodeValue::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                if let Some(name) = key.as_str() {
                    (name.to_owned(), Some(value), key)
                } else {
                    reader.wrong_type(key, &item_pointer, "the name of a check", "text");
                    continue;
                }
            }
            _ => {
                reader.wrong_type(
                    item,
                    &item_pointer,
                    &format!("check {}", at + 1),
                    "a check such as `not_empty` or `contains: \"## Summary\"`",
                );
                continue;
            }
        };
        let value_pointer = push_pointer(&item_pointer, &name);
        let check = match (name.as_str(), value) {
            ("not_empty", None) => Some(QcCheck::NotEmpty),
            ("no_template_artifacts", None) => Some(QcCheck::NoTemplateArtifacts),
            ("contains", Some(v)) => reader
                .text(v, &value_pointer, "`contains`")
                .map(QcCheck::Contains),
            ("regex", Some(v)) => reader
                .text(v, &value_pointer, "`regex`")
                .map(QcCheck::Regex),
            ("json_schema", Some(v)) if v.as_map().is_some() => {
                Some(QcCheck::JsonSchema(reader.json(v, &value_pointer)))
            }
            ("json_schema", Some(v)) => {
                reader.wrong_type(v, &value_pointer, "`json_schema`", "a JSON Schema (a map)");
                None
            }
            ("max_length", Some(v)) => reader
                .count(v, &value_pointer, "`max_length`", 1)
                .map(|n| QcCheck::MaxLength(u64::from(n))),
            ("file_exists", Some(v)) => reader
                .text(v, &value_pointer, "`file_exists`")
                .map(QcCheck::FileExists),
            ("command", Some(v)) if v.as_seq().is_some_and(|argv| !argv.is_empty()) => Some(
                QcCheck::Command(reader.text_list(v, &value_pointer, "`command`")),
            ),
            ("command", Some(v)) => {
                reader.wrong_type(
                    v,
                    &value_pointer,
                    "`command`",
                    "a program and its arguments, such as `[make, check]`",
                );
                None
            }
            ("judge", Some(v)) => reader
                .text(v, &value_pointer, "`judge`")
                .map(QcCheck::Judge),
            (word, None) if QcCheck::KEYS.contains(&word) => {
                reader.error(
                    Code::WrongType,
                    item,
                    &item_pointer,
                    format!("the check `{word}` needs a value, such as `{word}: …`"),
                );
                None
            }
            (word, Some(_)) if QcCheck::WORDS.contains(&word) => {
                reader.error(
                    Code::WrongType,
                    item,
                    &item_pointer,
                    format!("the check `{word}` takes no value; write it as a bare word"),
                );
                None
            }
            (word, _) => {
                let help = help_for(word, all.iter().copied(), "the checks are");
                reader.report(
                    Diagnostic::error(
                        Code::BadValue,
                        item_pointer.clone(),
                        format!("unknown check `{word}`"),
                    )
                    .at(name_node.span)
                    .with_optional_help(help),
                );
                None
            }
        };
        checks.extend(check);
    }
    checks
}
