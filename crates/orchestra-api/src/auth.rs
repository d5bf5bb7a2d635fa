//! API keys of model providers: where each comes from, and storing or removing one. A key's value
//! never leaves this module except towards the OS keychain or the key file: shells (and the
//! studio's web view) only learn whether it is set, and where.

use std::path::Path;

use orchestra_llm::keychain::Trouble;
pub use orchestra_llm::keys::KeySource;
use orchestra_llm::keys::{Keys, Secret, Stored};
use orchestra_llm::settings::Config;

/// The providers and their keys, and where a key set now would be kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Every provider of the settings in force.
    pub providers: Vec<ProviderStatus>,
    /// Where `orchestra auth set` keeps keys on this machine, as a sentence.
    pub storage: String,
}

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
    /// It is set, and comes from here.
    Set(KeySource),
    /// It is not set; the text says how to set it.
    Missing(String),
    /// The provider needs none (a local server).
    NotNeeded,
}

/// The providers of the user's (and the project's) settings and where their keys come from.
pub fn status(global_dir: Option<&Path>, project_root: Option<&Path>) -> Result<Status, String> {
    let config = Config::load(global_dir, project_root)?;
    let keys = Keys::load(global_dir)?;
    let providers = config
        .providers
        .values()
        .map(|provider| {
            let key = match keys.find(&provider.name, provider.key_env.as_deref()) {
                Some((_, source)) => KeyState::Set(source),
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
        .collect();
    Ok(Status {
        providers,
        storage: storage(&keys),
    })
}

/// Where keys set now are kept, said plainly: the OS keychain, or a file readable only by the
/// user and why.
fn storage(keys: &Keys) -> String {
    let kept = match (keys.keychain(), keys.file()) {
        (Ok(service), Some(file)) => format!(
            "keys you set are kept in the OS keychain (service `{service}`); should it refuse one, `orchestra auth set` keeps it in {}, readable only by you (mode 0600), and says so",
            file.display()
        ),
        (Ok(service), None) => {
            format!("keys you set are kept in the OS keychain (service `{service}`)")
        }
        (Err(trouble), Some(file)) => format!(
            "{trouble}: keys you set are kept in {}, readable only by you (mode 0600)",
            file.display()
        ),
        (Err(trouble), None) => {
            format!(
                "{trouble}, and there is no global folder to keep keys in (set ORCHESTRA_HOME or HOME)"
            )
        }
    };
    format!("{kept}; environment variables take precedence")
}

/// Stores the key of one of the user's providers: in the OS keychain, or, where none is found,
/// in the key file, and the message says which.
///
/// Only the user's own providers can hold a key, so no project's settings are read here: a
/// provider that a project defines must not inherit a key stored under its name.
pub fn set(global_dir: Option<&Path>, provider: &str, key: &str) -> Result<String, String> {
    let config = Config::load(global_dir, None)?;
    let Some(settings) = config.providers.get(provider) else {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(format!(
            "no provider of yours is called `{provider}` (known: {}); define it under `providers:` in your own settings first",
            known.join(", ")
        ));
    };
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err("a key is one word with no spaces; nothing was stored".to_owned());
    }
    let mut keys = Keys::load(global_dir)?;
    let message = match keys.store(provider, Secret::new(key))? {
        Stored::Keychain {
            service,
            removed_from,
        } => {
            let moved = removed_from
                .map(|file| format!(", and the older copy in {} is removed", file.display()))
                .unwrap_or_default();
            format!(
                "the key of `{provider}` is stored in the OS keychain (service `{service}`){moved}"
            )
        }
        Stored::File { path, because } => format!(
            "{because}, so the key of `{provider}` is stored in {}, readable only by you (mode 0600)",
            path.display()
        ),
    };
    let shadowed = settings
        .key_env
        .as_ref()
        .filter(|variable| std::env::var(variable).is_ok_and(|value| !value.trim().is_empty()))
        .map(|variable| {
            format!("; {variable} is set in this environment and is used instead while it is")
        })
        .unwrap_or_default();
    Ok(format!("{message}{shadowed}"))
}

/// Removes the key of a provider from the OS keychain and from the key file.
pub fn remove(global_dir: Option<&Path>, provider: &str) -> Result<String, String> {
    let mut keys = Keys::load(global_dir)?;
    let removed = keys.remove(provider)?;
    let mut places = Vec::new();
    if removed.keychain == Ok(true) {
        places.push("the OS keychain".to_owned());
    }
    if let Some(file) = &removed.file {
        places.push(file.display().to_string());
    }
    let message = if places.is_empty() {
        format!("no key of `{provider}` was stored")
    } else {
        format!(
            "the key of `{provider}` is removed from {}",
            places.join(" and from ")
        )
    };
    let note = match removed.keychain {
        Err(Trouble::Unreachable(reason)) => {
            format!("; the OS keychain was not searched: {reason}")
        }
        Err(trouble @ Trouble::Failed(_)) => {
            format!("; {trouble}, so a key kept there may remain")
        }
        Ok(_) => String::new(),
    };
    Ok(format!("{message}{note}"))
}
