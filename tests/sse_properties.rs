//! Properties of the SSE layer, on generated streams:
//! chunk-split invariance, agreement with the reference model, encode/decode
//! round trips, and the memory limits.

mod common;

use agent37_stream::sse::{ChunkDecoder, DecodeError, Decoder, Encoder, Event, Limits};
use bytes::{Bytes, BytesMut};
use common::{reference, via_chunks, via_codec, via_reader};
use proptest::prelude::*;
use tokio_util::codec::Decoder as _;

/// Streams that exercise the rules: field names, separators, every kind of
/// line end, BOMs, NULs, invalid UTF-8 and multi-byte characters, with
/// enough blank lines that events are dispatched.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        4 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"retry".to_vec()),
        4 => Just(b":".to_vec()),
        3 => Just(b" ".to_vec()),
        4 => Just(b"\n".to_vec()),
        3 => Just(b"\r".to_vec()),
        3 => Just(b"\r\n".to_vec()),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just(b"\xFF".to_vec()),
        1 => Just(b"\xE2\x82".to_vec()),
        1 => Just("é€😀".as_bytes().to_vec()),
        2 => Just(b"42".to_vec()),
        3 => proptest::collection::vec(b'a'..=b'z', 1..6),
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ];
    proptest::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// What of a decode the reference model predicts.
fn as_model(outcome: common::Outcome) -> reference::Model {
    reference::Model {
        events: outcome.events,
        positions: outcome.positions,
        retry: outcome.retry,
        last_event_id: outcome.last_event_id,
    }
}

/// Cut points into an input of `len` bytes.
fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..8).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

fn input_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    sse_bytes().prop_flat_map(|input| {
        let len = input.len();
        (Just(input), cuts(len))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_chunking_gives_the_same_events((input, cuts) in input_and_cuts()) {
        let whole = via_codec(&input, &[], Limits::default());
        prop_assert_eq!(&via_codec(&input, &cuts, Limits::default()), &whole);
        prop_assert_eq!(&via_chunks(&input, &cuts, Limits::default()), &whole);
        prop_assert_eq!(&via_reader(&input, &cuts, Limits::default()), &whole);
    }

    #[test]
    fn decoder_agrees_with_the_reference_model(input in sse_bytes()) {
        prop_assert_eq!(as_model(via_chunks(&input, &[], Limits::default())), reference::model(&input));
    }

    #[test]
    fn arbitrary_bytes_agree_with_the_reference_model(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(as_model(via_codec(&input, &[], Limits::default())), reference::model(&input));
    }

    #[test]
    fn decoding_what_was_encoded_gives_the_events_back(
        events in proptest::collection::vec(
            ("[a-z.é]{0,12}", "[a-z \n:é😀]{0,24}", "[a-z0-9 ]{0,6}"),
            0..12,
        ),
        cut_seed in any::<u64>(),
    ) {
        let events: Vec<Event> = events
            .into_iter()
            .map(|(kind, data, id)| Event::new(kind, data).with_id(id))
            .collect();
        let mut encoder = Encoder::new();
        let mut wire = BytesMut::new();
        for event in &events {
            encoder.encode(event, &mut wire).expect("encodable");
        }
        let cuts: Vec<usize> = if wire.is_empty() { vec![] } else {
            let n = wire.len();
            let mut c = vec![(cut_seed as usize) % n, (cut_seed as usize >> 16) % n];
            c.sort_unstable();
            c
        };
        let decoded = via_chunks(&wire, &cuts, Limits::default());
        let want: Vec<_> = events.iter().map(common::triple).collect();
        prop_assert_eq!(decoded.events, want);
    }

    #[test]
    fn limits_bound_events_and_memory_whatever_the_chunking(
        (input, cuts) in input_and_cuts(),
        max_event in 1usize..40,
        max_line in 1usize..40,
    ) {
        let limits = Limits::default().max_event_bytes(max_event).max_line_bytes(max_line);
        let whole = via_codec(&input, &[], limits);
        prop_assert_eq!(&via_chunks(&input, &cuts, limits), &whole);
        prop_assert_eq!(&via_reader(&input, &cuts, limits), &whole);
        for (_, data, _) in &whole.events {
            prop_assert!(data.len() <= max_event, "data of {} bytes passed a {max_event}-byte limit", data.len());
        }

        // The codec keeps at most one event (and one line) of the input.
        let mut decoder = Decoder::with_limits(limits);
        let mut buf = BytesMut::new();
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&input.len())) {
            buf.extend_from_slice(&input[from..to]);
            from = to;
            while let Ok(Some(_)) | Err(_) = decoder.decode(&mut buf).map_err(|_: DecodeError| ()) {}
            prop_assert!(buf.len() <= max_event.max(max_line) + 1, "{} bytes held", buf.len());
        }
    }
}

/// Memory stays bounded on a line that never ends: one gibibyte of it is fed
/// and the decoder holds no more than its limit.
#[test]
fn a_gibibyte_line_with_no_line_end_does_not_grow_memory() {
    let limit = 64 * 1024;
    let mut decoder = ChunkDecoder::with_limits(Limits::default().max_event_bytes(limit));
    let chunk = Bytes::from(vec![b'x'; 1 << 20]);
    let mut errors = 0;
    let mut codec = Decoder::with_limits(Limits::default().max_event_bytes(limit));
    let mut buf = BytesMut::new();
    for _ in 0..1024 {
        decoder.push(chunk.clone());
        while let Some(result) = decoder.next_event().transpose() {
            assert!(matches!(
                result,
                Err(DecodeError::LineTooLarge { .. } | DecodeError::EventTooLarge { .. })
            ));
            errors += 1;
        }
        buf.extend_from_slice(&chunk);
        while let Some(result) = codec.decode(&mut buf).transpose() {
            assert!(result.is_err());
        }
        assert!(buf.len() <= limit, "codec holds {} bytes", buf.len());
    }
    assert_eq!(errors, 1, "one error for the one oversized line");
}
