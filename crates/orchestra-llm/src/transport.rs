//! How a request reaches a provider: over HTTP, over HTTP while recording every exchange to a
//! file, or from a recording, which refuses any request it did not record.
//!
//! A recording holds request bodies and the raw bytes of the replies (a stream as the server sent
//! it), never a header, so no key can be in it; and a replayed reply is read by the same parsing
//! code as a live one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::Secret;
use crate::wire::Api;

/// A request to a provider.
pub struct Exchange {
    /// The wire format.
    pub api: Api,
    /// The full URL.
    pub url: String,
    /// Headers, some of them secret.
    pub headers: Vec<(&'static str, Secret)>,
    /// The JSON body.
    pub body: Value,
}

/// A provider's reply, its body still arriving.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body's content type.
    pub content_type: String,
    /// How long the provider asked to wait before another request (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// The body, as it arrives.
    pub body: BoxStream<'static, Result<Bytes, String>>,
}

/// Why a request got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The provider could not be reached, or did not answer in time; another try may work.
    #[error("{0}")]
    Unreachable(String),
    /// The request cannot be served (a recording has no answer for it).
    #[error("{0}")]
    Refused(String),
}

/// Sends requests to providers.
pub trait Transport: Send + Sync {
    /// Sends one request.
    fn send(&self, exchange: Exchange) -> BoxFuture<'_, Result<Response, TransportError>>;

    /// The recording answers come from, when they do not come from live models.
    fn replaying(&self) -> Option<&Path> {
        None
    }

    /// The aliases a recording was made with, which a replay uses so that it sends the same
    /// requests.
    fn recorded_aliases(&self) -> Option<&IndexMap<String, String>> {
        None
    }
}

/// Requests over HTTP.
pub struct Http {
    connect: Duration,
    idle: Duration,
    /// Made with the first request: making one reads the system's certificates, which a run
    /// without LLM steps should not pay for.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl Http {
    /// A client that gives up connecting after `connect` and waits at most `idle` for each next
    /// piece of a reply.
    pub fn new(connect: Duration, idle: Duration) -> Self {
        Self {
            connect,
            idle,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, TransportError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(self.connect)
                    .read_timeout(self.idle)
                    // A redirect could carry a key's header to another host: none is followed.
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("orchestra/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| format!("the HTTP client cannot be set up: {error}"))
            })
            .as_ref()
            .map_err(|problem| TransportError::Refused(problem.clone()))
    }
}

impl Transport for Http {
    fn send(&self, exchange: Exchange) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let mut request = self.client()?.post(&exchange.url).json(&exchange.body);
            for (name, value) in &exchange.headers {
                request = request.header(*name, value.expose());
            }
            let response = request.send().await.map_err(|error| {
                TransportError::Unreachable(describe_reqwest(&error, &exchange.url))
            })?;
            let headers = response.headers();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let retry_after = retry_after(
                header("retry-after-ms").as_deref(),
                header("retry-after").as_deref(),
            );
            let content_type = header("content-type").unwrap_or_default();
            let status = response.status().as_u16();
            let url = exchange.url.clone();
            let body = response
                .bytes_stream()
                .map(move |chunk| chunk.map_err(|error| describe_reqwest(&error, &url)))
                .boxed();
            Ok(Response {
                status,
                content_type,
                retry_after,
                body,
            })
        })
    }
}

/// A reqwest error as a sentence that names where it was going (without a password or query,
/// where some providers put keys).
fn describe_reqwest(error: &reqwest::Error, url: &str) -> String {
    use std::error::Error as _;
    let url = bare_url(url);
    // The innermost cause says what happened; reqwest's own message would repeat the full URL.
    let mut cause = None;
    let mut source = error.source();
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    let cause = cause.unwrap_or_else(|| "no further detail".to_owned());
    if error.is_timeout() {
        format!("`{url}` did not answer in time ({cause})")
    } else if error.is_connect() {
        format!("could not connect to `{url}` ({cause})")
    } else {
        format!("the connection to `{url}` failed ({cause})")
    }
}

/// A URL without its user, password and query.
pub fn bare_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "the provider's URL".to_owned(),
    }
}

/// The wait a provider asked for: `retry-after-ms` (OpenAI's), else `Retry-After` in seconds or
/// as an HTTP date. A wait of more than an hour is taken as an hour.
pub fn retry_after(millis: Option<&str>, header: Option<&str>) -> Option<Duration> {
    const MOST: Duration = Duration::from_hours(1);
    // Clamped before it becomes a duration, which a huge number would overflow.
    let seconds = |value: f64| Duration::try_from_secs_f64(value.min(MOST.as_secs_f64())).ok();
    if let Some(millis) = millis.and_then(|text| text.trim().parse::<f64>().ok())
        && millis.is_finite()
        && millis >= 0.0
    {
        return seconds(millis / 1_000.0);
    }
    let text = header?.trim();
    if let Ok(value) = text.parse::<f64>()
        && value.is_finite()
        && value >= 0.0
    {
        return seconds(value);
    }
    let date = jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", text)
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    let wait = date.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MOST))
}

/// A recording of exchanges, as it is saved.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Recording {
    /// The format's version.
    pub orchestra_recording: u32,
    /// The model aliases in force when it was made.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub aliases: IndexMap<String, String>,
    /// Every exchange, in the order they ended.
    pub exchanges: Vec<Recorded>,
}

/// One request and its reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// The wire format.
    pub api: Api,
    /// The request body.
    pub request: Value,
    /// The reply's status.
    pub status: u16,
    /// The reply's content type.
    #[serde(default)]
    pub content_type: String,
    /// The wait the provider asked for, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The reply's body, exactly as it came (a stream of server-sent events, or JSON).
    pub response: String,
}

/// Sends requests over another transport and saves every exchange to a file.
pub struct Recorder {
    inner: Arc<dyn Transport>,
    path: PathBuf,
    recording: Arc<Mutex<Recording>>,
    aliases: Arc<Mutex<IndexMap<String, String>>>,
}

impl Recorder {
    /// Records what `inner` sends and receives into `path`, after the exchanges it already
    /// holds (a run recorded, then resumed or approved, keeps one recording), with the models
    /// that `aliases` says the run's aliases stood for.
    pub fn new(
        inner: Arc<dyn Transport>,
        path: &Path,
        aliases: Arc<Mutex<IndexMap<String, String>>>,
    ) -> Result<Self, String> {
        let recording = match Replay::open(path) {
            Ok(earlier) => earlier.recording,
            Err(_) if !path.exists() => Recording {
                orchestra_recording: 1,
                aliases: IndexMap::new(),
                exchanges: Vec::new(),
            },
            Err(problem) => {
                return Err(format!("{problem}; choose another file to record into"));
            }
        };
        if let Ok(mut known) = aliases.lock() {
            known.extend(recording.aliases.clone());
        }
        Ok(Self {
            inner,
            path: path.to_path_buf(),
            recording: Arc::new(Mutex::new(recording)),
            aliases,
        })
    }
}

impl Transport for Recorder {
    fn send(&self, exchange: Exchange) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let api = exchange.api;
            let request = exchange.body.clone();
            let response = self.inner.send(exchange).await?;
            let seen = Arc::new(Mutex::new(Vec::new()));
            let tee = Arc::clone(&seen);
            let body = response.body.inspect(move |chunk| {
                if let (Ok(bytes), Ok(mut seen)) = (chunk, tee.lock()) {
                    seen.extend_from_slice(bytes);
                }
            });
            let recorded = Recorded {
                api,
                request,
                status: response.status,
                content_type: response.content_type.clone(),
                retry_after_ms: response
                    .retry_after
                    .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                response: String::new(),
            };
            let recording = Arc::clone(&self.recording);
            let aliases = Arc::clone(&self.aliases);
            let path = self.path.clone();
            // Once the body has been read to its end, the exchange is saved.
            let save = stream::once(async move {
                let text = seen
                    .lock()
                    .map(|seen| String::from_utf8_lossy(&seen).into_owned())
                    .unwrap_or_default();
                let saved = recording
                    .lock()
                    .map_err(|_| "the recording is unusable".to_owned())
                    .and_then(|mut recording| {
                        recording.exchanges.push(Recorded {
                            response: text,
                            ..recorded
                        });
                        if let Ok(aliases) = aliases.lock() {
                            recording.aliases.clone_from(&aliases);
                        }
                        save_recording(&path, &recording)
                    });
                saved.err()
            })
            .filter_map(|problem| async move { problem.map(Err) });
            Ok(Response {
                body: body.chain(save).boxed(),
                ..response
            })
        })
    }
}

fn save_recording(path: &Path, recording: &Recording) -> Result<(), String> {
    let text = serde_json::to_string_pretty(recording)
        .map_err(|error| format!("the recording cannot be written: {error}"))?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text + "\n")
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|error| {
            format!(
                "the recording `{}` cannot be saved: {error}",
                path.display()
            )
        })
}

/// Answers requests from a recording, and refuses any it did not record.
pub struct Replay {
    path: PathBuf,
    recording: Recording,
    used: Mutex<Vec<bool>>,
}

impl Replay {
    /// Reads a recording.
    pub fn open(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!("the recording `{}` cannot be read: {error}", path.display())
        })?;
        let recording: Recording = serde_json::from_str(&text).map_err(|error| {
            format!(
                "`{}` is not an Orchestra recording: {error}",
                path.display()
            )
        })?;
        if recording.orchestra_recording != 1 {
            return Err(format!(
                "`{}` is a recording of version {}, which this Orchestra does not read",
                path.display(),
                recording.orchestra_recording
            ));
        }
        let used = vec![false; recording.exchanges.len()];
        Ok(Self {
            path: path.to_path_buf(),
            recording,
            used: Mutex::new(used),
        })
    }

    /// The first unused exchange that matches, else the last used one that does (a request
    /// made again, as a retry is, gets the same answer).
    fn find(&self, api: Api, request: &Value) -> Option<&Recorded> {
        let mut used = self.used.lock().ok()?;
        let matching = |at: &usize| {
            let recorded = &self.recording.exchanges[*at];
            recorded.api == api && recorded.request == *request
        };
        let all = 0..self.recording.exchanges.len();
        if let Some(at) = all.clone().filter(matching).find(|at| !used[*at]) {
            used[at] = true;
            return Some(&self.recording.exchanges[at]);
        }
        all.filter(matching)
            .last()
            .map(|at| &self.recording.exchanges[at])
    }
}

impl Transport for Replay {
    fn send(&self, exchange: Exchange) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let Some(recorded) = self.find(exchange.api, &exchange.body) else {
                let model = exchange
                    .body
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                return Err(TransportError::Refused(format!(
                    "the recording `{}` holds no answer for this request to `{model}`: the pipeline, its inputs or its prompt layers changed since it was recorded (record it again with `--record`)",
                    self.path.display()
                )));
            };
            let body = Bytes::from(recorded.response.clone());
            Ok(Response {
                status: recorded.status,
                content_type: recorded.content_type.clone(),
                // A replay has no rate limit to respect: its retries come at once.
                retry_after: None,
                body: stream::iter([Ok(body)]).boxed(),
            })
        })
    }

    fn replaying(&self) -> Option<&Path> {
        Some(&self.path)
    }

    fn recorded_aliases(&self) -> Option<&IndexMap<String, String>> {
        Some(&self.recording.aliases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_every_form_providers_use() {
        assert_eq!(
            retry_after(Some("1500"), Some("9")),
            Some(Duration::from_millis(1_500)),
            "OpenAI's retry-after-ms is the more precise and wins"
        );
        assert_eq!(
            retry_after(None, Some("2")),
            Some(Duration::from_secs(2)),
            "Retry-After in seconds"
        );
        assert_eq!(
            retry_after(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO),
            "an HTTP date in the past means no wait"
        );
        assert_eq!(
            retry_after(None, Some("999999")),
            Some(Duration::from_hours(1)),
            "an absurd wait is capped at an hour"
        );
        assert_eq!(
            retry_after(Some("1e30"), Some("1e20")),
            Some(Duration::from_hours(1)),
            "numbers too large for a duration are capped, not a crash"
        );
        assert_eq!(
            retry_after(None, Some("soon")),
            None,
            "an unreadable header is ignored"
        );
    }
}
