//! [`Limits`]: the bounds that keep a decoder's memory finite.

/// How large an event and a line may grow before the decoder gives up on it.
///
/// A decoder holds at most one unfinished event in memory, so these bound
/// its memory whatever the input: a peer that sends a line with no line end
/// gets [`DecodeError::LineTooLarge`](super::DecodeError::LineTooLarge) once
/// the line passes `max_line_bytes`, not an ever-growing buffer.
///
/// An event's size is the bytes of its block as they came over the wire,
/// from its first field line up to (not including) the blank line that ends
/// it, comments and line ends included.
///
/// ```
/// use agent37_stream::sse::{Decoder, Limits};
///
/// let limits = Limits::default().max_event_bytes(64 * 1024);
/// assert_eq!(limits.max_line_bytes, 64 * 1024); // a line never exceeds its event
/// let decoder = Decoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest event block, in bytes. Default: [`Limits::DEFAULT_MAX_EVENT_BYTES`].
    pub max_event_bytes: usize,
    /// Longest line, in bytes, line end excluded; comment lines included.
    /// Default: [`Limits::DEFAULT_MAX_EVENT_BYTES`].
    pub max_line_bytes: usize,
}

impl Limits {
    /// 16 MiB: far above any agent37 event (a whole turn's `output_text`
    /// travels in one `response.completed`), far below trouble.
    pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

    /// Sets the largest event, and lowers the line limit to it if needed.
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self.max_line_bytes = self.max_line_bytes.min(bytes);
        self
    }

    /// Sets the longest line.
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            max_line_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
        }
    }
}
