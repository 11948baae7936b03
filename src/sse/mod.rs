//! Generic Server-Sent Events framing, exact to the WHATWG event-stream rules.
//!
//! Bytes in, [`Event`]s out, whatever API the stream comes from. Pick the
//! front end that fits how the bytes arrive; all share one parser, so they
//! give the same events for the same bytes, however the bytes are split:
//!
//! | bytes arrive as | use |
//! |---|---|
//! | an `AsyncRead` (socket, file) | [`Decoder`] with `tokio_util::codec::FramedRead` |
//! | a `Stream` of `Bytes` (an HTTP client's body) | [`EventStream`] |
//! | `Bytes` chunks you push, no runtime | [`ChunkDecoder`] |
//! | a blocking `std::io::Read` | [`EventReader`] |
//!
//! The rules (the contract's [SSE framing](crate::protocol::contract#sse-framing)): lines end in CRLF, LF or a lone CR (also a
//! CR and an LF that arrive in different reads); one leading BOM is skipped;
//! `:` starts a comment; one space after the field's colon is removed;
//! `data` lines are joined with `\n`; `event` names the event (`message`
//! when absent); `id` sets the last event id unless it holds U+0000, and it
//! persists; `retry` takes ASCII digits only; a blank line dispatches,
//! unless no data was given; an unterminated last event is discarded (and
//! reported by `incomplete()`); invalid UTF-8 becomes U+FFFD.
//!
//! [`Encoder`] writes events back out.

mod chunked;
mod decoder;
mod encoder;
mod error;
mod event;
mod limits;
mod parser;
mod reader;
mod stream;
mod text;

pub use chunked::ChunkDecoder;
pub use decoder::Decoder;
pub use encoder::{EncodeError, Encoder};
pub use error::DecodeError;
pub use event::{Event, Position};
pub use limits::Limits;
pub use parser::Incomplete;
pub(crate) use parser::{Buffer, Emit, Parser, RawEvent, Span};
pub use reader::EventReader;
pub use stream::{EventStream, EventStreamError};
pub use text::Utf8Bytes;
pub(crate) use text::{SHORT, short_str};
