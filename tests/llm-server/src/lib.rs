//! A test fixture: a protocol server that speaks the real OpenAI Chat Completions and Anthropic
//! Messages wire formats over loopback, and can be scripted to misbehave.
//!
//! Tests start one with [`LlmServer::start`], point the client under test at
//! [`LlmServer::openai_base_url`] or [`LlmServer::anthropic_base_url`], script what the "model"
//! answers with [`LlmServer::reply`], [`LlmServer::reply_when`] and [`LlmServer::always`], and read
//! back what the client sent with [`LlmServer::requests`]:
//!
//! ```no_run
//! use orchestra_llm_server::{LlmServer, Reply};
//!
//! let server = LlmServer::start();
//! server.reply(Reply::Status { code: 429, retry_after: Some(1), message: "slow down".into() });
//! server.reply(Reply::Text("Hello there".into()));
//! // … run the client against `server.openai_base_url()` …
//! assert_eq!(server.requests().len(), 2, "the client must retry once after a 429");
//! ```
//!
//! The server checks requests as the real services do (the API key header, the required body
//! fields), so a test catches a client that sends a wrong request. It is a fixture of the test
//! suite and of the benchmarks, never a provider a user can pick.
//!
//! Routes: `POST /v1/chat/completions` answers in the OpenAI format, `POST /v1/messages` in the
//! Anthropic format; anything else is a 404 in the OpenAI error format. A request that the server
//! refuses (a missing key, a missing field, an unknown route) does not consume a scripted reply,
//! as the real service would refuse it before any model saw it.

mod anthropic;
mod http;
mod openai;
mod script;
mod serve;
mod wire;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::script::Shared;

/// A running protocol server on `127.0.0.1`, with its own thread and tokio runtime, so that both
/// synchronous and asynchronous tests can use it.
///
/// Dropping it stops the server: connections still open (a hanging reply, a slow stream) are
/// closed.
pub struct LlmServer {
    /// The address the server listens on.
    address: SocketAddr,
    /// The script and the record of requests, shared with the server's thread.
    shared: Arc<Shared>,
    /// Dropping this sender tells the server's thread to stop.
    stop: Option<oneshot::Sender<()>>,
    /// The server's thread, joined on drop.
    thread: Option<JoinHandle<()>>,
}

impl LlmServer {
    /// Starts a server on a free loopback port (`127.0.0.1:0`) and returns once it accepts
    /// connections.
    ///
    /// It panics if the machine cannot bind a loopback port or start a thread: a broken test
    /// machine, not something a test could handle.
    pub fn start() -> LlmServer {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("a test machine must be able to bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a loopback listener must accept non-blocking mode");
        let address = listener
            .local_addr()
            .expect("a bound loopback listener must have an address");
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("llm-server-{}", address.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a test machine must be able to start a tokio runtime");
                runtime.block_on(serve::run(listener, thread_shared, stopped));
                // Dropping the runtime here drops every connection task, which closes their
                // sockets: this is how a hanging reply ends.
            })
            .expect("a test machine must be able to start a thread");
        LlmServer {
            address,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The server's root URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The base URL an OpenAI client is given, as `OPENAI_BASE_URL` is written: the root URL
    /// followed by `/v1`. The client then posts to `/v1/chat/completions`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL an Anthropic client is given, as `ANTHROPIC_BASE_URL` is written: the root
    /// URL. The client then posts to `/v1/messages`.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Scripts the answer to the next request that reaches the model, once.
    ///
    /// Once-rules (this one and [`LlmServer::reply_when`]) are tried in the order they were
    /// added, and the first that matches is consumed.
    pub fn reply(&self, reply: Reply) {
        self.shared.add_once(None, reply);
    }

    /// Scripts the answer, once, to the first request whose raw body contains `needle`.
    pub fn reply_when(&self, needle: &str, reply: Reply) {
        self.shared.add_once(Some(needle.to_owned()), reply);
    }

    /// Scripts the answer to every request that no once-rule matches; a later call replaces an
    /// earlier one.
    ///
    /// A request that neither a once-rule nor this fallback answers gets a 500 in the provider's
    /// error format, saying the test server has no scripted reply for it.
    pub fn always(&self, reply: Reply) {
        self.shared.set_always(reply);
    }

    /// Every request the server has read, in the order it read them, including the ones it
    /// refused for a missing key or field. Bytes that are not an HTTP request at all are answered
    /// with a 400 and not recorded.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.requests()
    }
}

impl fmt::Debug for LlmServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmServer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        // Dropping the sender wakes the accept loop, which returns; the thread then drops its
        // runtime and with it every open connection.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic on the server's thread has already been printed; panicking again in a drop
            // would only hide the test's own failure.
            let _ = thread.join();
        }
    }
}

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The method, as sent (`POST`).
    pub method: String,
    /// The request target, as sent, query included (`/v1/chat/completions`).
    pub path: String,
    /// The headers, by lower-case name; a header sent several times has its values joined with
    /// `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON, or `Value::Null` if it is not JSON.
    pub body: Value,
}

impl Received {
    /// The role and text of each message of an OpenAI chat request, but its system prompt.
    pub fn conversation(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|message| message["role"] != "system")
                    .map(|message| {
                        (
                            message["role"].as_str().unwrap_or_default().to_owned(),
                            message["content"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What the server answers to one request.
///
/// Whether the answer streams is the request's choice (`"stream": true` in its body), as with the
/// real services; every reply has a streaming and a non-streaming form.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An assistant text answer. Streamed, it comes in several pieces (one per word, spaces
    /// kept), so that clients are tested on putting it back together.
    Text(String),
    /// The model calls these tools: each is a tool name and its arguments object. Streamed, each
    /// call's arguments come in at least two pieces.
    ToolCalls(Vec<(String, Value)>),
    /// An error in the provider's own error JSON format, with this HTTP status (100 to 999), a
    /// `Retry-After` header in seconds when `retry_after` is set, and this message.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The `Retry-After` header's value in seconds, if any.
        retry_after: Option<u64>,
        /// The error message in the body.
        message: String,
    },
    /// A 200 whose body is not valid JSON; streamed, one valid event and then a `data:` line that
    /// is not JSON, after which the connection closes.
    Malformed,
    /// An answer cut short. Streamed: the headers and a few valid events, then the connection
    /// closes without the end of the stream. Not streamed: a `Content-Length` is promised and the
    /// connection closes before the body is complete.
    Cut,
    /// The server reads the request and never answers; the socket stays open until the server
    /// is dropped.
    Hang,
    /// A text answer that takes time. Streamed: the headers and the opening events are sent at
    /// once, then each word comes `delay_ms` milliseconds after the previous one. Not streamed:
    /// the whole answer comes after `delay_ms`.
    Slow {
        /// The answer's text.
        text: String,
        /// The delay before each word (streamed) or before the answer (not streamed).
        delay_ms: u64,
    },
}

/// Every file under `folder` (searched through every sub-folder) whose bytes hold `needle`, and
/// how many files were searched: how tests prove that a key is nowhere a run left anything.
pub fn files_holding(folder: &std::path::Path, needle: &str) -> (Vec<std::path::PathBuf>, usize) {
    let mut folders = vec![folder.to_path_buf()];
    let (mut found, mut searched) = (Vec::new(), 0);
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).expect("a folder under test can be listed");
        for entry in entries {
            let path = entry.expect("a folder entry can be read").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("a file under test can be read");
                searched += 1;
                if bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
                {
                    found.push(path);
                }
            }
        }
    }
    (found, searched)
}
