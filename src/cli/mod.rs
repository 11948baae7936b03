//! The subcommands of the `agent37-stream` binary.

pub mod ask;
pub mod check;
pub mod decode;
#[cfg(feature = "serve")]
pub mod serve;
