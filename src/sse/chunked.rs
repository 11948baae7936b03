//! [`ChunkDecoder`]: a push decoder that slices events out of the caller's
//! own `Bytes` chunks, with no async runtime.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use super::parser::{Emit, Events, Incomplete, Parser};
use super::{DecodeError, Event, Limits, Position, Utf8Bytes};

/// Most bytes copied into the carry buffer between two limit checks, so a
/// huge chunk cannot grow memory far past the limits.
const CARRY_STEP: usize = 64 * 1024;

/// A chunk of at least this many bytes that holds no line end, arriving
/// while a long line is being carried, is held as it is rather than copied
/// (see [`ChunkDecoder::defer`]), and so is the rest of a chunk that ends
/// inside an event when it is this long and at least half the chunk (see
/// `parked`); smaller ones are copied at once.
const DEFER_FROM: usize = 4096;

/// At most this many chunks are held: a held chunk keeps its whole
/// allocation alive, which may be larger than the chunk, so their number is
/// bounded as well as their bytes.
const MAX_DEFERRED: usize = 32;

/// Room reserved past a line fed into the carry buffer, for its CRLF's LF and
/// a blank line's CRLF, which arrive in the next feeds.
const LINE_END_SLACK: usize = 3;

/// A chunk that holds a second event and has at least this many bytes left
/// is checked as UTF-8 whole, in one SIMD pass, and the values of its next
/// events are cut out of it. A chunk of one event (a chunk per server
/// write) has its values checked one by one: the whole check would cost it
/// an allocation.
const CHECK_WHOLE_FROM: usize = 1024;

/// A decoder you push `Bytes` chunks into and pull events out of.
///
/// An event that lies inside one chunk is sliced out of it without a copy:
/// with an HTTP body whose chunks each hold whole events (as servers
/// usually write them), no event data is ever copied. Only an event split
/// across chunks is assembled in a carry buffer.
///
/// ```
/// use agent37_stream::sse::ChunkDecoder;
/// use bytes::Bytes;
///
/// let mut decoder = ChunkDecoder::new();
/// decoder.push(Bytes::from_static(b"event: delta\ndata: {\"text\":\"He"));
/// assert!(decoder.next_event()?.is_none()); // the event is not finished yet
///
/// decoder.push(Bytes::from_static(b"llo\"}\r\n\r\ndata: tail"));
/// let event = decoder.next_event()?.expect("one event");
/// assert_eq!(event.event_type(), "delta");
/// assert_eq!(event.data(), r#"{"text":"Hello"}"#);
///
/// decoder.finish(); // end of stream: the unterminated "data: tail" is dropped
/// assert!(decoder.next_event()?.is_none());
/// assert_eq!(decoder.incomplete().map(|i| i.position.line), Some(4));
/// # Ok::<(), agent37_stream::sse::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct ChunkDecoder {
    parser: Parser,
    /// Chunks pushed and not yet parsed (usually one).
    chunks: VecDeque<Bytes>,
    /// The start of an event that began in an earlier chunk.
    carry: BytesMut,
    /// The rest of a chunk that ends inside an event (at least
    /// [`DEFER_FROM`] bytes, and half the chunk, so that it pins no much
    /// larger allocation), kept as it is in place of `carry`, which is
    /// empty then: the parser has read it all, and it is copied into
    /// `carry`, with the chunks that continue its last line (`deferred`),
    /// when more than that line's continuation arrives.
    parked: Bytes,
    /// Whole chunks that continue the line at the end of `carry` (or
    /// `parked`), with no line end in them, not yet copied: when the line
    /// ends they are copied into `carry` at once, after one reservation of
    /// the size they need. A long event is so copied once, not again each
    /// time the carry buffer grows.
    deferred: Vec<Bytes>,
    /// Their total length.
    deferred_len: usize,
    /// The smallest chunk held rather than copied ([`DEFER_FROM`]; tests
    /// turn holding off to compare).
    defer_from: usize,
    /// The addresses of the chunk being parsed, to tell a new chunk from
    /// the rest of this one. (A later chunk at the same addresses, once this
    /// one is freed, is taken for its rest: at worst it is checked whole
    /// from its own current bytes, which is always right.)
    current: Option<std::ops::Range<usize>>,
    /// Events taken from the current chunk so far.
    from_chunk: usize,
    finishing: bool,
    done: bool,
}

impl ChunkDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        ChunkDecoder {
            parser: Parser::new(limits),
            chunks: VecDeque::new(),
            carry: BytesMut::new(),
            parked: Bytes::new(),
            deferred: Vec::new(),
            deferred_len: 0,
            defer_from: DEFER_FROM,
            current: None,
            from_chunk: 0,
            finishing: false,
            done: false,
        }
    }

    /// Hands the decoder the next chunk of the stream. Take the events it
    /// completes with [`next_event`](Self::next_event).
    pub fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.chunks.push_back(chunk);
        }
    }

    /// Marks the end of the stream: [`next_event`](Self::next_event) then
    /// drains what is left, and an unterminated last event is discarded (see
    /// [`incomplete`](Self::incomplete)).
    pub fn finish(&mut self) {
        self.finishing = true;
    }

    /// The next complete event, or `None` when the pushed bytes hold no more
    /// (push more, or [`finish`](Self::finish)).
    ///
    /// After an error the offending event is dropped and decoding can go on.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event>, DecodeError> {
        // The call that finds the chunks used up (every other call, with a
        // chunk per server write) stays out of the decoding function and
        // its large frame.
        self.next_emitted(&mut Events)
    }

    /// [`next_event`](Self::next_event), each block made into `E`'s output
    /// (the typed layer reads its events straight from the block's bytes).
    #[inline]
    pub(crate) fn next_emitted<E: Emit>(
        &mut self,
        emit: &mut E,
    ) -> Result<Option<E::Output>, DecodeError> {
        if self.is_drained() {
            return Ok(None);
        }
        self.decode_next(emit)
    }

    /// Whether nothing is left to decode until the next push: every pushed
    /// byte was read (a partial event waits in the carry buffer, which is
    /// not empty then, or parked), and the end of the stream is not pending.
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        self.chunks.is_empty() && self.carry.is_empty() && !self.finishing
    }

    fn decode_next<E: Emit>(&mut self, emit: &mut E) -> Result<Option<E::Output>, DecodeError> {
        loop {
            if !self.carry.is_empty() {
                if let Some(event) = self.parser.next_emitted(&mut self.carry, emit)? {
                    return Ok(Some(event));
                }
                if !self.carry.is_empty() && !self.feed_carry() {
                    return self.end_of_input(emit);
                }
                continue;
            }
            if !self.parked.is_empty() {
                // Read to its end: what comes next continues its last line.
                if !self.feed_carry() {
                    return self.end_of_input(emit);
                }
                continue;
            }
            let Some(chunk) = self.chunks.front_mut() else {
                return self.end_of_input(emit);
            };
            let start = chunk.as_ptr() as usize;
            let fresh = !self
                .current
                .as_ref()
                .is_some_and(|range| range.contains(&start));
            if fresh {
                self.current = Some(start..start + chunk.len());
                self.from_chunk = 0;
                self.parser.set_checked(None);
            } else if self.from_chunk == 1 && chunk.len() >= CHECK_WHOLE_FROM {
                // A second event in this chunk: check the rest of it whole,
                // once, and cut the next events' values out of it.
                self.parser
                    .set_checked(Utf8Bytes::checked_whole(chunk.clone()));
            }
            let event = self.parser.next_emitted(chunk, emit);
            self.from_chunk += usize::from(matches!(event, Ok(Some(_))));
            if chunk.is_empty() {
                self.chunks.pop_front();
            } else if matches!(event, Ok(None)) {
                self.keep_rest();
            }
            if let Some(event) = event? {
                return Ok(Some(event));
            }
        }
    }

    /// The front chunk ends inside an event: keeps its rest (the event's
    /// start), as it is if it is long and most of the chunk (a long line
    /// goes on), else copied. Once a chunk at most, so out of the loop.
    #[cold]
    #[inline(never)]
    fn keep_rest(&mut self) {
        let Some(rest) = self.chunks.pop_front() else {
            return;
        };
        let pushed = self
            .current
            .as_ref()
            .map_or(0, |range| range.end - range.start);
        if rest.len() >= self.defer_from && rest.len() * 2 >= pushed {
            self.parked = rest;
        } else {
            self.carry.extend_from_slice(&rest);
        }
    }

    /// Moves the next line (or a bounded piece of one) of the pushed chunks
    /// into the carry buffer. Returns `false` when there is nothing to move.
    fn feed_carry(&mut self) -> bool {
        let Some(chunk) = self.chunks.front() else {
            return false;
        };
        let found = self.parser.find_line_end(chunk);
        let (take, line_end) = match found {
            Some(end) if end < CARRY_STEP => (end + 1, true),
            _ => (chunk.len().min(CARRY_STEP), false),
        };
        if found.is_none() && self.defer() {
            return true;
        }
        // Room for the line, plus the few bytes that usually come next (the
        // LF of a CRLF, the blank line that ends the event), fed one line
        // at a time: without it they would move the whole line again.
        self.carry
            .reserve(self.parked.len() + self.deferred_len + take + LINE_END_SLACK);
        self.unpark();
        let before = self.carry.len();
        for deferred in self.deferred.drain(..) {
            self.carry.extend_from_slice(&deferred);
        }
        self.deferred_len = 0;
        let Some(chunk) = self.chunks.front_mut() else {
            return false;
        };
        self.carry.extend_from_slice(&chunk[..take]);
        chunk.advance(take);
        // Those bytes were just searched: all but the line end, if one was
        // found, hold none, and the parser need not search them again.
        let searched = self.carry.len() - usize::from(line_end);
        self.parser.searched(before, searched);
        if chunk.is_empty() {
            self.chunks.pop_front();
        }
        true
    }

    /// Copies the parked chunk, if any, into the empty carry buffer, which
    /// becomes the parser's buffer again.
    fn unpark(&mut self) {
        if !self.parked.is_empty() {
            self.carry.extend_from_slice(&self.parked);
            self.parked = Bytes::new();
        }
    }

    /// Holds the front chunk, which has no line end, in `deferred` instead
    /// of copying it into the carry buffer, when that changes nothing the
    /// parser reports, or when: the chunk is large, and the parser has room
    /// for it and the chunks held before it (the line they continue can
    /// take them all without a limit tripping), so it would have read them
    /// without a word. Returns whether it did.
    fn defer(&mut self) -> bool {
        let Some(chunk) = self.chunks.front() else {
            return false;
        };
        let held = self.deferred_len + chunk.len();
        if chunk.len() < self.defer_from
            || self.deferred.len() >= MAX_DEFERRED
            // At the end of the input the parser must see every byte.
            || self.finishing
            || held > self.parser.room(self.carry.len() + self.parked.len())
        {
            return false;
        }
        if let Some(chunk) = self.chunks.pop_front() {
            self.deferred_len += chunk.len();
            self.deferred.push(chunk);
        }
        true
    }

    fn end_of_input<E: Emit>(&mut self, emit: &mut E) -> Result<Option<E::Output>, DecodeError> {
        if self.finishing && !self.done {
            if !self.deferred.is_empty() {
                // The line never ends: the parser reads what there is of it.
                self.chunks.extend(self.deferred.drain(..));
                self.deferred_len = 0;
                return self.decode_next(emit);
            }
            self.done = true;
            self.unpark();
            self.parser.finish(&mut self.carry);
        }
        Ok(None)
    }

    /// The last event id (see [`Decoder::last_event_id`](super::Decoder::last_event_id)).
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.parser.last_event_id()
    }

    /// The reconnection time in milliseconds, if a `retry` field set one.
    pub fn retry(&self) -> Option<u64> {
        self.parser.retry()
    }

    /// After [`finish`](Self::finish): the unterminated last event that was
    /// discarded, if any.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.parser.incomplete()
    }

    /// After [`finish`](Self::finish) and the last event: the position just
    /// past the stream's last byte (its length, and its number of lines), where
    /// findings about the stream as a whole point.
    pub fn end_position(&self) -> Option<Position> {
        self.parser.end().filter(|_| self.done)
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.parser.limits()
    }

    /// Bytes held: pushed chunks not yet parsed, and the carry buffer's
    /// capacity. The limits bound the carry buffer whatever the input; the
    /// chunks are what the caller pushed and has not yet taken events from.
    /// (Up to 32 chunks of a long line, and the rest of the chunk it
    /// started in, may be held uncopied, within the limits; each is counted
    /// by its length, though it keeps its whole allocation alive: a rest is
    /// held only when it is at least half the chunk pushed.)
    pub fn buffered_len(&self) -> usize {
        self.carry.capacity()
            + self.parked.len()
            + self.deferred_len
            + self.chunks.iter().map(Bytes::len).sum::<usize>()
    }
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: impl IntoIterator<Item = Bytes>) -> Vec<Event> {
        let mut decoder = ChunkDecoder::new();
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event().unwrap() {
                events.push(event);
            }
        }
        decoder.finish();
        while let Some(event) = decoder.next_event().unwrap() {
            events.push(event);
        }
        events
    }

    #[test]
    fn a_chunk_of_many_events_is_checked_once_and_sliced() {
        let mut stream = String::new();
        for i in 0..60 {
            stream.push_str(&format!(
                "event: t{}\nid: {i}\ndata: {{\"text\":\"café {i} 🙂 and some more words\"}}\n\n",
                i % 3
            ));
        }
        let chunk = Bytes::from(stream.clone());
        let whole = decode([chunk.clone()]);
        let bytewise = decode(stream.bytes().map(|b| Bytes::copy_from_slice(&[b])));
        assert_eq!(whole, bytewise);
        assert_eq!(whole.len(), 60);
        // After the first event, values are cut out of the checked chunk
        // (those of 24 bytes or fewer are copied inline instead).
        let range = chunk.as_ptr_range();
        for event in &whole[1..] {
            assert!(range.contains(&event.data_bytes().as_ptr()), "{event:?}");
        }
    }

    #[test]
    fn an_invalid_byte_in_a_large_chunk_is_replaced_as_anywhere_else() {
        let mut stream = Vec::new();
        for i in 0..40 {
            stream.extend_from_slice(
                format!("data: value {i} with some padding text\n\n").as_bytes(),
            );
        }
        let at = stream.len() / 2;
        stream[at] = 0xFF;
        // And a character cut by the chunk's end.
        stream.extend_from_slice(b"data: \xC3");
        let whole = decode([Bytes::from(stream.clone()), Bytes::from_static(b"\xA9\n\n")]);
        let bytewise = decode(
            stream
                .iter()
                .chain(b"\xA9\n\n")
                .map(|&b| Bytes::copy_from_slice(&[b])),
        );
        assert_eq!(whole, bytewise);
        assert!(whole.iter().any(|e| e.data().contains('\u{FFFD}')));
        assert_eq!(whole.last().unwrap().data(), "\u{e9}");
    }

    /// Everything a decoder reports for `chunks`, push by push: events and
    /// limit errors (errors by their text, which names the position), a
    /// mark after each push, then the discarded tail and the end position;
    /// how many chunks it held at most, and whether it parked one. `hold`
    /// turns holding and parking on.
    fn report(chunks: &[&[u8]], limits: Limits, hold: bool) -> (Vec<String>, usize, bool) {
        let mut decoder = ChunkDecoder::with_limits(limits);
        if !hold {
            decoder.defer_from = usize::MAX;
        }
        let mut seen = Vec::new();
        let mut most_held = 0;
        let mut parked = false;
        let drain = |decoder: &mut ChunkDecoder, seen: &mut Vec<String>| loop {
            match decoder.next_event() {
                Ok(Some(event)) => seen.push(format!(
                    // The data by its length and a sum of its bytes, so a
                    // failure prints short.
                    "{} {}/{} {:?} {}",
                    event.event_type(),
                    event.data().len(),
                    event
                        .data_bytes()
                        .iter()
                        .map(|&b| u64::from(b))
                        .sum::<u64>(),
                    event.id(),
                    event.position()
                )),
                Ok(None) => break,
                Err(error) => seen.push(error.to_string()),
            }
        };
        for chunk in chunks {
            decoder.push(Bytes::copy_from_slice(chunk));
            drain(&mut decoder, &mut seen);
            seen.push("|".to_owned());
            most_held = most_held.max(decoder.deferred.len());
            parked |= !decoder.parked.is_empty();
            // Held, whether copied or not: no more than the limits allow.
            let held = decoder.carry.len() + decoder.parked.len() + decoder.deferred_len;
            let most = limits.max_event_bytes.max(limits.max_line_bytes) + 1;
            assert!(held <= most, "{held} bytes held");
        }
        decoder.finish();
        drain(&mut decoder, &mut seen);
        seen.push(format!(
            "{:?} {:?}",
            decoder.incomplete(),
            decoder.end_position()
        ));
        (seen, most_held, parked)
    }

    #[test]
    fn long_lines_held_as_chunks_decode_as_if_copied() {
        // Lines of 3–20 KiB, in chunks of 4 KiB and more (which are held,
        // not copied, while a line goes on), under limits below, at and
        // above the lines' sizes: the same events and errors, after the
        // same pushes, as when every chunk is copied. Among the lines,
        // fields the parser counts toward the event but lets go of
        // (unknown ones, `retry`, `id`), a CR line end split from its LF,
        // and a last line that never ends.
        let mut stream = Vec::new();
        for (i, len) in [3000, 9000, 20_000, 5000, 4096, 7000]
            .into_iter()
            .enumerate()
        {
            if i % 3 == 1 {
                stream.extend_from_slice(b"foo: ");
                stream.extend(std::iter::repeat_n(b'f', 2000));
                stream.extend_from_slice(b"\nretry: 10\nid: 7\n");
            }
            stream.extend_from_slice(format!("event: t{i}\ndata: ").as_bytes());
            stream.extend(std::iter::repeat_n(b'a' + i as u8, len));
            stream.extend_from_slice(if i % 2 == 0 { b"\r\n\r\n" } else { b"\n\n" });
        }
        stream.extend_from_slice(b"data: ");
        stream.extend(std::iter::repeat_n(b'z', 12_000));
        let mut most_held = 0;
        let mut parked = false;
        for limits in [
            Limits::default(),
            Limits::default().max_event_bytes(5020),
            Limits::default().max_line_bytes(4102).max_event_bytes(9000),
            Limits::default().max_event_bytes(9030),
            Limits::default().max_event_bytes(11_010),
        ] {
            for size in [4096, 5003, 8192, 10_000] {
                for offset in [0, 1, 700, 2500] {
                    let mut chunks: Vec<&[u8]> = vec![&stream[..offset]];
                    chunks.extend(stream[offset..].chunks(size));
                    let (held, most, any_parked) = report(&chunks, limits, true);
                    let (copied, ..) = report(&chunks, limits, false);
                    assert_eq!(held, copied, "{limits:?} {size} {offset}");
                    most_held = most_held.max(most);
                    parked |= any_parked;
                }
            }
        }
        assert!(most_held >= 4, "chunks were held: at most {most_held}");
        assert!(parked, "a chunk's rest was parked");
    }

    #[test]
    fn a_long_rest_parked_at_the_end_is_discarded_as_if_copied() {
        // A chunk whose rest (a line of 5 KiB that never ends) is parked,
        // then the end of the stream, with or without a blank line first.
        let mut stream = b"data: a\n\n".to_vec();
        stream.extend_from_slice(b"data: ");
        stream.extend(std::iter::repeat_n(b'y', 5000));
        for tail in [&b""[..], b"\n", b"\n\n"] {
            let chunks = [&stream[..], tail];
            let (held, _, parked) = report(&chunks, Limits::default(), true);
            let (copied, ..) = report(&chunks, Limits::default(), false);
            assert!(parked, "{tail:?}");
            assert_eq!(held, copied, "{tail:?}");
        }
    }

    #[test]
    fn a_long_rest_is_parked_only_when_it_is_most_of_its_chunk() {
        // The same 5 KiB unfinished line at the end of a chunk of its own
        // size, then of a chunk twenty times larger: parked, then copied,
        // so the large chunk is not kept alive for its last few KiB.
        let mut line = b"data: ".to_vec();
        line.extend(std::iter::repeat_n(b'x', 5000));
        let mut big = b"data: small event\n\n".repeat(5000);
        big.extend_from_slice(&line);
        for (chunk, parks) in [(line.clone(), true), (big, false)] {
            let mut decoder = ChunkDecoder::new();
            decoder.push(Bytes::from(chunk));
            while decoder.next_event().unwrap().is_some() {}
            assert_eq!(!decoder.parked.is_empty(), parks);
            assert_eq!(decoder.carry.len() + decoder.parked.len(), line.len());
            decoder.push(Bytes::from_static(b"\n\n"));
            let event = decoder.next_event().unwrap().expect("the line's event");
            assert_eq!(event.data().len(), 5000);
        }
    }

    fn end_of(chunks: &[&[u8]]) -> Position {
        let mut decoder = ChunkDecoder::new();
        for chunk in chunks {
            decoder.push(Bytes::copy_from_slice(chunk));
            while decoder.next_event().unwrap().is_some() {}
        }
        assert_eq!(decoder.end_position(), None, "not before the end");
        decoder.finish();
        while decoder.next_event().unwrap().is_some() {}
        decoder.end_position().expect("known after the end")
    }

    #[test]
    fn the_end_position_counts_every_kind_of_line_end_once() {
        assert_eq!(end_of(&[b"a\nb\r\nc\rd"]), Position { offset: 8, line: 4 });
        // A CRLF split across chunks is one line end.
        assert_eq!(end_of(&[b"a\r", b"\nb"]), Position { offset: 4, line: 2 });
        assert_eq!(
            end_of(&[b"a\r", b"", b"\n"]),
            Position { offset: 3, line: 2 }
        );
        assert_eq!(end_of(&[b"\r\r\n"]), Position { offset: 3, line: 3 });
        assert_eq!(
            end_of(&[b"\r", b"\r", b"\n", b"\n"]),
            Position { offset: 4, line: 4 }
        );
        assert_eq!(
            end_of(&[b"\xEF\xBB\xBFdata: x\n\n"]),
            Position {
                offset: 12,
                line: 3
            }
        );
        assert_eq!(end_of(&[]), Position { offset: 0, line: 1 });
    }

    #[test]
    fn the_end_position_does_not_depend_on_chunking() {
        let bytes = b"event: a\r\ndata: 1\r\n\r\n: x\rdata: 2\n\ndata: 3\r\r";
        for cut in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(cut);
            assert_eq!(
                end_of(&[head, tail]),
                Position {
                    offset: 43,
                    line: 9
                },
                "cut {cut}"
            );
        }
    }
}
