//! API keys of model providers: whether each is set and where it comes from, and storing or
//! removing one. A key's value never leaves this module except towards the key file: shells
//! (and the studio's web view) only learn whether it is set.

use std::path::Path;

use orchestra_llm::keys::{KeySource, Keys, Secret};
use orchestra_llm::settings::Config;

/// A provider and the state of its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderStatus {
    /// Its name, as models write it (`openai` in `openai:gpt-4.1`).
    pub name: String,
    /// Its wire format: `openai` or `anthropic`.
    pub api: String,
    /// Where requests go.
    pub base_url: String,
    /// Whether its key is set, and where.
    pub key: KeyState,
}

/// Whether a provider's key is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// It is set: in this environment variable, or in the key file.
    Set(String),
    /// It is not set; the text says how to set it.
    Missing(String),
    /// The provider needs none (a local server).
    NotNeeded,
}

/// The providers of the user's (and the project's) settings and their keys.
pub fn status(
    global_dir: Option<&Path>,
    project_root: Option<&Path>,
) -> Result<Vec<ProviderStatus>, String> {
    let config = Config::load(global_dir, project_root)?;
    let keys = Keys::load(global_dir)?;
    Ok(config
        .providers
        .values()
        .map(|provider| {
            let key = match keys.find(&provider.name, provider.key_env.as_deref()) {
                Some((_, source)) => KeyState::Set(match source {
                    KeySource::Environment(name) => format!("from the environment variable {name}"),
                    KeySource::File(path) => format!("in {}", path.display()),
                }),
                None if !provider.needs_key => KeyState::NotNeeded,
                None => KeyState::Missing(match &provider.key_env {
                    Some(variable) => format!(
                        "set {variable}, or run `orchestra auth set {}`",
                        provider.name
                    ),
                    None => format!("run `orchestra auth set {}`", provider.name),
                }),
            };
            ProviderStatus {
                name: provider.name.clone(),
                api: provider.api.as_str().to_owned(),
                base_url: orchestra_llm::transport::bare_url(&provider.base_url),
                key,
            }
        })
        .collect())
}

/// Where stored keys are kept, said plainly: a file readable only by the user.
pub fn storage(global_dir: Option<&Path>) -> String {
    match global_dir {
        Some(dir) => format!(
            "keys you set are kept in {}, readable only by you (mode 0600); this build does not use the OS keychain; environment variables take precedence",
            dir.join(orchestra_llm::keys::KEY_FILE).display()
        ),
        None => "there is no global folder to keep keys in (set ORCHESTRA_HOME or HOME)".to_owned(),
    }
}

/// Stores the key of one of the user's providers.
///
/// Only the user's own providers can hold a key, so no project's settings are read here: a
/// provider that a project defines must not inherit a key stored under its name.
pub fn set(global_dir: Option<&Path>, provider: &str, key: &str) -> Result<String, String> {
    let config = Config::load(global_dir, None)?;
    if !config.providers.contains_key(provider) {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(format!(
            "no provider of yours is called `{provider}` (known: {}); define it under `providers:` in your own settings first",
            known.join(", ")
        ));
    }
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err("a key is one word with no spaces; nothing was stored".to_owned());
    }
    let mut keys = Keys::load(global_dir)?;
    let file = keys.store(provider, Secret::new(key))?;
    Ok(format!(
        "the key of `{provider}` is stored in {}",
        file.display()
    ))
}

/// Removes the stored key of a provider.
pub fn remove(global_dir: Option<&Path>, provider: &str) -> Result<String, String> {
    let mut keys = Keys::load(global_dir)?;
    Ok(if keys.remove(provider)? {
        format!("the stored key of `{provider}` is removed")
    } else {
        format!("no key of `{provider}` was stored")
    })
}
