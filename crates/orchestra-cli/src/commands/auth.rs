//! `orchestra auth set|status|remove`: the API keys of model providers.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use orchestra_api::auth::{self, KeyState};

use crate::Outcome;

pub fn status(json: bool, global_dir: Option<&Path>) -> Outcome {
    let root = std::env::current_dir().ok();
    let providers = match auth::status(global_dir, root.as_deref()) {
        Ok(providers) => providers,
        Err(error) => {
            anstream::eprintln!("error: {error}");
            return Outcome::Unusable;
        }
    };
    if json {
        let entries: Vec<serde_json::Value> = providers
            .iter()
            .map(|provider| {
                let (key, detail) = match &provider.key {
                    KeyState::Set(detail) => ("set", detail.as_str()),
                    KeyState::Missing(detail) => ("missing", detail.as_str()),
                    KeyState::NotNeeded => ("not needed", ""),
                };
                serde_json::json!({
                    "provider": provider.name, "api": provider.api, "base_url": provider.base_url,
                    "key": key, "detail": detail,
                })
            })
            .collect();
        return super::print_json(&entries);
    }
    let width = providers
        .iter()
        .map(|provider| provider.name.len())
        .max()
        .unwrap_or(0);
    for provider in &providers {
        let key = match &provider.key {
            KeyState::Set(detail) => format!("key set, {detail}"),
            KeyState::Missing(detail) => format!("no key: {detail}"),
            KeyState::NotNeeded => "no key needed".to_owned(),
        };
        anstream::println!(
            "{:width$}  {:9}  {}  ({key})",
            provider.name,
            provider.api,
            provider.base_url
        );
    }
    anstream::println!("\n{}", auth::storage(global_dir));
    Outcome::Clean
}

pub fn set(provider: &str, global_dir: Option<&Path>) -> Outcome {
    let key = match read_key(provider) {
        Ok(key) => key,
        Err(error) => {
            anstream::eprintln!("error: the key cannot be read: {error}");
            return Outcome::Unusable;
        }
    };
    match auth::set(global_dir, provider, &key) {
        Ok(message) => {
            anstream::println!("{message}");
            anstream::println!("{}", auth::storage(global_dir));
            Outcome::Clean
        }
        Err(error) => {
            anstream::eprintln!("error: {error}");
            Outcome::Unusable
        }
    }
}

pub fn remove(provider: &str, global_dir: Option<&Path>) -> Outcome {
    match auth::remove(global_dir, provider) {
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
