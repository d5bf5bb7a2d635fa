//! Prompt layers and personalities: how a step's system prompt is composed.
//!
//! A system prompt is built from layers, in this order: the *role* (what the model is asked to
//! be), the *persona* (whose experience it speaks from), the *personality* (how it speaks), then
//! the step's own `system` text. The task itself is the step's `prompt`, sent as the user's
//! message. Each layer is a file found by name next to the pipeline, then in the project's
//! `personalities/` and `prompts/`, then in the user's global folder (see
//! [`orchestra_pipeline::Library`]).
//!
//! ## The file format
//! A layer is Markdown with a YAML header, or YAML with the text under `prompt`:
//!
//! ```text
//! ---
//! name: skeptical
//! description: Questions every claim and asks for evidence.
//! extends: standard
//! style: Plain words, short sentences.
//! output_format: Findings first, each with its evidence.
//! ---
//! Treat every claim as unproven until you have seen the evidence for it.
//! ```
//!
//! `extends` names another layer whose text comes first; `style` and `output_format` of the
//! closer file win. [`layer_schema`] is the JSON Schema of the header.

use std::path::{Path, PathBuf};

use orchestra_pipeline::Library;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many layers deep `extends` may go.
const MAX_EXTENDS: usize = 8;

/// The header of a prompt layer file (or the whole of a YAML one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Orchestra prompt layer or personality")]
pub struct LayerFile {
    /// The layer's name; it should match the file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the layer is for, in a sentence, for people choosing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A layer whose text comes before this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// How to write: tone, length, vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// The shape of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// The layer's text, for a YAML file (a Markdown file's text is its body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// A layer read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The file.
    pub path: PathBuf,
    /// The header.
    pub header: LayerFile,
    /// The text.
    pub text: String,
}

/// The JSON Schema of a layer file's header.
pub fn layer_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(LayerFile)).unwrap_or_default()
}

/// Reads the layer file at `path`.
pub fn read_layer(path: &Path) -> Result<Layer, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("`{}` cannot be read: {error}", path.display()))?;
    let is_yaml = path
        .extension()
        .is_some_and(|ext| ext == "yaml" || ext == "yml");
    let (header, body) = if is_yaml {
        (text.as_str(), "")
    } else {
        split_front_matter(&text)
    };
    let header: LayerFile = if header.trim().is_empty() {
        LayerFile::default()
    } else {
        serde_saphyr::from_str(header)
            .map_err(|error| format!("the header of `{}` is not valid: {error}", path.display()))?
    };
    let text = header
        .prompt
        .clone()
        .unwrap_or_else(|| body.to_owned())
        .trim()
        .to_owned();
    Ok(Layer {
        path: path.to_path_buf(),
        header,
        text,
    })
}

/// The YAML header between `---` lines at the top of a Markdown file, and the body after it.
fn split_front_matter(text: &str) -> (&str, &str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return ("", text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return (&rest[..offset], &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    ("", text)
}

/// The text of the layer `name`, with the layers it extends before it, and its style and output
/// format after.
pub fn render_layer(library: &Library, kind: &str, name: &str) -> Result<String, String> {
    let mut chain: Vec<Layer> = Vec::new();
    let mut next = Some(name.to_owned());
    while let Some(current) = next.take() {
        if chain.len() == MAX_EXTENDS {
            return Err(format!(
                "the {kind} `{name}` extends more than {MAX_EXTENDS} layers deep"
            ));
        }
        if chain
            .iter()
            .any(|layer| layer_name(layer).as_deref() == Some(current.as_str()))
        {
            return Err(format!(
                "the {kind} `{name}` extends itself through `{current}`"
            ));
        }
        let path = library.find_layer(&current).ok_or_else(|| {
            let dirs: Vec<String> = library
                .layer_dirs()
                .iter()
                .map(|dir| dir.display().to_string())
                .collect();
            if current == name {
                format!(
                    "no {kind} is called `{name}`: looked for `{name}.md` or `{name}.yaml` in {}",
                    dirs.join(", ")
                )
            } else {
                format!("the {kind} `{name}` extends `{current}`, which does not exist")
            }
        })?;
        let layer = read_layer(&path)?;
        next.clone_from(&layer.header.extends);
        chain.push(layer);
    }
    let style = chain.iter().find_map(|layer| layer.header.style.clone());
    let format = chain
        .iter()
        .find_map(|layer| layer.header.output_format.clone());
    let mut parts: Vec<String> = chain
        .iter()
        .rev()
        .map(|layer| layer.text.clone())
        .filter(|text| !text.is_empty())
        .collect();
    if let Some(style) = style {
        parts.push(format!("Style: {}", style.trim()));
    }
    if let Some(format) = format {
        parts.push(format!("Output format: {}", format.trim()));
    }
    Ok(parts.join("\n\n"))
}

fn layer_name(layer: &Layer) -> Option<String> {
    layer
        .path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_owned)
}

/// The layers a step asks for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layers<'a> {
    /// The role, by name.
    pub role: Option<&'a str>,
    /// The persona, by name.
    pub persona: Option<&'a str>,
    /// The personality, by name.
    pub personality: Option<&'a str>,
    /// The step's own system text.
    pub system: Option<&'a str>,
}

/// The system prompt of a step: role, persona, personality and its own text, each separated by
/// a blank line.
pub fn compose(library: &Library, layers: &Layers<'_>) -> Result<String, String> {
    let mut parts = Vec::new();
    for (kind, name) in [
        ("role", layers.role),
        ("persona", layers.persona),
        ("personality", layers.personality),
    ] {
        if let Some(name) = name {
            parts.push(render_layer(library, kind, name)?);
        }
    }
    if let Some(system) = layers.system.map(str::trim).filter(|text| !text.is_empty()) {
        parts.push(system.to_owned());
    }
    Ok(parts.join("\n\n"))
}
