//! [`Source`]: a recording's lines, to turn positions into columns and to
//! quote the line a finding points at.

use memchr::memchr2;

use crate::sse::Position;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The lines of a recording, split by the SSE rules (CRLF, LF or a lone CR).
///
/// Line numbers and byte offsets agree with [`Position`]: offsets count raw
/// bytes (a leading BOM included), lines start at 1. A leading BOM is not
/// part of line 1's text.
///
/// ```
/// use agent37_stream::check::Source;
/// use agent37_stream::sse::Position;
///
/// let source = Source::new(b"event: a\r\ndata: \xC3\xA9x\rdata: 1\n\n");
/// assert_eq!(source.line(2), Some(&b"data: \xC3\xA9x"[..]));
/// // 1-based columns count characters, not bytes.
/// assert_eq!(source.column(Position { offset: 18, line: 2 }), 8);
/// assert_eq!(source.end(), Position { offset: 29, line: 5 });
/// ```
#[derive(Clone, Debug)]
pub struct Source<'a> {
    bytes: &'a [u8],
    /// Byte offset where each line starts; `starts[0]` is past the BOM.
    starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Indexes the lines of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Source {
            bytes,
            starts: line_starts(bytes).collect(),
        }
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// How many lines there are. A recording that ends with a line end has
    /// one more, empty, line after it: the end of the recording lies there.
    pub fn line_count(&self) -> u64 {
        self.starts.len() as u64
    }

    /// Line `line` (1-based) without its line end, or `None` past the end.
    pub fn line(&self, line: u64) -> Option<&'a [u8]> {
        let (start, end) = self.span(line)?;
        self.bytes.get(start..end)
    }

    /// The 1-based column (in characters) of `position`, which must lie on
    /// its `line`; a position off its line gets column 1.
    pub fn column(&self, position: Position) -> u64 {
        let Some((start, end)) = self.span(position.line) else {
            return 1;
        };
        let Ok(offset) = usize::try_from(position.offset) else {
            return 1;
        };
        match self.bytes.get(start..offset.min(end)) {
            Some(before) if offset >= start => count_chars(before) + 1,
            _ => 1,
        }
    }

    /// The position just past the last byte: where findings about the
    /// stream as a whole point.
    pub fn end(&self) -> Position {
        Position {
            offset: self.bytes.len() as u64,
            line: self.line_count(),
        }
    }

    /// Byte range of a line's text (line end excluded).
    fn span(&self, line: u64) -> Option<(usize, usize)> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        let start = *self.starts.get(index)?;
        let end = match self.starts.get(index + 1) {
            Some(&next) => {
                // Step back over the line end: CRLF, or one CR or LF.
                let crlf = next >= 2 && self.bytes.get(next - 2..next) == Some(&b"\r\n"[..]);
                next - if crlf { 2 } else { 1 }
            }
            None => self.bytes.len(),
        };
        Some((start, end.max(start)))
    }
}

/// The byte offset where each line starts, by the SSE rules: a line ends at
/// CRLF, LF or a lone CR, and line 1 starts after a leading BOM.
fn line_starts(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let first = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    std::iter::successors(Some(first), move |&at| {
        let end = at + memchr2(b'\n', b'\r', bytes.get(at..)?)?;
        let crlf = bytes.get(end) == Some(&b'\r') && bytes.get(end + 1) == Some(&b'\n');
        Some(end + if crlf { 2 } else { 1 })
    })
}

/// Characters in `bytes` as the decoder sees them: invalid UTF-8 sequences
/// count as the U+FFFD each becomes.
pub(crate) fn count_chars(bytes: &[u8]) -> u64 {
    String::from_utf8_lossy(bytes).chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<String> {
        let source = Source::new(bytes);
        (1..=source.line_count())
            .map(|n| String::from_utf8_lossy(source.line(n).unwrap_or_default()).into_owned())
            .collect()
    }

    #[test]
    fn splits_on_every_line_end_kind() {
        assert_eq!(lines(b"a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(lines(b"a\n"), ["a", ""]);
        assert_eq!(lines(b"a\r\r\n\n"), ["a", "", "", ""]);
        assert_eq!(lines(b""), [""]);
    }

    #[test]
    fn bom_is_not_part_of_line_one() {
        let source = Source::new(b"\xEF\xBB\xBFevent: x\n");
        assert_eq!(source.line(1), Some(&b"event: x"[..]));
        assert_eq!(source.column(Position { offset: 3, line: 1 }), 1);
        assert_eq!(source.column(Position { offset: 5, line: 1 }), 3);
    }

    #[test]
    fn end_is_after_the_last_byte() {
        assert_eq!(Source::new(b"a\nbc").end(), Position { offset: 4, line: 2 });
        let source = Source::new(b"a\nbc");
        assert_eq!(source.column(source.end()), 3);
        assert_eq!(Source::new(b"a\r\n").end(), Position { offset: 3, line: 2 });
    }

    #[test]
    fn columns_count_characters_and_survive_bad_positions() {
        let source = Source::new("é🚀x\n".as_bytes());
        assert_eq!(source.column(Position { offset: 6, line: 1 }), 3);
        assert_eq!(source.column(Position { offset: 0, line: 9 }), 1);
        assert_eq!(
            source.column(Position {
                offset: 99,
                line: 1
            }),
            4
        );
        assert_eq!(source.line(0), None);
        assert_eq!(
            Source::new(b"\xFFx").column(Position { offset: 1, line: 1 }),
            2
        );
    }
}
