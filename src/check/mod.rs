//! Conformance checking of recorded streams (`PROTOCOL.md` §5–§6).
