//! The bytes a stream writes, one piece per event: how a recording's file is
//! cut into pieces (so that it can be replayed byte for byte), and how the
//! ids of `response.created` are put into its raw bytes.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::sse::{Encoder, Event};

/// The bytes written for one event: its block with whatever precedes it
/// (comments, blocks that dispatch nothing, a BOM), up to the next event's
/// block.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    /// The bytes.
    pub(crate) bytes: Bytes,
    /// Where a broken connection cuts the piece: past its event's first
    /// field line start, before the blank line that dispatches it, so a
    /// client holds half an event and must discard it.
    pub(crate) cut: usize,
}

impl Wire {
    /// An event written by `encoder` (the normalized form).
    pub(crate) fn encode(encoder: &mut Encoder, event: &Event) -> Wire {
        let mut out = BytesMut::new();
        if encoder.encode(event, &mut out).is_err() {
            // Decoded events never hold a line break in their type or id,
            // so this cannot happen; write the event without its id.
            out.clear();
            let plain = Event::new(event.event_type().to_owned(), event.data().to_owned());
            let _ = Encoder::new().encode(&plain, &mut out);
        }
        let cut = out.len() / 2;
        Wire {
            bytes: out.freeze(),
            cut,
        }
    }

    /// The bytes a client is charged for holding: the piece's length and its
    /// bookkeeping.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.bytes.len() + std::mem::size_of::<Wire>()
    }
}

/// Where one event's piece lies in a recording's file.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    /// The piece, from the end of the previous one.
    pub(crate) range: Range<usize>,
    /// The cut, relative to the piece's start (see [`Wire::cut`]).
    pub(crate) cut: usize,
}

/// Cuts a file into one piece per event. `starts` holds each kept event's
/// block start (its first field line, [`Event::position`]); `end` is where
/// the last piece stops (the next, unplayed event's start, or the file's
/// length). The first piece starts at the file's first byte.
pub(crate) fn pieces(file: &[u8], starts: &[usize], end: usize) -> Vec<Piece> {
    let mut pieces = Vec::with_capacity(starts.len());
    for (index, &start) in starts.iter().enumerate() {
        let from = if index == 0 { 0 } else { start };
        let to = starts.get(index + 1).copied().unwrap_or(end).max(from);
        pieces.push(Piece {
            range: from..to,
            cut: cut(&file[from..to], start - from),
        });
    }
    pieces
}

/// Where to cut `piece`, whose event block starts at `start`: halfway
/// through the block's field lines, never past its dispatching blank line.
pub(crate) fn cut(piece: &[u8], start: usize) -> usize {
    let blank = blank_line(piece, start, piece.len()).unwrap_or(piece.len());
    ((start + blank) / 2).max(start + 1).min(piece.len())
}

/// Just past the blank line that ends the block starting at `start`, or `to`.
pub(crate) fn block_end(file: &[u8], start: usize, to: usize) -> usize {
    let Some(blank) = blank_line(file, start, to) else {
        return to;
    };
    let mut end = blank + 1;
    if file[blank] == b'\r' && file.get(end) == Some(&b'\n') && end < to {
        end += 1;
    }
    end.min(to)
}

/// The start of the first empty line at or after `from` (a line start),
/// before `to`. Lines end with CRLF, LF or a lone CR.
fn blank_line(file: &[u8], from: usize, to: usize) -> Option<usize> {
    let mut line = from;
    while line < to {
        let end = memchr::memchr2(b'\r', b'\n', &file[line..to])? + line;
        if end == line {
            return Some(line);
        }
        line = end + 1;
        if file[end] == b'\r' && file.get(line) == Some(&b'\n') {
            line += 1;
        }
    }
    None
}

/// The parts of a `response.created` piece: raw bytes, and the places of
/// the JSON string values of `id` and `session_id`.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// Bytes copied as they are.
    Raw(Range<usize>),
    /// The response id, as a JSON string.
    ResponseId,
    /// The session id, as a JSON string.
    SessionId,
}

/// The parts of the `response.created` piece `piece` of `file`, whose event
/// block starts at `start`, with both ids replaceable in place; `None` when
/// they are not (an id missing, or not a plain top-level string of one
/// `data` line), and the piece must be written anew.
pub(crate) fn created_parts(
    file: &[u8],
    piece: &Range<usize>,
    start: usize,
    data: &str,
) -> Option<Vec<Part>> {
    let block_end = blank_line(file, start, piece.end)?;
    // Each `data` line's value: where it lies in the file, and in the data.
    let mut lines = Vec::new();
    let mut joined = 0;
    let mut line = start;
    while line < block_end {
        let end =
            memchr::memchr2(b'\r', b'\n', &file[line..block_end]).map_or(block_end, |e| e + line);
        let text = &file[line..end];
        let (name, value) = match memchr::memchr(b':', text) {
            Some(colon) => {
                let value = colon + 1 + usize::from(text.get(colon + 1) == Some(&b' '));
                (&text[..colon], line + value.min(text.len()))
            }
            None => (text, end),
        };
        if name == b"data" {
            if !lines.is_empty() {
                joined += 1; // the `\n` the decoder joins data lines with
            }
            lines.push((value..end, joined));
            joined += end - value;
        }
        line = end + 1;
        if file.get(end) == Some(&b'\r') && file.get(line) == Some(&b'\n') {
            line += 1;
        }
    }
    let to_file = |span: &Range<usize>| -> Option<Range<usize>> {
        lines.iter().find_map(|(range, at)| {
            let inside = span.start >= *at && span.end <= at + range.len();
            inside.then(|| range.start + span.start - at..range.start + span.end - at)
        })
    };
    let fields = top_level_strings(data.as_bytes())?;
    let mut spans = Vec::new();
    for (key, span) in fields {
        let part = match key.as_str() {
            "id" => Part::ResponseId,
            "session_id" => Part::SessionId,
            _ => continue,
        };
        let in_file = to_file(&span)?;
        if file[in_file.clone()] != *data[span].as_bytes() {
            return None;
        }
        spans.push((in_file, part));
    }
    let has = |wanted: fn(&Part) -> bool| spans.iter().filter(|(_, p)| wanted(p)).count() == 1;
    if !has(|p| matches!(p, Part::ResponseId)) || !has(|p| matches!(p, Part::SessionId)) {
        return None;
    }
    spans.sort_by_key(|(range, _)| range.start);
    let mut parts = Vec::new();
    let mut at = piece.start;
    for (range, part) in spans {
        parts.push(Part::Raw(at..range.start));
        parts.push(part);
        at = range.end;
    }
    parts.push(Part::Raw(at..piece.end));
    Some(parts)
}

/// Writes the parts of a `response.created` piece with these ids.
pub(crate) fn fill(parts: &[Part], file: &Bytes, response_id: &str, session_id: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(file.len().min(4096));
    for part in parts {
        let id = match part {
            Part::Raw(range) => {
                out.put_slice(&file[range.clone()]);
                continue;
            }
            Part::ResponseId => response_id,
            Part::SessionId => session_id,
        };
        // Minted ids are hex: nothing to escape.
        out.put_u8(b'"');
        out.put_slice(id.as_bytes());
        out.put_u8(b'"');
    }
    out.freeze()
}

/// The top-level members of a JSON object whose values are strings: each
/// key (decoded) with the span of its value, quotes included. `None` when
/// `json` is not an object.
fn top_level_strings(json: &[u8]) -> Option<Vec<(String, Range<usize>)>> {
    let mut scan = Scan { json, at: 0 };
    let mut found = Vec::new();
    scan.ws();
    scan.expect(b'{')?;
    scan.ws();
    if scan.peek() == Some(b'}') {
        return Some(found);
    }
    loop {
        scan.ws();
        let key = scan.string()?;
        let key: String = serde_json::from_slice(&json[key]).ok()?;
        scan.ws();
        scan.expect(b':')?;
        scan.ws();
        let value_start = scan.at;
        let is_string = scan.peek() == Some(b'"');
        scan.value()?;
        if is_string {
            found.push((key, value_start..scan.at));
        }
        scan.ws();
        match scan.next()? {
            b',' => continue,
            b'}' => return Some(found),
            _ => return None,
        }
    }
}

/// A cursor over JSON bytes that skips values without decoding them.
struct Scan<'a> {
    json: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.json.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string literal: its span, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        self.expect(b'"')?;
        loop {
            match self.next()? {
                b'"' => return Some(start..self.at),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_strings_skip_nested_values() {
        let json = br#"{"a":{"id":"x"},"id" : "r1","n":[1,"]"],"session_id":"s\"1","k":true}"#;
        let found = top_level_strings(json).unwrap();
        let keys: Vec<_> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["id", "session_id"]);
        assert_eq!(&json[found[0].1.clone()], br#""r1""#);
        assert_eq!(&json[found[1].1.clone()], br#""s\"1""#);
        assert!(top_level_strings(b"[1]").is_none());
    }

    #[test]
    fn pieces_cover_the_file_and_cut_inside_blocks() {
        let file = b": hi\r\n\r\nevent: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r: tail\n";
        let starts = [8, 30];
        let pieces = pieces(file, &starts, file.len());
        assert_eq!(pieces[0].range, 0..30);
        assert_eq!(pieces[1].range, 30..file.len());
        for piece in &pieces {
            let bytes = &file[piece.range.clone()];
            let cut = &bytes[..piece.cut];
            assert!(!cut.ends_with(b"\r\n\r\n") && !cut.ends_with(b"\r\r"));
        }
        assert!(pieces[0].cut > 8);
    }

    #[test]
    fn created_ids_are_replaced_in_place_across_data_lines() {
        let file = b"event: response.created\r\ndata: {\"id\":\"old\",\r\ndata:\"session_id\":\"olds\"}\r\n\r\n";
        let data = "{\"id\":\"old\",\n\"session_id\":\"olds\"}";
        let parts = created_parts(file, &(0..file.len()), 0, data).unwrap();
        let out = fill(&parts, &Bytes::from_static(file), "R", "S");
        assert_eq!(
            &out[..],
            b"event: response.created\r\ndata: {\"id\":\"R\",\r\ndata:\"session_id\":\"S\"}\r\n\r\n"
        );
        // No `session_id`: the block cannot be patched in place.
        let file = b"event: response.created\ndata: {\"id\":\"old\"}\n\n";
        assert!(created_parts(file, &(0..file.len()), 0, "{\"id\":\"old\"}").is_none());
    }
}
