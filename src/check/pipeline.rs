//! The one place `check` talks to the protocol layer: chunks of a
//! recording into the [protocol pipeline](crate::protocol::pipeline), its
//! [`Finding`]s out, in stream order.
//!
//! Everything else in `check` (reading, quoting, rendering) sees only these
//! four calls and the findings; every rule (oversized events skipped and
//! counted, the end-of-stream findings) is the pipeline's.

use bytes::Bytes;

use super::CheckOptions;
use crate::protocol::machine::ValidatorOptions;
use crate::protocol::pipeline::{self, PipelineOptions};
use crate::protocol::rules::Finding;
use crate::sse::Position;

/// A recording's bytes through the protocol pipeline.
#[derive(Debug)]
pub(crate) struct Pipeline {
    inner: pipeline::Pipeline,
}

impl Pipeline {
    pub(crate) fn new(options: &CheckOptions) -> Self {
        Pipeline {
            inner: pipeline::Pipeline::new(
                PipelineOptions::default()
                    .with_limits(options.limits)
                    .with_validator(ValidatorOptions::default().with_strict(options.strict)),
            ),
        }
    }

    /// Takes the next chunk and hands each finding it reveals to `found`.
    pub(crate) fn push(&mut self, chunk: Bytes, found: &mut impl FnMut(Finding)) {
        self.inner.push(chunk);
        self.drain(found);
    }

    /// Ends the recording: hands over what only the end shows (an
    /// unterminated last event, a missing terminal event) and returns the
    /// position just past the last byte.
    pub(crate) fn finish(&mut self, found: &mut impl FnMut(Finding)) -> Position {
        self.inner.end_input();
        self.drain(found);
        self.inner
            .decoder()
            .end_position()
            .unwrap_or(Position::START)
    }

    /// Events so far: those dispatched, plus any dropped for exceeding a
    /// size limit (they keep their index).
    pub(crate) fn events(&self) -> usize {
        self.inner.events()
    }

    /// Bytes the decoder holds.
    pub(crate) fn buffered(&self) -> usize {
        self.inner.decoder().buffered_len()
    }

    fn drain(&mut self, found: &mut impl FnMut(Finding)) {
        while let Some(step) = self.inner.next_step() {
            step.into_findings().into_iter().for_each(&mut *found);
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
