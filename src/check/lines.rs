//! [`Lines`]: the lines of a recording as it streams past, and the few a
//! finding may quote, each cut to a width. Never the whole recording.
//!
//! A finding points at a block's first field line (an event, an oversized
//! or unterminated block), at a line over the line limit, or at the end of
//! the recording. So [`Lines`] keeps the head of each block's first field
//! line and of each over-long line, and of the line being read its head,
//! its tail and its length in characters; an old kept line is let go once
//! the kept lines pass a fixed budget.

use std::collections::VecDeque;

use memchr::memchr2;

use super::Excerpt;
use super::render::{QUOTE_CONTEXT, QUOTE_WIDTH};
use crate::sse::Position;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes kept from the start of a line: room for twice the quote width even
/// in four-byte characters, so a column near the start quotes as from the
/// whole line.
const HEAD_BYTES: usize = 8 * QUOTE_WIDTH;
/// Bytes kept from the end of the line being read: the end of a long last
/// line is quoted with the characters before it.
const TAIL_BYTES: usize = 8 * QUOTE_CONTEXT;
/// Most bytes of kept lines (heads plus a per-line overhead) held at once.
/// A finding about an older line (an `unclosed-tool-call` thousands of
/// events back) keeps its position but loses its quote.
const KEPT_BUDGET: usize = 4 << 20;
/// What a kept line costs beyond its head, for the budget.
const KEPT_OVERHEAD: usize = 48;

/// A line kept for quoting: its number, where it starts, and its head.
#[derive(Debug)]
struct Kept {
    number: u64,
    start: u64,
    len: u64,
    head: Box<[u8]>,
}

/// The line being read.
#[derive(Debug, Default)]
struct Current {
    number: u64,
    start: u64,
    len: u64,
    head: Vec<u8>,
    /// The last bytes read of a line longer than its head (between
    /// `TAIL_BYTES` and twice that).
    tail: Vec<u8>,
    chars: CharCount,
}

impl Current {
    fn extend(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.len + bytes.len() as u64 > HEAD_BYTES as u64 {
            if self.tail.is_empty() {
                // Every byte so far is in the head.
                let head = &self.head;
                self.tail
                    .extend_from_slice(&head[head.len().saturating_sub(TAIL_BYTES)..]);
            }
            if bytes.len() >= TAIL_BYTES {
                self.tail.clear();
                self.tail
                    .extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
            } else {
                self.tail.extend_from_slice(bytes);
                if self.tail.len() > 2 * TAIL_BYTES {
                    self.tail.drain(..self.tail.len() - TAIL_BYTES);
                }
            }
        }
        let room = HEAD_BYTES - self.head.len();
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.len += bytes.len() as u64;
        self.chars.feed(bytes);
    }

    fn excerpt(&self, at: Position) -> Excerpt {
        let into = at.offset.saturating_sub(self.start);
        if into <= self.head.len() as u64 {
            return head_excerpt(&self.head, self.len, into);
        }
        let total = self.chars.total();
        if into >= self.len {
            // The end of a line longer than its head: quote its last
            // `TAIL_BYTES` (however the line was chunked), from a character
            // boundary.
            let tail = &self.tail[self.tail.len().saturating_sub(TAIL_BYTES)..];
            let skip = tail
                .iter()
                .take(3)
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count();
            let text = String::from_utf8_lossy(&tail[skip..]).into_owned();
            let shown = text.chars().count() as u64;
            return Excerpt {
                column: total + 1,
                text: Some(text),
                skipped: total.saturating_sub(shown),
                cut: false,
            };
        }
        // Between the head and the end: no finding points there today; a
        // byte count past the head is as close as the kept bytes allow.
        let mut excerpt = head_excerpt(&self.head, self.len, self.head.len() as u64);
        excerpt.column += into - self.head.len() as u64;
        excerpt
    }
}

/// The excerpt of a line whose first bytes are `head`, `len` bytes long in
/// all, for the position `into` bytes into it (within the head).
fn head_excerpt(head: &[u8], len: u64, into: u64) -> Excerpt {
    let before = head.get(..into as usize).unwrap_or(head);
    let cut = len > head.len() as u64;
    let shown = if cut { whole_chars(head) } else { head };
    Excerpt {
        column: count_chars(before) + 1,
        text: Some(String::from_utf8_lossy(shown).into_owned()),
        skipped: 0,
        cut,
    }
}

/// `bytes` without a character cut short at its end.
fn whole_chars(bytes: &[u8]) -> &[u8] {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let needs = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        return if needs > back {
            &bytes[..bytes.len() - back]
        } else {
            bytes
        };
    }
    bytes
}

/// The lines of a recording, fed in chunks of any size; line numbers and
/// offsets agree with the decoder's [`Position`]s (SSE line ends: CRLF, LF
/// or a lone CR, also split across chunks; a leading BOM is not part of
/// line 1).
#[derive(Debug)]
pub(crate) struct Lines {
    /// Lines over this are kept: the decoder reports them.
    max_line: u64,
    /// The first bytes while they may still be a BOM.
    bom: Option<Vec<u8>>,
    /// The last line ended with a CR at the end of a chunk.
    after_cr: bool,
    /// A field line was seen since the last blank line.
    in_block: bool,
    current: Current,
    kept: VecDeque<Kept>,
    kept_bytes: usize,
}

impl Lines {
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Lines {
            max_line: max_line_bytes as u64,
            bom: Some(Vec::new()),
            after_cr: false,
            in_block: false,
            current: Current {
                number: 1,
                ..Current::default()
            },
            kept: VecDeque::new(),
            kept_bytes: 0,
        }
    }

    /// Reads the next chunk of the recording.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        if let Some(seen) = &mut self.bom {
            let take = (BOM.len() - seen.len()).min(bytes.len());
            seen.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if !BOM.starts_with(seen) {
                let seen = self.bom.take().unwrap_or_default();
                self.scan(&seen);
            } else if seen.len() == BOM.len() {
                self.bom = None;
                self.current.start = BOM.len() as u64;
            } else {
                return;
            }
        }
        self.scan(bytes);
    }

    /// The end of the recording.
    pub(crate) fn finish(&mut self) {
        if let Some(seen) = self.bom.take() {
            self.scan(&seen);
        }
    }

    /// Bytes held: the kept lines and the line being read.
    pub(crate) fn retained(&self) -> usize {
        self.kept_bytes + self.current.head.capacity() + self.current.tail.capacity()
    }

    /// The number of the line being read.
    pub(crate) fn line(&self) -> u64 {
        self.current.number
    }

    /// Where the recording read so far ends.
    #[cfg(test)]
    pub(crate) fn end(&self) -> Position {
        Position {
            offset: self.current.start + self.current.len,
            line: self.current.number,
        }
    }

    /// What to quote for a finding at `at`: the line being read, or a kept
    /// line; a line let go of (or never kept) has no text, and column 1,
    /// since findings point at line starts, except at the end.
    pub(crate) fn excerpt(&self, at: Position) -> Excerpt {
        if at.line == self.current.number {
            return self.current.excerpt(at);
        }
        match self.kept.binary_search_by_key(&at.line, |kept| kept.number) {
            Ok(i) => {
                let kept = &self.kept[i];
                head_excerpt(&kept.head, kept.len, at.offset.saturating_sub(kept.start))
            }
            Err(_) => Excerpt {
                column: 1,
                text: None,
                skipped: 0,
                cut: false,
            },
        }
    }

    fn scan(&mut self, mut rest: &[u8]) {
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                // The LF of a CRLF split across chunks.
                self.current.start += 1;
                rest = &rest[1..];
            }
        }
        loop {
            if self.current.len == 0 {
                // A run of blank lines (LF only): one step, not one per line.
                let blank = rest.iter().take_while(|&&b| b == b'\n').count();
                if blank > 0 {
                    self.in_block = false;
                    self.current.number += blank as u64;
                    self.current.start += blank as u64;
                    rest = &rest[blank..];
                }
            }
            let Some(at) = memchr2(b'\n', b'\r', rest) else {
                break;
            };
            self.current.extend(&rest[..at]);
            let mut used = at + 1;
            if rest[at] == b'\r' {
                match rest.get(at + 1) {
                    Some(b'\n') => used += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let next = self.current.start + self.current.len + (used - at) as u64;
            self.end_line(next);
            rest = &rest[used..];
        }
        self.current.extend(rest);
    }

    fn end_line(&mut self, next: u64) {
        let line = &mut self.current;
        let keep = match line.head.first() {
            None => {
                self.in_block = false;
                false
            }
            Some(&first) => {
                let starts_block = first != b':' && !self.in_block;
                self.in_block |= starts_block;
                starts_block || line.len > self.max_line
            }
        };
        if keep {
            let head: Box<[u8]> = line.head.as_slice().into();
            self.kept_bytes += head.len() + KEPT_OVERHEAD;
            self.kept.push_back(Kept {
                number: line.number,
                start: line.start,
                len: line.len,
                head,
            });
            while self.kept_bytes > KEPT_BUDGET {
                let Some(old) = self.kept.pop_front() else {
                    break;
                };
                self.kept_bytes -= old.head.len() + KEPT_OVERHEAD;
            }
        }
        line.number += 1;
        line.start = next;
        line.len = 0;
        line.head.clear();
        line.tail.clear();
        line.chars = CharCount::default();
    }
}

/// Counts the characters of a line fed in pieces as `String::from_utf8_lossy`
/// would of the whole: each maximal invalid sequence is one U+FFFD, also
/// when a character is split between two pieces.
#[derive(Debug, Default)]
struct CharCount {
    chars: u64,
    /// The start of a character that the next piece may complete.
    partial: [u8; 4],
    partial_len: usize,
}

impl CharCount {
    fn feed(&mut self, mut bytes: &[u8]) {
        if self.partial_len > 0 && !bytes.is_empty() {
            let have = self.partial_len;
            let take = (4 - have).min(bytes.len());
            let mut joined = self.partial;
            joined[have..have + take].copy_from_slice(&bytes[..take]);
            let joined = &joined[..have + take];
            let used = match std::str::from_utf8(joined) {
                Ok(text) => {
                    self.chars += text.chars().count() as u64;
                    joined.len()
                }
                Err(error) if error.valid_up_to() > 0 => {
                    let valid = error.valid_up_to();
                    self.chars += count_chars(&joined[..valid]);
                    valid
                }
                Err(error) => match error.error_len() {
                    Some(len) => {
                        self.chars += 1;
                        len
                    }
                    None => {
                        self.partial[..joined.len()].copy_from_slice(joined);
                        self.partial_len = joined.len();
                        return;
                    }
                },
            };
            self.partial_len = 0;
            bytes = &bytes[used - have..];
        }
        let mut chunks = bytes.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            self.chars += chunk.valid().chars().count() as u64;
            let invalid = chunk.invalid();
            if invalid.is_empty() {
                continue;
            }
            let unfinished = chunks.peek().is_none()
                && std::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none());
            if unfinished {
                self.partial[..invalid.len()].copy_from_slice(invalid);
                self.partial_len = invalid.len();
            } else {
                self.chars += 1;
            }
        }
    }

    /// The characters so far, a character cut short at the end counting as
    /// the U+FFFD it becomes.
    fn total(&self) -> u64 {
        self.chars + u64::from(self.partial_len > 0)
    }
}

/// Characters in `bytes` as the decoder sees them: invalid UTF-8 sequences
/// count as the U+FFFD each becomes.
fn count_chars(bytes: &[u8]) -> u64 {
    String::from_utf8_lossy(bytes).chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The lines of a whole recording, split the simple way: the reference
    /// the streaming [`Lines`] must agree with.
    fn reference_lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
        let first = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
        let mut lines = Vec::new();
        let mut at = first;
        loop {
            let Some(end) = bytes[at..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map(|i| at + i)
            else {
                lines.push((at, &bytes[at..]));
                return lines;
            };
            lines.push((at, &bytes[at..end]));
            at = end
                + if bytes[end..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
        }
    }

    fn fed(bytes: &[u8], cuts: &[usize]) -> Lines {
        let mut lines = Lines::new(usize::MAX);
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let to = to.clamp(from, bytes.len());
            lines.feed(&bytes[from..to]);
            from = to;
        }
        lines.finish();
        lines
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\xEF\xBB\xBF"[..]),
            Just(&b"\xE2\x82\xAC"[..]),
            Just(&b"\xF0\x9F\x9A\x80"[..]),
            Just(&b"\xE2\x82"[..]),
            Just(&b"\xFF"[..]),
            Just(&b"data: x"[..]),
            Just(&b":c"[..]),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// However the recording is cut into chunks, the end, the column of
        /// the end and of every line start, and each line's text agree with
        /// the whole recording split the simple way.
        #[test]
        fn agrees_with_the_whole_recording(
            bytes in bytes(),
            cuts in proptest::collection::vec(0..64usize, 0..6),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let lines = fed(&bytes, &cuts);
            let reference = reference_lines(&bytes);
            let (last_start, last) = *reference.last().expect("one line at least");
            let end = Position {
                offset: bytes.len() as u64,
                line: reference.len() as u64,
            };
            prop_assert_eq!(lines.end(), end);
            let at_end = lines.excerpt(end);
            prop_assert_eq!(at_end.column, count_chars(last) + 1);
            prop_assert_eq!(at_end.text.as_deref(), Some(&*String::from_utf8_lossy(last)));
            for (index, &(start, text)) in reference.iter().enumerate() {
                let at = Position { offset: start as u64, line: index as u64 + 1 };
                let excerpt = lines.excerpt(at);
                prop_assert_eq!(excerpt.column, 1);
                if let Some(kept) = excerpt.text {
                    prop_assert_eq!(kept, String::from_utf8_lossy(text));
                }
            }
            prop_assert_eq!(last_start as u64 + last.len() as u64, bytes.len() as u64);
        }

        #[test]
        fn counts_characters_as_the_lossy_conversion_does(
            bytes in bytes(),
            cuts in proptest::collection::vec(0..64usize, 0..6),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut count = CharCount::default();
            let mut from = 0;
            for &to in cuts.iter().chain(std::iter::once(&bytes.len())) {
                let to = to.clamp(from, bytes.len());
                count.feed(&bytes[from..to]);
                from = to;
            }
            prop_assert_eq!(count.total(), count_chars(&bytes));
        }
    }

    #[test]
    fn keeps_block_starts_and_long_lines_only() {
        let mut lines = Lines::new(10);
        lines.feed(b": c\nevent: a\ndata: 1\n\n: 0123456789ab\ndata: 2\n\n");
        let numbers: Vec<u64> = lines.kept.iter().map(|k| k.number).collect();
        assert_eq!(numbers, [2, 5, 6]);
        let quote = lines.excerpt(Position { offset: 4, line: 2 });
        assert_eq!(quote.text.as_deref(), Some("event: a"));
        assert_eq!(
            lines
                .excerpt(Position {
                    offset: 13,
                    line: 3
                })
                .text,
            None
        );
    }

    #[test]
    fn a_long_line_keeps_its_head_and_the_end_its_tail() {
        let mut lines = Lines::new(usize::MAX);
        let long = format!("data: {}", "é".repeat(1_000_000));
        for piece in long.as_bytes().chunks(4093) {
            lines.feed(piece);
        }
        lines.finish();
        assert!(lines.retained() < 16 * 1024, "{}", lines.retained());
        let start = lines.excerpt(Position { offset: 0, line: 1 });
        assert!(start.cut && start.column == 1);
        assert!(
            start
                .text
                .as_deref()
                .is_some_and(|t| t.starts_with("data: éé"))
        );
        let end = lines.excerpt(lines.end());
        assert_eq!(end.column, 1_000_007);
        let text = end.text.expect("the tail");
        assert!(text.chars().all(|c| c == 'é'));
        assert_eq!(end.skipped + text.chars().count() as u64, 1_000_006);
    }

    #[test]
    fn old_kept_lines_go_past_the_budget() {
        let mut lines = Lines::new(usize::MAX);
        let block = format!("data: {}\n\n", "x".repeat(1000));
        for _ in 0..10_000 {
            lines.feed(block.as_bytes());
        }
        assert!(lines.kept_bytes <= KEPT_BUDGET);
        assert!(lines.retained() <= KEPT_BUDGET + 4 * HEAD_BYTES);
        assert_eq!(lines.excerpt(Position { offset: 0, line: 1 }).text, None);
        let last = lines.excerpt(Position {
            offset: 9_999 * 1008,
            line: 2 * 9_999 + 1,
        });
        assert!(last.cut && last.text.is_some());
    }
}
