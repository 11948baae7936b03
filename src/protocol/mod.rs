//! The agent37 Responses contract (`PROTOCOL.md` §3–§5) on top of [`crate::sse`].
//!
//! - [`event`]: the eight typed events and their payloads.
//! - [`machine`]: the ordering state machine and its findings (rule codes).
//! - [`fold`]: folding events into the final [`response::Response`], and resuming after a drop.
//! - [`response`]: the response object of `POST /v1/responses`.
//! - [`stream`]: an async stream of validated typed events.
//! - [`error`]: the two error envelopes as one typed [`error::ApiError`].
//! - [`request`]: the request body, its builder and client-side validation.

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
