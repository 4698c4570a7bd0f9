//! Content-Length framing of Debug Adapter Protocol messages over any byte stream.
//!
//! This module knows nothing of DAP semantics: it turns bytes into JSON values and back.
//! The base protocol (DAP specification, "Base Protocol") is a header section of
//! `Name: value\r\n` lines ended by an empty line, of which only `Content-Length` is
//! required, followed by exactly that many bytes of UTF-8 JSON.

use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A header section longer than this is not a DAP header: we fail instead of buffering forever.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// The largest body we accept. Real adapters send at most a few megabytes (a big `variables`
/// response); a larger length is a corrupt stream, and allocating it would be the bug.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("i/o error on the adapter stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed header line {line:?}")]
    BadHeader { line: String },
    #[error("header section has no Content-Length")]
    MissingLength,
    #[error("bad Content-Length {value:?}")]
    BadLength { value: String },
    #[error("Content-Length {length} exceeds the limit of {MAX_BODY_BYTES} bytes")]
    TooLong { length: usize },
    #[error("header section longer than {MAX_HEADER_BYTES} bytes")]
    HeaderTooLong,
    #[error("stream ended inside a frame ({have} of {want} bytes)")]
    Truncated { have: usize, want: usize },
    #[error("body of {length} bytes is not JSON: {source}")]
    BadJson {
        length: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not connect to the adapter at {addr} within {waited:?}: {source}")]
    Connect {
        addr: String,
        waited: Duration,
        #[source]
        source: std::io::Error,
    },
}

/// The outcome of looking for one frame at the start of a buffer.
#[derive(Debug)]
pub enum Decoded {
    /// A whole frame: its JSON and how many bytes of the buffer it used.
    Message(Value, usize),
    /// The buffer holds the start of a frame (or nothing); read more.
    Incomplete,
}

/// Decodes the first frame in `buf`. Pure, so that it can be tested on any input.
pub fn decode_frame(buf: &[u8]) -> Result<Decoded, TransportError> {
    let Some(end) = find_header_end(buf) else {
        if buf.len() > MAX_HEADER_BYTES {
            return Err(TransportError::HeaderTooLong);
        }
        // A line that is complete and not a header can be rejected now: waiting for more
        // bytes would turn garbage into a silent hang.
        check_partial_headers(buf)?;
        return Ok(Decoded::Incomplete);
    };
    if end > MAX_HEADER_BYTES {
        return Err(TransportError::HeaderTooLong);
    }
    let length = parse_headers(&buf[..end])?;
    let body_start = end + 4;
    let Some(body) = buf.get(body_start..body_start + length) else {
        return Ok(Decoded::Incomplete);
    };
    let value = serde_json::from_slice(body)
        .map_err(|source| TransportError::BadJson { length, source })?;
    Ok(Decoded::Message(value, body_start + length))
}

/// Encodes one message as a frame.
pub fn encode_frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn find_header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Checks the complete lines of a header section still being read, line by line exactly as
/// [`parse_headers`] will once it is whole (lines end at `\n`, a `\r` before it is dropped,
/// empty lines are skipped), so that whether bytes are refused never depends on where a read
/// happened to end.
fn check_partial_headers(buf: &[u8]) -> Result<(), TransportError> {
    let complete = match buf.iter().rposition(|&b| b == b'\n') {
        Some(last) => &buf[..last],
        None => return Ok(()),
    };
    for line in complete.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            header_line(line)?;
        }
    }
    Ok(())
}

fn header_line(line: &[u8]) -> Result<(&str, &str), TransportError> {
    let bad = || TransportError::BadHeader {
        line: String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned(),
    };
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok((name, value.trim()))
}

fn parse_headers(section: &[u8]) -> Result<usize, TransportError> {
    let mut length = None;
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (name, value) = header_line(line)?;
        // Other headers (Content-Type) are allowed by the base protocol and ignored.
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| TransportError::BadLength {
                value: value.to_string(),
            })?;
            if n > MAX_BODY_BYTES {
                return Err(TransportError::TooLong { length: n });
            }
            length = Some(n);
        }
    }
    length.ok_or(TransportError::MissingLength)
}

/// Reads frames from a byte stream, however the bytes arrive: one frame split over many
/// reads, or many frames in one read.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::with_capacity(8192),
        }
    }

    /// The next message, or `Ok(None)` at a clean end of stream (between frames).
    pub async fn read(&mut self) -> Result<Option<Value>, TransportError> {
        loop {
            if let Decoded::Message(value, used) = decode_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(value));
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.inner.read(&mut chunk).await?;
            if n == 0 {
                if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                let want = match find_header_end(&self.buf) {
                    Some(end) => parse_headers(&self.buf[..end])? + end + 4,
                    None => self.buf.len() + 1,
                };
                return Err(TransportError::Truncated {
                    have: self.buf.len(),
                    want,
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Writes one frame and flushes it.
pub async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &Value,
) -> Result<(), TransportError> {
    writer.write_all(&encode_frame(message)).await?;
    writer.flush().await?;
    Ok(())
}

/// Connects to an adapter that listens on TCP (CodeLLDB's `--port`, debugpy's server mode).
/// The adapter needs a moment to bind, so we retry until `deadline`; the last error is kept.
pub async fn connect_tcp(
    addr: &str,
    deadline: Duration,
) -> Result<tokio::net::TcpStream, TransportError> {
    let start = Instant::now();
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(source) if start.elapsed() >= deadline => {
                return Err(TransportError::Connect {
                    addr: addr.to_string(),
                    waited: start.elapsed(),
                    source,
                })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_headers_and_non_ascii() {
        let body = r#"{"seq":1,"type":"event","event":"output","body":{"output":"héllo ✓"}}"#;
        let frame = format!(
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            body
        );
        match decode_frame(frame.as_bytes()) {
            Ok(Decoded::Message(v, used)) => {
                assert_eq!(used, frame.len());
                assert_eq!(v["body"]["output"], "héllo ✓");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn garbage_line_is_an_error_not_a_wait() {
        assert!(matches!(
            decode_frame(b"hello world\r\n"),
            Err(TransportError::BadHeader { .. })
        ));
    }
}
