//! Generic Server-Sent Events framing, exact to the WHATWG event-stream rules.

mod error;
mod event;
mod text;

pub use error::DecodeError;
pub use event::{Event, Position};
pub use text::Utf8Bytes;
