//! What a gateway remembers: sessions, turns and their events, and the ids it
//! mints. Every lock here is held briefly and never across an `.await`.
//!
//! Lock order: a turn's lock may be held while the sessions lock is taken
//! (a turn frees its session as it ends), never the other way round.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::GatewayConfig;
use crate::protocol::error::{ApiError, ErrorCode};
use crate::protocol::fold::{Seed, TurnBuilder};
use crate::protocol::request::CreateResponse;
use crate::protocol::response::{Response, Status};
use crate::sse::Event;

/// The error code of an unknown response id. The gateway's table has none for
/// responses; this follows its `*_not_found` naming.
pub(crate) const RESPONSE_NOT_FOUND: &str = "response_not_found";

/// The gateway's memory, shared by every request.
pub(crate) struct State {
    pub(crate) config: GatewayConfig,
    sessions: Mutex<HashMap<String, Session>>,
    turns: Mutex<HashMap<String, Arc<Turn>>>,
    ids: IdMinter,
    requests_seen: AtomicU64,
    /// Turns `true` (or closes) when the gateway shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// One conversation.
#[derive(Default)]
struct Session {
    model: Option<String>,
    provider: Option<String>,
    /// The response id of the turn running on it, if one is.
    running: Option<String>,
}

/// One turn: the events published so far and the response object they make.
pub(crate) struct Turn {
    id: String,
    session_id: String,
    inner: Mutex<TurnInner>,
    /// The number of events published; readers wait on it for more.
    published: watch::Sender<usize>,
}

struct TurnInner {
    events: Vec<Event>,
    /// The response object, folded from the events published.
    fold: TurnBuilder,
    /// Cancelled: the fold stops, and the status is `cancelled`.
    cancelled: bool,
}

impl TurnInner {
    fn has_ended(&self) -> bool {
        self.cancelled || self.fold.is_terminated()
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
            turns: Mutex::new(HashMap::new()),
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

    /// Starts a turn for `request`, returning it with the events it will
    /// publish: `session_not_found` for an unknown session, `session_busy`
    /// while another turn runs on it.
    pub(crate) fn start_turn(
        &self,
        request: &CreateResponse,
    ) -> Result<(Arc<Turn>, Vec<Event>), ApiError> {
        let response_id = self.mint_response_id();
        let (session_id, model, provider) = {
            let mut sessions = lock(&self.sessions);
            let session_id = match &request.session_id {
                Some(id) => id.clone(),
                None => self.ids.mint_unused(|id| sessions.contains_key(id)),
            };
            let session = match sessions.entry(session_id.clone()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(_) if request.session_id.is_some() => {
                    return Err(ApiError::gateway(
                        ErrorCode::SessionNotFound,
                        format!("No session with id {session_id}."),
                    ));
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
            agent: request.agent.as_str().to_owned(),
            model,
            provider,
            metadata: request.metadata.clone(),
            created: epoch_millis(),
        };
        let recording = self.config.recordings.select(&request.input);
        let events = recording.events_for(&response_id, &session_id);
        let turn = Arc::new(Turn {
            id: response_id.clone(),
            session_id,
            inner: Mutex::new(TurnInner {
                events: Vec::with_capacity(events.len()),
                fold: TurnBuilder::new(seed),
                cancelled: false,
            }),
            published: watch::Sender::new(0),
        });
        lock(&self.turns).insert(response_id, Arc::clone(&turn));
        Ok((turn, events))
    }

    fn mint_response_id(&self) -> String {
        let turns = lock(&self.turns);
        self.ids.mint_unused(|id| turns.contains_key(id))
    }

    /// The turn with this response id: 404 `response_not_found` if none.
    pub(crate) fn turn(&self, response_id: &str) -> Result<Arc<Turn>, ApiError> {
        lock(&self.turns).get(response_id).cloned().ok_or_else(|| {
            ApiError::gateway(
                ErrorCode::from(RESPONSE_NOT_FOUND),
                format!("No response with id {response_id}."),
            )
            .with_status(404)
        })
    }

    /// Publishes the turn's next event. Returns `false` when the turn has
    /// already ended (it was cancelled), so the runner stops.
    pub(crate) fn publish(&self, turn: &Turn, event: Event) -> bool {
        let mut inner = lock(&turn.inner);
        if inner.has_ended() {
            return false;
        }
        // The recordings were checked to end in a terminal event, not to be
        // valid throughout: an event whose payload breaks the contract is
        // still sent, and changes nothing in the response object.
        let _ = inner.fold.push_sse(&event);
        inner.events.push(event);
        if inner.has_ended() {
            // Free the session before anyone can see the terminal event: a
            // client that sends its next turn on receiving it must not get
            // `session_busy`.
            self.release_session(turn);
        }
        let published = inner.events.len();
        drop(inner);
        turn.published.send_replace(published);
        true
    }

    /// Cancels a running turn, best effort: its status becomes `cancelled`
    /// and its streams end with a `response.failed` event of code
    /// `cancelled`. A finished turn is left as it is. Returns the response.
    pub(crate) fn cancel(&self, turn: &Turn) -> Response {
        let mut inner = lock(&turn.inner);
        if !inner.has_ended() {
            inner.cancelled = true;
            inner.events.push(cancelled_event());
            self.release_session(turn);
            let published = inner.events.len();
            turn.published.send_replace(published);
        }
        turn.snapshot(&inner)
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
pub(crate) async fn run_turn(state: Arc<State>, turn: Arc<Turn>, events: Vec<Event>) {
    let interval = state.config.event_interval;
    let mut shutdown = state.shutdown.clone();
    for (index, event) in events.into_iter().enumerate() {
        if index > 0 && !interval.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
        }
        if !state.publish(&turn, event) {
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
        let mut response = inner.fold.turn().response.clone();
        // Set before `response.created` is published, too.
        response.id.clone_from(&self.id);
        response.session_id.clone_from(&self.session_id);
        if inner.cancelled {
            response.status = Status::Cancelled;
        }
        response
    }

    /// The events published from index `from` on, and whether the turn has
    /// ended (so no more will come).
    pub(crate) fn events_from(&self, from: usize) -> (Vec<Event>, bool) {
        let inner = lock(&self.inner);
        let events = inner.events.get(from..).unwrap_or_default().to_vec();
        (events, inner.has_ended())
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

/// Mints ids: 32 lowercase hex characters, unpredictable across gateways.
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

    fn mint(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let high = self.keys.hash_one((n, 0u8));
        let low = self.keys.hash_one((n, 1u8));
        format!("{high:016x}{low:016x}")
    }

    /// A new id for which `taken` is false.
    fn mint_unused(&self, taken: impl Fn(&str) -> bool) -> String {
        loop {
            let id = self.mint();
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
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| minter.mint()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
        }
    }
}
