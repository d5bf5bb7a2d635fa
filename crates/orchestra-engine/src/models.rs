//! The seam through which LLM steps reach language models, and the conversation they hold.
//!
//! The engine owns the conversation (the turns of a `generate` or `agent` step, the tools it may
//! call, the checks on a structured reply); a [`ModelClient`] turns a model reference into a
//! provider and a system prompt ([`ModelClient::prepare`]) and sends one turn
//! ([`ModelClient::chat`]). The providers (OpenAI-compatible, Anthropic) live in `orchestra-llm`.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use orchestra_pipeline::model::Models;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::result::Usage;

/// What an LLM step asks for, before its model is resolved and its prompt layers are read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelSettings {
    /// The model: an alias, `provider:model` or `auto`; `None` for the user's default.
    pub model: Option<String>,
    /// The role prompt layer, by name.
    pub role: Option<String>,
    /// The persona prompt layer, by name.
    pub persona: Option<String>,
    /// The personality prompt layer, by name.
    pub personality: Option<String>,
    /// Extra system instructions, after the layers.
    pub system: Option<String>,
    /// The pipeline file, next to which prompt layers are looked up first.
    pub pipeline_file: PathBuf,
    /// The pipeline's `models:` section: aliases, selection, the orchestrator.
    pub models: Models,
    /// Whether the step needs a model that can call tools.
    pub needs_tools: bool,
    /// Whether the step needs a model that can answer in JSON.
    pub needs_json: bool,
}

impl ModelSettings {
    /// The settings of an LLM step with these (rendered) parameters, in a pipeline whose file is
    /// `pipeline_file` and whose `models:` section is `models`.
    pub fn for_step(
        params: &serde_json::Map<String, Value>,
        models: &Models,
        pipeline_file: &std::path::Path,
    ) -> Self {
        let text = |name: &str| params.get(name).and_then(Value::as_str).map(str::to_owned);
        Self {
            model: text("model"),
            role: text("role"),
            persona: text("persona"),
            personality: text("personality"),
            system: text("system"),
            pipeline_file: pipeline_file.to_path_buf(),
            models: models.clone(),
            needs_tools: params
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|tools| !tools.is_empty()),
            needs_json: params.contains_key("output_schema"),
        }
    }
}

impl ModelSettings {
    /// The settings of a question to the orchestrator model (which judges, explains and
    /// drafts), with `system` as its instructions, for the pipeline at `pipeline_file`.
    pub fn orchestrator(models: &Models, pipeline_file: &std::path::Path, system: &str) -> Self {
        Self {
            // The client resolves `orchestrator`: the pipeline's, else a recording's, else the
            // user's orchestrator or default model.
            model: Some("orchestrator".to_owned()),
            system: Some(system.to_owned()),
            pipeline_file: pipeline_file.to_path_buf(),
            models: models.clone(),
            needs_json: true,
            ..Self::default()
        }
    }
}

/// A model chosen and a system prompt composed: what every turn of a step sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    /// The model, as `provider:model`.
    pub model: String,
    /// How it was chosen, when not written as `provider:model` (`alias smart`, `auto, balanced`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_by: Option<String>,
    /// The composed system prompt: role, persona, personality, then the step's own `system`.
    pub system: String,
    /// Where its answers come from when they are not from a live model (a recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<String>,
    /// US dollars per million prompt tokens and per million reply tokens, when the catalog
    /// knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<Prices>,
}

/// What a model costs, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per million prompt tokens.
    pub input: f64,
    /// Per million reply tokens.
    pub output: f64,
}

impl Prepared {
    /// A turn's usage with its cost, when the model's prices are known.
    pub fn priced(&self, mut usage: Usage) -> Usage {
        usage.cost_usd = self.prices.map(|prices| prices.cost(&usage));
        usage
    }
}

impl Prices {
    /// The cost of some usage, in US dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        // Token counts are far below 2^52.
        let (prompt, completion) = (usage.prompt_tokens as f64, usage.completion_tokens as f64);
        (prompt * self.input + completion * self.output) / 1_000_000.0
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// What the person (or the pipeline) says.
    User {
        /// The text.
        text: String,
    },
    /// What the model said: text, tool calls, or both.
    Assistant {
        /// The text.
        text: String,
        /// The tools it called.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// What a tool the model called returned.
    Tool {
        /// The call this answers.
        call_id: String,
        /// The tool's name.
        name: String,
        /// What it returned, or why it failed.
        content: String,
        /// Whether it failed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

/// A model's request to run a tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call, which the result must name.
    pub id: String,
    /// The tool.
    pub name: String,
    /// Its arguments, a JSON object.
    pub arguments: Value,
}

/// A tool as the model is told about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does, for the model to decide when to call it.
    pub description: String,
    /// A JSON Schema of its arguments (an object).
    pub parameters: Value,
}

/// One turn of a conversation to send.
#[derive(Clone, Copy, Debug)]
pub struct Chat<'a> {
    /// The model and system prompt.
    pub prepared: &'a Prepared,
    /// The conversation so far.
    pub messages: &'a [Message],
    /// The tools the model may call.
    pub tools: &'a [ToolSpec],
    /// The sampling temperature.
    pub temperature: Option<f64>,
    /// The most tokens the reply may have.
    pub max_tokens: Option<u32>,
    /// A JSON Schema the reply must satisfy.
    pub output_schema: Option<&'a Value>,
}

/// The model's answer to one turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Turn {
    /// Its text.
    pub text: String,
    /// The tools it called.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens used by this turn.
    pub usage: Usage,
    /// The reply stopped at its token limit (`max_tokens`), unfinished.
    pub truncated: bool,
}

/// A failed model call: worth another attempt (a 429, a 5xx, a dropped connection) or not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Another attempt may succeed.
    #[error("{message}")]
    Retryable {
        /// What went wrong.
        message: String,
        /// How long the provider asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Another attempt would fail the same way.
    #[error("{0}")]
    Fatal(String),
}

impl ModelError {
    /// A failure that another attempt may not repeat.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// Receives the text of a reply as it streams in.
pub type TextSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// How LLM steps reach models.
pub trait ModelClient: Send + Sync {
    /// Chooses the model of a step and composes its system prompt.
    fn prepare(&self, settings: &ModelSettings) -> Result<Prepared, ModelError>;

    /// Sends one turn and returns the answer; `text` receives the reply's text as it streams.
    fn chat<'a>(
        &'a self,
        chat: Chat<'a>,
        text: TextSink<'a>,
    ) -> BoxFuture<'a, Result<Turn, ModelError>>;

    /// The models a step could be given, which an `<AUTO>` model is chosen from: those of the
    /// catalog whose provider is set up.
    fn candidates(&self) -> Vec<Candidate> {
        Vec::new()
    }
}

/// A model a step could be given, described for the orchestrator model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// `provider:model`.
    pub model: String,
    /// What it is good for and what it costs, in a line.
    pub summary: String,
}

/// The model client of a program that cannot reach models (its settings are broken, or it was
/// built without providers): every LLM step fails, and says why.
#[derive(Debug)]
pub struct NoModelProvider {
    /// Why there are no models, as a sentence.
    pub reason: String,
}

impl Default for NoModelProvider {
    fn default() -> Self {
        Self {
            reason: "no model provider is set up in this program, so LLM steps cannot run"
                .to_owned(),
        }
    }
}

impl ModelClient for NoModelProvider {
    fn prepare(&self, _settings: &ModelSettings) -> Result<Prepared, ModelError> {
        Err(ModelError::Fatal(self.reason.clone()))
    }

    fn chat<'a>(
        &'a self,
        _chat: Chat<'a>,
        _text: TextSink<'a>,
    ) -> BoxFuture<'a, Result<Turn, ModelError>> {
        Box::pin(async { Err(ModelError::Fatal(self.reason.clone())) })
    }
}

/// The reply as JSON that fits the schema, or what is wrong with it. A reply wrapped in a
/// Markdown code fence is read inside the fence, since models often add one.
pub fn structured(text: &str, schema: &Value) -> Result<Value, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed);
    let value: Value =
        serde_json::from_str(inner.trim()).map_err(|error| format!("it is not JSON ({error})"))?;
    fits(&value, schema)?;
    Ok(value)
}

/// Whether a value satisfies a JSON Schema; if not, the first few problems, as one sentence.
pub fn fits(value: &Value, schema: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|error| format!("the schema itself is not valid ({error})"))?;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|error| {
            let at = error.instance_path().to_string();
            if at.is_empty() {
                error.to_string()
            } else {
                format!("at `{at}`: {error}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// What a model is told when its reply does not fit the schema it was given.
pub fn correction(problem: &str, schema: &Value) -> String {
    format!(
        "Your reply does not fit the required JSON Schema: {problem}. Reply again with only the JSON value, corrected, that satisfies this schema:\n{schema}"
    )
}

/// Asks a model one question whose answer must be JSON that fits `schema`, with no tools: one
/// turn, and one more with the problem when the answer does not fit. Returns the answer and the
/// model that gave it; the tokens of every turn are added to `usage`, priced.
pub async fn ask_json(
    client: &dyn ModelClient,
    settings: &ModelSettings,
    prompt: &str,
    schema: &Value,
    max_tokens: u32,
    usage: &mut Usage,
) -> Result<(Value, String), String> {
    let prepared = client
        .prepare(settings)
        .map_err(|error| error.to_string())?;
    let mut messages = vec![Message::User {
        text: prompt.to_owned(),
    }];
    loop {
        let chat = Chat {
            prepared: &prepared,
            messages: &messages,
            tools: &[],
            temperature: Some(0.0),
            max_tokens: Some(max_tokens),
            output_schema: Some(schema),
        };
        let ignore = |_: &str| {};
        let turn = client
            .chat(chat, &ignore)
            .await
            .map_err(|error| error.to_string())?;
        usage.add(&prepared.priced(turn.usage));
        match structured(&turn.text, schema) {
            Ok(value) => return Ok((value, prepared.model)),
            Err(problem) if messages.len() == 1 => {
                messages.push(Message::Assistant {
                    text: turn.text,
                    tool_calls: Vec::new(),
                });
                messages.push(Message::User {
                    text: correction(&problem, schema),
                });
            }
            Err(problem) => {
                return Err(format!(
                    "the reply of `{}` does not fit the expected form, even when asked again: {problem}",
                    prepared.model
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_structured_reply_is_read_inside_a_code_fence() {
        let schema = json!({ "type": "object", "required": ["verdict"] });
        assert_eq!(
            structured("```json\n{\"verdict\": \"accept\"}\n```", &schema),
            Ok(json!({ "verdict": "accept" })),
            "models often fence their JSON; the fence is not part of the answer"
        );
    }

    #[test]
    fn a_reply_that_does_not_fit_says_where() {
        let schema = json!({
            "type": "object",
            "required": ["verdict"],
            "properties": { "verdict": { "enum": ["accept", "revise"] } }
        });
        let problem = structured("{\"verdict\": \"maybe\"}", &schema)
            .expect_err("a verdict outside the enum does not fit");
        assert!(
            problem.contains("/verdict"),
            "the model is told which field is wrong: {problem}"
        );
        let problem = structured("not json", &schema).expect_err("text is not JSON");
        assert!(
            problem.starts_with("it is not JSON"),
            "text that is not JSON is named as such: {problem}"
        );
    }
}
