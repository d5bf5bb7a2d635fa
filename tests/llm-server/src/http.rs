//! Just enough HTTP/1.1 to read one request and write one response per connection.
//!
//! This is written by hand over a TCP socket rather than with an HTTP server library on purpose:
//! a fixture must be able to misbehave at the byte level (promise a body and close early, cut a
//! stream in the middle, hang after reading a request, send a line that is not JSON), which a
//! correct server library is built to prevent. Every response says `Connection: close`, and an
//! event stream's body ends when the connection closes, so no response needs chunked encoding.

use std::collections::BTreeMap;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most bytes the request line and headers may take together.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most bytes a request body may take.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A request as read from the socket.
#[derive(Debug)]
pub(crate) struct Request {
    /// The method, as sent.
    pub(crate) method: String,
    /// The request target, as sent.
    pub(crate) target: String,
    /// The headers by lower-case name; repeated headers joined with `", "`.
    pub(crate) headers: BTreeMap<String, String>,
    /// The body's bytes (decoded from chunked encoding if it was sent so).
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The target without its query string.
    pub(crate) fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// A header's value, by lower-case name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed the connection or the socket failed: there is no one to answer.
    Gone,
    /// The client sent something that is not a valid request: answer with this status and
    /// message.
    Bad {
        /// The HTTP status to answer with.
        status: u16,
        /// What was wrong, for the error body.
        message: String,
    },
}

impl ReadError {
    /// A `Bad` error with status 400.
    fn bad(message: impl Into<String>) -> ReadError {
        ReadError::Bad {
            status: 400,
            message: message.into(),
        }
    }
}

/// Reads one request: the request line, the headers, and the body that `Content-Length` or
/// chunked transfer encoding delimits.
pub(crate) async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Request, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let request_line = read_line(reader, &mut budget).await?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::bad(format!(
            "the request line {request_line:?} is not `METHOD TARGET HTTP/1.1`"
        )));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(ReadError::bad(format!(
            "the request line {request_line:?} is not `METHOD TARGET HTTP/1.1`"
        )));
    }
    let (method, target) = (method.to_owned(), target.to_owned());

    let mut headers = BTreeMap::<String, String>::new();
    loop {
        let line = read_line(reader, &mut budget).await?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::bad(format!(
                "the header line {line:?} has no colon"
            )));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name.is_empty() {
            return Err(ReadError::bad(format!(
                "the header line {line:?} has no name"
            )));
        }
        headers
            .entry(name)
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }

    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|encoding| encoding.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader).await?
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().map_err(|_| {
            ReadError::bad(format!("the Content-Length {length:?} is not a number"))
        })?;
        if length > MAX_BODY_BYTES {
            return Err(too_large());
        }
        let mut body = vec![0; length];
        reader
            .read_exact(&mut body)
            .await
            .map_err(|_| ReadError::Gone)?;
        body
    } else {
        Vec::new()
    };

    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Reads a body sent with chunked transfer encoding, and the trailers after it.
async fn read_chunked<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD_BYTES;
    loop {
        let size_line = read_line(reader, &mut budget).await?;
        let size = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| ReadError::bad(format!("the chunk size {size:?} is not hexadecimal")))?;
        if size == 0 {
            break;
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(too_large());
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .await
            .map_err(|_| ReadError::Gone)?;
        if !read_line(reader, &mut budget).await?.is_empty() {
            return Err(ReadError::bad("a chunk is longer than its size says"));
        }
    }
    // Trailers, if any, end with an empty line; the server has no use for them.
    while !read_line(reader, &mut budget).await?.is_empty() {}
    Ok(body)
}

/// The error for a body over the limit.
fn too_large() -> ReadError {
    ReadError::Bad {
        status: 413,
        message: format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
    }
}

/// Reads one line ending in `\n` (or `\r\n`), without its ending, taking its length from
/// `budget`.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    budget: &mut usize,
) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    let read = reader
        .take(limit)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|_| ReadError::Gone)?;
    *budget -= read;
    if line.last() != Some(&b'\n') {
        return Err(if *budget == 0 {
            ReadError::Bad {
                status: 431,
                message: format!("the request line and headers are over {MAX_HEAD_BYTES} bytes"),
            }
        } else {
            ReadError::Gone
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| ReadError::bad("a request or header line is not UTF-8"))
}

/// The reason phrase that goes with a status code.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// Writes a status line and headers, adding `Connection: close`, and the empty line after them.
pub(crate) async fn write_head<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    headers: &[(&str, String)],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    writer.write_all(head.as_bytes()).await?;
    writer.flush().await
}

/// Writes a whole response with a body of `content_type`, then closes the sending side.
pub(crate) async fn write_response<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    content_type: &str,
    extra_headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut headers = vec![
        ("Content-Type", content_type.to_owned()),
        ("Content-Length", body.len().to_string()),
    ];
    headers.extend(extra_headers.iter().cloned());
    write_head(writer, status, &headers).await?;
    writer.write_all(body).await?;
    writer.shutdown().await
}
