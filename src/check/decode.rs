//! Decoding a recording the way a network client would: chunk by chunk.

use bytes::Bytes;

use crate::sse::{ChunkDecoder, DecodeError, Event, Incomplete, Limits, Position};

/// What decoding a recording produced, in stream order.
#[derive(Debug)]
pub(crate) enum Step {
    /// A dispatched event.
    Event(Event),
    /// An event block the decoder dropped for exceeding a size limit.
    TooLarge {
        /// The limit it exceeded.
        limit: usize,
        /// Where its block starts.
        position: Position,
    },
}

/// Decodes `bytes`, pushing `chunk_size` bytes at a time (all at once when
/// `None`), and hands every step to `on_step`. Returns the unterminated
/// block discarded at the end, if any.
pub(crate) fn decode(
    bytes: &[u8],
    chunk_size: Option<usize>,
    limits: Limits,
    mut on_step: impl FnMut(Step),
) -> Option<Incomplete> {
    let all = Bytes::copy_from_slice(bytes);
    let step = chunk_size.unwrap_or(all.len()).max(1);
    let mut decoder = ChunkDecoder::with_limits(limits);
    let mut start = 0;
    while start < all.len() {
        let end = start.saturating_add(step).min(all.len());
        decoder.push(all.slice(start..end));
        drain(&mut decoder, &mut on_step);
        start = end;
    }
    decoder.finish();
    drain(&mut decoder, &mut on_step);
    decoder.incomplete()
}

fn drain(decoder: &mut ChunkDecoder, on_step: &mut impl FnMut(Step)) {
    loop {
        match decoder.next_event() {
            Ok(Some(event)) => on_step(Step::Event(event)),
            Ok(None) => return,
            // A line over the limit is an event over it too (the CLI sets
            // both limits together): one rule, whichever the decoder saw first.
            Err(
                DecodeError::EventTooLarge { limit, position }
                | DecodeError::LineTooLarge { limit, position },
            ) => on_step(Step::TooLarge { limit, position }),
            // Reading from memory cannot fail, and the decoder drops the
            // offending block and goes on after a limit error; anything else
            // would leave nothing sensible to check.
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(bytes: &[u8], chunk: Option<usize>, limits: Limits) -> Vec<String> {
        let mut out = Vec::new();
        let incomplete = decode(bytes, chunk, limits, |step| {
            out.push(match step {
                Step::Event(e) => format!("{}@{}", e.event_type(), e.position().line),
                Step::TooLarge { limit, position } => {
                    format!("too-large {limit}@{}", position.line)
                }
            })
        });
        if let Some(i) = incomplete {
            out.push(format!("incomplete@{}", i.position.line));
        }
        out
    }

    #[test]
    fn same_steps_for_every_chunk_size() {
        let bytes =
            b"event: a\r\ndata: 1\r\n\r\n: c\rdata: 2222222222222222\r\rdata: 3\r\n\r\ndata: tail";
        let limits = Limits::default().max_event_bytes(20);
        let whole = summary(bytes, None, limits);
        assert_eq!(
            whole,
            ["a@1", "too-large 20@5", "message@7", "incomplete@9"]
        );
        for chunk in 1..=bytes.len() {
            assert_eq!(summary(bytes, Some(chunk), limits), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn empty_input_has_no_steps() {
        assert!(summary(b"", Some(3), Limits::default()).is_empty());
    }
}
