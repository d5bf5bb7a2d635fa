//! The user's settings as the studio's settings page reads and changes them: providers and their
//! base URLs, aliases, the default model and personality. Keys are set and removed through
//! [`crate::auth`]; their values never leave the backend.

use std::path::Path;

use orchestra_llm::settings::{ProviderSettings, SETTINGS_FILE, Settings};

use crate::auth::{self, KeyState};
use crate::json::{AliasView, ProviderView, SettingsChange, SettingsView};

/// The settings in force for a project, with the user's own aliases and defaults.
pub fn view(
    global_dir: Option<&Path>,
    project_root: Option<&Path>,
) -> Result<SettingsView, String> {
    let status = auth::status(global_dir, project_root)?;
    let own = user_settings(global_dir)?;
    Ok(SettingsView {
        providers: status
            .providers
            .into_iter()
            .map(|provider| {
                let (key_set, key) = match provider.key {
                    KeyState::Set(source) => (true, format!("set, from {source}")),
                    KeyState::Missing(how) => (false, format!("not set: {how}")),
                    KeyState::NotNeeded => (true, "not needed".to_owned()),
                };
                ProviderView {
                    name: provider.name,
                    api: provider.api,
                    base_url: provider.base_url,
                    key_set,
                    key,
                }
            })
            .collect(),
        aliases: own
            .aliases
            .iter()
            .map(|(name, model)| AliasView {
                name: name.clone(),
                model: model.clone(),
            })
            .collect(),
        default_model: own.default_model,
        orchestrator: own.orchestrator,
        personality: own.personality,
        personalities_folder: global_dir
            .map(|dir| dir.join("personalities").display().to_string())
            .unwrap_or_default(),
        key_storage: status.storage,
    })
}

/// Writes the user's settings file with a change from the settings page; what the page does not
/// show (other provider fields, the idle timeout) is kept.
pub fn save(
    global_dir: Option<&Path>,
    project_root: Option<&Path>,
    change: SettingsChange,
) -> Result<SettingsView, String> {
    let folder = global_dir.ok_or_else(|| {
        "there is no Orchestra folder to keep settings in (set ORCHESTRA_HOME or HOME)".to_owned()
    })?;
    let mut settings = user_settings(global_dir)?;
    for url in change.base_urls {
        let base_url = Some(url.base_url.trim().to_owned()).filter(|url| !url.is_empty());
        let entry = settings
            .providers
            .entry(url.name)
            .or_insert_with(ProviderSettings::default);
        entry.base_url = base_url;
    }
    settings
        .providers
        .retain(|_, provider| *provider != ProviderSettings::default());
    settings.aliases = change
        .aliases
        .into_iter()
        .filter(|alias| !alias.name.trim().is_empty())
        .map(|alias| (alias.name.trim().to_owned(), alias.model.trim().to_owned()))
        .collect();
    let chosen = |value: Option<String>| {
        value
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    settings.default_model = chosen(change.default_model);
    settings.orchestrator = chosen(change.orchestrator);
    settings.personality = chosen(change.personality);
    let value = serde_json::to_value(&settings).map_err(|error| error.to_string())?;
    let file = folder.join(SETTINGS_FILE);
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&file, orchestra_pipeline::save_value(&value)))
        .map_err(|error| format!("`{}` cannot be written: {error}", file.display()))?;
    view(global_dir, project_root)
}

fn user_settings(global_dir: Option<&Path>) -> Result<Settings, String> {
    match global_dir {
        Some(dir) => {
            Ok(orchestra_llm::settings::read(&dir.join(SETTINGS_FILE))?.unwrap_or_default())
        }
        None => Ok(Settings::default()),
    }
}
