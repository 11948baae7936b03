//! The agent37 Responses contract on top of [`crate::sse`]: its rules are
//! written out in [`contract`] (the repository's `docs/contract.md`), with
//! the table of [rule codes](contract#rule-codes).
//!
//! The layers, each importing only those above it in this list:
//!
//! - [`rules`]: the findings vocabulary ([`rules::Rule`], [`rules::Severity`],
//!   [`rules::Finding`]).
//! - [`error`], [`response`], [`request`]: the error envelopes as one typed
//!   [`error::ApiError`], the response object, the request body and its limits.
//! - [`event`]: the eight typed events, their payloads and how they are read.
//! - [`decoder`]: bytes to typed events in one loop, nothing checked
//!   beyond the payloads.
//! - [`machine`]: the ordering state machine.
//! - [`fold`]: folding events into the final [`response::Response`].
//! - [`replay`]: skipping the replayed prefix after a reconnect.
//! - [`pipeline`]: decode → replay guard → validate → fold, the one pipeline
//!   every front shares.
//! - [`stream`]: its async front, a stream of validated typed events.

/// The contract itself: the rules, rule codes and command-line contract
/// this crate implements (the repository's `docs/contract.md`).
pub mod contract {
    #![doc = include_str!("../../docs/contract.md")]
}
mod calls;
pub mod decoder;
pub mod error;
pub mod event;
pub mod fold;
pub mod machine;
pub mod pipeline;
pub mod replay;
pub mod request;
pub mod response;
pub mod rules;
pub mod stream;
mod wire;
