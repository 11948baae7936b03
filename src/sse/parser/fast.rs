//! The fast path: a whole block read in one pass.
//!
//! Almost every block on the wire looks like `event: x\ndata: {…}\n\n`, and
//! lies whole inside the buffer. [`Parser::fast_block`] reads such blocks
//! with local variables, no per-line bookkeeping and no limit checks (it
//! works inside a window where no limit can trip). At the first line it
//! does not handle (a second `data` line, `retry`, an unknown field, a line
//! whose end has not arrived, the window's end) it writes what it learned
//! into the parser's state, exactly as the line-by-line path would have, and
//! hands over at that line. No line is searched twice.

use memchr::memchr;

use super::{Block, Buffer, Data, Emit, Parser, Position, Span, Utf8Bytes};

/// Where the fast path stopped.
enum Stop {
    /// A blank line ended the block; the next line starts at this index.
    Blank(usize),
    /// The line at the current index is left to the line-by-line path,
    /// which need not search again the bytes up to this index: they hold no
    /// line end.
    Handover(usize),
}

impl Parser {
    /// Whether the parser stands at a line start between blocks, with no
    /// state the fast path would have to take over.
    #[inline]
    pub(super) fn at_block_boundary(&self) -> bool {
        !self.skip_lf
            && !self.skipping
            && !self.dropped_line
            && self.block.start.is_none()
            && self.scan == self.line_start
    }

    /// Reads whole blocks from `scan` on; returns the first that dispatches
    /// an event, or `None` after handing over to the line-by-line path.
    #[inline]
    pub(super) fn fast_block<B: Buffer, E: Emit>(
        &mut self,
        buf: &mut B,
        emit: &mut E,
    ) -> Option<E::Output> {
        // Within this many bytes of a block boundary neither a line nor an
        // event can exceed its limit, line ends included.
        let window = self
            .limits
            .max_line_bytes
            .saturating_add(1)
            .min(self.limits.max_event_bytes);
        loop {
            let bytes = buf.as_ref();
            let bytes = &bytes[..bytes.len().min(self.scan.saturating_add(window))];
            let mut pos = self.scan;
            // The first field line: its index, and how many lines precede it.
            let mut first: Option<(usize, u64)> = None;
            let mut data: Option<Span> = None;
            let mut event_type: Option<Span> = None;
            let mut id: Option<Span> = None;
            let mut lines = 0u64;
            let stop = loop {
                let Some(&lead) = bytes.get(pos) else {
                    break Stop::Handover(pos);
                };
                if lead == b'\n' {
                    break Stop::Blank(pos + 1);
                }
                if lead == b'\r' {
                    match bytes.get(pos + 1) {
                        Some(b'\n') => break Stop::Blank(pos + 2),
                        Some(_) => break Stop::Blank(pos + 1),
                        // An LF may follow in the next read.
                        None => break Stop::Handover(pos),
                    }
                }
                let Some(found) = self.line_ends.find(&bytes[pos..]) else {
                    break Stop::Handover(bytes.len());
                };
                let end = pos + found;
                let next = if bytes[end] == b'\n' {
                    end + 1
                } else {
                    match bytes.get(end + 1) {
                        Some(b'\n') => end + 2,
                        Some(_) => end + 1,
                        None => break Stop::Handover(end),
                    }
                };
                if lead != b':' {
                    let line = &bytes[pos..end];
                    if let Some(value) = line.strip_prefix(b"data:") {
                        if data.is_some() {
                            // Multi-line data needs the join.
                            break Stop::Handover(end);
                        }
                        data = Some(value_span(pos + 5, value));
                    } else if let Some(value) = line.strip_prefix(b"event:") {
                        event_type = Some(value_span(pos + 6, value));
                    } else if let Some(value) = line.strip_prefix(b"id:") {
                        // An id with NUL is ignored, the field still counts.
                        if memchr(0, value).is_none() {
                            id = Some(value_span(pos + 3, value));
                        }
                    } else {
                        break Stop::Handover(end);
                    }
                    first.get_or_insert((pos, lines));
                }
                lines += 1;
                pos = next;
            };

            let start = first.map(|(index, before)| Position {
                offset: self.base + index as u64,
                line: self.line + before,
            });
            match stop {
                Stop::Handover(searched) => {
                    self.line += lines;
                    self.scan = searched;
                    self.line_start = pos;
                    if let Some((index, _)) = first {
                        // What the line-by-line path keeps of a block that
                        // has started: spans relative to its first line.
                        let shift = |(s, e): Span| (s - index, e - index);
                        self.block = Block {
                            start,
                            size: (pos - index) as u64,
                            data: data.map_or(Data::None, |span| Data::One(shift(span))),
                            event_type: event_type.map(shift),
                        };
                        self.pending_id = id.map(shift);
                        self.consume(buf, index);
                    }
                    return None;
                }
                Stop::Blank(next) => {
                    self.line += lines + 1;
                    if let (Some(start), Some(data)) = (start, data) {
                        // The next line starts the buffer once the block is
                        // dispatched. (Written, not moved back by `next` as
                        // `advance_base` would: a read of what was just
                        // written stalls.)
                        self.base += next as u64;
                        self.scan = 0;
                        self.line_start = 0;
                        return Some(self.dispatch(
                            emit,
                            buf,
                            next,
                            id,
                            event_type,
                            Data::One(data),
                            start,
                        ));
                    }
                    self.scan = next;
                    self.line_start = next;
                    // No data, no event; an `id` takes effect all the same.
                    if let Some((s, e)) = id {
                        self.last_id = Utf8Bytes::copy_lossy(&buf.as_ref()[s..e]);
                    }
                    self.consume(buf, next);
                }
            }
        }
    }
}

/// The span of a field's value that starts at `start`, one leading space
/// stripped.
fn value_span(start: usize, value: &[u8]) -> Span {
    let end = start + value.len();
    if value.first() == Some(&b' ') {
        (start + 1, end)
    } else {
        (start, end)
    }
}
