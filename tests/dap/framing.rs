//! Property tests of the Content-Length framing: no input makes the decoder panic, and
//! every message survives encoding, arbitrary splitting and decoding.

use dapwalk::dap::transport::{decode_frame, encode_frame, Decoded, FrameReader};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A reader that hands out its bytes in the given chunk sizes.
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        self.turn += 1;
        let end = (self.pos + size)
            .min(self.data.len())
            .min(self.pos + buf.remaining());
        let start = self.pos;
        buf.put_slice(&self.data[start..end]);
        self.pos = end;
        Poll::Ready(Ok(()))
    }
}

fn message() -> impl Strategy<Value = Value> {
    (any::<i64>(), "\\PC{0,40}", prop::collection::vec(any::<i32>(), 0..5)).prop_map(|(seq, text, nums)| {
        json!({"seq": seq, "type": "event", "event": "output", "body": {"output": text, "n": nums}})
    })
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(&bytes);
    }

    #[test]
    fn decoder_never_panics_on_header_like_input(
        len in "[0-9]{0,25}|-1|abc",
        extra in "[A-Za-z-]{0,10}: [ -~]{0,20}",
        body in "\\PC{0,30}",
    ) {
        let frame = format!("{extra}\r\nContent-Length: {len}\r\n\r\n{body}");
        let _ = decode_frame(frame.as_bytes());
    }

    #[test]
    fn messages_round_trip_through_any_split(
        msgs in prop::collection::vec(message(), 1..6),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let mut data = Vec::new();
        for m in &msgs {
            data.extend(encode_frame(m));
        }
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let got = rt.block_on(async {
            let mut reader = FrameReader::new(Chunked { data, pos: 0, sizes, turn: 0 });
            let mut got = Vec::new();
            while let Some(m) = reader.read().await.expect("a valid stream") {
                got.push(m);
            }
            got
        });
        prop_assert_eq!(got, msgs);
    }

    /// Whether bytes are refused must not depend on how reads split them: every prefix of a
    /// buffer that decodes is incomplete, never an error (header lines with bare LFs, CRs
    /// and blank lines included).
    #[test]
    fn a_prefix_of_a_decodable_buffer_is_never_an_error(
        pieces in prop::collection::vec(prop_oneof![
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("Content-Type: x".to_string()),
            "[A-Za-z-]{1,8}: [ -~]{0,8}",
        ], 0..6),
        body in "[a-z]{0,6}",
    ) {
        let json = format!("{{\"b\":\"{body}\"}}");
        let frame = format!("{}Content-Length: {}\r\n\r\n{json}", pieces.concat(), json.len());
        let bytes = frame.as_bytes();
        if let Ok(Decoded::Message(_, used)) = decode_frame(bytes) {
            for cut in 0..used {
                let prefix = decode_frame(&bytes[..cut]);
                prop_assert!(
                    matches!(prefix, Ok(Decoded::Incomplete)),
                    "{:?} decodes whole but its first {} bytes give {:?}", frame, cut, prefix
                );
            }
        }
    }

    #[test]
    fn a_cut_stream_is_an_error_never_a_message(msg in message(), cut in 1usize..40) {
        let frame = encode_frame(&msg);
        let cut = cut.min(frame.len() - 1);
        match decode_frame(&frame[..frame.len() - cut]) {
            Ok(Decoded::Incomplete) | Err(_) => {}
            Ok(Decoded::Message(..)) => prop_assert!(false, "decoded a truncated frame"),
        }
    }
}

#[test]
fn a_leading_bare_lf_decodes_however_the_bytes_are_split() {
    let frame = b"\nContent-Length: 2\r\n\r\n{}";
    assert!(matches!(decode_frame(frame), Ok(Decoded::Message(_, 24))));
    for cut in 0..frame.len() {
        assert!(
            matches!(decode_frame(&frame[..cut]), Ok(Decoded::Incomplete)),
            "cut at {cut}"
        );
    }
}

#[tokio::test]
async fn several_messages_in_one_read_and_eof_between_frames() {
    let a = json!({"seq": 1, "type": "event", "event": "initialized"});
    let b =
        json!({"seq": 2, "type": "event", "event": "output", "body": {"output": "ünïcödé ✓\n"}});
    let mut data = encode_frame(&a);
    data.extend(encode_frame(&b));
    let mut r = FrameReader::new(&data[..]);
    assert_eq!(r.read().await.expect("first"), Some(a));
    assert_eq!(r.read().await.expect("second"), Some(b));
    assert_eq!(r.read().await.expect("eof"), None);
}

#[tokio::test]
async fn truncated_body_and_bad_json_are_errors() {
    let mut r = FrameReader::new(&b"Content-Length: 10\r\n\r\n{\"a\""[..]);
    let e = r.read().await.expect_err("truncated");
    assert!(e.to_string().contains("ended inside a frame"), "{e}");
    let mut r = FrameReader::new(&b"Content-Length: 3\r\n\r\nabc"[..]);
    let e = r.read().await.expect_err("not json");
    assert!(e.to_string().contains("not JSON"), "{e}");
    let mut r = FrameReader::new(&b"Content-Length: 99999999999\r\n\r\n"[..]);
    assert!(r.read().await.is_err());
}
