//! The one place `check` talks to the decoder and the protocol layer:
//! chunks of a recording in, [`Finding`]s out, in stream order.
//!
//! Everything else in `check` (reading, quoting, rendering) sees only
//! [`Pipeline`]'s four calls and the findings.

use bytes::Bytes;

use super::CheckOptions;
use crate::protocol::machine::{Finding, Validator, ValidatorOptions};
use crate::sse::{ChunkDecoder, DecodeError, Position};

/// Decodes a recording chunk by chunk and validates its events.
#[derive(Debug)]
pub(crate) struct Pipeline {
    decoder: ChunkDecoder,
    validator: Validator,
}

impl Pipeline {
    pub(crate) fn new(options: &CheckOptions) -> Self {
        Pipeline {
            decoder: ChunkDecoder::with_limits(options.limits),
            validator: Validator::new(ValidatorOptions::default().with_strict(options.strict)),
        }
    }

    /// Decodes the next chunk and hands each finding it reveals to `found`.
    pub(crate) fn push(&mut self, chunk: Bytes, found: &mut impl FnMut(Finding)) {
        self.decoder.push(chunk);
        self.drain(found);
    }

    /// Ends the recording: hands over what only the end shows (an
    /// unterminated last event, a missing terminal event) and returns the
    /// position just past the last byte.
    pub(crate) fn finish(&mut self, found: &mut impl FnMut(Finding)) -> Position {
        self.decoder.finish();
        self.drain(found);
        if let Some(incomplete) = self.decoder.incomplete() {
            found(Finding::incomplete_event(incomplete.position));
        }
        let end = self.decoder.end_position().unwrap_or(Position::START);
        self.validator.finish(end).into_iter().for_each(found);
        end
    }

    /// Events so far: those dispatched, plus any dropped for exceeding a
    /// size limit (they keep their index).
    pub(crate) fn events(&self) -> usize {
        self.validator.events_seen()
    }

    /// Bytes the decoder holds.
    pub(crate) fn buffered(&self) -> usize {
        self.decoder.buffered_len()
    }

    fn drain(&mut self, found: &mut impl FnMut(Finding)) {
        loop {
            match self.decoder.next_event() {
                Ok(Some(event)) => self
                    .validator
                    .push(&event)
                    .into_iter()
                    .for_each(&mut *found),
                Ok(None) => return,
                // A line over its limit is an event over it too (the line
                // limit never exceeds the event limit unless set on its own):
                // one rule, whichever the decoder saw first.
                Err(
                    DecodeError::EventTooLarge { limit, position }
                    | DecodeError::LineTooLarge { limit, position },
                ) => {
                    let index = self.validator.skip_event();
                    found(Finding::event_too_large(limit, position, Some(index)));
                }
                // The chunks are in memory, so reading cannot fail, and the
                // decoder drops the offending block and goes on after a limit
                // error; anything else would leave nothing sensible to check.
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(bytes: &[u8], chunk: usize, max_event_bytes: usize) -> Vec<String> {
        let options = CheckOptions::default().max_event_bytes(max_event_bytes);
        let mut pipeline = Pipeline::new(&options);
        let mut out = Vec::new();
        let mut record = |f: Finding| out.push(format!("{}@{}", f.rule.as_str(), f.position.line));
        for piece in bytes.chunks(chunk) {
            pipeline.push(Bytes::copy_from_slice(piece), &mut record);
        }
        let end = pipeline.finish(&mut record);
        out.push(format!("end@{}:{}", end.line, end.offset));
        out
    }

    #[test]
    fn same_findings_for_every_chunk_size() {
        let bytes =
            b"event: a\r\ndata: 1\r\n\r\n: c\rdata: 2222222222222222\r\rdata: 3\r\n\r\ndata: tail";
        let whole = summary(bytes, bytes.len(), 20);
        assert_eq!(
            whole,
            [
                "unknown-event@1",
                "missing-created@1",
                "event-too-large@5",
                "untyped-event@7",
                "incomplete-event@9",
                "missing-terminal@9",
                "end@9:70",
            ]
        );
        for chunk in 1..=bytes.len() {
            assert_eq!(summary(bytes, chunk, 20), whole, "chunk {chunk}");
        }
    }
}
