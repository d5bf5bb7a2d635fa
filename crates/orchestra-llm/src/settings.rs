//! Where models come from: the providers Orchestra knows, and the user's and the project's
//! settings (providers, base URLs, aliases, the default model and personality).
//!
//! The user's settings are `settings.yaml` in their Orchestra folder; a project's are its
//! `orchestra.yaml`, and a project's settings win over the user's. A pipeline's own `models:`
//! section wins over both. Keys are never part of settings: see [`crate::keys`].

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::wire::Api;

/// The name of the user's settings file in their global folder.
pub const SETTINGS_FILE: &str = "settings.yaml";
/// The name of a project's settings file at its root.
pub const PROJECT_FILE: &str = "orchestra.yaml";

/// Settings as a file writes them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Providers beyond the built-in ones, or changes to them (a base URL).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub providers: IndexMap<String, ProviderSettings>,
    /// Model aliases, such as `smart: anthropic:claude-sonnet-4-5`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub aliases: IndexMap<String, String>,
    /// The model of an LLM step that names none (and whose pipeline has no default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// The model that resolves `<AUTO>` values, explains pipelines, drafts them and judges QC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<String>,
    /// The personality of an LLM step that names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<String>,
    /// How long a model may stay silent in the middle of a reply before the call is given up and
    /// tried again, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_secs: Option<u64>,
}

/// A provider as settings describe it; every field is optional when it changes a built-in one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// The wire format: `openai` (Chat Completions) or `anthropic` (Messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    /// The base URL, such as `http://localhost:1234/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable that holds its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Whether it needs a key at all (local servers do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_key: Option<bool>,
}

/// A provider, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// Its name, the part before `:` in `provider:model`.
    pub name: String,
    /// Its wire format.
    pub api: Api,
    /// Its base URL, without a trailing `/`.
    pub base_url: String,
    /// The environment variable of its key.
    pub key_env: Option<String>,
    /// Whether a call needs a key.
    pub needs_key: bool,
    /// Whether the user said it is there (settings, or `OLLAMA_HOST`), so that a local server
    /// is chosen for an alias or `auto` only when it exists.
    pub configured: bool,
    /// Whether a project's settings defined it or changed where it is: no key is ever sent to
    /// such a provider, whatever key the user stored under its name.
    pub from_project: bool,
}

/// The providers every installation has, following the official SDKs' conventions: the base URL
/// comes from `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL` or `OLLAMA_HOST` when set.
pub fn builtin_providers() -> Vec<Provider> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let ollama = env("OLLAMA_HOST").map_or_else(
        || "http://localhost:11434".to_owned(),
        |host| {
            if host.contains("://") {
                host
            } else {
                format!("http://{host}")
            }
        },
    );
    let ollama_set = env("OLLAMA_HOST").is_some();
    let provider = |name: &str, api, base_url: String, key_env: Option<&str>, needs_key| Provider {
        name: name.to_owned(),
        api,
        base_url: base_url.trim_end_matches('/').to_owned(),
        key_env: key_env.map(str::to_owned),
        needs_key,
        configured: name == "ollama" && ollama_set,
        from_project: false,
    };
    vec![
        provider(
            "openai",
            Api::OpenAi,
            env("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
            Some("OPENAI_API_KEY"),
            true,
        ),
        provider(
            "anthropic",
            Api::Anthropic,
            env("ANTHROPIC_BASE_URL").unwrap_or_else(|| "https://api.anthropic.com".to_owned()),
            Some("ANTHROPIC_API_KEY"),
            true,
        ),
        provider(
            "ollama",
            Api::OpenAi,
            format!("{}/v1", ollama.trim_end_matches('/')),
            None,
            false,
        ),
        provider(
            "lmstudio",
            Api::OpenAi,
            "http://localhost:1234/v1".to_owned(),
            None,
            false,
        ),
        provider(
            "vllm",
            Api::OpenAi,
            "http://localhost:8000/v1".to_owned(),
            Some("VLLM_API_KEY"),
            false,
        ),
        provider(
            "llamacpp",
            Api::OpenAi,
            "http://localhost:8080/v1".to_owned(),
            None,
            false,
        ),
    ]
}

/// Whose settings a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trust {
    /// The user's own, in their Orchestra folder.
    User,
    /// A project's `orchestra.yaml`, which came with the project.
    Project,
}

/// The settings in force: the user's, with the project's laid over them.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Every provider, by name.
    pub providers: IndexMap<String, Provider>,
    /// Aliases, the project's over the user's.
    pub aliases: IndexMap<String, String>,
    /// The model of a step that names none.
    pub default_model: Option<String>,
    /// The orchestrator model.
    pub orchestrator: Option<String>,
    /// The personality of a step that names none.
    pub personality: Option<String>,
    /// How long a model may stay silent mid-reply.
    pub idle_timeout: std::time::Duration,
}

impl Config {
    /// The settings of the user (in `global_dir`) and of the project at `project_root`.
    pub fn load(global_dir: Option<&Path>, project_root: Option<&Path>) -> Result<Self, String> {
        let mut config = Self {
            providers: builtin_providers()
                .into_iter()
                .map(|provider| (provider.name.clone(), provider))
                .collect(),
            aliases: IndexMap::new(),
            default_model: None,
            orchestrator: None,
            personality: None,
            idle_timeout: std::time::Duration::from_mins(2),
        };
        let files = [
            (global_dir.map(|dir| dir.join(SETTINGS_FILE)), Trust::User),
            (
                project_root.map(|dir| dir.join(PROJECT_FILE)),
                Trust::Project,
            ),
        ];
        for (file, trust) in files {
            let Some(file) = file else { continue };
            if let Some(settings) = read(&file)? {
                config.apply(settings, &file, trust)?;
            }
        }
        Ok(config)
    }

    fn apply(&mut self, settings: Settings, file: &Path, trust: Trust) -> Result<(), String> {
        for (name, changes) in settings.providers {
            // A project is a folder someone else may have written: it may point local servers
            // elsewhere, but never decide where a key goes or which variable is sent as one.
            let keyed = self
                .providers
                .get(&name)
                .is_some_and(|known| known.needs_key || known.key_env.is_some());
            let steers_a_key = changes.key_env.is_some()
                || changes.needs_key == Some(true)
                || (keyed && (changes.base_url.is_some() || changes.api.is_some()));
            if trust == Trust::Project && steers_a_key {
                return Err(format!(
                    "`{}` changes where the key of the provider `{name}` is sent, which only your own settings (`{SETTINGS_FILE}` in your Orchestra folder) may do; remove `providers.{name}` from the project's file, or move it to yours",
                    file.display()
                ));
            }
            let provider = match self.providers.get(&name) {
                Some(known) => known.clone(),
                None => Provider {
                    name: name.clone(),
                    api: changes.api.unwrap_or(Api::OpenAi),
                    base_url: changes.base_url.clone().ok_or_else(|| {
                        format!(
                            "`{}` defines the provider `{name}` without a `base_url`",
                            file.display()
                        )
                    })?,
                    key_env: None,
                    needs_key: false,
                    configured: true,
                    from_project: false,
                },
            };
            let moved =
                trust == Trust::Project && (changes.base_url.is_some() || changes.api.is_some());
            let provider = Provider {
                api: changes.api.unwrap_or(provider.api),
                base_url: changes.base_url.map_or(provider.base_url, |url| {
                    url.trim_end_matches('/').to_owned()
                }),
                needs_key: changes
                    .needs_key
                    .unwrap_or(provider.needs_key || changes.key_env.is_some()),
                key_env: changes.key_env.or(provider.key_env),
                configured: true,
                from_project: provider.from_project || moved,
                name: name.clone(),
            };
            self.providers.insert(name, provider);
        }
        self.aliases.extend(settings.aliases);
        let take = |mine: &mut Option<String>, theirs: Option<String>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        take(&mut self.default_model, settings.default_model);
        take(&mut self.orchestrator, settings.orchestrator);
        take(&mut self.personality, settings.personality);
        if let Some(seconds) = settings.idle_timeout_secs {
            self.idle_timeout = std::time::Duration::from_secs(seconds.max(1));
        }
        Ok(())
    }
}

/// A settings file, or `None` when there is none.
pub fn read(file: &Path) -> Result<Option<Settings>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(format!(
                "the settings `{}` cannot be read: {error}",
                file.display()
            ));
        }
    };
    if text.trim().is_empty() {
        return Ok(Some(Settings::default()));
    }
    serde_saphyr::from_str(&text)
        .map(Some)
        .map_err(|error| format!("the settings `{}` are not valid: {error}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_overrides_the_user_and_adds_providers() {
        let user = tempfile::tempdir().expect("a temporary folder");
        let project = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(
            project.path().join(PROJECT_FILE),
            "aliases: { smart: anthropic:claude-sonnet-4-5 }\nproviders:\n  ollama: { base_url: \"http://10.0.0.2:11434/v1\" }\n",
        )
        .expect("the project's settings are written");
        std::fs::write(
            user.path().join(SETTINGS_FILE),
            "aliases: { smart: openai:gpt-4.1, cheap: ollama:llama3.2 }\npersonality: concise\nproviders:\n  lab: { base_url: \"http://127.0.0.1:9/v1/\", key_env: LAB_KEY }\n",
        )
        .expect("the user's settings are written");
        let config =
            Config::load(Some(user.path()), Some(project.path())).expect("both files read");
        assert_eq!(
            config.aliases.get("smart").map(String::as_str),
            Some("anthropic:claude-sonnet-4-5"),
            "the project's alias wins over the user's"
        );
        assert_eq!(
            config.aliases.get("cheap").map(String::as_str),
            Some("ollama:llama3.2"),
            "the user's other aliases stay"
        );
        let lab = &config.providers["lab"];
        assert_eq!(
            (lab.api, lab.base_url.as_str(), lab.needs_key),
            (Api::OpenAi, "http://127.0.0.1:9/v1", true),
            "the user's new provider speaks the OpenAI format, without a trailing slash, and needs its key"
        );
        assert_eq!(config.personality.as_deref(), Some("concise"));
        assert_eq!(
            config.providers["ollama"].base_url, "http://10.0.0.2:11434/v1",
            "a project may point a local server elsewhere"
        );
    }

    #[test]
    fn a_project_cannot_send_a_key_elsewhere() {
        let project = tempfile::tempdir().expect("a temporary folder");
        for providers in [
            "openai: { base_url: \"https://collector.example/v1\" }",
            "anthropic: { api: openai }",
            "mine: { base_url: \"https://collector.example\", key_env: GITHUB_TOKEN }",
        ] {
            std::fs::write(
                project.path().join(PROJECT_FILE),
                format!("providers:\n  {providers}\n"),
            )
            .expect("the project's settings are written");
            let error = Config::load(None, Some(project.path()))
                .expect_err("a project may not steer a key");
            assert!(
                error.contains("only your own settings"),
                "the refusal says who may: {error}"
            );
        }
    }

    #[test]
    fn bad_settings_name_their_file() {
        let user = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(user.path().join(SETTINGS_FILE), "alias: { smart: x }\n")
            .expect("the settings are written");
        let error = Config::load(Some(user.path()), None).expect_err("a misspelt key is refused");
        assert!(
            error.contains("settings.yaml") && error.contains("alias"),
            "the message names the file and the key: {error}"
        );
    }
}
