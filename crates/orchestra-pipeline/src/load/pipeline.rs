//! Reading the top-level sections of a pipeline.

use std::path::Path;

use indexmap::IndexMap;

use super::reader::{Fields, Reader, named};
use super::step;
use crate::action::Catalog;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Agent, Command, Defaults, FORMAT_VERSION, Input, InputType, Layout, Limits, Models, NodeLayout,
    Note, OnConflict, OnFailure, PIPELINE_KEYS, Pipeline, Selection, Tool, Workspace,
    is_identifier, is_name, is_pipeline_id,
};
use crate::yaml::{Node, push_pointer};

/// The top-level keys, in the order they are written.
const INPUT_KEYS: &[&str] = &["type", "default", "description", "choices"];
const DEFAULTS_KEYS: &[&str] = &[
    "timeout",
    "retry",
    "on_failure",
    "cache",
    "model",
    "personality",
    "temperature",
];
const MODELS_KEYS: &[&str] = &["orchestrator", "aliases", "selection"];
const AGENT_KEYS: &[&str] = &[
    "description",
    "role",
    "persona",
    "personality",
    "model",
    "temperature",
    "tools",
    "max_turns",
];
const WORKSPACE_KEYS: &[&str] = &["root", "repo", "on_conflict", "tools"];
const TOOL_KEYS: &[&str] = &["description", "command", "shell", "timeout"];
const LIMITS_KEYS: &[&str] = &["concurrency", "max_failures"];
const LAYOUT_KEYS: &[&str] = &["nodes", "notes"];
const NODE_LAYOUT_KEYS: &[&str] = &["x", "y", "color", "collapsed"];
const NOTE_KEYS: &[&str] = &["x", "y", "text", "color", "width", "height"];

/// The sampling temperatures models accept.
pub(crate) const TEMPERATURE: (f64, f64) = (0.0, 2.0);

pub(super) fn read(reader: &mut Reader<'_>, tree: &Node, catalog: &Catalog) -> Option<Pipeline> {
    let fields = reader.fields(tree, "", "a pipeline file", false)?;
    reader.unknown_keys(&fields, PIPELINE_KEYS, "a pipeline");

    let id = if let Some(node) = fields.get("id") {
        reader.text(node, "/id", "`id`").inspect(|id| {
        if !is_pipeline_id(id) {
            reader.report(
                Diagnostic::error(Code::BadId, "/id", format!("`{id}` is not a valid pipeline id"))
                    .at(node.span)
                    .with_help(
                        "pipeline ids use lowercase letters, digits, `-` and `_`, such as `pr-review`",
                    ),
            );
        }
    })
    } else {
        let stem = Path::new(reader.source.name()).file_stem().map_or_else(
            || "my-pipeline".to_owned(),
            |stem| stem.to_string_lossy().to_lowercase(),
        );
        reader.missing(
            &fields,
            "id",
            "a pipeline",
            Some(format!("add `id: {stem}`")),
        );
        None
    };
    let steps = if let Some(node) = fields.get("steps") {
        step::read_steps(reader, node, "/steps", catalog)
    } else {
        reader.missing(
            &fields,
            "steps",
            "a pipeline",
            Some("add a list of `steps`".to_owned()),
        );
        Vec::new()
    };
    Some(Pipeline {
        version: FORMAT_VERSION,
        id: id.unwrap_or_default(),
        name: reader.opt_text(&fields, "name"),
        description: reader.opt_text(&fields, "description"),
        inputs: read_section(reader, &fields, "inputs", read_input),
        defaults: fields
            .get("defaults")
            .map(|node| read_defaults(reader, node))
            .unwrap_or_default(),
        models: fields
            .get("models")
            .map(|node| read_models(reader, node))
            .unwrap_or_default(),
        agents: read_section(reader, &fields, "agents", read_agent),
        workspace: fields
            .get("workspace")
            .map(|node| read_workspace(reader, node))
            .unwrap_or_default(),
        limits: fields
            .get("limits")
            .map(|node| read_limits(reader, node))
            .unwrap_or_default(),
        steps,
        outputs: read_section(reader, &fields, "outputs", |reader, node, pointer, name| {
            reader.text(node, pointer, &format!("output `{name}`"))
        }),
        layout: fields
            .get("layout")
            .map(|node| read_layout(reader, node))
            .unwrap_or_default(),
    })
}

/// Reads a map section whose keys are names the user chooses (inputs, agents, outputs).
fn read_section<T>(
    reader: &mut Reader<'_>,
    fields: &Fields<'_>,
    key: &str,
    read_entry: impl Fn(&mut Reader<'_>, &Node, &str, &str) -> Option<T>,
) -> IndexMap<String, T> {
    let mut section = IndexMap::new();
    let Some(node) = fields.get(key) else {
        return section;
    };
    let Some(entries) = reader.fields(node, &fields.child(key), &named(key), true) else {
        return section;
    };
    for (name, key_node, value) in &entries.entries {
        let pointer = entries.child(name);
        let valid = if key == "agents" {
            is_name(name)
        } else {
            is_identifier(name)
        };
        if !valid {
            let rule = if key == "agents" {
                "agent names use letters, digits, `-`, `_` and `.`"
            } else {
                "these names use letters, digits and `_`, and do not start with a digit, so that \
                 templates can read them"
            };
            reader.report(
                Diagnostic::error(
                    Code::BadId,
                    pointer.clone(),
                    format!("`{name}` is not a valid name in `{key}`"),
                )
                .at(key_node.span)
                .with_help(rule),
            );
        }
        if let Some(entry) = read_entry(reader, value, &pointer, name) {
            section.insert(name.to_string(), entry);
        }
    }
    section
}

fn read_input(reader: &mut Reader<'_>, node: &Node, pointer: &str, name: &str) -> Option<Input> {
    let what = format!("input `{name}`");
    let fields = reader.fields(node, pointer, &what, false)?;
    reader.unknown_keys(&fields, INPUT_KEYS, &what);
    let kind = reader
        .opt_choice(&fields, "type", InputType::ALL)
        .unwrap_or_default();
    let check_type = |reader: &mut Reader<'_>,
                      value: &serde_json::Value,
                      at: &Node,
                      pointer: &str,
                      role: &str| {
        if !kind.accepts(value) {
            reader.error(
                Code::BadValue,
                at,
                pointer,
                format!(
                    "{role} of input `{name}` is {}, but its type is `{}`",
                    at.value.kind(),
                    kind.as_str()
                ),
            );
        }
    };
    let default = fields.get("default").map(|at| {
        let pointer = fields.child("default");
        let value = reader.json(at, &pointer);
        check_type(reader, &value, at, &pointer, "the default");
        value
    });
    let mut choices = Vec::new();
    if let Some(list) = fields.get("choices") {
        let pointer = fields.child("choices");
        match list.as_seq() {
            Some(items) => {
                for (at, item) in items.iter().enumerate() {
                    let item_pointer = push_pointer(&pointer, &at.to_string());
                    let value = reader.json(item, &item_pointer);
                    check_type(reader, &value, item, &item_pointer, "a choice");
                    choices.push(value);
                }
            }
            None => reader.wrong_type(list, &pointer, "`choices`", "a list of values"),
        }
    }
    if let (Some(value), Some(at)) = (&default, fields.get("default"))
        && !choices.is_empty()
        && !choices.contains(value)
    {
        reader.error(
            Code::BadValue,
            at,
            &fields.child("default"),
            format!("the default of input `{name}` is not one of its `choices`"),
        );
    }
    Some(Input {
        kind,
        default,
        description: reader.opt_text(&fields, "description"),
        choices,
    })
}

fn read_defaults(reader: &mut Reader<'_>, node: &Node) -> Defaults {
    let Some(fields) = reader.fields(node, "/defaults", "`defaults`", true) else {
        return Defaults::default();
    };
    reader.unknown_keys(&fields, DEFAULTS_KEYS, "`defaults`");
    Defaults {
        timeout: reader.opt_duration(&fields, "timeout"),
        retry: fields
            .get("retry")
            .and_then(|node| step::read_retry(reader, node, &fields.child("retry"))),
        on_failure: reader
            .opt_text(&fields, "on_failure")
            .map(|text| OnFailure::from_text(&text)),
        cache: reader.opt_boolean(&fields, "cache"),
        model: reader.opt_text(&fields, "model"),
        personality: reader.opt_text(&fields, "personality"),
        temperature: fields.get("temperature").and_then(|node| {
            reader.number(
                node,
                &fields.child("temperature"),
                "`temperature`",
                TEMPERATURE,
            )
        }),
    }
}

fn read_models(reader: &mut Reader<'_>, node: &Node) -> Models {
    let Some(fields) = reader.fields(node, "/models", "`models`", true) else {
        return Models::default();
    };
    reader.unknown_keys(&fields, MODELS_KEYS, "`models`");
    let aliases = fields
        .get("aliases")
        .and_then(|node| reader.text_map(node, &fields.child("aliases"), "`aliases`"))
        .map(|map| {
            map.into_iter()
                .filter_map(|(name, value)| value.as_str().map(|model| (name, model.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Models {
        orchestrator: reader.opt_text(&fields, "orchestrator"),
        aliases,
        selection: reader.opt_choice(&fields, "selection", Selection::ALL),
    }
}

fn read_agent(reader: &mut Reader<'_>, node: &Node, pointer: &str, name: &str) -> Option<Agent> {
    let what = format!("agent `{name}`");
    let fields = reader.fields(node, pointer, &what, true)?;
    reader.unknown_keys(&fields, AGENT_KEYS, &what);
    Some(Agent {
        description: reader.opt_text(&fields, "description"),
        role: reader.opt_text(&fields, "role"),
        persona: reader.opt_text(&fields, "persona"),
        personality: reader.opt_text(&fields, "personality"),
        model: reader.opt_text(&fields, "model"),
        temperature: fields.get("temperature").and_then(|node| {
            reader.number(
                node,
                &fields.child("temperature"),
                "`temperature`",
                TEMPERATURE,
            )
        }),
        tools: reader.opt_text_list(&fields, "tools"),
        max_turns: reader.opt_count(&fields, "max_turns", 1),
    })
}

fn read_workspace(reader: &mut Reader<'_>, node: &Node) -> Workspace {
    let Some(fields) = reader.fields(node, "/workspace", "`workspace`", true) else {
        return Workspace::default();
    };
    reader.unknown_keys(&fields, WORKSPACE_KEYS, "`workspace`");
    let mut tools = IndexMap::new();
    if let Some(node) = fields.get("tools")
        && let Some(entries) = reader.fields(node, "/workspace/tools", "`tools`", true)
    {
        for (name, key, value) in &entries.entries {
            let pointer = entries.child(name);
            if !is_name(name) {
                reader.error(
                    Code::BadId,
                    key,
                    &pointer,
                    format!("`{name}` is not a valid tool name"),
                );
            }
            if let Some(tool) = read_tool(reader, value, &pointer, name) {
                tools.insert(name.to_string(), tool);
            }
        }
    }
    Workspace {
        root: reader.opt_text(&fields, "root"),
        repo: reader.opt_text(&fields, "repo"),
        on_conflict: reader.opt_choice(&fields, "on_conflict", OnConflict::ALL),
        tools,
    }
}

fn read_tool(reader: &mut Reader<'_>, node: &Node, pointer: &str, name: &str) -> Option<Tool> {
    let what = format!("tool `{name}`");
    let fields = reader.fields(node, pointer, &what, false)?;
    reader.unknown_keys(&fields, TOOL_KEYS, &what);
    let shell = reader.opt_boolean(&fields, "shell").unwrap_or(false);
    let command = match fields.get("command") {
        None => {
            reader.missing(
                &fields,
                "command",
                &what,
                Some("add `command: [program, argument]`".to_owned()),
            );
            None
        }
        Some(node) if node.as_seq().is_some() => Some(Command::Argv(reader.text_list(
            node,
            &fields.child("command"),
            "`command`",
        ))),
        Some(node) => {
            let line = reader.text(node, &fields.child("command"), "`command`")?;
            if !shell {
                reader.error(
                    Code::BadValue,
                    node,
                    &fields.child("command"),
                    "a command written as one line runs only with `shell: true`",
                );
            }
            Some(Command::Line(line))
        }
    };
    Some(Tool {
        description: reader.opt_text(&fields, "description"),
        command: command?,
        shell,
        timeout: reader.opt_duration(&fields, "timeout"),
    })
}

fn read_limits(reader: &mut Reader<'_>, node: &Node) -> Limits {
    let Some(fields) = reader.fields(node, "/limits", "`limits`", true) else {
        return Limits::default();
    };
    reader.unknown_keys(&fields, LIMITS_KEYS, "`limits`");
    Limits {
        concurrency: reader.opt_count(&fields, "concurrency", 1),
        max_failures: reader.opt_count(&fields, "max_failures", 1),
    }
}

fn read_layout(reader: &mut Reader<'_>, node: &Node) -> Layout {
    let Some(fields) = reader.fields(node, "/layout", "`layout`", true) else {
        return Layout::default();
    };
    for (name, key, _) in &fields.entries {
        if !LAYOUT_KEYS.contains(&name.as_ref()) {
            // The first draft of the format put node positions directly under `layout:`.
            reader.report(
                Diagnostic::error(
                    Code::UnknownKey,
                    fields.child(name),
                    format!("unknown key `{name}` in `layout`"),
                )
                .at(key.span)
                .with_help("node positions go under `layout.nodes`, notes under `layout.notes`"),
            );
        }
    }
    let mut layout = Layout::default();
    if let Some(node) = fields.get("nodes")
        && let Some(entries) = reader.fields(node, "/layout/nodes", "`nodes`", true)
    {
        for (name, _, value) in &entries.entries {
            let pointer = entries.child(name);
            let what = format!("the layout of `{name}`");
            let Some(node_fields) = reader.fields(value, &pointer, &what, false) else {
                continue;
            };
            reader.unknown_keys(&node_fields, NODE_LAYOUT_KEYS, &what);
            let (x, y) = read_position(reader, &node_fields, &what);
            layout.nodes.insert(
                name.to_string(),
                NodeLayout {
                    x,
                    y,
                    color: reader.opt_text(&node_fields, "color"),
                    collapsed: reader
                        .opt_boolean(&node_fields, "collapsed")
                        .unwrap_or(false),
                },
            );
        }
    }
    if let Some(node) = fields.get("notes") {
        match node.as_seq() {
            Some(items) => {
                for (at, item) in items.iter().enumerate() {
                    let pointer = push_pointer("/layout/notes", &at.to_string());
                    let what = format!("note {}", at + 1);
                    let Some(note_fields) = reader.fields(item, &pointer, &what, false) else {
                        continue;
                    };
                    reader.unknown_keys(&note_fields, NOTE_KEYS, &what);
                    let (x, y) = read_position(reader, &note_fields, &what);
                    let size = |reader: &mut Reader<'_>, key: &str| {
                        note_fields.get(key).and_then(|node| {
                            reader.number(
                                node,
                                &note_fields.child(key),
                                &named(key),
                                (0.0, f64::MAX),
                            )
                        })
                    };
                    let width = size(reader, "width");
                    let height = size(reader, "height");
                    let text = if note_fields.get("text").is_some() {
                        reader.opt_text(&note_fields, "text").unwrap_or_default()
                    } else {
                        reader.missing(&note_fields, "text", &what, None);
                        String::new()
                    };
                    layout.notes.push(Note {
                        x,
                        y,
                        text,
                        color: reader.opt_text(&note_fields, "color"),
                        width,
                        height,
                    });
                }
            }
            None => reader.wrong_type(node, "/layout/notes", "`notes`", "a list of notes"),
        }
    }
    layout
}

fn read_position(reader: &mut Reader<'_>, fields: &Fields<'_>, what: &str) -> (f64, f64) {
    let mut coordinate = |key: &str| {
        if let Some(node) = fields.get(key) {
            reader
                .number(node, &fields.child(key), &named(key), (f64::MIN, f64::MAX))
                .unwrap_or(0.0)
        } else {
            reader.missing(fields, key, what, None);
            0.0
        }
    };
    let x = coordinate("x");
    let y = coordinate("y");
    (x, y)
}
