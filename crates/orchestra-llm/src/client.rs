//! [`LlmClient`]: the engine's model client over real providers.
//!
//! It chooses a step's model (an alias, `provider:model`, or `auto` from the catalog), composes
//! its system prompt from the prompt layers, and sends each turn in the provider's wire format,
//! streaming the reply. Faults become [`ModelError`]s: a 429, a 5xx, a dropped or cut connection
//! or a silent server are worth another attempt (with the provider's `Retry-After`); any other
//! refusal ends the step with the provider's message, keys removed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use indexmap::IndexMap;
use orchestra_engine::models::{
    Candidate, Chat, ModelClient, ModelError, ModelSettings, Prepared, TextSink, Turn,
};
use orchestra_pipeline::Library;
use orchestra_pipeline::model::{Selection, auto_instruction};

use crate::catalog::{Catalog, ModelInfo};
use crate::keys::{KeySource, Keys, Redactor, Secret};
use crate::prompts::{Layers, compose};
use crate::settings::{Config, Provider};
use crate::transport::{Exchange, Http, Recorder, Replay, Transport, TransportError};
use crate::wire::{Api, BodyOptions, Flow};

/// The version of the Anthropic API that requests are written for.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The most of an error reply that is read.
const MAX_ERROR_BODY: usize = 64 << 10;
/// The order in which providers are tried for an alias the settings do not define.
const DEFAULT_ORDER: &[&str] = &["openai", "anthropic", "ollama"];

/// Where a client's answers come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Live models.
    #[default]
    Live,
    /// Live models, every exchange saved to this file.
    Record(PathBuf),
    /// The exchanges saved in this file; nothing else is answered.
    Replay(PathBuf),
}

/// The model client of real providers.
pub struct LlmClient {
    config: Config,
    catalog: Catalog,
    keys: Keys,
    redactor: Redactor,
    transport: Arc<dyn Transport>,
    global_dir: Option<PathBuf>,
    /// How each written model was resolved in this process, for a recording.
    resolutions: Arc<Mutex<IndexMap<String, String>>>,
}

impl LlmClient {
    /// A client with the user's settings (in `global_dir`) and the project's (at
    /// `project_root`), the catalog and keys.
    pub fn new(
        global_dir: Option<&Path>,
        project_root: Option<&Path>,
        mode: &Mode,
    ) -> Result<Self, String> {
        let config = Config::load(global_dir, project_root)?;
        let catalog = Catalog::load(global_dir)?;
        let keys = Keys::load(global_dir)?;
        let variables: Vec<&str> = config
            .providers
            .values()
            .filter_map(|provider| provider.key_env.as_deref())
            .collect();
        let redactor = keys.redactor(&variables);
        let resolutions = Arc::new(Mutex::new(IndexMap::new()));
        let http = || -> Arc<dyn Transport> {
            Arc::new(Http::new(
                std::time::Duration::from_secs(10),
                config.idle_timeout,
            ))
        };
        let transport: Arc<dyn Transport> = match mode {
            Mode::Live => http(),
            Mode::Record(path) => Arc::new(Recorder::new(http(), path, Arc::clone(&resolutions))?),
            Mode::Replay(path) => Arc::new(Replay::open(path)?),
        };
        Ok(Self {
            config,
            catalog,
            keys,
            redactor,
            transport,
            global_dir: global_dir.map(Path::to_path_buf),
            resolutions,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The recording answers come from, when they are not from live models.
    pub fn replaying(&self) -> Option<&Path> {
        self.transport.replaying()
    }

    /// The key of a provider and where it was found.
    pub fn key(&self, provider: &Provider) -> Option<(Secret, KeySource)> {
        self.keys.find(&provider.name, provider.key_env.as_deref())
    }

    /// Whether a provider can be called: it needs no key or has one.
    fn usable(&self, provider: &str) -> bool {
        if self.replaying().is_some() {
            return true;
        }
        let Some(provider) = self.config.providers.get(provider) else {
            return false;
        };
        if provider.needs_key {
            self.key(provider).is_some()
        } else {
            // A local server counts only where the user said it exists.
            provider.configured
        }
    }

    /// The model a step's settings stand for, and how it was chosen.
    fn resolve(&self, settings: &ModelSettings) -> Result<(String, Option<String>), ModelError> {
        let default = || {
            self.config
                .default_model
                .clone()
                .unwrap_or_else(|| "smart".to_owned())
        };
        // `orchestrator` stands for the model that resolves `<AUTO>`, judges and drafts: the
        // pipeline's, else the one a recording was made with, else the user's `orchestrator`
        // setting, else their default model.
        let written = match settings.model.as_deref() {
            Some("orchestrator") => {
                if let Some(model) = &settings.models.orchestrator {
                    model.clone()
                } else {
                    let user = self.config.orchestrator.clone();
                    return self.orchestrator(settings, user.unwrap_or_else(default));
                }
            }
            Some(model) => model.to_owned(),
            None => default(),
        };
        let is_auto = written == "auto" || auto_instruction(&written).is_some();
        if !is_auto && written.contains(':') {
            return Ok((written, None));
        }
        // The pipeline's own aliases are part of the file, the same live and replayed.
        if let Some(model) = settings.models.aliases.get(&written) {
            return Ok((
                model.clone(),
                Some(format!("alias `{written}` of the pipeline")),
            ));
        }
        let selection = settings.models.selection.unwrap_or(Selection::Balanced);
        let key = if is_auto {
            let name = Selection::ALL
                .iter()
                .find(|(_, known)| *known == selection)
                .map_or("balanced", |(name, _)| *name);
            format!(
                "auto:{name}:{}{}",
                if settings.needs_tools { "tools" } else { "" },
                if settings.needs_json { ":json" } else { "" }
            )
        } else {
            written.clone()
        };
        if let Some(model) = self
            .transport
            .recorded_aliases()
            .and_then(|recorded| recorded.get(&key))
        {
            return Ok((
                model.clone(),
                Some(format!("`{written}`, as it was when recorded")),
            ));
        }
        let (model, how) = if is_auto {
            let info = self
                .catalog
                .choose(
                    selection,
                    settings.needs_tools,
                    settings.needs_json,
                    |info: &ModelInfo| self.usable(info.provider()),
                )
                .ok_or_else(|| {
                    ModelError::Fatal(
                        "`model: auto` found no model in the catalog whose provider is set up: set a key (`orchestra auth set openai`) or define a provider in your settings".to_owned(),
                    )
                })?;
            let auto = if written == "auto" {
                "auto"
            } else {
                "<AUTO>, by selection"
            };
            (info.model.clone(), format!("{auto} ({key})"))
        } else if let Some(model) = self.config.aliases.get(&written) {
            (model.clone(), format!("alias `{written}` of your settings"))
        } else {
            let info = DEFAULT_ORDER
                .iter()
                .filter(|provider| self.usable(provider))
                .find_map(|provider| self.catalog.default_for(&written, provider))
                .ok_or_else(|| {
                    ModelError::Fatal(format!(
                        "the model alias `{written}` is not defined: add it to your settings (`aliases: {{ {written}: openai:gpt-4.1 }}` in settings.yaml) or the pipeline's `models.aliases`, or set a provider's key (`orchestra auth set openai`) to use its default"
                    ))
                })?;
            (
                info.model.clone(),
                format!("alias `{written}`, the default with `{}`", info.provider()),
            )
        };
        if let Ok(mut resolutions) = self.resolutions.lock() {
            resolutions.insert(key, model.clone());
        }
        Ok((model, Some(how)))
    }

    /// The orchestrator model when the pipeline names none: the one a recording was made with,
    /// else `chosen` (the user's setting or default model), recorded for a replay.
    fn orchestrator(
        &self,
        settings: &ModelSettings,
        chosen: String,
    ) -> Result<(String, Option<String>), ModelError> {
        if let Some(model) = self
            .transport
            .recorded_aliases()
            .and_then(|recorded| recorded.get("orchestrator"))
        {
            return Ok((
                model.clone(),
                Some("the orchestrator, as it was when recorded".to_owned()),
            ));
        }
        let chosen = if chosen == "orchestrator" {
            "smart".to_owned()
        } else {
            chosen
        };
        let (model, how) = self.resolve(&ModelSettings {
            model: Some(chosen),
            ..settings.clone()
        })?;
        if let Ok(mut resolutions) = self.resolutions.lock() {
            resolutions.insert("orchestrator".to_owned(), model.clone());
        }
        Ok((model, how))
    }

    /// The provider of `provider:model`, and the model's own id.
    fn provider_of<'m>(&self, model: &'m str) -> Result<(&Provider, &'m str), ModelError> {
        let (name, id) = model.split_once(':').ok_or_else(|| {
            ModelError::Fatal(format!("`{model}` is not written as `provider:model`"))
        })?;
        let provider = self.config.providers.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.config.providers.keys().map(String::as_str).collect();
            ModelError::Fatal(format!(
                "no provider is called `{name}` (known: {}); define it under `providers:` in your settings with its `base_url`",
                known.join(", ")
            ))
        })?;
        Ok((provider, id))
    }

    /// The headers of a request to `provider`, with its key.
    fn headers(&self, provider: &Provider) -> Result<Vec<(&'static str, Secret)>, ModelError> {
        // A provider a project pointed somewhere gets no key of the user's, even one stored
        // under its name.
        let key = if self.replaying().is_some() || provider.from_project {
            None
        } else {
            self.key(provider).map(|(secret, _)| secret)
        };
        if key.is_none() && provider.needs_key && self.replaying().is_none() {
            return Err(Self::missing_key(provider));
        }
        Ok(match (provider.api, key) {
            (Api::OpenAi, Some(key)) => vec![(
                "authorization",
                Secret::new(format!("Bearer {}", key.expose())),
            )],
            (Api::OpenAi, None) => Vec::new(),
            (Api::Anthropic, key) => {
                let mut headers = vec![("anthropic-version", Secret::new(ANTHROPIC_VERSION))];
                headers.extend(key.map(|key| ("x-api-key", key)));
                headers
            }
        })
    }

    fn missing_key(provider: &Provider) -> ModelError {
        let variable = provider
            .key_env
            .as_deref()
            .map(|name| format!("set `{name}`, or "))
            .unwrap_or_default();
        ModelError::Fatal(format!(
            "there is no API key for `{}`: {variable}run `orchestra auth set {}`",
            provider.name, provider.name
        ))
    }

    /// The error of a reply that is not a success.
    fn refusal(
        &self,
        model: &str,
        status: u16,
        retry_after: Option<std::time::Duration>,
        body: &[u8],
    ) -> ModelError {
        let said = Api::error_message(body).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() || text.starts_with('<') {
                "no message".to_owned()
            } else {
                text.chars().take(300).collect()
            }
        });
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|code| code.canonical_reason())
            .unwrap_or("");
        let mut message = self
            .redactor
            .redact(&format!("`{model}` answered {status} {reason}: {said}"));
        if matches!(status, 401 | 403) {
            message.push_str(" (check the key with `orchestra auth status`)");
        }
        if matches!(status, 408 | 409 | 425 | 429) || status >= 500 {
            ModelError::Retryable {
                message,
                retry_after,
            }
        } else {
            ModelError::Fatal(message)
        }
    }

    async fn send(&self, chat: Chat<'_>, text: TextSink<'_>) -> Result<Turn, ModelError> {
        let model = chat.prepared.model.as_str();
        let (provider, id) = self.provider_of(model)?;
        let info = self.catalog.get(model);
        let options = BodyOptions {
            stream: true,
            temperature: info.is_none_or(|info| info.temperature),
            max_completion_tokens: info.is_some_and(|info| info.max_completion_tokens),
        };
        let exchange = Exchange {
            api: provider.api,
            url: format!("{}{}", provider.base_url, provider.api.path()),
            headers: self.headers(provider)?,
            body: provider.api.body(&chat, id, &options),
        };
        let response = self
            .transport
            .send(exchange)
            .await
            .map_err(|error| match error {
                TransportError::Unreachable(message) => ModelError::retryable(format!(
                    "`{model}` could not be reached: {}",
                    self.redactor.redact(&message)
                )),
                TransportError::Refused(message) => ModelError::Fatal(message),
            })?;
        if !(200..300).contains(&response.status) {
            let body = collect(response.body, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            return Err(self.refusal(model, response.status, response.retry_after, &body));
        }
        let unreadable = |problem: String| {
            ModelError::retryable(format!(
                "`{model}` sent a reply Orchestra cannot read: {problem}"
            ))
        };
        if response.content_type.starts_with("application/json") {
            // A server that does not stream answers with one JSON object.
            let body = collect(response.body, usize::MAX)
                .await
                .map_err(|problem| cut(model, &problem))?;
            let turn = provider.api.parse(&body).map_err(unreadable)?;
            text(&turn.text);
            return Ok(turn);
        }
        let mut reader = provider.api.stream();
        let mut events = response.body.eventsource();
        let mut flow = Flow::More;
        let mut pass = |piece: &str| text(piece);
        while let Some(event) = events.next().await {
            // The body is read to its end (a recording is saved there), but once the reply is
            // complete nothing after it can spoil it.
            if flow == Flow::Done {
                continue;
            }
            let event = event.map_err(|problem| cut(model, &problem.to_string()))?;
            if event.data.is_empty() {
                continue;
            }
            flow = reader
                .event(&event.event, &event.data, &mut pass)
                .map_err(unreadable)?;
        }
        reader.finish().map_err(|problem| cut(model, &problem))
    }
}

/// The failure of a reply that stopped halfway.
fn cut(model: &str, problem: &str) -> ModelError {
    ModelError::retryable(format!("the reply of `{model}` was cut off: {problem}"))
}

/// Reads a body to its end, or to `limit` bytes.
async fn collect(
    mut body: BoxStream<'static, Result<Bytes, String>>,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if all.len() < limit {
            all.extend_from_slice(&chunk[..chunk.len().min(limit - all.len())]);
        }
    }
    Ok(all)
}

impl ModelClient for LlmClient {
    fn prepare(&self, settings: &ModelSettings) -> Result<Prepared, ModelError> {
        let (model, chosen_by) = self.resolve(settings)?;
        // A missing key is reported when a turn is sent, so that prompts can be shown without.
        self.provider_of(&model)?;
        let info = self.catalog.get(&model);
        if settings.needs_tools && info.is_some_and(|info| !info.tools) {
            return Err(ModelError::Fatal(format!(
                "`{model}` cannot call tools (says the model catalog), and this agent step gives it some"
            )));
        }
        let library = Library::for_pipeline(&settings.pipeline_file, self.global_dir.clone());
        let personality = settings
            .personality
            .as_deref()
            .or(self.config.personality.as_deref());
        let system = compose(
            &library,
            &Layers {
                role: settings.role.as_deref(),
                persona: settings.persona.as_deref(),
                personality,
                system: settings.system.as_deref(),
            },
        )
        .map_err(ModelError::Fatal)?;
        Ok(Prepared {
            prices: info.map(ModelInfo::prices),
            model,
            chosen_by,
            system,
            replayed_from: self.replaying().map(|path| path.display().to_string()),
        })
    }

    fn chat<'a>(
        &'a self,
        chat: Chat<'a>,
        text: TextSink<'a>,
    ) -> BoxFuture<'a, Result<Turn, ModelError>> {
        // Every message is cleaned of keys here, whatever produced it: a provider's words, a
        // proxy's page, a stream's error event.
        Box::pin(async move {
            self.send(chat, text).await.map_err(|error| match error {
                ModelError::Retryable {
                    message,
                    retry_after,
                } => ModelError::Retryable {
                    message: self.redactor.redact(&message),
                    retry_after,
                },
                ModelError::Fatal(message) => ModelError::Fatal(self.redactor.redact(&message)),
            })
        })
    }

    fn candidates(&self) -> Vec<Candidate> {
        // A replay offers what the recording was made with, so that the question it asks the
        // orchestrator is the one recorded, whatever keys this machine has.
        let recorded: Option<Vec<String>> = self
            .transport
            .recorded_aliases()
            .and_then(|recorded| recorded.get(CANDIDATES))
            .map(|names| names.split(',').map(str::to_owned).collect());
        let models: Vec<&ModelInfo> = match &recorded {
            Some(names) => names
                .iter()
                .filter_map(|name| self.catalog.get(name))
                .collect(),
            None => self
                .catalog
                .models()
                .iter()
                .filter(|info| self.usable(info.provider()))
                .collect(),
        };
        if let Ok(mut resolutions) = self.resolutions.lock() {
            let names: Vec<&str> = models.iter().map(|info| info.model.as_str()).collect();
            resolutions.insert(CANDIDATES.to_owned(), names.join(","));
        }
        models
            .into_iter()
            .map(|info| Candidate {
                model: info.model.clone(),
                summary: describe(info),
            })
            .collect()
    }
}

/// The name under which a recording keeps the models an `<AUTO>` model was chosen from.
const CANDIDATES: &str = "<AUTO> candidates";

/// A model in a line: its tier, prices and what it can do.
fn describe(info: &ModelInfo) -> String {
    let mut can = Vec::new();
    if info.tools {
        can.push("tools");
    }
    if info.json {
        can.push("JSON");
    }
    if info.vision {
        can.push("vision");
    }
    let mut line = format!(
        "tier {}, ${:.2} / ${:.2}",
        info.tier, info.input, info.output
    );
    if !can.is_empty() {
        line.push_str(", ");
        line.push_str(&can.join(", "));
    }
    if info.context > 0 {
        let _ = write!(line, ", {}-token context", info.context);
    }
    line
}
