//! The body of a streamed turn: its events as SSE bytes, from the first one
//! on, live until the turn ends, paced and broken as the [`Faults`] say.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, watch};

use super::faults::Faults;
use super::state::Turn;
use crate::sse::Encoder;

/// How many writes may wait for a slow client before the writer waits too.
const QUEUE: usize = 8;

/// How long a broken stream's last bytes are given to reach the socket.
const SETTLE: Duration = Duration::from_millis(20);

type Chunk = Result<Bytes, io::Error>;

/// A body that writes `turn`'s events from the start. `breakable`: the
/// [`Faults::drop_after_events`] fault applies (to `POST` streams only).
pub(crate) fn sse_body(
    turn: Arc<Turn>,
    faults: Faults,
    breakable: bool,
    shutdown: watch::Receiver<bool>,
) -> Body {
    let (tx, rx) = mpsc::channel(QUEUE);
    let writer = Writer {
        tx,
        faults,
        pending: BytesMut::new(),
        shutdown,
    };
    tokio::spawn(writer.write_turn(turn, breakable));
    Body::from_stream(Chunks(rx))
}

/// Why a writer stopped early: the client left or the gateway shuts down.
struct Stop;

struct Writer {
    tx: mpsc::Sender<Chunk>,
    faults: Faults,
    /// Encoded bytes not yet written.
    pending: BytesMut,
    shutdown: watch::Receiver<bool>,
}

impl Writer {
    async fn write_turn(mut self, turn: Arc<Turn>, breakable: bool) {
        // Stopping early needs no cleanup: dropping the sender ends the body.
        let _ = self.try_write_turn(&turn, breakable).await;
    }

    async fn try_write_turn(&mut self, turn: &Turn, breakable: bool) -> Result<(), Stop> {
        let mut published = turn.subscribe();
        let mut next = 0;
        loop {
            let (wires, ended) = turn.wires_from(next);
            if wires.is_empty() {
                if ended {
                    return Ok(());
                }
                self.idle(&mut published).await?;
                continue;
            }
            for wire in wires {
                if breakable && self.faults.drop_after_events == Some(next) {
                    // Half an event, then nothing: the client must discard it.
                    self.pending.extend_from_slice(&wire.bytes[..wire.cut]);
                    self.flush().await?;
                    self.settle().await?;
                    let dropped = io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("fault injection: connection dropped after {next} events"),
                    );
                    return self.break_off(dropped).await;
                }
                self.pending.extend_from_slice(&wire.bytes);
                next += 1;
            }
            self.flush().await?;
        }
    }

    /// Waits for the turn to publish more, writing heartbeats meanwhile.
    async fn idle(&mut self, published: &mut watch::Receiver<usize>) -> Result<(), Stop> {
        enum Woken {
            Published,
            Heartbeat,
            Stop,
        }
        let every = self.faults.heartbeat;
        let heartbeat = async move {
            match every {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        let woken = tokio::select! {
            changed = published.changed() => match changed {
                Ok(()) => Woken::Published,
                Err(_) => Woken::Stop,
            },
            () = heartbeat => Woken::Heartbeat,
            _ = self.shutdown.wait_for(|down| *down) => Woken::Stop,
            () = self.tx.closed() => Woken::Stop,
        };
        match woken {
            Woken::Published => Ok(()),
            Woken::Heartbeat => {
                Encoder::new().comment("keep-alive", &mut self.pending);
                self.flush().await
            }
            Woken::Stop => Err(Stop),
        }
    }

    /// Writes the pending bytes, in chunks of the configured size.
    async fn flush(&mut self) -> Result<(), Stop> {
        while !self.pending.is_empty() {
            let size = self.faults.chunk_size.map_or(self.pending.len(), |size| {
                size.get().min(self.pending.len())
            });
            let chunk = self.pending.split_to(size).freeze();
            self.send(Ok(chunk)).await?;
            self.pause(self.faults.chunk_delay).await?;
        }
        Ok(())
    }

    /// Waits until the server has taken every chunk, and a moment more for it
    /// to write them out: hyper discards what it has buffered but not yet
    /// written when a body fails, and the client must get the bytes sent
    /// before the break.
    async fn settle(&mut self) -> Result<(), Stop> {
        while self.tx.capacity() < self.tx.max_capacity() {
            if self.tx.is_closed() {
                return Err(Stop);
            }
            self.pause(Duration::from_millis(1)).await?;
        }
        self.pause(SETTLE).await
    }

    /// Ends the body with an error, which makes the server abort the
    /// connection rather than end the response cleanly.
    async fn break_off(&mut self, err: io::Error) -> Result<(), Stop> {
        self.send(Err(err)).await?;
        Err(Stop)
    }

    async fn send(&mut self, chunk: Chunk) -> Result<(), Stop> {
        self.tx.send(chunk).await.map_err(|_| Stop)
    }

    async fn pause(&mut self, delay: Duration) -> Result<(), Stop> {
        if delay.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            _ = self.shutdown.wait_for(|down| *down) => Err(Stop),
        }
    }
}

/// The receiving end of a writer, as the body's stream of chunks.
struct Chunks(mpsc::Receiver<Chunk>);

impl futures_core::Stream for Chunks {
    type Item = Chunk;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.get_mut().0.poll_recv(cx)
    }
}
