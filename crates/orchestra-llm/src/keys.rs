//! API keys: where they come from, and how they are kept out of everything else.
//!
//! A provider's key is looked up in its environment variable first (`OPENAI_API_KEY`, as the
//! official SDKs do), then in the OS keychain (see [`crate::keychain`]), then in the user's key
//! file. `orchestra auth set` keeps a key in the keychain when there is one, and otherwise in the
//! key file, with permissions `0600`, saying so. Keys are never read from a pipeline or a project
//! file. A key is held in a [`Secret`], which prints as `[secret]`; error messages from providers
//! pass through [`Redactor::redact`] before anyone sees them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::keychain::{Keychain, Trouble};

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
    /// The OS keychain, under this service.
    Keychain(String),
    /// The user's key file.
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment(name) => write!(f, "the environment variable `{name}`"),
            Self::Keychain(service) => write!(f, "the OS keychain (service `{service}`)"),
            Self::File(path) => write!(f, "the key file `{}`", path.display()),
        }
    }
}

/// Where [`Keys::store`] kept a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// In the OS keychain, under `service`; `removed_from` is the key file that held an older
    /// copy, which is gone from it now.
    Keychain {
        /// The keychain's service.
        service: String,
        /// The key file an older copy was removed from.
        removed_from: Option<PathBuf>,
    },
    /// In the key file at `path`, because the keychain could not take it.
    File {
        /// The key file.
        path: PathBuf,
        /// Why not in the keychain.
        because: Trouble,
    },
}

/// What [`Keys::remove`] removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    /// Whether the keychain held a key that is now deleted, or why it could not be searched.
    pub keychain: Result<bool, Trouble>,
    /// The key file the key was removed from, if it held one.
    pub file: Option<PathBuf>,
}

/// The keys this process may use.
#[derive(Clone, Debug)]
pub struct Keys {
    file: Option<PathBuf>,
    stored: IndexMap<String, Secret>,
    keychain: Arc<Keychain>,
}

/// The name of the key file in the user's global folder.
pub const KEY_FILE: &str = "keys.yaml";

impl Keys {
    /// The keys of the environment, of the OS keychain and of the key file in `global_dir`. The
    /// keychain is asked only when a key is looked for.
    pub fn load(global_dir: Option<&Path>) -> Result<Self, String> {
        Self::with_keychain(global_dir, Keychain::from_environment())
    }

    /// The keys of the environment, of `keychain` and of the key file in `global_dir`.
    pub fn with_keychain(global_dir: Option<&Path>, keychain: Keychain) -> Result<Self, String> {
        let file = global_dir.map(|dir| dir.join(KEY_FILE));
        let stored = match &file {
            Some(file) => read_key_file(file)?,
            None => IndexMap::new(),
        };
        Ok(Self {
            file,
            stored,
            keychain: Arc::new(keychain),
        })
    }

    /// The key of `provider`: from `variable` in the environment, from the OS keychain, or from
    /// the key file, in this order. A keychain that cannot be reached is passed over.
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
        if let Ok(Some(secret)) = self.keychain.get(provider) {
            return Some((
                secret,
                KeySource::Keychain(self.keychain.service().to_owned()),
            ));
        }
        let secret = self.stored.get(provider)?;
        Some((secret.clone(), KeySource::File(self.file.clone()?)))
    }

    /// Where [`Keys::store`] would keep a key: the keychain's service, or why not the keychain.
    pub fn keychain(&self) -> Result<&str, Trouble> {
        self.keychain.reach()?;
        Ok(self.keychain.service())
    }

    /// The key file, if there is a global folder to hold one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Every key value known, so that messages can be cleaned of them: the key file's, those of
    /// `variables` in the environment, and those the keychain gives in this process.
    pub fn redactor(&self, variables: &[&str]) -> Redactor {
        let mut values: Vec<Secret> = self.stored.values().cloned().collect();
        values.extend(
            variables
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .map(|value| Secret::new(value.trim())),
        );
        Redactor {
            values,
            keychain: Some(Arc::clone(&self.keychain)),
        }
    }

    /// Stores a key for `provider`: in the OS keychain, and then no longer in the key file; or,
    /// when the keychain cannot take it, in the key file, readable only by the user.
    pub fn store(&mut self, provider: &str, secret: Secret) -> Result<Stored, String> {
        match self.keychain.set(provider, &secret) {
            Ok(()) => {
                let removed_from = self.forget(provider)?;
                Ok(Stored::Keychain {
                    service: self.keychain.service().to_owned(),
                    removed_from,
                })
            }
            Err(because) => {
                let path = self.writable_file()?;
                self.stored.insert(provider.to_owned(), secret);
                self.save(&path)?;
                Ok(Stored::File { path, because })
            }
        }
    }

    /// Removes the key of `provider` from the OS keychain and from the key file.
    pub fn remove(&mut self, provider: &str) -> Result<Removed, String> {
        let keychain = self.keychain.delete(provider);
        let file = self.forget(provider)?;
        Ok(Removed { keychain, file })
    }

    /// Removes `provider` from the key file; the file, if it held a key.
    fn forget(&mut self, provider: &str) -> Result<Option<PathBuf>, String> {
        if self.stored.shift_remove(provider).is_none() {
            return Ok(None);
        }
        let path = self.writable_file()?;
        self.save(&path)?;
        Ok(Some(path))
    }

    fn writable_file(&self) -> Result<PathBuf, String> {
        self.file.clone().ok_or_else(|| {
            "there is no global folder to keep keys in (set ORCHESTRA_HOME or HOME)".to_owned()
        })
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
            "# API keys of Orchestra's model providers, written by `orchestra auth set` where no OS keychain was found.\n# Readable only by you (mode 0600). Environment variables and the OS keychain take precedence.\n",
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

/// The keys of the key file at `file`; none if there is no such file.
fn read_key_file(file: &Path) -> Result<IndexMap<String, Secret>, String> {
    let problem = |problem: &dyn std::fmt::Display| {
        format!(
            "the key file `{}` cannot be read: {problem}",
            file.display()
        )
    };
    match std::fs::read_to_string(file) {
        Ok(text) => parse_key_file(&text).map_err(|error| problem(&error)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(IndexMap::new()),
        Err(error) => Err(problem(&error)),
    }
}

fn parse_key_file(text: &str) -> Result<IndexMap<String, Secret>, String> {
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
    values: Vec<Secret>,
    /// The keychain, whose keys are known only once they are read.
    keychain: Option<Arc<Keychain>>,
}

impl Redactor {
    /// The text with every known key, and every `sk-…` token, replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let seen = self
            .keychain
            .as_ref()
            .map(|keychain| keychain.seen())
            .unwrap_or_default();
        let mut clean = text.to_owned();
        // Values this short would hide ordinary words and cannot be real keys.
        for value in self.values.iter().chain(&seen).map(Secret::expose) {
            if value.len() >= 4 {
                clean = clean.replace(value, "[redacted]");
            }
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
            values: vec![Secret::new("local-secret-123")],
            keychain: None,
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
        let without_keychain = || Keychain::unreachable("this test keeps keys in the file");
        let mut keys = Keys::with_keychain(Some(dir.path()), without_keychain())
            .expect("no key file yet is fine");
        let stored = keys
            .store("anthropic", Secret::new("sk-ant-test-0000"))
            .expect("the key is stored");
        let Stored::File {
            path: file,
            because,
        } = stored
        else {
            panic!("with no keychain, the key goes to the key file: {stored:?}");
        };
        assert_eq!(
            because.to_string(),
            "no OS keychain was found (this test keeps keys in the file)",
            "the reason the file was used is said"
        );
        let mode = std::fs::metadata(&file)
            .expect("the file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the user may read the key file");
        let again = Keys::with_keychain(Some(dir.path()), without_keychain())
            .expect("the key file reads back");
        let (secret, source) = again
            .find("anthropic", Some("ORCHESTRA_TEST_UNSET_VARIABLE"))
            .expect("the stored key is found");
        assert_eq!(secret.expose(), "sk-ant-test-0000");
        assert_eq!(source, KeySource::File(file));
    }
}
