//! What a gateway remembers: sessions, turns and the bytes of their streams,
//! and the ids it mints. Every lock here is held briefly and never across an
//! `.await`.
//!
//! Finished turns are kept in a store bounded by a count and a byte budget,
//! the least recently used evicted first; running turns are never evicted. A
//! session is forgotten with its last stored turn.
//!
//! Lock order: a turn's lock, then the sessions lock; the store lock is never
//! held while another is taken.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::GatewayConfig;
use super::recordings::Played;
use super::wire::Wire;
use crate::protocol::error::{ApiError, ErrorCode};
use crate::protocol::fold::{Seed, TurnBuilder};
use crate::protocol::request::CreateResponse;
use crate::protocol::response::{Response, Status};
use crate::sse::{Encoder, Event};

/// The error code of an unknown response id. The gateway's table has none for
/// responses; this follows its `*_not_found` naming.
pub(crate) const RESPONSE_NOT_FOUND: &str = "response_not_found";

/// The gateway's memory, shared by every request.
pub(crate) struct State {
    pub(crate) config: GatewayConfig,
    sessions: Mutex<HashMap<String, Session>>,
    store: Mutex<Store>,
    ids: IdMinter,
    requests_seen: AtomicU64,
    /// Turns `true` (or closes) when the gateway stops: streams end and
    /// running turns stop.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// How much the store holds, as [`GatewayHandle::stored`](super::GatewayHandle::stored) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreStats {
    /// Turns held, running ones included.
    pub turns: usize,
    /// Finished turns held (the ones that count against the limits).
    pub finished_turns: usize,
    /// The bytes the finished turns are charged for: their streams' bytes,
    /// their bookkeeping and their response objects.
    pub finished_bytes: usize,
    /// Finished turns evicted so far.
    pub evicted: u64,
}

/// The turns, and the least recently used order of the finished ones.
#[derive(Default)]
struct Store {
    turns: HashMap<String, Stored>,
    /// Finished turns by last use (a tick), oldest first.
    lru: BTreeMap<u64, String>,
    tick: u64,
    stats: StoreStats,
}

struct Stored {
    turn: Arc<Turn>,
    /// Once finished: its last use and its size.
    finished: Option<(u64, usize)>,
}

impl Store {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn get(&mut self, id: &str) -> Option<Arc<Turn>> {
        let tick = self.next_tick();
        let stored = self.turns.get_mut(id)?;
        if let Some((used, _)) = &mut stored.finished {
            self.lru.remove(used);
            *used = tick;
            self.lru.insert(tick, id.to_owned());
        }
        Some(Arc::clone(&stored.turn))
    }

    /// Marks a turn finished, charged `size` bytes, and evicts past the
    /// limits. Returns the session ids of the evicted turns.
    fn finish(&mut self, id: &str, size: usize, max_turns: usize, max_bytes: usize) -> Vec<String> {
        let tick = self.next_tick();
        if let Some(stored) = self.turns.get_mut(id) {
            if stored.finished.is_none() {
                stored.finished = Some((tick, size));
                self.lru.insert(tick, id.to_owned());
                self.stats.finished_turns += 1;
                self.stats.finished_bytes += size;
            }
        }
        let mut evicted = Vec::new();
        while self.stats.finished_turns > max_turns || self.stats.finished_bytes > max_bytes {
            let Some((_, oldest)) = self.lru.pop_first() else {
                break;
            };
            if let Some(stored) = self.turns.remove(&oldest) {
                let (_, size) = stored.finished.unwrap_or_default();
                self.stats.finished_turns -= 1;
                self.stats.finished_bytes -= size;
                self.stats.evicted += 1;
                evicted.push(stored.turn.session_id.clone());
            }
        }
        evicted
    }

    fn stats(&self) -> StoreStats {
        StoreStats {
            turns: self.turns.len(),
            ..self.stats
        }
    }
}

/// One conversation.
#[derive(Default)]
struct Session {
    model: Option<String>,
    provider: Option<String>,
    /// The response id of the turn running on it, if one is.
    running: Option<String>,
    /// Its turns in the store; at zero the session is forgotten.
    turns: usize,
}

/// One turn: the bytes of its stream so far and the response object.
pub(crate) struct Turn {
    id: String,
    session_id: String,
    inner: Mutex<TurnInner>,
    /// The number of events published; readers wait on it for more.
    published: watch::Sender<usize>,
}

struct TurnInner {
    /// Each published event's bytes.
    wires: Vec<Wire>,
    /// The response object, folded from the events published; emptied once
    /// the turn ends, when `ended` holds the result.
    fold: TurnBuilder,
    ended: Option<Response>,
    /// Cancelled: the fold stops, and the status is `cancelled`.
    cancelled: bool,
}

impl TurnInner {
    fn has_ended(&self) -> bool {
        self.ended.is_some()
    }

    /// Ends the turn: keeps the response object, drops the fold, and returns
    /// the bytes the turn is charged for.
    fn end(&mut self, turn: &Turn) -> usize {
        let response = turn.snapshot(self);
        // The response object's JSON size stands in for its memory.
        let response_bytes = serde_json::to_vec(&response).map_or(0, |json| json.len());
        self.ended = Some(response);
        self.fold = TurnBuilder::default();
        self.wires.shrink_to_fit();
        let wires: usize = self.wires.iter().map(Wire::stored_bytes).sum();
        wires + response_bytes + std::mem::size_of::<Turn>() + turn.id.len() * 2
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps half-updated in a way that
    // matters to a test server; keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(config: GatewayConfig, shutdown: watch::Receiver<bool>) -> State {
        State {
            config,
            sessions: Mutex::new(HashMap::new()),
            store: Mutex::new(Store::default()),
            ids: IdMinter::new(),
            requests_seen: AtomicU64::new(0),
            shutdown,
        }
    }

    /// Counts a request in and says whether fault injection refuses it.
    pub(crate) fn injected_failure(&self) -> Option<ApiError> {
        let seen = self.requests_seen.fetch_add(1, Ordering::Relaxed);
        self.config.faults.injected_failure(seen)
    }

    /// How much the store holds.
    pub(crate) fn stats(&self) -> StoreStats {
        lock(&self.store).stats()
    }

    /// Starts a turn for `request`, returning it with the events it will
    /// publish: `session_not_found` for an unknown session, `session_busy`
    /// while another turn runs on it.
    pub(crate) fn start_turn(
        &self,
        request: &CreateResponse,
    ) -> Result<(Arc<Turn>, Vec<Played>), ApiError> {
        let response_id = self.mint_response_id();
        let (session_id, model, provider) = {
            let mut sessions = lock(&self.sessions);
            let session_id = match &request.session_id {
                Some(id) => id.clone(),
                None => self
                    .ids
                    .mint_unused(Kind::Session, |id| sessions.contains_key(id)),
            };
            let session = match sessions.entry(session_id.clone()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(_) if request.session_id.is_some() => {
                    let mut message = format!("No session with id {session_id}.");
                    if self.ids.minted(Kind::Session, &session_id) {
                        message = format!(
                            "Session {session_id} has expired: its turns were evicted from the gateway's store."
                        );
                    }
                    return Err(ApiError::gateway(ErrorCode::SessionNotFound, message));
                }
                Entry::Vacant(entry) => entry.insert(Session::default()),
            };
            if let Some(running) = &session.running {
                return Err(ApiError::gateway(
                    ErrorCode::SessionBusy,
                    format!("Response {running} is already running on this session."),
                )
                .with_hint(format!(
                    "Cancel it with POST /v1/responses/{running}/cancel, or use another session."
                )));
            }
            session.running = Some(response_id.clone());
            session.turns += 1;
            // Model and provider given on a turn stay with the session.
            if request.model.is_some() {
                session.model.clone_from(&request.model);
            }
            if request.provider.is_some() {
                session.provider.clone_from(&request.provider);
            }
            (session_id, session.model.clone(), session.provider.clone())
        };
        let seed = Seed {
            agent: request.agent.clone(),
            model,
            provider,
            metadata: request.metadata.clone(),
            created: epoch_millis(),
        };
        let recording = self.config.recordings.select(&request.input);
        let played = recording.play(&response_id, &session_id, self.config.normalize);
        let turn = Arc::new(Turn {
            id: response_id.clone(),
            session_id,
            inner: Mutex::new(TurnInner {
                wires: Vec::with_capacity(played.len()),
                fold: TurnBuilder::new(seed),
                ended: None,
                cancelled: false,
            }),
            published: watch::Sender::new(0),
        });
        lock(&self.store).turns.insert(
            response_id,
            Stored {
                turn: Arc::clone(&turn),
                finished: None,
            },
        );
        Ok((turn, played))
    }

    fn mint_response_id(&self) -> String {
        let store = lock(&self.store);
        self.ids
            .mint_unused(Kind::Response, |id| store.turns.contains_key(id))
    }

    /// The turn with this response id: 404 `response_not_found` if none, with
    /// a message that says so when it was evicted.
    pub(crate) fn turn(&self, response_id: &str) -> Result<Arc<Turn>, ApiError> {
        if let Some(turn) = lock(&self.store).get(response_id) {
            return Ok(turn);
        }
        let message = if self.ids.minted(Kind::Response, response_id) {
            format!(
                "Response {response_id} has expired: it was evicted from the gateway's store of finished turns."
            )
        } else {
            format!("No response with id {response_id}.")
        };
        Err(ApiError::gateway(ErrorCode::from(RESPONSE_NOT_FOUND), message).with_status(404))
    }

    /// Publishes the turn's next event. Returns `false` when the turn has
    /// already ended (it was cancelled), so the runner stops.
    pub(crate) fn publish(&self, turn: &Turn, played: Played) -> bool {
        let mut inner = lock(&turn.inner);
        if inner.has_ended() {
            return false;
        }
        // The recordings were checked to end in a terminal event, not to be
        // valid throughout: an event whose payload breaks the contract is
        // still sent, and changes nothing in the response object.
        let _ = inner.fold.push_sse(&played.event);
        let terminated = inner.fold.is_terminated();
        inner.wires.push(played.wire);
        let size = terminated.then(|| {
            // Free the session before anyone can see the terminal event: a
            // client that sends its next turn on receiving it must not get
            // `session_busy`.
            self.release_session(turn);
            inner.end(turn)
        });
        let published = inner.wires.len();
        drop(inner);
        // Stored as finished (evicting past the limits) before anyone can
        // see the end: a client that sends its next request on receiving
        // it must find the store as the end left it.
        if let Some(size) = size {
            self.finished(turn, size);
        }
        turn.published.send_replace(published);
        true
    }

    /// Cancels a running turn, best effort: its status becomes `cancelled`
    /// and its streams end with a `response.failed` event of code
    /// `cancelled`. A finished turn is left as it is. Returns the response.
    pub(crate) fn cancel(&self, turn: &Turn) -> Response {
        let mut inner = lock(&turn.inner);
        if let Some(response) = &inner.ended {
            return response.clone();
        }
        inner.cancelled = true;
        inner
            .wires
            .push(Wire::encode(&mut Encoder::new(), &cancelled_event()));
        self.release_session(turn);
        let size = inner.end(turn);
        let published = inner.wires.len();
        let response = turn.snapshot(&inner);
        drop(inner);
        self.finished(turn, size);
        turn.published.send_replace(published);
        response
    }

    fn finished(&self, turn: &Turn, size: usize) {
        let limits = &self.config.store;
        let evicted = lock(&self.store).finish(&turn.id, size, limits.max_turns, limits.max_bytes);
        if evicted.is_empty() {
            return;
        }
        let mut sessions = lock(&self.sessions);
        for session_id in evicted {
            if let Some(session) = sessions.get_mut(&session_id) {
                session.turns = session.turns.saturating_sub(1);
                if session.turns == 0 && session.running.is_none() {
                    sessions.remove(&session_id);
                }
            }
        }
    }

    fn release_session(&self, turn: &Turn) {
        let mut sessions = lock(&self.sessions);
        if let Some(session) = sessions.get_mut(&turn.session_id) {
            if session.running.as_deref() == Some(turn.id.as_str()) {
                session.running = None;
            }
        }
    }
}

/// Plays a turn: publishes its events one by one, the configured interval
/// apart, until the last one, a cancel, or the gateway's shutdown.
pub(crate) async fn run_turn(state: Arc<State>, turn: Arc<Turn>, events: Vec<Played>) {
    let interval = state.config.event_interval;
    let mut shutdown = state.shutdown.clone();
    for (index, played) in events.into_iter().enumerate() {
        if index > 0 && !interval.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
        }
        if !state.publish(&turn, played) {
            return;
        }
    }
}

impl Turn {
    /// The response object as it stands.
    pub(crate) fn response(&self) -> Response {
        self.snapshot(&lock(&self.inner))
    }

    fn snapshot(&self, inner: &TurnInner) -> Response {
        if let Some(response) = &inner.ended {
            return response.clone();
        }
        let mut response = inner.fold.turn().response.clone();
        // Set before `response.created` is published, too.
        response.id.clone_from(&self.id);
        response.session_id.clone_from(&self.session_id);
        if inner.cancelled {
            response.status = Status::Cancelled;
        }
        response
    }

    /// The bytes of the events published from index `from` on, and whether
    /// the turn has ended (so no more will come).
    pub(crate) fn wires_from(&self, from: usize) -> (Vec<Wire>, bool) {
        let inner = lock(&self.inner);
        let wires = inner.wires.get(from..).unwrap_or_default().to_vec();
        (wires, inner.has_ended())
    }

    /// A receiver that changes whenever events are published.
    pub(crate) fn subscribe(&self) -> watch::Receiver<usize> {
        self.published.subscribe()
    }
}

/// The terminal event a cancelled turn's streams end with: the contract has
/// no `response.cancelled`, and a stream must end with a terminal event.
fn cancelled_event() -> Event {
    Event::new(
        "response.failed",
        r#"{"error":{"code":"cancelled","message":"The turn was cancelled."}}"#,
    )
}

fn epoch_millis() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// What an id names: the minter tells its own ids of each kind apart.
#[derive(Clone, Copy)]
enum Kind {
    Response = 1,
    Session = 2,
}

/// Mints ids: 32 lowercase hex characters, unpredictable across gateways.
/// The second half is a keyed hash of the first and of the kind, so that the
/// gateway knows an id it minted (and can say it expired) without keeping it.
struct IdMinter {
    keys: RandomState,
    counter: AtomicU64,
}

impl IdMinter {
    fn new() -> IdMinter {
        IdMinter {
            keys: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    fn mint(&self, kind: Kind) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let high = self.keys.hash_one((n, 0u8));
        let low = self.tag(high, kind);
        format!("{high:016x}{low:016x}")
    }

    fn tag(&self, high: u64, kind: Kind) -> u64 {
        self.keys.hash_one((high, kind as u8))
    }

    /// Whether this minter made `id` for `kind`.
    fn minted(&self, kind: Kind, id: &str) -> bool {
        if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return false;
        }
        let half = |range| u64::from_str_radix(&id[range], 16).ok();
        match (half(0..16), half(16..32)) {
            (Some(high), Some(low)) => self.tag(high, kind) == low,
            _ => false,
        }
    }

    /// A new id for which `taken` is false.
    fn mint_unused(&self, kind: Kind, taken: impl Fn(&str) -> bool) -> String {
        loop {
            let id = self.mint(kind);
            if !taken(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_lowercase_hex_and_distinct() {
        let minter = IdMinter::new();
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| minter.mint(Kind::Response)).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
        }
    }

    #[test]
    fn the_minter_knows_its_own_ids_by_kind() {
        let minter = IdMinter::new();
        let response = minter.mint(Kind::Response);
        assert!(minter.minted(Kind::Response, &response));
        assert!(!minter.minted(Kind::Session, &response));
        assert!(!IdMinter::new().minted(Kind::Response, &response));
        assert!(!minter.minted(Kind::Response, "fedcba9876543210fedcba9876543210"));
        assert!(!minter.minted(Kind::Response, "short"));
    }

    #[test]
    fn the_store_evicts_least_recently_used_finished_turns_only() {
        let turn = |id: &str| Stored {
            turn: Arc::new(Turn {
                id: id.to_owned(),
                session_id: format!("s-{id}"),
                inner: Mutex::new(TurnInner {
                    wires: Vec::new(),
                    fold: TurnBuilder::default(),
                    ended: None,
                    cancelled: false,
                }),
                published: watch::Sender::new(0),
            }),
            finished: None,
        };
        let mut store = Store::default();
        for id in ["a", "b", "c", "running"] {
            store.turns.insert(id.to_owned(), turn(id));
        }
        assert!(store.finish("a", 10, 2, 100).is_empty());
        assert!(store.finish("b", 10, 2, 100).is_empty());
        // `a` used last: `b` goes first.
        assert!(store.get("a").is_some());
        assert_eq!(store.finish("c", 10, 2, 100), ["s-b"]);
        assert!(store.get("b").is_none());
        // Over the byte budget: the oldest finished ones go, never `running`.
        assert_eq!(store.finish("c", 0, 2, 15), ["s-a"]);
        let stats = store.stats();
        assert_eq!((stats.finished_turns, stats.finished_bytes), (1, 10));
        assert_eq!(stats.turns, 2);
        assert_eq!(stats.evicted, 2);
        assert_eq!(store.finish("running", 50, 2, 15).len(), 2);
        assert_eq!(store.stats().finished_bytes, 0);
    }
}
