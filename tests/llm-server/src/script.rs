//! The script of replies and the record of requests, shared between a test and the server's
//! thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{Received, Reply};

/// Everything a test and the server's thread share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The scripted replies.
    script: Mutex<Script>,
    /// Every request received, in order.
    requests: Mutex<Vec<Received>>,
    /// The source of the numbers in response and call identifiers.
    next_id: AtomicU64,
}

/// The scripted replies: once-rules in the order they were added, and a fallback.
#[derive(Debug, Default)]
struct Script {
    /// Rules that answer one request each.
    once: VecDeque<OnceRule>,
    /// The answer to every request no once-rule matches.
    always: Option<Reply>,
}

/// A reply for one request: any request when `needle` is `None`, else the first whose raw body
/// contains the needle.
#[derive(Debug)]
struct OnceRule {
    /// The text the raw body must contain, if any.
    needle: Option<String>,
    /// The reply.
    reply: Reply,
}

impl Shared {
    /// Adds a once-rule after the existing ones.
    pub(crate) fn add_once(&self, needle: Option<String>, reply: Reply) {
        lock(&self.script)
            .once
            .push_back(OnceRule { needle, reply });
    }

    /// Sets the fallback reply, replacing any earlier one.
    pub(crate) fn set_always(&self, reply: Reply) {
        lock(&self.script).always = Some(reply);
    }

    /// Picks the reply to a request with this raw body: the first once-rule that matches (which
    /// is consumed), else the fallback, else `None`.
    pub(crate) fn take_reply(&self, raw_body: &str) -> Option<Reply> {
        let mut script = lock(&self.script);
        let matching = script.once.iter().position(|rule| {
            rule.needle
                .as_deref()
                .is_none_or(|needle| raw_body.contains(needle))
        });
        match matching.and_then(|index| script.once.remove(index)) {
            Some(rule) => Some(rule.reply),
            None => script.always.clone(),
        }
    }

    /// Records a received request.
    pub(crate) fn record(&self, request: Received) {
        lock(&self.requests).push(request);
    }

    /// A copy of every request received so far.
    pub(crate) fn requests(&self) -> Vec<Received> {
        lock(&self.requests).clone()
    }

    /// A fresh identifier with this prefix (`chatcmpl-1`, `call_2` …), unique within the server.
    pub(crate) fn id(&self, prefix: &str) -> String {
        let number = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}{number}")
    }
}

/// Locks a mutex, going on if a thread panicked while holding it: the data (a list of rules or
/// of requests) is still whole, and a test that panicked has failed already.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
