//! The model catalog: what each model costs and can do, bundled with Orchestra and editable by
//! the user, and `model: auto`'s choice from it.

use std::path::Path;

use orchestra_engine::models::Prices;
use orchestra_pipeline::model::Selection;
use serde::{Deserialize, Serialize};

/// The catalog that ships with Orchestra.
const BUNDLED: &str = include_str!("../models.yaml");

/// The name of the user's catalog file in their global folder.
pub const CATALOG_FILE: &str = "models.yaml";

/// One model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // Each is a capability the catalog file writes as yes or no.
pub struct ModelInfo {
    /// `provider:model`.
    pub model: String,
    /// The most tokens of prompt and reply together.
    #[serde(default)]
    pub context: u64,
    /// US dollars per million prompt tokens.
    pub input: f64,
    /// US dollars per million reply tokens.
    pub output: f64,
    /// Whether it can call tools.
    #[serde(default)]
    pub tools: bool,
    /// Whether it can answer in JSON that fits a schema.
    #[serde(default)]
    pub json: bool,
    /// Whether it reads images.
    #[serde(default)]
    pub vision: bool,
    /// How strong it is, from 1 to 5.
    pub tier: u8,
    /// Whether it takes a temperature (some reasoning models refuse one).
    #[serde(default = "yes")]
    pub temperature: bool,
    /// Whether it wants `max_completion_tokens` rather than `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: bool,
    /// The aliases it stands for when the user's settings name none and its provider is set up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<String>,
}

fn yes() -> bool {
    true
}

impl ModelInfo {
    /// Its prices.
    pub fn prices(&self) -> Prices {
        Prices {
            input: self.input,
            output: self.output,
        }
    }

    /// The provider part of its name.
    pub fn provider(&self) -> &str {
        self.model
            .split_once(':')
            .map_or("", |(provider, _)| provider)
    }

    fn blended_price(&self) -> f64 {
        // Replies are usually shorter than prompts; weigh a million tokens as three parts
        // prompt to one part reply.
        (3.0 * self.input + self.output) / 4.0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    models: Vec<ModelInfo>,
}

/// Every model Orchestra knows about.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    models: Vec<ModelInfo>,
}

impl Catalog {
    /// The bundled catalog with the user's file in `global_dir` laid over it.
    pub fn load(global_dir: Option<&Path>) -> Result<Self, String> {
        let mut catalog = Self::bundled();
        let Some(file) = global_dir.map(|dir| dir.join(CATALOG_FILE)) else {
            return Ok(catalog);
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(catalog),
            Err(error) => {
                return Err(format!(
                    "the model catalog `{}` cannot be read: {error}",
                    file.display()
                ));
            }
        };
        let mine: CatalogFile = serde_saphyr::from_str(&text).map_err(|error| {
            format!(
                "the model catalog `{}` is not valid: {error}",
                file.display()
            )
        })?;
        for model in mine.models {
            match catalog
                .models
                .iter_mut()
                .find(|known| known.model == model.model)
            {
                Some(known) => *known = model,
                None => catalog.models.push(model),
            }
        }
        Ok(catalog)
    }

    /// The catalog that ships with Orchestra.
    pub fn bundled() -> Self {
        // The bundled file is checked by a test; should it ever fail to read, the catalog is
        // empty rather than the program dead.
        let models = serde_saphyr::from_str::<CatalogFile>(BUNDLED)
            .map(|file| file.models)
            .unwrap_or_default();
        Self { models }
    }

    /// Every model.
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// The entry of `provider:model`.
    pub fn get(&self, model: &str) -> Option<&ModelInfo> {
        self.models.iter().find(|info| info.model == model)
    }

    /// The model an alias stands for by default with `provider`.
    pub fn default_for(&self, alias: &str, provider: &str) -> Option<&ModelInfo> {
        self.models
            .iter()
            .find(|info| info.provider() == provider && info.defaults.iter().any(|d| d == alias))
    }

    /// `model: auto`'s choice among the models `usable` accepts that can do what the step needs:
    /// the cheapest (`cost`), the strongest and then the cheapest of those (`performance`), or
    /// the cheapest of those at most one tier below the strongest (`balanced`).
    pub fn choose(
        &self,
        selection: Selection,
        needs_tools: bool,
        needs_json: bool,
        usable: impl Fn(&ModelInfo) -> bool,
    ) -> Option<&ModelInfo> {
        let able: Vec<&ModelInfo> = self
            .models
            .iter()
            .filter(|info| (!needs_tools || info.tools) && (!needs_json || info.json))
            .filter(|info| usable(info))
            .collect();
        let strongest = able.iter().map(|info| info.tier).max()?;
        let floor = match selection {
            Selection::Cost => 0,
            Selection::Performance => strongest,
            Selection::Balanced => strongest.saturating_sub(1),
        };
        able.into_iter()
            .filter(|info| info.tier >= floor)
            .min_by(|a, b| {
                a.blended_price()
                    .total_cmp(&b.blended_price())
                    .then(b.tier.cmp(&a.tier))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalog_reads_and_prices_are_sane() {
        let catalog = Catalog::bundled();
        assert!(
            catalog.models().len() >= 10,
            "the bundled models.yaml must parse; it held {} models",
            catalog.models().len()
        );
        for info in catalog.models() {
            assert!(
                info.model.contains(':') && (1..=5).contains(&info.tier),
                "`{}` must be provider:model with a tier from 1 to 5",
                info.model
            );
            assert!(
                info.input >= 0.0 && info.output >= info.input * 0.5,
                "`{}` has implausible prices",
                info.model
            );
        }
        for alias in ["smart", "worker", "cheap"] {
            for provider in ["openai", "anthropic", "ollama"] {
                assert!(
                    catalog.default_for(alias, provider).is_some(),
                    "`{alias}` needs a default with `{provider}`, so that one key is enough"
                );
            }
        }
    }

    #[test]
    fn selection_trades_cost_against_strength() {
        let catalog = Catalog::bundled();
        let hosted = |info: &ModelInfo| info.provider() != "ollama";
        let pick = |selection| {
            catalog
                .choose(selection, true, true, hosted)
                .map(|info| info.model.as_str())
        };
        assert_eq!(pick(Selection::Cost), Some("openai:gpt-5-nano"));
        assert_eq!(
            pick(Selection::Performance),
            Some("openai:gpt-5"),
            "the cheapest of the strongest tier"
        );
        assert_eq!(
            pick(Selection::Balanced),
            Some("openai:gpt-5-mini"),
            "the cheapest within a tier of the strongest"
        );
        let only_anthropic = |info: &ModelInfo| info.provider() == "anthropic";
        assert_eq!(
            catalog
                .choose(Selection::Cost, false, false, only_anthropic)
                .map(|info| info.model.as_str()),
            Some("anthropic:claude-haiku-4-5"),
            "only models of providers that are set up are chosen"
        );
    }

    #[test]
    fn a_user_catalog_replaces_and_adds_entries() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(
            dir.path().join(CATALOG_FILE),
            "models:\n  - { model: \"openai:gpt-4.1\", input: 1.0, output: 4.0, tier: 4, tools: true }\n  - { model: \"lab:tiny\", input: 0, output: 0, tier: 1 }\n",
        )
        .expect("the user's catalog is written");
        let catalog = Catalog::load(Some(dir.path())).expect("the user's catalog reads");
        assert_eq!(
            catalog.get("openai:gpt-4.1").map(|info| info.input),
            Some(1.0),
            "the user's price replaces the bundled one"
        );
        assert!(
            catalog.get("lab:tiny").is_some(),
            "a model of the user's own is added"
        );
        std::fs::write(dir.path().join(CATALOG_FILE), "models: [ { model: 1 } ]")
            .expect("a broken catalog is written");
        let error = Catalog::load(Some(dir.path())).expect_err("a broken catalog is refused");
        assert!(
            error.contains("models.yaml"),
            "the error names the file: {error}"
        );
    }
}
