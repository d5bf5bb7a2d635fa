//! Names that must be found somewhere: agents, personalities and prompt layers, tools, models,
//! and the files of sub-pipelines.

use super::{At, Validator};
use crate::action::ParamKind;
use crate::diagnostic::Code;
use crate::model::{StepBody, auto_instruction};
use crate::suggest::help_for;
use crate::yaml::push_pointer;

/// Aliases every Orchestra installation defines in its settings.
const STANDARD_ALIASES: &[&str] = &["smart", "worker", "cheap"];

/// What a prompt-layer name is, for messages.
#[derive(Clone, Copy)]
enum Layer {
    Personality,
    Role,
    Persona,
}

impl Validator<'_> {
    pub(super) fn lookups(&mut self) {
        let pipeline = self.pipeline;
        if let Some(model) = &pipeline.defaults.model {
            self.model(model, "/defaults/model", None);
        }
        if let Some(personality) = &pipeline.defaults.personality {
            self.layer(
                personality,
                Layer::Personality,
                "/defaults/personality",
                None,
            );
        }
        if let Some(model) = &pipeline.models.orchestrator {
            self.model(model, "/models/orchestrator", None);
        }
        for (alias, model) in &pipeline.models.aliases {
            let pointer = push_pointer("/models/aliases", alias);
            if !is_provider_model(model) {
                self.error(
                    Code::BadModel,
                    &At::Value(&pointer),
                    None,
                    format!(
                        "the alias `{alias}` must name a model as `provider:model`, not `{model}`"
                    ),
                    Some("such as `openai:gpt-4.1` or `ollama:llama3.2`".to_owned()),
                );
            }
        }
        for (name, agent) in &pipeline.agents {
            let pointer = push_pointer("/agents", name);
            for (layer, value, key) in [
                (Layer::Role, &agent.role, "role"),
                (Layer::Persona, &agent.persona, "persona"),
                (Layer::Personality, &agent.personality, "personality"),
            ] {
                if let Some(value) = value {
                    self.layer(value, layer, &push_pointer(&pointer, key), None);
                }
            }
            if let Some(model) = &agent.model {
                self.model(model, &push_pointer(&pointer, "model"), None);
            }
            self.tools(&agent.tools, &push_pointer(&pointer, "tools"), None);
        }
        let index = self.index;
        for entry in &index.entries {
            let StepBody::Action { action, params } = &entry.step.body else {
                continue;
            };
            let Some(spec) = self.context.catalog.action(action) else {
                continue;
            };
            let step = Some(entry.step.id.as_str());
            for param in spec.params {
                let Some(value) = params.get(param.name) else {
                    continue;
                };
                let pointer = format!("{}/{}", entry.pointer, param.name);
                if value.as_str().and_then(auto_instruction).is_some() {
                    continue;
                }
                match (param.kind, value.as_str()) {
                    (ParamKind::Model, Some(model)) => self.model(model, &pointer, step),
                    (ParamKind::Agent, Some(agent)) => self.agent(agent, &pointer, step),
                    (ParamKind::Personality, Some(name)) => {
                        self.layer(name, Layer::Personality, &pointer, step);
                    }
                    (ParamKind::PromptLayer, Some(name)) => {
                        let layer = if param.name == "persona" {
                            Layer::Persona
                        } else {
                            Layer::Role
                        };
                        self.layer(name, layer, &pointer, step);
                    }
                    (ParamKind::Tools, _) => {
                        let names: Vec<String> = value
                            .as_array()
                            .map(|items| {
                                items
                                    .iter()
                                    .filter_map(|item| item.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default();
                        self.tools(&names, &pointer, step);
                    }
                    _ => {}
                }
            }
            if action == "pipeline"
                && let Some(path) = params.get("path").and_then(|value| value.as_str())
            {
                self.sub_pipeline(path, &format!("{}/path", entry.pointer), step);
            }
        }
    }

    fn model(&mut self, model: &str, pointer: &str, step: Option<&str>) {
        if model == "auto" || auto_instruction(model).is_some() || is_provider_model(model) {
            return;
        }
        if model.contains(':') || !crate::model::is_name(model) {
            self.error(
                Code::BadModel,
                &At::Value(pointer),
                step,
                format!("`{model}` is not a model reference"),
                Some("write `provider:model` (such as `openai:gpt-4.1`), an alias, `auto` or `<AUTO>…</AUTO>`".to_owned()),
            );
            return;
        }
        let aliases = &self.pipeline.models.aliases;
        if aliases.contains_key(model) || STANDARD_ALIASES.contains(&model) {
            return;
        }
        let known = aliases
            .keys()
            .map(String::as_str)
            .chain(STANDARD_ALIASES.iter().copied());
        let help = help_for(model, known, "the aliases here are").map(|help| {
            format!("{help} (or define `{model}` in your settings or under `models.aliases`)")
        });
        self.warning(
            Code::UnknownModelAlias,
            &At::Value(pointer),
            step,
            format!("the pipeline does not define the model alias `{model}`; it must come from your settings"),
            help,
        );
    }

    fn agent(&mut self, name: &str, pointer: &str, step: Option<&str>) {
        if self.pipeline.agents.contains_key(name) {
            return;
        }
        let Some(library) = self.context.library else {
            let help = help_for(
                name,
                self.pipeline.agents.keys().map(String::as_str),
                "the agents are",
            );
            self.error(
                Code::UnknownAgent,
                &At::Value(pointer),
                step,
                format!("no agent is called `{name}`"),
                help,
            );
            return;
        };
        if library.find_agent(name).is_some() {
            return;
        }
        let looked_in: Vec<String> = library
            .agent_dirs()
            .iter()
            .map(|dir| dir.display().to_string())
            .collect();
        let help = help_for(
            name,
            self.pipeline.agents.keys().map(String::as_str),
            "the agents are",
        )
        .unwrap_or_else(|| {
            format!(
                "define it under `agents:`, or in `{name}.yaml` in one of: {}",
                looked_in.join(", ")
            )
        });
        self.error(
            Code::UnknownAgent,
            &At::Value(pointer),
            step,
            format!("no agent is called `{name}`: it is not under `agents:` and no agent file has that name"),
            Some(help),
        );
    }

    fn layer(&mut self, name: &str, layer: Layer, pointer: &str, step: Option<&str>) {
        let Some(library) = self.context.library else {
            return;
        };
        if auto_instruction(name).is_some() || library.find_layer(name).is_some() {
            return;
        }
        let (code, what) = match layer {
            Layer::Personality => (Code::UnknownPersonality, "personality"),
            Layer::Role => (Code::UnknownPromptLayer, "role"),
            Layer::Persona => (Code::UnknownPromptLayer, "persona"),
        };
        let dirs: Vec<String> = library
            .layer_dirs()
            .iter()
            .map(|dir| dir.display().to_string())
            .collect();
        let available: Vec<String> = library
            .layer_dirs()
            .iter()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flatten()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let ext = path.extension()?.to_str()?;
                ["md", "yaml", "yml"]
                    .contains(&ext)
                    .then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        let help = help_for(name, available.iter().map(String::as_str), "found")
            .filter(|help| help.starts_with("did you mean"))
            .unwrap_or_else(|| {
                format!(
                    "looked for `{name}.md` or `{name}.yaml` in: {}",
                    dirs.join(", ")
                )
            });
        self.error(
            code,
            &At::Value(pointer),
            step,
            format!("no {what} file is called `{name}`"),
            Some(help),
        );
    }

    fn tools(&mut self, names: &[String], pointer: &str, step: Option<&str>) {
        let builtin = self.context.catalog.builtin_tools;
        let workspace = &self.pipeline.workspace.tools;
        for (at, name) in names.iter().enumerate() {
            if builtin.contains(&name.as_str()) || workspace.contains_key(name) {
                continue;
            }
            let known = builtin
                .iter()
                .copied()
                .chain(workspace.keys().map(String::as_str));
            let help = help_for(name, known, "the tools are");
            let item = push_pointer(pointer, &at.to_string());
            self.error(
                Code::UnknownTool,
                &At::Value(&item),
                step,
                format!(
                    "no tool is called `{name}`: it is neither built in nor under `workspace.tools`"
                ),
                help,
            );
        }
    }

    fn sub_pipeline(&mut self, path: &str, pointer: &str, step: Option<&str>) {
        let Some(library) = self.context.library else {
            return;
        };
        if path.contains("{{") || path.contains("{%") {
            return;
        }
        let file = library.resolve(path);
        if !file.is_file() {
            self.error(
                Code::PipelineNotFound,
                &At::Value(pointer),
                step,
                format!("no pipeline file is at `{path}`"),
                Some(format!(
                    "the path is relative to the pipeline's folder: {}",
                    library.pipeline_dir().display()
                )),
            );
        }
    }
}

/// Whether a model is written `provider:model`, such as `openai:gpt-4.1` or `ollama:llama3.2`.
fn is_provider_model(model: &str) -> bool {
    model.split_once(':').is_some_and(|(provider, name)| {
        !provider.is_empty()
            && provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !name.is_empty()
            && !name.contains(char::is_whitespace)
    })
}
