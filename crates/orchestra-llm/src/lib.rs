//! Orchestra's language models.
//!
//! - [`LlmClient`] is the engine's model client over real providers: it chooses each step's
//!   model, composes its system prompt and sends its turns, streaming.
//! - [`wire`]: the two wire formats, OpenAI Chat Completions (OpenAI, Ollama, LM Studio, vLLM,
//!   llama.cpp and other compatible servers) and Anthropic Messages.
//! - [`transport`]: HTTP, recording every exchange to a file, and replaying a recording.
//! - [`catalog`]: what models cost and can do, and `model: auto`'s choice.
//! - [`settings`]: providers, base URLs, aliases and defaults from the user's and the project's
//!   settings; [`keys`]: API keys from the environment, the OS keychain ([`keychain`]) or the
//!   user's key file, never shown.
//! - [`prompts`]: prompt layers and personalities, and the system prompt they compose.

pub mod catalog;
mod client;
pub mod keychain;
pub mod keys;
pub mod prompts;
pub mod settings;
pub mod transport;
pub mod wire;

pub use client::{LlmClient, Mode};
