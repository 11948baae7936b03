//! The event-stream state machine shared by every decoding front end.
//!
//! [`Parser`] reads lines out of a buffer the front end owns (a `BytesMut`
//! filled by reads, or a `Bytes` chunk from an HTTP body) and keeps what it
//! learns as offsets into that buffer, so a finished event's fields are
//! slices of the buffer rather than copies. The front end appends bytes at
//! the end; the parser removes bytes from the front once it no longer points
//! into them.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use super::text::TypeName;
use super::{DecodeError, Event, Limits, Position, Utf8Bytes};

mod fast;
mod line_ends;

use line_ends::LineEnds;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A buffer the parser can read lines from and cut finished blocks off.
pub(crate) trait Buffer: AsRef<[u8]> {
    /// Removes the first `n` bytes and returns them as shared bytes.
    fn split_frozen(&mut self, n: usize) -> Bytes;
    /// Removes the first `n` bytes.
    fn discard(&mut self, n: usize);
}

impl Buffer for BytesMut {
    #[inline]
    fn split_frozen(&mut self, n: usize) -> Bytes {
        self.split_to(n).freeze()
    }
    #[inline]
    fn discard(&mut self, n: usize) {
        self.advance(n);
    }
}

impl Buffer for Bytes {
    #[inline]
    fn split_frozen(&mut self, n: usize) -> Bytes {
        // The whole chunk, as with a chunk per server write: handed over.
        if n == self.len() {
            return std::mem::take(self);
        }
        self.split_to(n)
    }
    #[inline]
    fn discard(&mut self, n: usize) {
        self.advance(n);
    }
}

/// The last few distinct event types, most recent first.
#[derive(Debug, Default)]
struct TypeCache {
    types: Vec<TypeName>,
}

impl TypeCache {
    const SIZE: usize = 8;

    /// The type whose bytes are `name`: a shared copy from the cache, or a
    /// new one (checked, invalid sequences replaced) that joins it.
    #[inline]
    fn get(&mut self, name: &[u8]) -> TypeName {
        match self.types.iter().position(|t| t.as_bytes() == name) {
            Some(0) => self.types[0].clone(),
            Some(at) => {
                // Most recent first: the next event of this type finds it sooner.
                self.types[..=at].rotate_right(1);
                self.types[0].clone()
            }
            None => self.insert(name),
        }
    }

    #[cold]
    fn insert(&mut self, name: &[u8]) -> TypeName {
        let text = TypeName::copy_lossy(name);
        if self.types.len() == Self::SIZE {
            self.types.pop();
        }
        self.types.insert(0, text.clone());
        text
    }
}

/// Bytes discarded at the end of a stream because no blank line ended them.
///
/// The WHATWG rules drop an unterminated last event silently; a conformance
/// checker wants to say so, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incomplete {
    /// Where the discarded block (or unterminated line) starts.
    pub position: Position,
    /// How many bytes were discarded.
    pub bytes: u64,
}

/// A half-open byte range into the parser's buffer.
pub(crate) type Span = (usize, usize);

/// What a front end makes of each dispatched block: an [`Event`]
/// ([`Events`]), or, in the typed layer, a value read straight from the
/// block's bytes.
pub(crate) trait Emit {
    /// What one block becomes.
    type Output;
    /// Makes the output of `block`. The parser has already taken the
    /// block's `id` into the last event id.
    fn emit<B: Buffer>(&mut self, parser: &mut Parser, block: &mut RawEvent<'_, B>)
    -> Self::Output;
}

/// The [`Emit`] of the SSE front ends: each block becomes an [`Event`].
pub(crate) struct Events;

impl Emit for Events {
    type Output = Event;
    #[inline(always)]
    fn emit<B: Buffer>(&mut self, parser: &mut Parser, block: &mut RawEvent<'_, B>) -> Event {
        parser.event_of(block)
    }
}

/// A dispatched block whose values are not text yet: the block still at the
/// front of the input, and where in it its type and data lie.
///
/// The block is cut off the input as shared bytes only if a value keeps a
/// slice of it ([`slice`](Self::slice), [`take`](Self::take)); otherwise
/// (every value copied inline, or read into something else) it is just
/// dropped from the input when the block is done: no reference count is
/// raised and dropped for it.
pub(crate) struct RawEvent<'b, B: Buffer> {
    buf: &'b mut B,
    /// The block's length at the front of `buf`, its blank line included.
    len: usize,
    held: Held,
    event_type: Option<Span>,
    data: Data,
    /// Where the block's first field line starts.
    pub(crate) position: Position,
}

/// Where a dispatched block's bytes are.
enum Held {
    /// Still at the front of the input.
    InInput,
    /// Cut off the input as shared bytes.
    Cut(Bytes),
    /// Handed over ([`RawEvent::take`]).
    Taken,
}

impl<B: Buffer> RawEvent<'_, B> {
    /// The block's bytes (empty once [taken](Self::take)).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.held {
            Held::InInput => &self.buf.as_ref()[..self.len],
            Held::Cut(bytes) => bytes,
            Held::Taken => &[],
        }
    }

    /// A slice of the block (shared, not copied), which is cut off the
    /// input the first time.
    #[inline]
    pub(crate) fn slice(&mut self, (s, e): Span) -> Bytes {
        if let Held::InInput = self.held {
            self.held = Held::Cut(self.buf.split_frozen(self.len));
        }
        match &self.held {
            Held::Cut(bytes) => bytes.slice(s..e),
            Held::InInput | Held::Taken => Bytes::new(),
        }
    }

    /// The block as shared bytes, to keep (its spans are read first: after
    /// this, [`bytes`](Self::bytes) is empty).
    #[inline]
    pub(crate) fn take(&mut self) -> Bytes {
        match std::mem::replace(&mut self.held, Held::Taken) {
            Held::InInput => self.buf.split_frozen(self.len),
            Held::Cut(bytes) => bytes,
            Held::Taken => Bytes::new(),
        }
    }

    /// The bytes of the `event` field's value, if it has a non-empty one.
    #[inline]
    pub(crate) fn event_type(&self) -> Option<&[u8]> {
        self.event_type
            .filter(|(s, e)| s < e)
            .map(|(s, e)| &self.bytes()[s..e])
    }

    /// Where the data lies in [`bytes`](Self::bytes), when it came from one
    /// `data` line (the usual case: more lines are joined by the parser).
    #[inline]
    pub(crate) fn single_data(&self) -> Option<Span> {
        match self.data {
            Data::One(span) => Some(span),
            Data::None | Data::Lines => None,
        }
    }

    /// The block is done: off the input, if nothing cut it off.
    #[inline]
    fn done(self) {
        if let Held::InInput = self.held {
            self.buf.discard(self.len);
        }
    }
}

#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One `data` line so far: its value, still in the buffer.
    One(Span),
    /// Two or more lines, their values still in the buffer at the spans in
    /// [`Parser::data_lines`]; joined once, into a buffer of the exact size,
    /// when the block ends.
    Lines,
}

/// What the parser knows of the block (event) being read.
#[derive(Debug, Default)]
struct Block {
    /// Position of the first field line; `None` while only comments were seen.
    start: Option<Position>,
    /// Bytes of the block so far, each line counted with one byte of line end.
    size: u64,
    data: Data,
    event_type: Option<Span>,
}

#[derive(Debug)]
pub(crate) struct Parser {
    limits: Limits,
    line_ends: LineEnds,
    /// `buf[..scan]` has been searched for line ends.
    scan: usize,
    /// Start of the line being read.
    line_start: usize,
    /// The last line ended with a CR at the end of the buffer: an LF that
    /// comes next belongs to that line end.
    skip_lf: bool,
    /// Whether the leading BOM question is settled.
    bom_done: bool,
    /// After a limit error: drop lines until the offending block ends.
    skipping: bool,
    /// Bytes of the current line were dropped while skipping, so an empty
    /// remainder is not a blank line.
    dropped_line: bool,
    block: Block,
    /// An `id` value seen in the current block, still in the buffer.
    pending_id: Option<Span>,
    /// The values of the current block's `data` lines when it has two or
    /// more ([`Data::Lines`]). Kept from block to block for its capacity.
    data_lines: Vec<Span>,
    /// The event types seen lately, each checked once and held in a buffer
    /// of its own: a stream names few types, so most events find theirs
    /// here and cost a comparison, no check and no share of the chunk.
    types: TypeCache,
    /// A chunk of the input already checked whole (see
    /// [`set_checked`](Self::set_checked)): values inside it are cut out of
    /// it instead of being checked one by one.
    checked: Option<Utf8Bytes>,
    last_id: Utf8Bytes,
    retry: Option<u64>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Line number of the line starting at `line_start`.
    line: u64,
    incomplete: Option<Incomplete>,
    /// After [`finish`](Self::finish): just past the stream's last byte.
    end: Option<Position>,
}

impl Parser {
    pub(crate) fn new(limits: Limits) -> Self {
        Parser {
            limits,
            line_ends: LineEnds::new(),
            scan: 0,
            line_start: 0,
            skip_lf: false,
            bom_done: false,
            skipping: false,
            dropped_line: false,
            block: Block::default(),
            pending_id: None,
            data_lines: Vec::new(),
            types: TypeCache::default(),
            checked: None,
            last_id: Utf8Bytes::new(),
            retry: None,
            base: 0,
            line: 1,
            incomplete: None,
            end: None,
        }
    }

    /// Hands over a chunk of the input known to be UTF-8 as a whole: the
    /// values of the events that lie inside it are slices of it.
    #[inline]
    pub(crate) fn set_checked(&mut self, checked: Option<Utf8Bytes>) {
        // Usually `None` over `None` (a chunk per event): nothing to drop.
        if self.checked.is_some() || checked.is_some() {
            self.checked = checked;
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn last_event_id(&self) -> &Utf8Bytes {
        &self.last_id
    }

    pub(crate) fn retry(&self) -> Option<u64> {
        self.retry
    }

    pub(crate) fn incomplete(&self) -> Option<Incomplete> {
        self.incomplete
    }

    pub(crate) fn end(&self) -> Option<Position> {
        self.end
    }

    /// Reads lines from `buf` until an event is complete or the buffer runs
    /// out. Bytes the parser no longer needs are removed from the front of
    /// `buf`; the rest must be handed back, with more appended, next time.
    #[inline]
    pub(crate) fn next_event<B: Buffer>(
        &mut self,
        buf: &mut B,
    ) -> Result<Option<Event>, DecodeError> {
        self.next_emitted(buf, &mut Events)
    }

    /// [`next_event`](Self::next_event), each block made into `E`'s output.
    #[inline]
    pub(crate) fn next_emitted<B: Buffer, E: Emit>(
        &mut self,
        buf: &mut B,
        emit: &mut E,
    ) -> Result<Option<E::Output>, DecodeError> {
        // Inlined into the front ends, so that the event is built where the
        // caller wants it rather than moved out through every layer.
        if self.bom_done && self.at_block_boundary() {
            if let Some(event) = self.fast_block(buf, emit) {
                return Ok(Some(event));
            }
        }
        self.next_event_by_lines(buf, emit)
    }

    /// [`next_event`](Self::next_event) past the fast path: line by line,
    /// every rule and limit applied to each line.
    #[inline(never)]
    fn next_event_by_lines<B: Buffer, E: Emit>(
        &mut self,
        buf: &mut B,
        emit: &mut E,
    ) -> Result<Option<E::Output>, DecodeError> {
        if !self.bom_done && !self.settle_bom(buf) {
            return Ok(None);
        }
        loop {
            if self.skip_lf && self.scan < buf.as_ref().len() {
                self.skip_lf = false;
                if buf.as_ref()[self.scan] == b'\n' {
                    self.scan += 1;
                    self.line_start = self.scan;
                    self.count_lf_of_crlf(buf)?;
                }
            }
            let bytes = buf.as_ref();
            let rest = &bytes[self.scan..];
            // A blank line (the end of every event) needs no search.
            let found = match rest.first() {
                Some(b'\n' | b'\r') => Some(0),
                _ => self.line_ends.find(rest),
            };
            let Some(found) = found else {
                self.scan = bytes.len();
                return self.out_of_input(buf).map(|()| None);
            };
            let end = self.scan + found;
            let mut next = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            let start = self.line_start;
            let position = self.position_of(start);
            let dropped = std::mem::take(&mut self.dropped_line);
            self.line += 1;
            self.line_start = next;
            self.scan = next;

            if start == end && !dropped {
                if let Some(event) = self.end_block(buf, emit) {
                    return Ok(Some(event));
                }
                // Between blocks again: the fast path takes the next ones.
                if self.at_block_boundary() {
                    if let Some(event) = self.fast_block(buf, emit) {
                        return Ok(Some(event));
                    }
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            let first = bytes.get(start).copied();
            let crlf = next == end + 2;
            if let Err(error) = self.check_line(position, end - start, first, true) {
                self.enter_skipping(buf);
                return Err(error);
            }
            let (start, end) = if self.block.start.is_none() && first != Some(b':') && start > 0 {
                // A block starts: whatever came before it (comments, earlier
                // blocks) is no longer needed, so memory holds one event.
                self.consume(buf, start);
                (0, end - start)
            } else {
                (start, end)
            };
            self.field(buf.as_ref(), start, end, position);
            if crlf {
                self.count_lf_of_crlf(buf)?;
            }
        }
    }

    /// How many more bytes the line being read can take, appended to the
    /// buffer (`len` bytes, all searched), without any limit tripping on the
    /// way: what a front end may hold back and hand over later, with no
    /// change to what the parser reports, or when. Zero while a block is
    /// being dropped, or before the leading BOM is settled.
    pub(crate) fn room(&self, len: usize) -> usize {
        if self.skipping || self.dropped_line || !self.bom_done || self.scan != len {
            return 0;
        }
        // `check_line` lets a partial line of `partial` bytes pass when
        // `partial <= max_line` and `block.size + partial < max_event`.
        let partial = (len - self.line_start) as u64;
        let line = (self.limits.max_line_bytes as u64).saturating_sub(partial);
        let event = (self.limits.max_event_bytes as u64)
            .saturating_sub(1)
            .saturating_sub(self.block.size)
            .saturating_sub(partial);
        usize::try_from(line.min(event)).unwrap_or(usize::MAX)
    }

    /// The index of the first CR or LF in `bytes`.
    #[inline]
    pub(crate) fn find_line_end(&self, bytes: &[u8]) -> Option<usize> {
        self.line_ends.find(bytes)
    }

    /// Tells the parser that `buf[from..to]`, appended after the bytes it
    /// has searched, holds no line end, so it starts its next search at
    /// `to`. Ignored unless the parser stands exactly at `from`, past a
    /// settled BOM, with no LF of a split CRLF to look for.
    pub(crate) fn searched(&mut self, from: usize, to: usize) {
        if self.scan == from && self.bom_done && !self.skip_lf {
            self.scan = to;
        }
    }

    /// Counts the LF of a CRLF toward the event's size. The CR was counted
    /// with its line, and the LF is counted on its own, whether or not it
    /// arrived in the same read, so the limit trips at the same byte (and
    /// after the same fields took effect) however the stream was split.
    fn count_lf_of_crlf<B: Buffer>(&mut self, buf: &mut B) -> Result<(), DecodeError> {
        let Some(start) = self.block.start.filter(|_| !self.skipping) else {
            return Ok(());
        };
        self.block.size += 1;
        if self.block.size <= self.limits.max_event_bytes as u64 {
            return Ok(());
        }
        let error = DecodeError::EventTooLarge {
            limit: self.limits.max_event_bytes,
            position: start,
        };
        self.enter_skipping(buf);
        Err(error)
    }

    /// Ends the stream: what is left in `buf` after every complete line is
    /// discarded (and recorded as [`Incomplete`] when it held a field).
    pub(crate) fn finish<B: Buffer>(&mut self, buf: &mut B) {
        let bytes = buf.as_ref();
        let rest = &bytes[self.line_start.min(bytes.len())..];
        let partial_field = !rest.is_empty() && rest[0] != b':' && !self.dropped_line;
        let position = match self.block.start {
            _ if self.skipping => None,
            Some(start) => Some(start),
            None if partial_field => Some(self.position_of(self.line_start)),
            None => None,
        };
        if let Some(position) = position {
            let end = self.base + bytes.len() as u64;
            self.incomplete = Some(Incomplete {
                position,
                bytes: end - position.offset,
            });
        }
        // Complete `id` lines of the discarded block took effect all the same.
        self.settle_pending_id(buf.as_ref());
        self.block = Block::default();
        self.skipping = false;
        self.dropped_line = false;
        self.bom_done = true;
        let len = buf.as_ref().len();
        self.scan = len;
        self.line_start = len;
        self.consume(buf, len);
        self.end = Some(self.position_of(0));
    }

    fn position_of(&self, index: usize) -> Position {
        Position {
            offset: self.base + index as u64,
            line: self.line,
        }
    }

    /// Skips a leading BOM. Returns `false` while the buffer holds only a
    /// proper prefix of one and more input is needed to decide.
    fn settle_bom<B: Buffer>(&mut self, buf: &mut B) -> bool {
        let bytes = buf.as_ref();
        let n = bytes.len().min(BOM.len());
        if bytes[..n] != BOM[..n] {
            self.bom_done = true;
        } else if n == BOM.len() {
            self.bom_done = true;
            buf.discard(BOM.len());
            self.base += BOM.len() as u64;
        }
        self.bom_done
    }

    /// The buffer holds no line end past `scan`: check the partial line
    /// against the limits and let go of every byte no span points into.
    fn out_of_input<B: Buffer>(&mut self, buf: &mut B) -> Result<(), DecodeError> {
        let len = buf.as_ref().len();
        if self.skipping {
            // Only the next line end matters now; the bytes before it do not.
            if len > self.line_start {
                self.dropped_line = true;
            }
            self.line_start = len;
            self.consume(buf, len);
            return Ok(());
        }
        if len > self.line_start {
            let first = buf.as_ref().get(self.line_start).copied();
            let position = self.position_of(self.line_start);
            if let Err(error) = self.check_line(position, len - self.line_start, first, false) {
                self.enter_skipping(buf);
                self.dropped_line = true;
                let len = buf.as_ref().len();
                self.scan = len;
                self.line_start = len;
                self.consume(buf, len);
                return Err(error);
            }
        }
        // Keep `last_event_id()` exact between reads, at the cost of a copy
        // in the rare case that a read ends inside a block with an `id` line.
        self.settle_pending_id(buf.as_ref());
        if self.retains_nothing() {
            let processed = self.line_start;
            self.consume(buf, processed);
        }
        Ok(())
    }

    /// Applies the limits to a line of `len` bytes starting at `position`;
    /// `complete` says whether its line end has arrived. Whichever limit the
    /// bytes cross first, in stream order, is the one reported, so the error
    /// does not depend on how the input was chunked.
    fn check_line(
        &self,
        position: Position,
        len: usize,
        first: Option<u8>,
        complete: bool,
    ) -> Result<(), DecodeError> {
        let len = len as u64;
        let max_line = self.limits.max_line_bytes as u64;
        if len <= max_line && self.block.size + len < self.limits.max_event_bytes as u64 {
            return Ok(());
        }
        let max_event = self.limits.max_event_bytes as u64;
        // For each limit, the byte of the line (1-based, the line end
        // counting as one more) at which it is first exceeded.
        let line_cross = (len > max_line).then_some(max_line + 1);
        let in_event = self.block.start.is_some() || first != Some(b':');
        let event_cross = if in_event {
            let room = max_event.saturating_sub(self.block.size);
            (len + u64::from(complete) > room).then_some(room + 1)
        } else {
            None
        };
        let too_large_event = DecodeError::EventTooLarge {
            limit: self.limits.max_event_bytes,
            position: self.block.start.unwrap_or(position),
        };
        match (line_cross, event_cross) {
            (Some(l), Some(e)) if e < l => Err(too_large_event),
            (Some(_), _) => Err(DecodeError::LineTooLarge {
                limit: self.limits.max_line_bytes,
                position,
            }),
            (None, Some(_)) => Err(too_large_event),
            (None, None) => Ok(()),
        }
    }

    /// After a limit error: the rest of the offending block is dropped, so
    /// the stream can go on with the next event.
    fn enter_skipping<B: Buffer>(&mut self, buf: &mut B) {
        self.settle_pending_id(buf.as_ref());
        self.block = Block::default();
        self.skipping = true;
        let processed = self.line_start;
        self.consume(buf, processed);
    }

    /// Handles one complete, non-blank line `bytes[start..end]`.
    fn field(&mut self, bytes: &[u8], start: usize, end: usize, position: Position) {
        let line = &bytes[start..end];
        let line_size = line.len() as u64 + 1;
        if line[0] == b':' {
            if self.block.start.is_some() {
                self.block.size += line_size;
            }
            return;
        }
        if self.block.start.is_none() {
            self.block.start = Some(position);
        }
        self.block.size += line_size;

        let value_after = |colon: usize| {
            let value_start = colon + 1;
            if value_start < end && bytes[value_start] == b' ' {
                (value_start + 1, end)
            } else {
                (value_start, end)
            }
        };
        // The fields every stream uses skip the search for the colon.
        if line.starts_with(b"data:") {
            return self.push_data(value_after(start + 4));
        }
        if line.starts_with(b"event:") {
            self.block.event_type = Some(value_after(start + 5));
            return;
        }
        let (name, value) = match memchr(b':', line) {
            Some(colon) => (&line[..colon], value_after(start + colon)),
            None => (line, (end, end)),
        };
        let value_start = value.0;
        match name {
            b"data" => self.push_data(value),
            b"event" => self.block.event_type = Some(value),
            b"id" if memchr(0, &bytes[value_start..end]).is_none() => self.pending_id = Some(value),
            b"retry" => {
                if let Some(ms) = parse_retry(&bytes[value_start..end]) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn push_data(&mut self, span: Span) {
        match self.block.data {
            Data::None => self.block.data = Data::One(span),
            Data::One(first) => {
                self.data_lines.clear();
                self.data_lines.extend([first, span]);
                self.block.data = Data::Lines;
            }
            Data::Lines => self.data_lines.push(span),
        }
    }

    /// A blank line ended the block: dispatch it if it has data.
    fn end_block<B: Buffer, E: Emit>(&mut self, buf: &mut B, emit: &mut E) -> Option<E::Output> {
        let block = std::mem::take(&mut self.block);
        let skipped = std::mem::take(&mut self.skipping);
        let ended = self.line_start;
        let Some(start) = block.start.filter(|_| !skipped) else {
            self.consume(buf, ended);
            return None;
        };
        if matches!(block.data, Data::None) {
            self.settle_pending_id(buf.as_ref());
            self.consume(buf, ended);
            return None;
        }
        self.advance_base(ended);
        let id = self.pending_id.take();
        Some(self.dispatch(emit, buf, ended, id, block.event_type, block.data, start))
    }

    /// Dispatches the finished block that is the first `len` bytes of `buf`
    /// (the spans point into it; the parser's offsets already count it as
    /// gone): its `id` becomes the last event id, `E` makes the rest into
    /// its output, and the block leaves the input.
    // Always inlined: built in place, the event is not copied out of a
    // callee's frame (a copy that stalls on the stores that just wrote it).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn dispatch<B: Buffer, E: Emit>(
        &mut self,
        emit: &mut E,
        buf: &mut B,
        len: usize,
        id: Option<Span>,
        event_type: Option<Span>,
        data: Data,
        position: Position,
    ) -> E::Output {
        let mut block = RawEvent {
            buf,
            len,
            held: Held::InInput,
            event_type,
            data,
            position,
        };
        if let Some(span) = id {
            self.last_id = self.text(&mut block, span);
        }
        let output = emit.emit(self, &mut block);
        block.done();
        output
    }

    /// The block's bytes in `span` as text: cut out of the chunk checked
    /// whole, if they lie in one; copied inline, up to 30 bytes; otherwise
    /// a slice of the block. Checked here (invalid sequences replaced)
    /// unless cut out of the checked chunk.
    #[inline(always)]
    pub(crate) fn text<B: Buffer>(&self, block: &mut RawEvent<'_, B>, (s, e): Span) -> Utf8Bytes {
        let part = &block.bytes()[s..e];
        if let Some(text) = self.checked_part(part) {
            return text;
        }
        if part.len() <= Utf8Bytes::INLINE_MAX {
            return Utf8Bytes::copy_lossy(part);
        }
        Utf8Bytes::from_utf8_lossy(block.slice((s, e)))
    }

    /// `part` as text, when it lies inside the chunk checked whole (see
    /// [`set_checked`](Self::set_checked)): shared, not checked again.
    #[inline]
    pub(crate) fn checked_part(&self, part: &[u8]) -> Option<Utf8Bytes> {
        self.checked.as_ref().and_then(|c| c.sub(part))
    }

    /// The event of a dispatched block. Each value is checked to be UTF-8
    /// here, once, as it becomes text (field values are cut at ASCII bytes,
    /// so checking them one by one is checking the block's text: bytes
    /// outside them, comments and field names, never reach the event).
    #[inline(always)]
    pub(crate) fn event_of<B: Buffer>(&mut self, block: &mut RawEvent<'_, B>) -> Event {
        let event_type = block.event_type().map(|name| self.types.get(name));
        let data = match block.data {
            Data::One(span) if span.1 - span.0 <= Utf8Bytes::INLINE_MAX => self.text(block, span),
            Data::One((s, e)) => match self.checked_part(&block.bytes()[s..e]) {
                Some(data) => data,
                None => {
                    // Narrow the block to its data instead of slicing it: no
                    // reference count to raise and drop again.
                    let mut data = block.take();
                    data.truncate(e);
                    data.advance(s);
                    Utf8Bytes::from_utf8_lossy(data)
                }
            },
            Data::Lines => {
                let bytes = block.bytes();
                let lines = &self.data_lines;
                let len = lines.iter().map(|(s, e)| e - s).sum::<usize>() + lines.len() - 1;
                let mut joined = Vec::with_capacity(len);
                for (i, &(s, e)) in lines.iter().enumerate() {
                    if i > 0 {
                        joined.push(b'\n');
                    }
                    joined.extend_from_slice(&bytes[s..e]);
                }
                Utf8Bytes::from_utf8_vec_lossy(joined)
            }
            Data::None => Utf8Bytes::new(),
        };
        Event {
            event_type,
            data,
            id: self.last_id.clone(),
            position: block.position,
        }
    }

    /// Turns a pending `id` span into the last event id, by copying it.
    fn settle_pending_id(&mut self, bytes: &[u8]) {
        if let Some((s, e)) = self.pending_id.take() {
            self.last_id = Utf8Bytes::copy_lossy(&bytes[s..e]);
        }
    }

    fn retains_nothing(&self) -> bool {
        self.pending_id.is_none()
            && self.block.event_type.is_none()
            && matches!(self.block.data, Data::None)
    }

    /// Removes the first `n` bytes of `buf`, which no span may point into.
    fn consume<B: Buffer>(&mut self, buf: &mut B, n: usize) {
        if n > 0 {
            buf.discard(n);
            self.advance_base(n);
        }
    }

    fn advance_base(&mut self, n: usize) {
        self.base += n as u64;
        self.scan -= n;
        self.line_start -= n;
    }
}

fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |ms, &b| {
        if b.is_ascii_digit() {
            ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = Parser::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(e) = parser.next_event(&mut buf).unwrap() {
                out.push((e.event_type().to_owned(), e.data().to_owned()));
            }
        }
        out
    }

    #[test]
    fn retry_takes_ascii_digits_that_fit_in_u64() {
        assert_eq!(parse_retry(b"0"), Some(0));
        assert_eq!(parse_retry(b"0042"), Some(42));
        assert_eq!(parse_retry(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry(b"18446744073709551616"), None);
        assert_eq!(parse_retry(b""), None);
        assert_eq!(parse_retry(b"1 "), None);
        assert_eq!(parse_retry(b"+1"), None);
    }

    #[test]
    fn a_bom_split_across_reads_is_still_skipped() {
        let got = events(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(got, [("message".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn a_cr_ending_one_read_and_an_lf_starting_the_next_are_one_line_end() {
        // Two line ends would make a blank line and dispatch "a" early.
        let got = events(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(got, [("message".to_owned(), "a\nb".to_owned())]);
    }

    #[test]
    fn processed_lines_are_released_while_a_block_has_not_started() {
        let mut parser = Parser::new(Limits::default());
        let mut buf = BytesMut::from(&b": one\n: two\n\n: three\n: fo"[..]);
        assert!(parser.next_event(&mut buf).unwrap().is_none());
        assert_eq!(&buf[..], b": fo", "only the unfinished line is kept");
    }

    #[test]
    fn values_decode_like_whatwg_utf8_decode_at_every_length() {
        // Multi-byte characters and invalid bytes at every position, in
        // data short enough for std's check and long enough for SIMD's:
        // each value is what replacement decoding of the stream gives.
        let text = "a\u{e9}\u{2014}\u{1F642}".repeat(80);
        for len in (0..=300).step_by(7) {
            let run = &text.as_bytes()[1..1 + len];
            for at in [0, len / 3, len.saturating_sub(1)] {
                let mut value = run.to_vec();
                if at < len {
                    value[at] = 0xFF;
                }
                let mut stream = b"event: t\xC3\ndata: ".to_vec();
                stream.extend_from_slice(&value);
                stream.extend_from_slice(b"\nid: \xE2\x80\n\n");
                let mut parser = Parser::new(Limits::default());
                let mut buf = BytesMut::from(&stream[..]);
                let event = parser.next_event(&mut buf).unwrap().expect("an event");
                assert_eq!(event.data(), String::from_utf8_lossy(&value), "{len} {at}");
                assert_eq!((event.event_type(), event.id()), ("t\u{FFFD}", "\u{FFFD}"));
            }
        }
    }
}
