//! `orchestra auth set|status|remove`: the API keys of model providers.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use orchestra_api::auth::{self, KeySource, KeyState};

use crate::Outcome;

/// Prints each provider, where its requests go and where its key comes from (never the key), and
/// where keys set now are kept.
pub fn status(json: bool, global_dir: Option<&Path>) -> Outcome {
    let root = std::env::current_dir().ok();
    let status = match auth::status(global_dir, root.as_deref()) {
        Ok(status) => status,
        Err(error) => {
            anstream::eprintln!("error: {error}");
            return Outcome::Unusable;
        }
    };
    if json {
        let entries: Vec<serde_json::Value> = status
            .providers
            .iter()
            .map(|provider| {
                let mut entry = serde_json::json!({
                    "provider": provider.name, "api": provider.api, "base_url": provider.base_url,
                });
                let fields = match &provider.key {
                    KeyState::Set(KeySource::Environment(variable)) => serde_json::json!({
                        "key": "set", "source": "environment", "variable": variable,
                    }),
                    KeyState::Set(KeySource::Keychain(service)) => serde_json::json!({
                        "key": "set", "source": "keychain", "service": service,
                    }),
                    KeyState::Set(KeySource::File(path)) => serde_json::json!({
                        "key": "set", "source": "file", "path": path.display().to_string(),
                    }),
                    KeyState::Missing(hint) => {
                        serde_json::json!({ "key": "not set", "hint": hint })
                    }
                    KeyState::NotNeeded => serde_json::json!({ "key": "not needed" }),
                };
                if let (Some(entry), serde_json::Value::Object(fields)) =
                    (entry.as_object_mut(), fields)
                {
                    entry.extend(fields);
                }
                entry
            })
            .collect();
        return super::print_json(&entries);
    }
    let width = status
        .providers
        .iter()
        .map(|provider| provider.name.len())
        .max()
        .unwrap_or(0);
    for provider in &status.providers {
        let key = match &provider.key {
            KeyState::Set(KeySource::Environment(variable)) => {
                format!("key from the environment variable {variable}")
            }
            KeyState::Set(KeySource::Keychain(service)) => {
                format!("key in the OS keychain, service `{service}`")
            }
            KeyState::Set(KeySource::File(path)) => {
                format!("key in the key file {}", path.display())
            }
            KeyState::Missing(hint) => format!("key not set: {hint}"),
            KeyState::NotNeeded => "no key needed".to_owned(),
        };
        anstream::println!(
            "{:width$}  {:9}  {}  ({key})",
            provider.name,
            provider.api,
            provider.base_url
        );
    }
    anstream::println!("\n{}", status.storage);
    Outcome::Clean
}

/// Stores a provider's key, read from standard input, and says where it went.
pub fn set(provider: &str, global_dir: Option<&Path>) -> Outcome {
    let key = match read_key(provider) {
        Ok(key) => key,
        Err(error) => {
            anstream::eprintln!("error: the key cannot be read: {error}");
            return Outcome::Unusable;
        }
    };
    report(auth::set(global_dir, provider, &key))
}

/// Removes a provider's key from the OS keychain and the key file.
pub fn remove(provider: &str, global_dir: Option<&Path>) -> Outcome {
    report(auth::remove(global_dir, provider))
}

/// Prints what was done, or the error.
fn report(done: Result<String, String>) -> Outcome {
    match done {
        Ok(message) => {
            anstream::println!("{message}");
            Outcome::Clean
        }
        Err(error) => {
            anstream::eprintln!("error: {error}");
            Outcome::Unusable
        }
    }
}

/// Reads a key from standard input: from a terminal without showing it, or the first line of
/// a pipe (`orchestra auth set openai < key.txt`). A key is never taken as an argument, where it
/// would stay in the shell's history and the process list.
fn read_key(provider: &str) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    let hidden = stdin.is_terminal().then(|| {
        eprint!("The API key of `{provider}` (it is not shown): ");
        let _ = std::io::stderr().flush();
        Echo::off()
    });
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if hidden.is_some() {
        eprintln!();
    }
    drop(hidden);
    Ok(line.trim().to_owned())
}

/// The terminal's echo, turned off while it lives.
struct Echo(Option<rustix::termios::Termios>);

impl Echo {
    fn off() -> Self {
        let stdin = std::io::stdin();
        let Ok(saved) = rustix::termios::tcgetattr(&stdin) else {
            return Self(None);
        };
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet);
        Self(Some(saved))
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}
