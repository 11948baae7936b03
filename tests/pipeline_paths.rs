//! The pipeline reads a delta in its plain shape straight from the block's
//! bytes, and every other block through an `sse::Event`. Differential
//! tests: for any stream, however it is chunked, the pipeline's steps, its
//! folded turn and its replay verdicts equal those of the event path
//! (`ChunkDecoder` events pushed one by one into a `TurnTracker`), and the
//! typed decoder's events equal `ResponseEvent::from_sse` of each event.

use agent37_stream::protocol::decoder::ResponseDecoder;
use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::pipeline::{Pipeline, Step, TurnTracker};
use agent37_stream::sse::{ChunkDecoder, Limits};
use bytes::Bytes;
use proptest::prelude::*;

/// A delta's text: plain words, escapes (well formed or not), quotes,
/// control characters, non-ASCII text and invalid UTF-8, short and long.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => "[a-z ]{1,12}".prop_map(String::into_bytes),
        1 => Just(b"caf\xC3\xA9 \xF0\x9F\x99\x82".to_vec()),
        1 => Just(br#"\n"#.to_vec()),
        1 => Just(br#"\"q\""#.to_vec()),
        1 => Just(br#"\u00e9\ud83d\ude42"#.to_vec()),
        1 => Just(br#"\ud83d"#.to_vec()),
        1 => Just(br#"\x"#.to_vec()),
        1 => Just(b"\"".to_vec()),
        1 => Just(b"\t".to_vec()),
        1 => Just(b"\xFF".to_vec()),
        1 => Just(b"\xC3".to_vec()),
        1 => Just("a longer run of words, past thirty bytes, held shared".as_bytes().to_vec()),
        1 => Just(br#"an escaped run \"past sixty-four bytes\", decoded \u00e9lsewhere than on the stack"#.to_vec()),
        1 => Just(vec![b'w'; 5000]),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

/// One block of a stream: mostly deltas in their plain shape, and every
/// shape around it that must take the event path.
fn block() -> impl Strategy<Value = Vec<u8>> {
    let delta_name = prop_oneof![
        Just("response.output_text.delta"),
        Just("response.reasoning.delta"),
    ];
    prop_oneof![
        8 => (delta_name.clone(), text(), 0..3usize).prop_map(|(name, text, end)| {
            // The plain shape, with any of the three line ends.
            let end = ["\n", "\r\n", "\r"][end];
            [format!("event: {name}{end}data: {{\"text\":\"").as_bytes(), &text, format!("\"}}{end}{end}").as_bytes()].concat()
        }),
        // Shapes around the plain one.
        1 => (delta_name.clone(), text()).prop_map(|(name, text)| {
            [format!("event:{name}\r\nid: 7\r\ndata: {{ \"text\": \"").as_bytes(), &text, b"\" }\r\n\r\n"].concat()
        }),
        1 => (delta_name.clone(), text()).prop_map(|(name, text)| {
            [format!("event: {name}\ndata: {{\"text\":\"").as_bytes(), &text, b"\"\ndata: }\n\n"].concat()
        }),
        1 => text().prop_map(|text| [b"data: {\"text\":\"", &text[..], b"\"}\n\n"].concat()),
        1 => (delta_name, text()).prop_map(|(name, text)| {
            [format!(": note\nevent: {name}\ndata: {{\"text\":\"").as_bytes(), &text, b"\",\"x\":1}\n\n"].concat()
        }),
        1 => Just(b"event: response.output_text.delta\ndata: {\"text\":1}\n\n".to_vec()),
        1 => Just(b"event: response.output_text.deltas\ndata: {\"text\":\"a\"}\n\n".to_vec()),
        1 => Just(b"event: response.created\ndata: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n".to_vec()),
        1 => Just(b"event: response.tool_call.started\ndata: {\"tool\":\"browser\",\"label\":\"Searching\"}\n\n".to_vec()),
        1 => Just(b"event: response.tool_call.completed\ndata: {\"tool\":\"browser\",\"duration_ms\":12}\n\n".to_vec()),
        1 => Just(b"event: response.completed\ndata: {\"output_text\":\"done\",\"usage\":null}\n\n".to_vec()),
        1 => Just(b"id: 42\n\n".to_vec()),
    ]
}

/// A stream and where to cut it into chunks.
fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    proptest::collection::vec(block(), 0..24)
        .prop_map(|blocks| blocks.concat())
        .prop_flat_map(|stream| {
            let len = stream.len();
            let cuts = proptest::collection::vec(0..=len, 0..10).prop_map(|mut cuts| {
                cuts.sort_unstable();
                cuts
            });
            (Just(stream), cuts)
        })
}

/// The limits a decoder runs under: the defaults, or small enough that
/// some events and lines pass them.
fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        2 => Just(Limits::default()),
        1 => (40usize..6000).prop_map(|max| Limits::default().max_event_bytes(max)),
        1 => (20usize..3000).prop_map(|max| Limits::default().max_line_bytes(max)),
    ]
}

fn chunks(stream: &[u8], cuts: &[usize]) -> Vec<Bytes> {
    let mut from = 0;
    let mut out = Vec::new();
    for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
        out.push(Bytes::copy_from_slice(&stream[from..to]));
        from = to;
    }
    out
}

/// The pipeline's steps for one connection's chunks, its end left out.
fn pipeline_steps(pipeline: &mut Pipeline, chunks: &[Bytes]) -> Vec<Step> {
    let mut steps = Vec::new();
    for chunk in chunks {
        pipeline.push(chunk.clone());
        while let Some(step) = pipeline.next_step() {
            steps.push(step);
        }
    }
    pipeline.end_input();
    while let Some(step) = pipeline.next_step() {
        if !matches!(step, Step::Ended(_)) {
            steps.push(step);
        }
    }
    steps
}

/// The same through the event path.
fn tracker_steps(tracker: &mut TurnTracker, chunks: &[Bytes]) -> Vec<Step> {
    let mut decoder = ChunkDecoder::new();
    let mut steps = Vec::new();
    for chunk in chunks {
        decoder.push(chunk.clone());
        while let Some(event) = decoder.next_event().expect("within limits") {
            steps.push(tracker.push(&event));
        }
    }
    decoder.finish();
    while let Some(event) = decoder.next_event().expect("within limits") {
        steps.push(tracker.push(&event));
    }
    steps
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_pipeline_reads_blocks_as_the_event_path_does(
        (stream, cuts) in stream_and_cuts(),
        dropped in any::<bool>(),
    ) {
        // The first connection drops at the last cut (maybe inside an
        // event), or runs to the end.
        let until = match (dropped, cuts.last()) {
            (true, Some(&cut)) => cut,
            _ => stream.len(),
        };
        let first: Vec<usize> = cuts.iter().copied().filter(|&c| c < until).collect();
        let chunks = chunks(&stream[..until], &first);
        let mut pipeline = Pipeline::default();
        let mut tracker = TurnTracker::default();
        prop_assert_eq!(pipeline_steps(&mut pipeline, &chunks), tracker_steps(&mut tracker, &chunks));
        // The replay after a reconnect, whole and chunked otherwise: the
        // same verdicts.
        pipeline.reconnect();
        tracker.reconnect();
        let whole = [Bytes::from(stream.clone())];
        prop_assert_eq!(pipeline_steps(&mut pipeline, &whole), tracker_steps(&mut tracker, &whole));
        prop_assert_eq!(pipeline.turn(), tracker.turn());
    }

    #[test]
    fn the_typed_decoder_reads_blocks_as_from_sse_does(
        (stream, cuts) in stream_and_cuts(),
        limits in limits(),
    ) {
        let chunks = chunks(&stream, &cuts);
        let mut typed = ResponseDecoder::with_limits(limits);
        let mut decoder = ChunkDecoder::with_limits(limits);
        // Push by push: the same events and limit errors, at the same time.
        let mut got = Vec::new();
        let mut want = Vec::new();
        let mut drain = |typed: &mut ResponseDecoder, decoder: &mut ChunkDecoder| {
            while let Some(event) = typed.next_event().transpose() {
                got.push(event.map(|e| (e.event, e.position, e.id)).map_err(|e| e.to_string()));
            }
            while let Some(event) = decoder.next_event().transpose() {
                want.push(
                    event
                        .map(|e| (ResponseEvent::from_sse(&e), e.position(), e.id_bytes().clone()))
                        .map_err(|e| e.to_string()),
                );
            }
            got.push(Err("push".to_owned()));
            want.push(Err("push".to_owned()));
        };
        for chunk in &chunks {
            typed.push(chunk.clone());
            decoder.push(chunk.clone());
            drain(&mut typed, &mut decoder);
        }
        typed.finish();
        decoder.finish();
        drain(&mut typed, &mut decoder);
        prop_assert_eq!(got, want);
        prop_assert_eq!(typed.incomplete(), decoder.incomplete());
        prop_assert_eq!(typed.end_position(), decoder.end_position());
    }
}
