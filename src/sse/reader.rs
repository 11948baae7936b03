//! [`EventReader`]: a blocking iterator of events over [`std::io::Read`].

use std::io::{ErrorKind, Read};

use bytes::BytesMut;

use super::parser::{Incomplete, Parser};
use super::{DecodeError, Event, Limits, Utf8Bytes};

/// Bytes asked of the reader at a time.
const READ_SIZE: usize = 64 * 1024;

/// Reads events from a blocking byte source: a file, a socket, stdin.
///
/// ```
/// use agent37_stream::sse::EventReader;
///
/// let recording: &[u8] = b"event: response.created\ndata: {}\n\n";
/// let events: Vec<_> = EventReader::new(recording).collect::<Result<_, _>>()?;
/// assert_eq!(events[0].event_type(), "response.created");
/// # Ok::<(), agent37_stream::sse::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct EventReader<R> {
    reader: R,
    buf: BytesMut,
    parser: Parser,
    eof: bool,
    failed: bool,
}

impl<R: Read> EventReader<R> {
    /// Reads `reader` with the default [`Limits`].
    pub fn new(reader: R) -> Self {
        Self::with_limits(reader, Limits::default())
    }

    /// Reads `reader` with the given limits.
    pub fn with_limits(reader: R, limits: Limits) -> Self {
        EventReader {
            reader,
            buf: BytesMut::new(),
            parser: Parser::new(limits),
            eof: false,
            failed: false,
        }
    }

    /// The last event id (see [`Decoder::last_event_id`](super::Decoder::last_event_id)).
    pub fn last_event_id(&self) -> &Utf8Bytes {
        self.parser.last_event_id()
    }

    /// The reconnection time in milliseconds, if a `retry` field set one.
    pub fn retry(&self) -> Option<u64> {
        self.parser.retry()
    }

    /// After the last event: the unterminated last event that was
    /// discarded, if any.
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.parser.incomplete()
    }

    /// Gives back the reader.
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn fill(&mut self) -> std::io::Result<usize> {
        let filled = self.buf.len();
        self.buf.resize(filled + READ_SIZE, 0);
        let result = loop {
            match self.reader.read(&mut self.buf[filled..]) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(filled + *result.as_ref().unwrap_or(&0));
        result
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<Event, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.parser.next_event(&mut self.buf) {
                Ok(Some(event)) => return Some(Ok(event)),
                Err(error) => return Some(Err(error)),
                Ok(None) if self.eof => return None,
                Ok(None) => {}
            }
            match self.fill() {
                Ok(0) => {
                    self.eof = true;
                    self.parser.finish(&mut self.buf);
                }
                Ok(_) => {}
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error.into()));
                }
            }
        }
    }
}
