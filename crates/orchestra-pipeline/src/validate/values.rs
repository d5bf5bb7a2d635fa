//! Values that must make sense on their own: JSON Schemas, regular expressions, paths that stay
//! in the workspace, and settings that would have no effect.

use std::path::{Component, Path};

use serde_json::Value;

use super::{At, Validator};
use crate::action::ParamKind;
use crate::diagnostic::Code;
use crate::model::{OnFailure, QcCheck, StepBody};
use crate::suggest::help_for;
use crate::yaml::push_pointer;

/// The types a JSON Schema may name.
const JSON_TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];

impl Validator<'_> {
    pub(super) fn values(&mut self) {
        let index = self.index;
        if let Some(OnFailure::Goto(target)) = &self.pipeline.defaults.on_failure {
            self.error(
                Code::BadValue,
                &At::Value("/defaults/on_failure"),
                None,
                format!("`defaults.on_failure` cannot send every step to `{target}`"),
                Some("use `fail`, `continue` or `skip` here, and name a step in the steps that need it".to_owned()),
            );
        }
        for entry in &index.entries {
            let step = entry.step;
            let id = Some(step.id.as_str());
            let at = |field: &str| format!("{}/{field}", entry.pointer);
            if let StepBody::Action { action, params } = &step.body
                && let Some(spec) = self.context.catalog.action(action)
            {
                for param in spec.params {
                    let Some(value) = params.get(param.name) else {
                        continue;
                    };
                    match param.kind {
                        ParamKind::JsonSchema => self.json_schema(value, &at(param.name), id),
                        ParamKind::Path => {
                            if let Some(path) = value.as_str() {
                                self.workspace_path(path, &at(param.name), id);
                            }
                        }
                        _ => {}
                    }
                }
            }
            let control = &step.control;
            // An approval's `on_false` is where a rejection goes, so it needs no condition.
            if control.on_false.is_some()
                && control.condition.is_none()
                && step.action() != Some("approval")
            {
                self.warning(
                    Code::BadValue,
                    &At::Key(&at("on_false")),
                    id,
                    "`on_false` has no effect without a `condition` (or on an `approval`, where a rejection takes it)".to_owned(),
                    None,
                );
            }
            if control.join.is_some() && control.depends_on.len() < 2 {
                self.warning(
                    Code::BadValue,
                    &At::Key(&at("join")),
                    id,
                    "`join` has no effect with fewer than two dependencies".to_owned(),
                    None,
                );
            }
            for (n, path) in control.produces.iter().enumerate() {
                self.workspace_path(path, &at(&format!("produces/{n}")), id);
            }
            for (n, check) in control.qc.iter().enumerate() {
                match check {
                    QcCheck::JsonSchema(schema) => {
                        self.json_schema(schema, &at(&format!("qc/{n}/json_schema")), id);
                    }
                    QcCheck::Regex(pattern) => {
                        if let Err(error) = regex::Regex::new(pattern) {
                            let message = regex_message(&error);
                            self.error(
                                Code::BadRegex,
                                &At::Value(&at(&format!("qc/{n}/regex"))),
                                id,
                                message,
                                None,
                            );
                        }
                    }
                    QcCheck::Command(argv) => {
                        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                        if let Some(script) = crate::command::templated_script(&argv) {
                            let pointer = at(&format!("qc/{n}/command/{script}"));
                            self.error(
                                Code::BadValue,
                                &At::Value(&pointer),
                                id,
                                format!("`{}` runs this argument as code, and a template in it could run as a command", argv[0]),
                                Some("check a file the step wrote instead, or use a script that reads its input from a file".to_owned()),
                            );
                        }
                    }
                    QcCheck::FileExists(path) => {
                        self.workspace_path(path, &at(&format!("qc/{n}/file_exists")), id);
                    }
                    _ => {}
                }
            }
        }
        self.workspace();
        let layout = &self.pipeline.layout;
        for id in layout.nodes.keys() {
            if index.get(id).is_none() {
                let pointer = push_pointer("/layout/nodes", id);
                self.warning(
                    Code::StaleLayout,
                    &At::Key(&pointer),
                    None,
                    format!("the layout places `{id}`, but no step has that id"),
                    Some("remove the entry, or rename it to the step's new id".to_owned()),
                );
            }
        }
    }

    /// The workspace's folders are relative, so that the pipeline works on any machine, and its
    /// tools' commands are fixed: an agent calls a tool, it does not write its command.
    fn workspace(&mut self) {
        let workspace = &self.pipeline.workspace;
        for (key, folder) in [("root", &workspace.root), ("repo", &workspace.repo)] {
            if let Some(folder) = folder
                && (Path::new(folder).has_root()
                    || folder.starts_with(['/', '\\', '~'])
                    || has_drive(folder))
            {
                self.warning(
                    Code::BadValue,
                    &At::Value(&format!("/workspace/{key}")),
                    None,
                    format!("`workspace.{key}` is an absolute path, so the pipeline works only on this machine"),
                    Some("write the folder relative to the pipeline file, such as `..`".to_owned()),
                );
            }
        }
        for (name, tool) in &workspace.tools {
            let parts: Vec<&str> = match &tool.command {
                crate::model::Command::Argv(argv) => argv.iter().map(String::as_str).collect(),
                crate::model::Command::Line(line) => vec![line.as_str()],
            };
            if parts.iter().any(|part| crate::command::is_template(part)) {
                let pointer = push_pointer(&push_pointer("/workspace/tools", name), "command");
                self.error(
                    Code::BadValue,
                    &At::Value(&pointer),
                    None,
                    format!("the command of the tool `{name}` holds a template, but tool commands are fixed"),
                    Some("write the command as it is run; the agent that calls the tool cannot change it".to_owned()),
                );
            }
        }
    }

    fn json_schema(&mut self, schema: &Value, pointer: &str, step: Option<&str>) {
        if schema
            .as_str()
            .and_then(crate::model::auto_instruction)
            .is_some()
        {
            return;
        }
        if let Err(error) = jsonschema::meta::validate(schema) {
            // Point at the offending part of the schema, not at its first line.
            let inner = error.instance_path().to_string();
            let at = format!("{pointer}{inner}");
            let bad_type = inner
                .ends_with("/type")
                .then(|| error.instance().as_str().map(str::to_owned))
                .flatten();
            let (message, help) = match bad_type {
                Some(name) => (
                    format!("`{name}` is not a JSON Schema type"),
                    help_for(&name, JSON_TYPES.iter().copied(), "the types are"),
                ),
                None => (
                    format!(
                        "this is not a valid JSON Schema: {}",
                        error.to_string().trim_end_matches('.')
                    ),
                    None,
                ),
            };
            self.error(Code::BadSchema, &At::Value(&at), step, message, help);
            return;
        }
        if let Err(error) = jsonschema::validator_for(schema) {
            self.error(
                Code::BadSchema,
                &At::Value(pointer),
                step,
                format!(
                    "this JSON Schema cannot be used: {}",
                    error.to_string().trim_end_matches('.')
                ),
                None,
            );
        }
    }

    /// A path that file steps use must stay inside the workspace. Only the literal part before
    /// any template can be checked here; the engine checks the rendered path again.
    fn workspace_path(&mut self, path: &str, pointer: &str, step: Option<&str>) {
        if crate::model::auto_instruction(path).is_some() {
            return;
        }
        // Comments render to nothing, so they are dropped; then only the literal text before the
        // first tag (`{{` or `{%`) is known now. Windows separators count too.
        let mut text = path.to_owned();
        while let Some(start) = text.find("{#") {
            let end = text[start..]
                .find("#}")
                .map_or(text.len(), |end| start + end + 2);
            text.replace_range(start..end, "");
        }
        let literal_end = ["{{", "{%"]
            .iter()
            .filter_map(|tag| text.find(tag))
            .min()
            .unwrap_or(text.len());
        let literal = text[..literal_end].replace('\\', "/");
        let literal = literal.as_str();
        let absolute = literal.starts_with(['/', '\\', '~'])
            || Path::new(literal).has_root()
            || has_drive(literal);
        let mut depth: i64 = 0;
        let mut climbs_out = false;
        for component in Path::new(literal).components() {
            match component {
                Component::ParentDir => {
                    depth -= 1;
                    climbs_out |= depth < 0;
                }
                Component::Normal(_) => depth += 1,
                _ => {}
            }
        }
        if absolute || climbs_out {
            let why = if absolute {
                "is absolute"
            } else {
                "climbs out with `..`"
            };
            self.error(
                Code::PathOutsideWorkspace,
                &At::Value(pointer),
                step,
                format!("the path `{path}` {why}; file steps stay inside the workspace"),
                Some("write a path relative to the workspace folder".to_owned()),
            );
        }
    }
}

fn has_drive(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// The regex crate's error is a multi-line drawing; its last line is the sentence.
fn regex_message(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("invalid");
    let reason = reason.trim().trim_start_matches("error: ");
    format!("this is not a valid regular expression: {reason}")
}
