//! API keys: where they come from, and how they are kept out of everything else.
//!
//! A provider's key is looked up in its environment variable first (`OPENAI_API_KEY`, as the
//! official SDKs do), then in the user's key file, which `orchestra auth set` writes with
//! permissions `0600`. Keys are never read from a pipeline or a project file. A key is held in a
//! [`Secret`], which prints as `[secret]`; error messages from providers pass through
//! [`Redactor::redact`] before anyone sees them.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

/// A value that must not be shown: its `Debug` and `Display` print `[secret]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, to put in a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[secret]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[secret]")
    }
}

/// Where a key was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable.
    Environment(String),
    /// The user's key file.
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment(name) => write!(f, "the environment variable `{name}`"),
            Self::File(path) => write!(f, "the key file `{}`", path.display()),
        }
    }
}

/// The keys this process may use.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    file: Option<PathBuf>,
    stored: IndexMap<String, Secret>,
}

/// The name of the key file in the user's global folder.
pub const KEY_FILE: &str = "keys.yaml";

impl Keys {
    /// The keys of the environment and of the key file in `global_dir`.
    pub fn load(global_dir: Option<&Path>) -> Result<Self, String> {
        let Some(file) = global_dir.map(|dir| dir.join(KEY_FILE)) else {
            return Ok(Self::default());
        };
        let stored = match std::fs::read_to_string(&file) {
            Ok(text) => read_key_file(&text).map_err(|problem| {
                format!(
                    "the key file `{}` cannot be read: {problem}",
                    file.display()
                )
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => IndexMap::new(),
            Err(error) => {
                return Err(format!(
                    "the key file `{}` cannot be read: {error}",
                    file.display()
                ));
            }
        };
        Ok(Self {
            file: Some(file),
            stored,
        })
    }

    /// The key of `provider`, from `variable` in the environment or from the key file.
    pub fn find(&self, provider: &str, variable: Option<&str>) -> Option<(Secret, KeySource)> {
        if let Some(variable) = variable
            && let Some(value) = std::env::var(variable)
                .ok()
                .filter(|value| !value.trim().is_empty())
        {
            return Some((
                Secret::new(value.trim()),
                KeySource::Environment(variable.to_owned()),
            ));
        }
        let secret = self.stored.get(provider)?;
        Some((secret.clone(), KeySource::File(self.file.clone()?)))
    }

    /// Every key value known, so that messages can be cleaned of them.
    pub fn redactor(&self, variables: &[&str]) -> Redactor {
        let mut values: Vec<String> = self
            .stored
            .values()
            .map(|secret| secret.expose().to_owned())
            .collect();
        values.extend(
            variables
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .map(|value| value.trim().to_owned()),
        );
        values.retain(|value| value.len() >= 4);
        Redactor { values }
    }

    /// Stores a key for `provider` in the key file, readable only by the user.
    pub fn store(&mut self, provider: &str, secret: Secret) -> Result<PathBuf, String> {
        let file = self
            .file
            .clone()
            .ok_or("there is no global folder to keep keys in (set ORCHESTRA_HOME or HOME)")?;
        self.stored.insert(provider.to_owned(), secret);
        self.save(&file)?;
        Ok(file)
    }

    /// Removes the stored key of `provider`; whether there was one.
    pub fn remove(&mut self, provider: &str) -> Result<bool, String> {
        let Some(file) = self.file.clone() else {
            return Ok(false);
        };
        let had = self.stored.shift_remove(provider).is_some();
        if had {
            self.save(&file)?;
        }
        Ok(had)
    }

    fn save(&self, file: &Path) -> Result<(), String> {
        use std::fmt::Write as _;
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let describe = |error: std::io::Error| {
            format!(
                "the key file `{}` cannot be written: {error}",
                file.display()
            )
        };
        let dir = file
            .parent()
            .ok_or_else(|| format!("the key file `{}` has no folder", file.display()))?;
        std::fs::create_dir_all(dir).map_err(describe)?;
        let mut text = String::from(
            "# API keys of Orchestra's model providers, written by `orchestra auth set`.\n# Readable only by you (mode 0600). Environment variables take precedence.\n",
        );
        for (provider, secret) in &self.stored {
            // Both quoted, so that no name or key can break the file.
            let _ = writeln!(
                text,
                "{}: {}",
                serde_json::Value::from(provider.as_str()),
                serde_json::Value::from(secret.expose())
            );
        }
        // A new file of a unique name, private before anything is written to it, then renamed
        // over the old one: no other process sees a partial file or a moment of wider access.
        let mut out = tempfile::NamedTempFile::new_in(dir).map_err(describe)?;
        out.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(describe)?;
        out.write_all(text.as_bytes()).map_err(describe)?;
        out.as_file().sync_all().map_err(describe)?;
        out.persist(file).map_err(|error| describe(error.error))?;
        if let Ok(folder) = std::fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

fn read_key_file(text: &str) -> Result<IndexMap<String, Secret>, String> {
    let map: IndexMap<String, String> = if text.trim().is_empty() {
        IndexMap::new()
    } else {
        // The error would quote the file, and the file holds keys: only its place is said.
        serde_saphyr::from_str(text).map_err(|_| {
            "it is not a list of `provider: key` lines (its content is not shown, since it holds keys)"
                .to_owned()
        })?
    };
    Ok(map
        .into_iter()
        .map(|(provider, key)| (provider, Secret::new(key)))
        .collect())
}

/// Removes key values, and anything shaped like a key, from text shown to people or stored.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// The text with every known key, and every `sk-…` token, replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut clean = text.to_owned();
        for value in &self.values {
            clean = clean.replace(value.as_str(), "[redacted]");
        }
        redact_key_shapes(&clean)
    }
}

/// Replaces tokens that look like provider keys (`sk-…`, `sk-ant-…`), which providers echo back
/// in part in their error messages.
fn redact_key_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sk-") {
        let before_ok = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        let token_len = rest[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.')))
            .unwrap_or(rest.len() - at);
        out.push_str(&rest[..at]);
        if before_ok && token_len >= 8 {
            out.push_str("[redacted]");
        } else {
            out.push_str(&rest[at..at + token_len]);
        }
        rest = &rest[at + token_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_key_shapes_are_redacted() {
        let redactor = Redactor {
            values: vec!["local-secret-123".to_owned()],
        };
        let message = "Incorrect API key provided: sk-proj-abc1****wxyz. Also local-secret-123. Not risk-free.";
        let clean = redactor.redact(message);
        assert!(
            !clean.contains("abc1") && !clean.contains("local-secret-123"),
            "no part of a key survives: {clean}"
        );
        assert!(
            clean.contains("risk-free"),
            "ordinary words that contain `sk-` are kept: {clean}"
        );
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("sk-live-1234567890");
        assert_eq!(format!("{secret} {secret:?}"), "[secret] [secret]");
    }

    #[test]
    fn the_key_file_is_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut keys = Keys::load(Some(dir.path())).expect("no key file yet is fine");
        let file = keys
            .store("anthropic", Secret::new("sk-ant-test-0000"))
            .expect("the key is stored");
        let mode = std::fs::metadata(&file)
            .expect("the file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the user may read the key file");
        let again = Keys::load(Some(dir.path())).expect("the key file reads back");
        let (secret, source) = again
            .find("anthropic", Some("ORCHESTRA_TEST_UNSET_VARIABLE"))
            .expect("the stored key is found");
        assert_eq!(secret.expose(), "sk-ant-test-0000");
        assert_eq!(source, KeySource::File(file));
    }
}
