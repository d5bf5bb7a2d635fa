//! The OS keychain: on Linux, the Secret Service (GNOME Keyring, `KWallet`, `KeePassXC`) over the
//! D-Bus session bus.
//!
//! Each provider's key is one item under the service `orchestra` (or the one
//! `ORCHESTRA_KEYCHAIN_SERVICE` names, to keep a separate set of keys), its user being the
//! provider's name. A machine without a session bus or without a Secret Service (a server, a
//! container, CI) has no keychain: the first call fails at once with a sentence, and keys fall
//! through to the key file.
//!
//! Every call runs on a thread of its own and is waited for at most [`TIME_LIMIT`], so that a
//! keychain that does not answer (one waiting on a password prompt that nobody sees) cannot hang
//! a command or a run. Once the keychain could not be reached, it is not asked again in this
//! process. The thread also keeps zbus's blocking calls away from any tokio runtime of the
//! caller.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use indexmap::IndexMap;
use keyring_core::Entry;
use keyring_core::api::CredentialStoreApi;
use zbus_secret_service_keyring_store::Store;

use crate::keys::Secret;

/// How long one call to the keychain may take, connecting included.
pub const TIME_LIMIT: Duration = Duration::from_secs(2);

/// The service keys are kept under, unless [`SERVICE_VARIABLE`] names another.
pub const DEFAULT_SERVICE: &str = "orchestra";

/// The environment variable that names another service to keep keys under.
pub const SERVICE_VARIABLE: &str = "ORCHESTRA_KEYCHAIN_SERVICE";

/// Why the keychain was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// There is no keychain to use: no session bus, no Secret Service on it, or none that
    /// answered in time. The text says which.
    Unreachable(String),
    /// The keychain answered but did not do what was asked; the text says why.
    Failed(String),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(reason) => write!(f, "no OS keychain was found ({reason})"),
            Self::Failed(reason) => write!(f, "the OS keychain failed ({reason})"),
        }
    }
}

/// The OS keychain of this process: reached on first use, and remembered.
pub struct Keychain {
    service: String,
    reach: Mutex<Reach>,
    /// What each provider's item held when it was last read or written (`None`: no item), so
    /// that an item is read once and messages can be cleaned of every key seen.
    seen: Mutex<IndexMap<String, Option<Secret>>>,
}

/// Whether the keychain has been reached.
enum Reach {
    Untried,
    Connected(Arc<Store>),
    Unreachable(String),
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Keychain {
    /// The keychain, with its service from [`SERVICE_VARIABLE`] or [`DEFAULT_SERVICE`]. Nothing
    /// is asked of it yet.
    pub fn from_environment() -> Self {
        let service = std::env::var(SERVICE_VARIABLE)
            .ok()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Self::with_reach(service, Reach::Untried)
    }

    /// A keychain that is never asked: every call fails with `reason`.
    pub fn unreachable(reason: impl Into<String>) -> Self {
        Self::with_reach(
            DEFAULT_SERVICE.to_owned(),
            Reach::Unreachable(reason.into()),
        )
    }

    fn with_reach(service: String, reach: Reach) -> Self {
        Self {
            service,
            reach: Mutex::new(reach),
            seen: Mutex::new(IndexMap::new()),
        }
    }

    /// The service keys are kept under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether the keychain can be reached, reaching it if nobody has yet.
    pub fn reach(&self) -> Result<(), Trouble> {
        self.call(|_| Ok(()))
    }

    /// The key kept for `provider`, if any.
    pub fn get(&self, provider: &str) -> Result<Option<Secret>, Trouble> {
        if let Some(known) = lock(&self.seen).get(provider) {
            return Ok(known.clone());
        }
        let entry = self.entry_spec(provider);
        let found = self.call(move |store| match entry.build(store)?.get_password() {
            Ok(value) => Ok(Some(value.trim())
                .filter(|value| !value.is_empty())
                .map(Secret::new)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(error) => Err(error),
        })?;
        lock(&self.seen).insert(provider.to_owned(), found.clone());
        Ok(found)
    }

    /// Keeps `secret` as the key of `provider`, replacing any earlier one.
    pub fn set(&self, provider: &str, secret: &Secret) -> Result<(), Trouble> {
        let entry = self.entry_spec(provider);
        let value = secret.clone();
        self.call(move |store| entry.build(store)?.set_password(value.expose()))?;
        lock(&self.seen).insert(provider.to_owned(), Some(secret.clone()));
        Ok(())
    }

    /// Deletes the key of `provider`; whether there was one.
    pub fn delete(&self, provider: &str) -> Result<bool, Trouble> {
        let entry = self.entry_spec(provider);
        let had = self.call(move |store| match entry.build(store)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(error) => Err(error),
        })?;
        lock(&self.seen).insert(provider.to_owned(), None);
        Ok(had)
    }

    /// Every key the keychain holds, as far as this process has read or written it.
    pub fn seen(&self) -> Vec<Secret> {
        lock(&self.seen).values().flatten().cloned().collect()
    }

    fn entry_spec(&self, provider: &str) -> EntrySpec {
        EntrySpec {
            service: self.service.clone(),
            provider: provider.to_owned(),
        }
    }

    /// Runs `operation` against the keychain on a thread of its own, connecting first if
    /// needed, and waits for it at most [`TIME_LIMIT`].
    fn call<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Store) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, Trouble> {
        // Held throughout, so that calls of several threads take their turns.
        let mut reach = lock(&self.reach);
        let connected = match &*reach {
            Reach::Unreachable(reason) => return Err(Trouble::Unreachable(reason.clone())),
            Reach::Connected(store) => Some(Arc::clone(store)),
            Reach::Untried => None,
        };
        let (answer, answered) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("keychain".to_owned())
            .spawn(move || {
                let outcome = match connected.map_or_else(Store::new, Ok) {
                    Ok(store) => {
                        let done = operation(&store).map_err(|error| describe(&error));
                        Ok((store, done))
                    }
                    Err(error) => Err(describe(&error)),
                };
                // The caller may have stopped waiting; then nobody needs the answer.
                let _ = answer.send(outcome);
            });
        if let Err(error) = spawned {
            let reason = format!("no thread could be started to reach it: {error}");
            *reach = Reach::Unreachable(reason.clone());
            return Err(Trouble::Unreachable(reason));
        }
        let (next, outcome) = match answered.recv_timeout(TIME_LIMIT) {
            Ok(Ok((store, done))) => (Reach::Connected(store), done.map_err(Trouble::Failed)),
            Ok(Err(reason)) => (
                Reach::Unreachable(reason.clone()),
                Err(Trouble::Unreachable(reason)),
            ),
            // The thread is left to finish or not; it holds nothing the process needs.
            Err(RecvTimeoutError::Timeout) => {
                let reason = format!(
                    "the Secret Service did not answer within {} seconds; a locked keychain may be waiting for its password",
                    TIME_LIMIT.as_secs()
                );
                (
                    Reach::Unreachable(reason.clone()),
                    Err(Trouble::Unreachable(reason)),
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                let reason = "the call to it stopped without an answer".to_owned();
                (
                    Reach::Unreachable(reason.clone()),
                    Err(Trouble::Unreachable(reason)),
                )
            }
        };
        *reach = next;
        outcome
    }
}

/// What names a provider's item: built into an entry on the keychain's thread.
struct EntrySpec {
    service: String,
    provider: String,
}

impl EntrySpec {
    fn build(&self, store: &Store) -> keyring_core::Result<Entry> {
        let label = format!("Orchestra: the API key of {}", self.provider);
        let modifiers = HashMap::from([("label", label.as_str())]);
        store.build(&self.service, &self.provider, Some(&modifiers))
    }
}

/// A keychain error as a clause of a sentence. Some of the crate's own messages print values
/// with `Debug` (and one kind holds a secret's bytes), so each kind is said here.
fn describe(error: &keyring_core::Error) -> String {
    use keyring_core::Error;
    match error {
        Error::PlatformFailure(inner) => inner.to_string(),
        Error::NoStorageAccess(inner) => format!("it refused access: {inner}"),
        Error::NoEntry => "it holds no such item".to_owned(),
        Error::BadEncoding(_) | Error::BadDataFormat(..) => {
            "the item it holds is not text (its content is not shown)".to_owned()
        }
        Error::Ambiguous(items) => format!(
            "{} items match the service and the provider; remove all but one",
            items.len()
        ),
        Error::TooLong(name, limit) => {
            format!("the {name} is longer than its limit of {limit} characters")
        }
        Error::Invalid(name, reason) => format!("the {name} is not valid: {reason}"),
        Error::NotSupportedByStore(what) => format!("it does not support this: {what}"),
        _ => "it failed in a way this build does not know".to_owned(),
    }
}

/// A lock that a panic elsewhere does not poison for good: what it guards stays consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
