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
/// The line limit follows the event limit both ways until it is set on its
/// own: [`max_event_bytes`](Self::max_event_bytes) lowers *or raises* it to
/// the new event limit, since a line can never be longer than its event.
/// Once [`max_line_bytes`](Self::max_line_bytes) has set it (or the field was
/// assigned directly, to a value other than the event limit), raising the
/// event limit leaves it alone; lowering the event limit below it still
/// lowers it.
///
/// ```
/// use agent37_stream::sse::{Decoder, Limits};
///
/// let limits = Limits::default().max_event_bytes(64 * 1024);
/// assert_eq!(limits.max_line_bytes, 64 * 1024); // a line never exceeds its event
///
/// // Raising the event limit raises the line limit with it...
/// let big = Limits::default().max_event_bytes(32 << 20);
/// assert_eq!(big.max_line_bytes, 32 << 20);
///
/// // ...unless the line limit was set on its own.
/// let lines = Limits::default().max_line_bytes(4096).max_event_bytes(32 << 20);
/// assert_eq!(lines.max_line_bytes, 4096);
/// let decoder = Decoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest event block, in bytes. Default: [`Limits::DEFAULT_MAX_EVENT_BYTES`].
    pub max_event_bytes: usize,
    /// Longest line, in bytes, line end excluded; comment lines included.
    /// Default: the event limit (it follows [`max_event_bytes`](Self::max_event_bytes)
    /// until set on its own).
    pub max_line_bytes: usize,
    /// Whether [`max_line_bytes`](Self::max_line_bytes) set the line limit.
    line_set: bool,
}

impl Limits {
    /// 16 MiB: far above any agent37 event (a whole turn's `output_text`
    /// travels in one `response.completed`), far below trouble.
    pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

    /// Sets the largest event. The line limit follows (down or up) unless it
    /// was set on its own, in which case it is only lowered, to `bytes`, if
    /// it is above it.
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        // A line limit assigned through the public field differs from the
        // event limit: treat it as set on its own too.
        let follows = !self.line_set && self.max_line_bytes == self.max_event_bytes;
        self.max_event_bytes = bytes;
        self.max_line_bytes = if follows {
            bytes
        } else {
            self.max_line_bytes.min(bytes)
        };
        self
    }

    /// Sets the longest line; later changes to the event limit no longer
    /// raise it.
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self.line_set = true;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            max_line_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            line_set: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One builder call.
    #[derive(Clone, Copy, Debug)]
    enum Call {
        Event(usize),
        Line(usize),
    }

    fn call() -> impl Strategy<Value = Call> {
        let size = prop_oneof![
            0..64usize,
            Just(Limits::DEFAULT_MAX_EVENT_BYTES),
            1usize..=1 << 30
        ];
        prop_oneof![
            size.clone().prop_map(Call::Event),
            size.prop_map(Call::Line)
        ]
    }

    proptest! {
        /// After any sequence of builder calls: the event limit is the last
        /// one set; the line limit is the last one set on its own, lowered to
        /// every event limit set after it, or, if none was set, the event limit.
        #[test]
        fn the_line_limit_follows_the_event_limit_until_set_on_its_own(
            calls in proptest::collection::vec(call(), 0..8)
        ) {
            let mut limits = Limits::default();
            let mut event = Limits::DEFAULT_MAX_EVENT_BYTES;
            let mut line: Option<usize> = None;
            for &c in &calls {
                match c {
                    Call::Event(n) => {
                        limits = limits.max_event_bytes(n);
                        event = n;
                        line = line.map(|l| l.min(n));
                    }
                    Call::Line(n) => {
                        limits = limits.max_line_bytes(n);
                        line = Some(n);
                    }
                }
            }
            prop_assert_eq!(limits.max_event_bytes, event);
            prop_assert_eq!(limits.max_line_bytes, line.unwrap_or(event));
        }
    }

    #[test]
    fn raising_the_event_limit_raises_the_line_limit() {
        let limits = Limits::default().max_event_bytes(1 << 25);
        assert_eq!(
            (limits.max_event_bytes, limits.max_line_bytes),
            (1 << 25, 1 << 25)
        );
        let limits = Limits::default()
            .max_event_bytes(10)
            .max_event_bytes(1 << 25);
        assert_eq!(limits.max_line_bytes, 1 << 25);
    }

    #[test]
    fn a_line_limit_assigned_directly_counts_as_set_on_its_own() {
        let limits = Limits {
            max_line_bytes: 100,
            ..Limits::default()
        };
        assert_eq!(limits.max_event_bytes(1 << 25).max_line_bytes, 100);
        assert_eq!(limits.max_event_bytes(50).max_line_bytes, 50);
    }
}
