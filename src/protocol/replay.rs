//! Resuming after a dropped connection: [`ReplayGuard`] skips the replayed
//! prefix of a reconnected stream, checking it equals what came before.
//!
//! The replay endpoint sends every event of the turn so far, then goes on
//! live; a client that had received N events skips the first N replayed
//! ones, which must equal those N (else the replay diverged). Nothing is lost
//! or delivered twice.

use super::event::EventKind;
use super::rules::{Finding, Rule};
use crate::sse::{self, Position};

/// Whether a [`ReplayGuard`] let an event through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admission {
    /// Not received before: process it.
    New,
    /// A replay of an event already received (and equal to it): skip it.
    Replayed,
}

/// A reconnected stream's replay differs from what was received before.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("replayed event {index} at {position} differs from the event {index} received before")]
pub struct ReplayDiverged {
    /// The index of the differing event (the same in both streams).
    pub index: usize,
    /// Where it starts in the reconnected stream.
    pub position: Position,
}

impl ReplayDiverged {
    /// The `replay-diverged` finding for this error.
    pub fn to_finding(&self) -> Finding {
        Finding::with_default_severity(
            Rule::ReplayDiverged,
            format!(
                "replayed event {} differs from the event {} received before the reconnect",
                self.index, self.index
            ),
            self.position,
            Some(self.index),
        )
    }
}

/// Skips the replayed prefix of a reconnected stream.
///
/// `GET /v1/responses/{id}/stream` replays every event so far, then goes on
/// live. The guard keeps a 64-bit fingerprint of each event received (its
/// type and data, not its id or position); after [`reconnect`](Self::reconnect)
/// the first events of the new stream must match those fingerprints one by
/// one and are reported [`Admission::Replayed`], the rest are
/// [`Admission::New`]. A connection that drops again during the replay is
/// handled by calling `reconnect` again.
///
/// Once a replay diverges the guard refuses every event (the same error)
/// until the next `reconnect`: what was folded no longer matches the server.
///
/// ```
/// use agent37_stream::protocol::replay::{Admission, ReplayGuard};
/// use agent37_stream::sse::Event;
///
/// let a = Event::new("response.output_text.delta", r#"{"text":"a"}"#);
/// let b = Event::new("response.output_text.delta", r#"{"text":"b"}"#);
/// let mut guard = ReplayGuard::new();
/// assert_eq!(guard.admit(&a), Ok(Admission::New));
/// guard.reconnect();
/// assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
/// assert_eq!(guard.admit(&b), Ok(Admission::New));
/// guard.reconnect();
/// assert!(guard.admit(&b).is_err()); // the replay must start with `a`
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReplayGuard {
    received: Vec<u64>,
    /// While replaying: how many replayed events matched so far.
    cursor: Option<usize>,
    diverged: Option<ReplayDiverged>,
}

impl ReplayGuard {
    /// A guard that has received nothing.
    pub fn new() -> Self {
        ReplayGuard::default()
    }

    /// How many distinct events were received.
    pub fn received(&self) -> usize {
        self.received.len()
    }

    /// Whether the next event is expected to be a replayed one.
    pub fn is_replaying(&self) -> bool {
        self.cursor.is_some()
    }

    /// Whether the replay diverged since the last reconnect.
    pub fn diverged(&self) -> Option<&ReplayDiverged> {
        self.diverged.as_ref()
    }

    /// A new connection starts: its first [`received`](Self::received)
    /// events must be the ones already received.
    pub fn reconnect(&mut self) {
        self.diverged = None;
        self.cursor = (!self.received.is_empty()).then_some(0);
    }

    /// Lets an event through, or says it is a replay to skip.
    pub fn admit(&mut self, event: &sse::Event) -> Result<Admission, ReplayDiverged> {
        self.admit_fingerprint(fingerprint(event), event.position())
    }

    /// Counts an event the decoder skipped for its size (at `position`), so
    /// that indices stay the same across connections.
    pub fn admit_oversized(&mut self, position: Position) -> Result<Admission, ReplayDiverged> {
        self.admit_fingerprint(OVERSIZED, position)
    }

    /// [`admit`](Self::admit) for an event read without an `sse::Event`,
    /// by its [`fingerprint_of`].
    pub(crate) fn admit_fingerprint(
        &mut self,
        fingerprint: u64,
        position: Position,
    ) -> Result<Admission, ReplayDiverged> {
        if let Some(diverged) = &self.diverged {
            return Err(diverged.clone());
        }
        let Some(cursor) = self.cursor else {
            self.received.push(fingerprint);
            return Ok(Admission::New);
        };
        if self.received.get(cursor) == Some(&fingerprint) {
            let next = cursor + 1;
            self.cursor = (next < self.received.len()).then_some(next);
            Ok(Admission::Replayed)
        } else {
            let diverged = ReplayDiverged {
                index: cursor,
                position,
            };
            self.diverged = Some(diverged.clone());
            Err(diverged)
        }
    }
}

/// A fingerprint of what a replay must repeat: the type (and whether it was
/// explicit) and the data.
///
/// The guard compares a replay with what the same server sent before, not
/// with input an attacker chooses to collide, so a fast multiply-mix hash
/// serves (SipHash, keyed against such attacks, cost more than the rest of
/// the typed layer). It is a pure function of the bytes: the same across
/// connections and processes.
fn fingerprint(event: &sse::Event) -> u64 {
    let name = match (EventKind::of_sse(event), event.explicit_type()) {
        (Some(kind), _) => Name::Known(kind),
        (None, Some(name)) => Name::Other(name.as_bytes()),
        (None, None) => Name::None,
    };
    fingerprint_of(name, event.data_bytes())
}

/// An event's name, as a fingerprint takes it.
#[derive(Clone, Copy)]
pub(crate) enum Name<'a> {
    /// One of the contract's names: mixed in as its kind, one word.
    Known(EventKind),
    /// Any other name, by its bytes.
    Other(&'a [u8]),
    /// No `event:` name.
    None,
}

/// The fingerprint of an event named `name` with `data`.
#[inline]
pub(crate) fn fingerprint_of(name: Name<'_>, data: &[u8]) -> u64 {
    let mut hash = Mix::new();
    match name {
        // A known kind as a word no other name's length can be.
        Name::Known(kind) => hash.word(u64::MAX - 1 - kind as u64),
        Name::Other(name) => hash.bytes(name),
        // A length no slice has either.
        Name::None => hash.word(u64::MAX),
    }
    hash.bytes(data);
    hash.finish()
}

/// The fingerprint of an event the decoder skipped for its size: only its
/// place in the stream can be compared.
const OVERSIZED: u64 = 0x6f76_6572_7369_7a65;

/// A folded-multiply hash: sixteen bytes per 64×64→128-bit multiply, the
/// two halves of the product folded together.
struct Mix(u64);

impl Mix {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xbf58_476d_1ce4_e5b9;

    fn new() -> Self {
        Mix(0x243f_6a88_85a3_08d3)
    }

    #[inline]
    fn fold(a: u64, b: u64) -> u64 {
        let product = u128::from(a) * u128::from(b);
        (product as u64) ^ ((product >> 64) as u64)
    }

    #[inline]
    fn pair(&mut self, a: u64, b: u64) {
        self.0 = Self::fold(self.0 ^ a, Self::K2 ^ b);
    }

    #[inline]
    fn word(&mut self, word: u64) {
        self.pair(word, 0);
    }

    /// Mixes the length, then the bytes. The last (or only) sixteen are read
    /// as two words that may overlap the block before them, or each other:
    /// with the length mixed in, that loses nothing, and costs no copy.
    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        self.word(len as u64);
        let (a, b) = match len {
            0 => return,
            1..=3 => {
                let spread = u64::from(bytes[0]) << 16
                    | u64::from(bytes[len / 2]) << 8
                    | u64::from(bytes[len - 1]);
                (spread, 0)
            }
            4..=7 => (
                u64::from(le32(&bytes[..4])),
                u64::from(le32(&bytes[len - 4..])),
            ),
            8..=16 => (le64(&bytes[..8]), le64(&bytes[len - 8..])),
            _ => {
                let mut rest = bytes;
                while rest.len() > 16 {
                    self.pair(le64(&rest[..8]), le64(&rest[8..16]));
                    rest = &rest[16..];
                }
                (le64(&bytes[len - 16..len - 8]), le64(&bytes[len - 8..]))
            }
        };
        self.pair(a, b);
    }

    fn finish(self) -> u64 {
        Self::fold(self.0, Self::K1)
    }
}

/// The first eight bytes of `bytes` (at least eight), little-endian.
#[inline]
fn le64(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// The first four bytes of `bytes` (at least four), little-endian.
#[inline]
fn le32(bytes: &[u8]) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_tells_type_data_and_explicitness_apart() {
        let print = |t: &str, d: &str| fingerprint(&sse::Event::new(t, d));
        let base = print("a", "12345678x");
        for other in [
            print("b", "12345678x"),
            print("a", "12345678y"),
            print("", "12345678x"),
            print("a", "12345678"),
            print("a", "12345678x\0"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, print("a", "12345678x"));
        // Moving a byte from the type to the data changes it too.
        assert_ne!(print("ab", "c"), print("a", "bc"));
    }

    #[test]
    fn every_byte_and_length_counts_at_every_size() {
        // Each length through the short forms, the overlapping tail and
        // several full blocks: any one byte changed, or one more zero byte,
        // changes the fingerprint.
        for len in 0..70 {
            let data: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let base = fingerprint(&sse::Event::new("t", data.as_str()));
            for at in 0..len {
                let mut other = data.clone().into_bytes();
                other[at] = b'Z';
                let other = String::from_utf8(other).unwrap();
                assert_ne!(
                    base,
                    fingerprint(&sse::Event::new("t", other)),
                    "{len} {at}"
                );
            }
            let longer = format!("{data}\0");
            assert_ne!(base, fingerprint(&sse::Event::new("t", longer)), "{len}");
        }
    }

    #[test]
    fn an_oversized_event_holds_its_place_in_the_replay() {
        let a = sse::Event::new("t", "a");
        let mut guard = ReplayGuard::new();
        assert_eq!(guard.admit(&a), Ok(Admission::New));
        assert_eq!(guard.admit_oversized(Position::START), Ok(Admission::New));
        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        assert_eq!(
            guard.admit_oversized(Position::START),
            Ok(Admission::Replayed)
        );
        assert_eq!(guard.admit(&a), Ok(Admission::New));
        guard.reconnect();
        assert!(guard.admit_oversized(Position::START).is_err());
    }

    #[test]
    fn guard_skips_replay_and_detects_divergence() {
        let a = sse::Event::new("response.output_text.delta", r#"{"text":"a"}"#);
        let b = sse::Event::new("response.output_text.delta", r#"{"text":"b"}"#);
        let c = sse::Event::new("response.output_text.delta", r#"{"text":"c"}"#);
        let mut guard = ReplayGuard::new();
        guard.reconnect(); // nothing received: nothing to replay
        assert!(!guard.is_replaying());
        assert_eq!(guard.admit(&a), Ok(Admission::New));
        assert_eq!(guard.admit(&b), Ok(Admission::New));
        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        // Dropped again mid-replay.
        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        assert_eq!(guard.admit(&b), Ok(Admission::Replayed));
        assert_eq!(guard.admit(&c), Ok(Admission::New));
        assert_eq!(guard.received(), 3);

        guard.reconnect();
        assert_eq!(guard.admit(&a), Ok(Admission::Replayed));
        let moved = c.clone().with_position(Position {
            offset: 50,
            line: 4,
        });
        let err = guard.admit(&moved).unwrap_err();
        assert_eq!(
            err,
            ReplayDiverged {
                index: 1,
                position: Position {
                    offset: 50,
                    line: 4
                }
            }
        );
        assert_eq!(guard.admit(&b), Err(err.clone()));
        let finding = err.to_finding();
        assert_eq!(finding.rule, Rule::ReplayDiverged);
        assert_eq!(finding.event_index, Some(1));
        assert!(finding.is_error());
    }

    #[test]
    fn fingerprint_ignores_id_and_position_but_not_type() {
        let a = sse::Event::new("response.output_text.delta", r#"{"text":"a"}"#);
        let moved = a
            .clone()
            .with_id("9")
            .with_position(Position { offset: 7, line: 2 });
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        let other_type = sse::Event::new("response.reasoning.delta", r#"{"text":"a"}"#);
        assert_ne!(fingerprint(&a), fingerprint(&other_type));
        let untyped = sse::Event::new("", "x");
        let message = sse::Event::new("message", "x");
        assert_ne!(fingerprint(&untyped), fingerprint(&message));
    }
}
