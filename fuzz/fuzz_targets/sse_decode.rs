//! Arbitrary bytes, split at fuzzer-chosen points, through every SSE front
//! end (codec, push decoder, blocking reader) with small limits.
//!
//! Input: byte 0 picks the cut pattern (see `common::cuts`), byte 1 the
//! limits (see `common::limits`), the rest is the stream.
//!
//! Checks: nothing panics; every front end, however the bytes are split,
//! gives exactly what the codec gives for the whole buffer at once (events,
//! their positions, errors, last event id, retry, the discarded tail); no
//! event carries more data than the event limit allows (after U+FFFD
//! replacement, which may triple invalid bytes); and the codec's
//! buffer never holds much more than one event's worth of bytes.
#![no_main]

mod common;

use common::{Item, cuts, limits, pieces, via_chunks, via_codec, via_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [cut_control, limit_control, stream @ ..] = input else {
        return;
    };
    let limits = limits(*limit_control);
    let cuts = cuts(*cut_control, stream.len());
    let split = pieces(stream, &cuts);

    let whole = via_codec(&[stream], limits, |_| {});

    // Memory: the buffer keeps the unfinished event and the partial line,
    // which the limits bound (each line end counts one byte in the limit
    // but may be two, CRLF, in the buffer; a BOM may wait at the start).
    let bound = 2 * limits.max_event_bytes + 8;
    let codec = via_codec(&split, limits, |buf| {
        assert!(
            buf.len() <= bound,
            "codec buffer holds {} bytes, over {bound} for {limits:?}",
            buf.len()
        );
    });
    assert_eq!(codec, whole, "codec, cut at {cuts:?}");

    let chunks = via_chunks(stream, &cuts, limits);
    assert_eq!(chunks, whole, "push decoder, cut at {cuts:?}");

    let reader = via_reader(&split, limits);
    assert_eq!(reader, whole, "reader, cut at {cuts:?}");

    // U+FFFD replacement makes text longer than its bytes (one invalid byte
    // becomes three), never more than 3×; the raw bytes are what the limits
    // count.
    for item in &whole.items {
        if let Item::Event(event_type, data, _, _, _) = item {
            let max_data = 3 * limits.max_event_bytes;
            assert!(
                data.len() <= max_data,
                "data of {} bytes for {limits:?}",
                data.len()
            );
            let type_len = event_type.as_ref().map_or(0, String::len);
            let max_type = 3 * limits.max_line_bytes;
            assert!(
                type_len <= max_type,
                "type of {type_len} bytes for {limits:?}"
            );
        }
    }
});
