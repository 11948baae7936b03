//! A local agent37 gateway that replays recordings (feature `serve`).
