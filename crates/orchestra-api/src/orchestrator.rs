//! What the orchestrator model does for a person outside runs: explain a pipeline (its intention
//! and its architecture), and draft one from a description. Nothing here runs a pipeline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use orchestra_engine::Usage;
use orchestra_engine::models::{ModelClient, ModelSettings, ask_json};
use orchestra_pipeline::model::Models;
use orchestra_pipeline::{Library, Source};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::project::{ApiError, Project};

/// How many rounds a draft gets: the first, and up to two corrections.
const DRAFT_ROUNDS: usize = 3;

/// What a pipeline is for and how it flows, in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// What it is for: 3 to 10 sentences.
    pub intention: String,
    /// How it flows, one numbered point each.
    pub architecture: Vec<String>,
    /// The model that wrote it.
    pub model: String,
    /// Whether it came from the cache (the pipeline has not changed since).
    #[serde(skip)]
    pub cached: bool,
}

/// A drafted pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// Where it was written.
    pub path: PathBuf,
    /// How many rounds it took.
    pub rounds: usize,
}

/// One question to the orchestrator model, answered as JSON that fits `schema`. Its tokens are
/// not part of any run.
async fn ask(
    client: &dyn ModelClient,
    settings: &ModelSettings,
    prompt: &str,
    schema: &Value,
) -> Result<(Value, String), ApiError> {
    let mut usage = Usage::default();
    ask_json(client, settings, prompt, schema, 8_000, &mut usage)
        .await
        .map_err(ApiError::Refused)
}

impl Project {
    /// The intention and architecture of a pipeline, written by the orchestrator model and
    /// cached by the file's content: asking again about an unchanged pipeline costs nothing.
    pub async fn explain(&self, file: &Path) -> Result<Explanation, ApiError> {
        let checked = self.check(file)?;
        let text = checked.report.source.text().to_owned();
        let Some(pipeline) = checked.valid() else {
            return Err(ApiError::Invalid(Box::new(checked.report)));
        };
        let hash = orchestra_engine::sha256_hex(text.as_bytes());
        let cache = self
            .root()
            .join(".orchestra")
            .join("explanations")
            .join(format!("{hash}.json"));
        if let Some(mut cached) = std::fs::read_to_string(&cache)
            .ok()
            .and_then(|saved| serde_json::from_str::<Explanation>(&saved).ok())
        {
            cached.cached = true;
            return Ok(cached);
        }
        let schema = json!({
            "type": "object",
            "required": ["intention", "architecture"],
            "properties": {
                "intention": { "type": "string", "minLength": 1 },
                "architecture": { "type": "array", "minItems": 1, "items": { "type": "string" } }
            }
        });
        let prompt = format!(
            "Explain this Orchestra pipeline to a person who has not seen it.\n\nGive its intention: what it is for and what it produces, in 3 to 10 sentences, without repeating its YAML. Then its architecture: how it flows, as an ordered list of short points, one per stage, naming the steps, what runs in parallel, the loops and their bounds, the approvals, and what is checked.\n\n```yaml\n{text}\n```"
        );
        let settings = ModelSettings::orchestrator(
            &pipeline.models,
            file,
            "You explain automated pipelines clearly and accurately, to people who will run them.",
        );
        let client = self.model_client();
        let (value, model) = ask(client.as_ref(), &settings, &prompt, &schema).await?;
        let explanation = Explanation {
            intention: value["intention"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            architecture: value["architecture"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|point| point.trim().to_owned())
                .collect(),
            model,
            cached: false,
        };
        // The cache is a convenience: failing to write it costs only a second question later.
        if let Some(folder) = cache.parent()
            && std::fs::create_dir_all(folder).is_ok()
            && let Ok(saved) = serde_json::to_string_pretty(&explanation)
        {
            let _ = std::fs::write(&cache, saved);
        }
        Ok(explanation)
    }

    /// Drafts a pipeline from a description with the orchestrator model, validates it, feeds
    /// the problems back (at most three rounds), and writes it to `out` only once it is valid.
    /// Nothing runs. An existing file is never replaced.
    pub async fn draft(&self, description: &str, out: &Path) -> Result<Draft, ApiError> {
        if out.exists() {
            return Err(ApiError::Refused(format!(
                "`{}` exists already; a draft never replaces a file, so choose another name",
                out.display()
            )));
        }
        let (text, rounds) = self.draft_text(description, out).await?;
        std::fs::write(out, text).map_err(|error| {
            ApiError::Refused(format!("`{}` cannot be written: {error}", out.display()))
        })?;
        Ok(Draft {
            path: out.to_path_buf(),
            rounds,
        })
    }

    /// Drafts a pipeline as [`Project::draft`] does, for a file that would be at `out`, and
    /// returns its text and how many rounds it took without writing anything (the studio opens
    /// it unsaved, for review).
    pub async fn draft_text(
        &self,
        description: &str,
        out: &Path,
    ) -> Result<(String, usize), ApiError> {
        let schema = json!({
            "type": "object",
            "required": ["yaml"],
            "properties": { "yaml": { "type": "string", "minLength": 1 } }
        });
        let mut prompt = format!(
            "Write an Orchestra pipeline for this request:\n\n{description}\n\n{}\n\nReply with the whole pipeline file as the `yaml` field.",
            format_guide()
        );
        let settings = ModelSettings::orchestrator(
            &Models::default(),
            out,
            "You write Orchestra pipelines: valid YAML that follows the format exactly, with steps that do what the person asked and nothing more.",
        );
        let client = self.model_client();
        let context_library = Library::for_pipeline(out, self.global_dir().map(Path::to_path_buf));
        let mut problems = Vec::new();
        for round in 1..=DRAFT_ROUNDS {
            let (value, _) = ask(client.as_ref(), &settings, &prompt, &schema).await?;
            let yaml = value["yaml"].as_str().unwrap_or_default().to_owned();
            let checked = orchestra_pipeline::check(
                Source::new(out.display().to_string(), yaml.clone()),
                &orchestra_pipeline::Context {
                    catalog: &orchestra_engine::CATALOG,
                    library: Some(&context_library),
                },
            );
            problems = checked
                .report
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.is_error())
                .map(|diagnostic| match diagnostic.span {
                    Some(span) => format!(
                        "line {}, column {}: {}",
                        span.line, span.column, diagnostic.message
                    ),
                    None => diagnostic.message.clone(),
                })
                .collect::<Vec<_>>();
            if problems.is_empty() {
                let text = if yaml.ends_with('\n') {
                    yaml
                } else {
                    yaml + "\n"
                };
                return Ok((text, round));
            }
            prompt = format!(
                "{prompt}\n\nYour last draft was:\n```yaml\n{yaml}\n```\nIt has these errors; fix every one and reply with the whole corrected file:\n- {}",
                problems.join("\n- ")
            );
        }
        Err(ApiError::Refused(format!(
            "the orchestrator model could not write a valid pipeline in {DRAFT_ROUNDS} rounds; nothing was written. The last draft still had: {}",
            problems.join("; ")
        )))
    }
}

/// What the orchestrator model is told about the format: the actions with their parameters, and
/// an example.
fn format_guide() -> String {
    let mut guide = String::from(
        "An Orchestra pipeline starts with `orchestra: 1`, an `id` ([a-z0-9_-]+), a `name` and a `description`, then optional `inputs` (name: { type: string|integer|number|boolean|list, default, description }), then `steps`: a list where each step has an `id`, an `action`, its parameters, and optional control keys (`depends_on`, `condition`, `timeout`, `retry`, `on_failure`, `routes` with `max_loops`, `qc`). `for_each` (with `max_parallel`) and `while` (with `max_iterations`) hold nested `steps`. Templates are minijinja: `{{ inputs.x }}`, `{{ step_id.output }}`. `shell` commands are lists (`run: [git, status]`). Optional `outputs` map names to templates.\n\nThe actions:\n",
    );
    for action in orchestra_engine::ACTIONS {
        let params: Vec<String> = action
            .spec
            .params
            .iter()
            .map(|param| {
                format!(
                    "{}{}",
                    param.name,
                    if param.required { " (required)" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(
            guide,
            "- `{}`: {} Parameters: {}.",
            action.spec.name,
            action.spec.summary,
            params.join(", ")
        );
    }
    guide.push_str(
        "\nAn example:\n```yaml\norchestra: 1\nid: summary\nname: Summarise a page\ndescription: Fetches a page and summarises it.\ninputs:\n  url: { type: string, description: The page }\nsteps:\n  - id: fetch\n    action: http\n    url: \"{{ inputs.url }}\"\n  - id: summary\n    action: generate\n    depends_on: [fetch]\n    prompt: \"Summarise this page for a busy reader: {{ fetch.output }}\"\n    model: worker\noutputs:\n  summary: \"{{ summary.output }}\"\n```",
    );
    guide
}
