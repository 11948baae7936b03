//! The recorded turns a gateway plays, and how a request picks one.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::wire::{self, Part, Piece, Wire};
use crate::protocol::event::{EventKind, PayloadErrors, ResponseEvent};
use crate::sse::{ChunkDecoder, DecodeError, Encoder, Event};

/// The event a turn starts with; its payload gets the minted ids.
const CREATED: &str = "response.created";

/// One recorded turn: its bytes, and the events a gateway replays for it.
///
/// Only the events up to the first terminal one (`response.completed` or
/// `response.failed`) are played: a real turn ends there. By default a
/// gateway writes the file's bytes as they are (line endings, comments, a
/// BOM, `retry` and `id` fields), up to the next event after the terminal one
/// or the end of the file, changing only the ids in `response.created`'s
/// data; normalized, it writes the events anew with
/// [`Encoder`](crate::sse::Encoder).
///
/// ```
/// use agent37_stream::serve::Recording;
///
/// let sse = "event: response.created\ndata: {\"id\":\"r\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n\
///            event: response.completed\ndata: {\"output_text\":\"\",\"usage\":null}\n\n";
/// let recording = Recording::parse("hello", sse.as_bytes())?;
/// assert_eq!(recording.name(), "hello");
/// assert_eq!(recording.events().len(), 2);
/// # Ok::<(), agent37_stream::serve::RecordingError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Recording {
    name: String,
    events: Vec<Event>,
    created: Map<String, Value>,
    /// The file, shared by every turn that plays it raw.
    file: Bytes,
    /// One piece of the file per event.
    pieces: Vec<Piece>,
    /// The `response.created` piece with its ids replaceable in place;
    /// `None`: it is written anew (normalized) in every turn.
    created_parts: Option<Vec<Part>>,
}

/// One event of a turn as played: what the response object folds, and the
/// bytes a stream writes for it.
pub(crate) struct Played {
    pub(crate) event: Event,
    pub(crate) wire: Wire,
}

impl Recording {
    /// Decodes one recording. `name` is what a request's `input` must equal to
    /// play it (a file's stem, when loaded from a directory).
    ///
    /// The recording must start with a `response.created` event whose data is
    /// a JSON object, and hold a terminal event that keeps the contract.
    pub fn parse(name: impl Into<String>, bytes: &[u8]) -> Result<Recording, RecordingError> {
        let name = name.into();
        let file = Bytes::copy_from_slice(bytes);
        let mut decoder = ChunkDecoder::new();
        decoder.push(file.clone());
        decoder.finish();
        let mut events = Vec::new();
        let mut end = None;
        while let Some(event) = decoder.next_event().map_err(RecordingError::Decode)? {
            if events
                .last()
                .is_some_and(|e: &Event| is_terminal(e.event_type()))
            {
                // An event after the turn's end: the played bytes stop here.
                end = Some(event.position().offset);
                break;
            }
            events.push(event);
        }
        let end = end
            .or_else(|| decoder.end_position().map(|p| p.offset))
            .map_or(file.len(), |end| usize::try_from(end).unwrap_or(file.len()));
        let first = events.first().ok_or(RecordingError::NoEvents)?;
        if first.event_type() != CREATED {
            return Err(RecordingError::NotCreatedFirst {
                found: first.event_type().to_owned(),
            });
        }
        let created = match serde_json::from_str(first.data()) {
            Ok(Value::Object(created)) => created,
            _ => return Err(RecordingError::CreatedNotAnObject),
        };
        let terminal = events.last().filter(|e| is_terminal(e.event_type()));
        let Some(terminal) = terminal else {
            return Err(RecordingError::NoTerminal);
        };
        // The turn's status comes from this event: it must be readable, or
        // the turn would never end.
        ResponseEvent::from_sse(terminal).map_err(RecordingError::BadTerminal)?;
        let starts: Vec<usize> = events
            .iter()
            .map(|e| usize::try_from(e.position().offset).unwrap_or(file.len()))
            .collect();
        let pieces = wire::pieces(&file, &starts, end.min(file.len()));
        let created_parts = wire::created_parts(&file, &pieces[0].range, starts[0], first.data());
        Ok(Recording {
            name,
            events,
            created,
            file,
            pieces,
            created_parts,
        })
    }

    /// The name a request's `input` selects the recording by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The events, `response.created` first and the terminal event last, as
    /// recorded (before the gateway puts its ids into `response.created`).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The events of one turn: the recording's, with `id` and `session_id` of
    /// `response.created` replaced by the turn's (its other fields are kept).
    pub fn events_for(&self, response_id: &str, session_id: &str) -> Vec<Event> {
        let mut created = self.created.clone();
        created.insert("id".to_owned(), Value::from(response_id));
        created.insert("session_id".to_owned(), Value::from(session_id));
        let data = Value::Object(created).to_string();
        let mut events = self.events.clone();
        if let Some(first) = events.first_mut() {
            let rewritten = Event::new(CREATED, data)
                .with_id(first.id_bytes().clone())
                .with_position(first.position());
            *first = rewritten;
        }
        events
    }
}

impl Recording {
    /// The events of one turn with the bytes to write for each: the file's
    /// own pieces (raw), or the events encoded anew (`normalize`).
    pub(crate) fn play(&self, response_id: &str, session_id: &str, normalize: bool) -> Vec<Played> {
        let events = self.events_for(response_id, session_id);
        let mut encoder = Encoder::new();
        events
            .into_iter()
            .zip(&self.pieces)
            .enumerate()
            .map(|(index, (event, piece))| {
                let wire = if normalize {
                    Wire::encode(&mut encoder, &event)
                } else if index > 0 {
                    Wire {
                        bytes: self.file.slice(piece.range.clone()),
                        cut: piece.cut,
                    }
                } else {
                    self.created_wire(&event, piece, response_id, session_id)
                };
                Played { event, wire }
            })
            .collect()
    }

    fn created_wire(
        &self,
        event: &Event,
        piece: &Piece,
        response_id: &str,
        session_id: &str,
    ) -> Wire {
        if let Some(parts) = &self.created_parts {
            let bytes = wire::fill(parts, &self.file, response_id, session_id);
            // The ids follow the block's start, which keeps its place.
            let start = usize::try_from(event.position().offset).unwrap_or(0);
            let cut = wire::cut(&bytes, start.saturating_sub(piece.range.start));
            return Wire { bytes, cut };
        }
        // The ids cannot be patched in place: whatever precedes the block as
        // it is, the block itself written anew, and the rest as it is.
        let start = usize::try_from(event.position().offset).unwrap_or(0);
        let mut out = bytes::BytesMut::new();
        out.extend_from_slice(&self.file[piece.range.start..start.min(piece.range.end)]);
        let block = Wire::encode(&mut Encoder::new(), event);
        let cut = out.len() + block.cut;
        out.extend_from_slice(&block.bytes);
        let rest = wire::block_end(&self.file, start, piece.range.end);
        out.extend_from_slice(&self.file[rest..piece.range.end]);
        Wire {
            bytes: out.freeze(),
            cut,
        }
    }
}

/// Whether an event type ends a turn.
fn is_terminal(event_type: &str) -> bool {
    EventKind::from_name(event_type).is_some_and(EventKind::is_terminal)
}

/// Why a recording cannot be played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// The SSE bytes broke a decoder limit.
    #[error(transparent)]
    Decode(DecodeError),
    /// The recording dispatches no event at all.
    #[error("the recording holds no event")]
    NoEvents,
    /// The first event is not `response.created`, so there is nowhere to put
    /// the turn's ids.
    #[error("the first event is `{found}`, not `response.created`")]
    NotCreatedFirst {
        /// The first event's type.
        found: String,
    },
    /// `response.created` does not carry a JSON object.
    #[error("the `response.created` data is not a JSON object")]
    CreatedNotAnObject,
    /// No `response.completed` or `response.failed`: the turn would never end.
    #[error("the recording has no terminal event (`response.completed` or `response.failed`)")]
    NoTerminal,
    /// The terminal event's payload breaks the contract.
    #[error("the terminal event is unreadable: {0}")]
    BadTerminal(#[source] PayloadErrors),
}

/// The recordings a gateway plays, in name order.
///
/// A request whose `input` equals a recording's [name](Recording::name) plays
/// it; any other input plays the first one.
///
/// ```no_run
/// use agent37_stream::serve::Recordings;
///
/// let recordings = Recordings::load_dir("testdata/recordings/valid")?;
/// println!("{} recordings, default {}", recordings.len(), recordings.select("?").name());
/// # Ok::<(), agent37_stream::serve::LoadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Recordings {
    // Never empty: `select` always has a recording to give.
    list: Vec<Recording>,
}

impl Recordings {
    /// Loads every `*.sse` file of `dir` (not its subdirectories); a file's stem
    /// is its name.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Recordings, LoadError> {
        let dir = dir.as_ref();
        let io_error = |source| LoadError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            if path.extension().is_some_and(|ext| ext == "sse") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut list = Vec::with_capacity(paths.len());
        for path in paths {
            let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let recording = Recording::parse(name, &bytes)
                .map_err(|source| LoadError::Recording { path, source })?;
            list.push(recording);
        }
        Recordings::new(list).ok_or_else(|| LoadError::Empty {
            dir: dir.to_owned(),
        })
    }

    /// The recordings given, sorted by name; `None` when there are none.
    pub fn new(mut list: Vec<Recording>) -> Option<Recordings> {
        if list.is_empty() {
            return None;
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Some(Recordings { list })
    }

    /// The recording named `input`, else the first in name order.
    pub fn select(&self, input: &str) -> &Recording {
        let named = self.list.iter().find(|r| r.name == input);
        // `new` refuses an empty list, so there is a first one.
        named.unwrap_or_else(|| &self.list[0])
    }

    /// The recordings, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Recording> {
        self.list.iter()
    }

    /// How many recordings there are (at least one).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Always `false`: a set of recordings is never empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Why a directory of recordings could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading the directory or a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A recording cannot be played.
    #[error("{}: {source}", path.display())]
    Recording {
        /// The file.
        path: PathBuf,
        /// Why.
        source: RecordingError,
    },
    /// The directory holds no `*.sse` file.
    #[error("{}: no *.sse recordings", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} events)", self.name, self.events.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED_EVENT: &str = "event: response.created\ndata: {\"id\":\"old\",\"instance_id\":\"inst\",\"session_id\":\"olds\",\"extra\":1}\n\n";
    const COMPLETED_EVENT: &str =
        "event: response.completed\ndata: {\"output_text\":\"hi\",\"usage\":null}\n\n";

    #[test]
    fn keeps_events_up_to_the_first_terminal() {
        let sse = format!(
            "{CREATED_EVENT}event: response.output_text.delta\ndata: {{\"text\":\"hi\"}}\n\n{COMPLETED_EVENT}{COMPLETED_EVENT}"
        );
        let recording = Recording::parse("r", sse.as_bytes()).unwrap();
        let types: Vec<_> = recording.events().iter().map(Event::event_type).collect();
        assert_eq!(
            types,
            [
                "response.created",
                "response.output_text.delta",
                "response.completed"
            ]
        );
    }

    #[test]
    fn events_for_rewrites_only_the_ids() {
        let sse = format!("{CREATED_EVENT}{COMPLETED_EVENT}");
        let recording = Recording::parse("r", sse.as_bytes()).unwrap();
        let events = recording.events_for("a".repeat(32).as_str(), "b".repeat(32).as_str());
        let created: Value = serde_json::from_str(events[0].data()).unwrap();
        assert_eq!(created["id"], "a".repeat(32));
        assert_eq!(created["session_id"], "b".repeat(32));
        assert_eq!(created["instance_id"], "inst");
        assert_eq!(created["extra"], 1);
        assert_eq!(events[0].event_type(), "response.created");
        assert_eq!(events[1], recording.events()[1]);
    }

    #[test]
    fn rejects_unplayable_recordings() {
        type Expected = fn(&RecordingError) -> bool;
        let cases: [(&str, Expected); 5] = [
            ("", |e| matches!(e, RecordingError::NoEvents)),
            (
                COMPLETED_EVENT,
                |e| matches!(e, RecordingError::NotCreatedFirst { found } if found == "response.completed"),
            ),
            ("event: response.created\ndata: []\n\n", |e| {
                matches!(e, RecordingError::CreatedNotAnObject)
            }),
            (CREATED_EVENT, |e| matches!(e, RecordingError::NoTerminal)),
            (
                "event: response.created\ndata: {}\n\nevent: response.completed\ndata: {\"usage\":null}\n\n",
                |e| matches!(e, RecordingError::BadTerminal(_)),
            ),
        ];
        for (sse, expected) in cases {
            let err = Recording::parse("r", sse.as_bytes()).unwrap_err();
            assert!(expected(&err), "{sse:?}: {err:?}");
        }
    }

    #[test]
    fn select_falls_back_to_the_first_name() {
        let sse = format!("{CREATED_EVENT}{COMPLETED_EVENT}");
        let make = |name: &str| Recording::parse(name, sse.as_bytes()).unwrap();
        let recordings = Recordings::new(vec![make("b"), make("a"), make("c")]).unwrap();
        assert_eq!(recordings.select("c").name(), "c");
        assert_eq!(recordings.select("zzz").name(), "a");
        assert!(Recordings::new(Vec::new()).is_none());
    }
}
