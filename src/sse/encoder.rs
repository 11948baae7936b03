//! [`Encoder`]: events to event-stream bytes, for servers and tests.

use bytes::{BufMut, BytesMut};
use memchr::{memchr, memchr2};

use super::{Event, Utf8Bytes};

/// Why an event could not be encoded faithfully.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// An event type or id holds a CR or LF, which would end its line.
    #[error("the {field} holds a line break, which SSE cannot carry")]
    LineBreak {
        /// `"event type"` or `"id"`.
        field: &'static str,
    },
    /// An id holds U+0000, which decoders ignore.
    #[error("the id holds U+0000, which SSE decoders ignore")]
    NulInId,
    /// Writing the bytes failed.
    #[error("writing the stream failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes events in the event-stream format.
///
/// The encoder remembers the last event id it wrote and writes an `id` line
/// only when an event's id differs, so that decoding what it wrote gives
/// back the same events: `decode(encode(events)) == events`.
///
/// Data is written one `data` line per line of it. Decoded data never holds
/// a CR; data that does is split at CR, LF and CRLF alike, which a decoder
/// reads back with `\n` in their place.
///
/// ```
/// use agent37_stream::sse::{Encoder, Event};
/// use bytes::BytesMut;
///
/// let mut encoder = Encoder::new();
/// let mut out = BytesMut::new();
/// encoder.encode(&Event::new("update", "line 1\nline 2").with_id("7"), &mut out)?;
/// assert_eq!(&out[..], b"event: update\nid: 7\ndata: line 1\ndata: line 2\n\n");
/// # Ok::<(), agent37_stream::sse::EncodeError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    last_id: Utf8Bytes,
}

impl Encoder {
    /// An encoder for a new stream (no id written yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `event` to `dst`.
    pub fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if let Some(event_type) = event.explicit_type() {
            if memchr2(b'\r', b'\n', event_type.as_bytes()).is_some() {
                return Err(EncodeError::LineBreak {
                    field: "event type",
                });
            }
        }
        let id = event.id_bytes();
        if *id != self.last_id {
            if memchr2(b'\r', b'\n', id.as_bytes()).is_some() {
                return Err(EncodeError::LineBreak { field: "id" });
            }
            if memchr(0, id.as_bytes()).is_some() {
                return Err(EncodeError::NulInId);
            }
        }

        let data: &[u8] = event.data_bytes();
        dst.reserve(data.len() + 32);
        if let Some(event_type) = event.explicit_type() {
            put_field(dst, b"event", event_type.as_bytes());
        }
        if *id != self.last_id {
            put_field(dst, b"id", id.as_bytes());
            self.last_id = id.clone();
        }
        let mut rest = data;
        loop {
            match memchr2(b'\r', b'\n', rest) {
                Some(end) => {
                    put_field(dst, b"data", &rest[..end]);
                    let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    rest = &rest[end + skip..];
                }
                None => {
                    put_field(dst, b"data", rest);
                    break;
                }
            }
        }
        dst.put_u8(b'\n');
        Ok(())
    }

    /// Appends a comment (a heartbeat such as `: keep-alive`). Line breaks in
    /// `text` start further comment lines.
    pub fn comment(&self, text: &str, dst: &mut BytesMut) {
        for line in text.split(['\r', '\n']) {
            dst.put_slice(b": ");
            dst.put_slice(line.as_bytes());
            dst.put_u8(b'\n');
        }
        dst.put_u8(b'\n');
    }

    /// Appends a `retry` field setting the reconnection time.
    pub fn retry(&self, milliseconds: u64, dst: &mut BytesMut) {
        dst.put_slice(b"retry: ");
        dst.put_slice(milliseconds.to_string().as_bytes());
        dst.put_slice(b"\n\n");
    }
}

fn put_field(dst: &mut BytesMut, name: &[u8], value: &[u8]) {
    dst.put_slice(name);
    dst.put_slice(b": ");
    dst.put_slice(value);
    dst.put_u8(b'\n');
}

impl tokio_util::codec::Encoder<&Event> for Encoder {
    type Error = EncodeError;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), EncodeError> {
        Encoder::encode(self, event, dst)
    }
}

impl tokio_util::codec::Encoder<Event> for Encoder {
    type Error = EncodeError;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), EncodeError> {
        Encoder::encode(self, &event, dst)
    }
}
