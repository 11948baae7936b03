//! [`DecodeError`]: what can stop the decoder.

use super::Position;

/// Why the decoder stopped.
///
/// Malformed input is never an error in SSE: the WHATWG rules give every
/// byte sequence a meaning (invalid UTF-8 becomes U+FFFD, unknown fields are
/// ignored). What remains are the limits that keep memory bounded, and I/O.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// One event's block grew past [`Limits::max_event_bytes`](super::Limits::max_event_bytes)
    /// before its blank line arrived.
    #[error("event starting at {position} exceeds the limit of {limit} bytes")]
    EventTooLarge {
        /// The configured limit.
        limit: usize,
        /// Where the oversized event's block starts.
        position: Position,
    },
    /// One line grew past [`Limits::max_line_bytes`](super::Limits::max_line_bytes)
    /// before its line end arrived.
    #[error("line starting at {position} exceeds the limit of {limit} bytes")]
    LineTooLarge {
        /// The configured limit.
        limit: usize,
        /// Where the oversized line starts.
        position: Position,
    },
    /// Reading the underlying byte source failed.
    #[error("reading the stream failed: {0}")]
    Io(#[from] std::io::Error),
}

impl DecodeError {
    /// Where in the stream the error occurred, when it is about the input.
    pub fn position(&self) -> Option<Position> {
        match self {
            DecodeError::EventTooLarge { position, .. }
            | DecodeError::LineTooLarge { position, .. } => Some(*position),
            DecodeError::Io(_) => None,
        }
    }
}
