//! The accept loop and one connection: read the request, record it, check it, pick the scripted
//! reply and play it on the wire.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::http::{self, ReadError, Request};
use crate::script::Shared;
use crate::wire::{Answer, Call, Frame, Provider};
use crate::{Received, Reply};

/// The text of a reply that is cut short; it has words enough for the pieces a cut stream sends.
const CUT_TEXT: &str = "This answer is cut short before its end.";

/// The most characters of a request body quoted in the error for an unscripted request.
const EXCERPT_CHARS: usize = 200;

/// Accepts connections until `stop` fires (or its sender is dropped), each served on a task of
/// its own.
pub(crate) async fn run(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener)
        .expect("a bound non-blocking listener must register with the runtime");
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    tokio::spawn(connection(socket, Arc::clone(&shared)));
                }
                // Accepting fails when the process is out of file descriptors, for instance;
                // waiting a little lets other connections close instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

/// Serves one connection: one request, one response, then close.
async fn connection(socket: TcpStream, shared: Arc<Shared>) {
    // Events are small and a test wants each one when it is written.
    let _ = socket.set_nodelay(true);
    let mut socket = BufReader::new(socket);
    let request = match http::read_request(&mut socket).await {
        Ok(request) => request,
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad { status, message }) => {
            let _ = send_error(
                socket.get_mut(),
                Provider::OpenAi,
                status,
                None,
                &message,
                &shared,
            )
            .await;
            return;
        }
    };
    shared.record(Received {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request.headers.clone(),
        body: serde_json::from_slice(&request.body).unwrap_or_default(),
    });
    // A write that fails means the client went away; there is no one left to tell.
    let _ = answer(socket.get_mut(), &request, &shared).await;
}

/// Answers a request that was read whole.
async fn answer(socket: &mut TcpStream, request: &Request, shared: &Shared) -> io::Result<()> {
    let Some(provider) = Provider::route(&request.method, request.path()) else {
        let message = format!("Invalid URL ({} {})", request.method, request.path());
        return send_error(socket, Provider::OpenAi, 404, None, &message, shared).await;
    };
    let call = match provider.check(request) {
        Ok(call) => call,
        Err(refusal) => {
            return send_error(
                socket,
                provider,
                refusal.status,
                None,
                &refusal.message,
                shared,
            )
            .await;
        }
    };
    let raw_body = String::from_utf8_lossy(&request.body);
    let Some(reply) = shared.take_reply(&raw_body) else {
        let message = format!(
            "the test server has no scripted reply for this request: {}",
            excerpt(&raw_body)
        );
        return send_error(socket, provider, 500, None, &message, shared).await;
    };
    let play = Play {
        provider,
        call: &call,
        shared,
    };
    match reply {
        Reply::Text(text) => play.answer(socket, Answer::Text(&text), 0).await,
        Reply::ToolCalls(calls) => play.answer(socket, Answer::ToolCalls(&calls), 0).await,
        Reply::Slow { text, delay_ms } => play.answer(socket, Answer::Text(&text), delay_ms).await,
        Reply::Status {
            code,
            retry_after,
            message,
        } => send_error(socket, provider, code, retry_after, &message, shared).await,
        Reply::Malformed => play.malformed(socket).await,
        Reply::Cut => play.cut(socket).await,
        // The socket stays open until the runtime is dropped with the server.
        Reply::Hang => std::future::pending().await,
    }
}

/// A checked request and what it takes to answer it.
struct Play<'a> {
    /// The provider whose format the answer is in.
    provider: Provider,
    /// The checked request.
    call: &'a Call,
    /// The source of identifiers.
    shared: &'a Shared,
}

impl Play<'_> {
    /// Sends an answer, streamed if the request asked for it, waiting `delay_ms` before each
    /// piece of a stream or before a whole answer.
    async fn answer(
        &self,
        socket: &mut TcpStream,
        answer: Answer<'_>,
        delay_ms: u64,
    ) -> io::Result<()> {
        if self.call.stream {
            let frames = self.provider.stream(self.call, answer, self.shared);
            self.send_stream(socket, &frames, delay_ms).await
        } else {
            pause(delay_ms).await;
            let body = self.provider.answer_body(self.call, answer, self.shared);
            http::write_response(
                socket,
                200,
                "application/json",
                &[self.request_id()],
                body.to_string().as_bytes(),
            )
            .await
        }
    }

    /// Sends a 200 whose body, or one event of whose stream, is not JSON.
    async fn malformed(&self, socket: &mut TcpStream) -> io::Result<()> {
        if self.call.stream {
            let mut frames = self
                .provider
                .stream(self.call, Answer::Text(CUT_TEXT), self.shared);
            frames.truncate(1);
            frames.push(self.provider.malformed_frame());
            self.send_stream(socket, &frames, 0).await
        } else {
            http::write_response(
                socket,
                200,
                "application/json",
                &[self.request_id()],
                self.provider.malformed_body().as_bytes(),
            )
            .await
        }
    }

    /// Sends the start of an answer and closes the connection before its end.
    async fn cut(&self, socket: &mut TcpStream) -> io::Result<()> {
        if self.call.stream {
            let mut frames = self
                .provider
                .stream(self.call, Answer::Text(CUT_TEXT), self.shared);
            frames.truncate(self.provider.cut_frames());
            self.send_stream(socket, &frames, 0).await
        } else {
            let body = self
                .provider
                .answer_body(self.call, Answer::Text(CUT_TEXT), self.shared)
                .to_string();
            http::write_head(
                socket,
                200,
                &[
                    ("Content-Type", "application/json".to_owned()),
                    ("Content-Length", body.len().to_string()),
                    self.request_id(),
                ],
            )
            .await?;
            socket.write_all(&body.as_bytes()[..body.len() / 2]).await?;
            socket.shutdown().await
        }
    }

    /// Sends an event stream: the headers, then each frame, waiting `delay_ms` before each piece
    /// of the answer; the body ends when the connection closes.
    async fn send_stream(
        &self,
        socket: &mut TcpStream,
        frames: &[Frame],
        delay_ms: u64,
    ) -> io::Result<()> {
        http::write_head(
            socket,
            200,
            &[
                ("Content-Type", "text/event-stream".to_owned()),
                ("Cache-Control", "no-cache".to_owned()),
                self.request_id(),
            ],
        )
        .await?;
        for frame in frames {
            if frame.piece {
                pause(delay_ms).await;
            }
            socket.write_all(frame.text.as_bytes()).await?;
            socket.flush().await?;
        }
        socket.shutdown().await
    }

    /// The provider's request identifier header, with a fresh identifier.
    fn request_id(&self) -> (&'static str, String) {
        (self.provider.request_id_header(), self.shared.id("req_"))
    }
}

/// Sends an error in the provider's format, with a `Retry-After` header when one is given.
async fn send_error(
    socket: &mut TcpStream,
    provider: Provider,
    status: u16,
    retry_after: Option<u64>,
    message: &str,
    shared: &Shared,
) -> io::Result<()> {
    let mut headers = vec![(provider.request_id_header(), shared.id("req_"))];
    if let Some(seconds) = retry_after {
        headers.push(("Retry-After", seconds.to_string()));
    }
    let body = provider.error_body(status, message).to_string();
    http::write_response(
        socket,
        status,
        "application/json",
        &headers,
        body.as_bytes(),
    )
    .await
}

/// Waits this many milliseconds, or not at all for zero.
async fn pause(delay_ms: u64) {
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
}

/// The start of a request body, for an error message.
fn excerpt(body: &str) -> String {
    let mut characters = body.chars();
    let start: String = characters.by_ref().take(EXCERPT_CHARS).collect();
    if characters.next().is_some() {
        format!("{start}…")
    } else {
        start
    }
}
