//! The SSE layer as a client uses it: async front ends, zero-copy, errors
//! with positions, and what a reconnecting client needs.

use agent37_stream::sse::{
    ChunkDecoder, DecodeError, Decoder, EventReader, EventStream, EventStreamError, Limits,
    Position,
};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio_util::codec::{Decoder as _, FramedRead};
use tokio_util::io::StreamReader;

const TURN: &[u8] = b"event: response.created\r\ndata: {\"id\":\"a\"}\r\n\r\n: keep-alive\r\n\r\nevent: response.output_text.delta\r\ndata: {\"text\":\"Hi\"}\r\n\r\n";

#[tokio::test]
async fn framed_read_over_an_async_reader() {
    let (mut writer, reader) = tokio::io::duplex(7);
    let write = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        writer.write_all(TURN).await.unwrap();
    });
    let events: Vec<_> = FramedRead::new(reader, Decoder::new())
        .try_collect()
        .await
        .unwrap();
    write.await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event_type().to_owned()).collect();
    assert_eq!(kinds, ["response.created", "response.output_text.delta"]);
    assert_eq!(
        events[1].position(),
        Position {
            offset: 61,
            line: 6
        }
    );
}

#[tokio::test]
async fn framed_read_over_an_http_body_stream() {
    // What reqwest's `bytes_stream()` gives: a stream of `Result<Bytes, E>`.
    let body = stream::iter(
        TURN.chunks(5)
            .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))),
    );
    let events: Vec<_> = FramedRead::new(StreamReader::new(body), Decoder::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data(), r#"{"text":"Hi"}"#);
}

#[tokio::test]
async fn event_stream_reports_transport_errors_after_the_events_before_them() {
    let body = stream::iter([
        Ok(Bytes::from_static(b"data: one\n\ndata: tw")),
        Err("connection reset"),
    ]);
    let mut events = EventStream::new(body);
    assert_eq!(events.next().await.unwrap().unwrap().data(), "one");
    assert!(matches!(
        events.next().await,
        Some(Err(EventStreamError::Transport("connection reset")))
    ));
}

#[tokio::test]
async fn event_stream_reports_the_discarded_tail_at_the_end() {
    let body = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(
        b"data: one\n\ndata: unfinished",
    ))]);
    let mut events = EventStream::new(body);
    assert_eq!(events.next().await.unwrap().unwrap().data(), "one");
    assert!(events.next().await.is_none());
    let tail = events.decoder().incomplete().expect("tail reported");
    assert_eq!(
        tail.position,
        Position {
            offset: 11,
            line: 3
        }
    );
    assert_eq!(tail.bytes, 16);
}

#[test]
fn an_event_inside_one_chunk_is_not_copied() {
    let chunk = Bytes::from_static(
        b"event: delta\ndata: {\"text\":\"zero-copy, and too long to hold inline\"}\n\n",
    );
    let mut decoder = ChunkDecoder::new();
    decoder.push(chunk.clone());
    let event = decoder.next_event().unwrap().unwrap();
    let range = chunk.as_ptr_range();
    assert!(
        range.contains(&event.data_bytes().as_ptr()),
        "data is a slice of the chunk"
    );
    // Types come from the decoder's cache of recent ones (short ones held
    // inline), not from the chunk: an event does not keep its chunk alive
    // for its type.
    assert!(!range.contains(&event.explicit_type().unwrap().as_bytes().as_ptr()));
    let chunk = Bytes::from_static(b"event: delta\ndata: again, and too long to hold inline\n\n");
    decoder.push(chunk.clone());
    let event = decoder.next_event().unwrap().unwrap();
    assert_eq!(event.event_type(), "delta");
    assert!(chunk.as_ptr_range().contains(&event.data_bytes().as_ptr()));
    // Short data is copied inline: cheaper than sharing the chunk.
    let chunk = Bytes::from_static(b"data: short\n\n");
    decoder.push(chunk.clone());
    let event = decoder.next_event().unwrap().unwrap();
    assert_eq!(event.data(), "short");
    assert!(!chunk.as_ptr_range().contains(&event.data_bytes().as_ptr()));
}

#[test]
fn an_event_inside_the_read_buffer_is_not_copied() {
    let mut buf =
        BytesMut::from(&b"data: {\"text\":\"zero-copy, and too long to hold inline\"}\n\n"[..]);
    let range = buf.as_ptr_range();
    let event = Decoder::new().decode(&mut buf).unwrap().unwrap();
    assert!(range.contains(&event.data_bytes().as_ptr()));
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    let events: Vec<_> = EventReader::new(&b"event: a\xFFb\ndata: \xF0\x9F\x98\n\n"[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events[0].event_type(), "a\u{FFFD}b");
    assert_eq!(events[0].data(), "\u{FFFD}");
}

#[test]
fn an_id_with_nul_is_ignored_and_the_last_id_persists() {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::from_static(
        b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\ndata: c\n\nid\ndata: d\n\n",
    ));
    let ids: Vec<_> = std::iter::from_fn(|| decoder.next_event().unwrap())
        .map(|e| e.id().to_owned())
        .collect();
    assert_eq!(ids, ["1", "1", "1", ""]);
}

#[test]
fn last_event_id_and_retry_are_exact_between_reads() {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::from_static(b"retry: 1500\nid: 41\ndata: partial"));
    assert!(decoder.next_event().unwrap().is_none());
    // The `id` line is complete though its event is not: a client that
    // reconnects now sends Last-Event-ID: 41.
    assert_eq!(decoder.last_event_id(), "41");
    assert_eq!(decoder.retry(), Some(1500));
}

#[test]
fn an_oversized_event_is_a_typed_error_with_limit_and_position_and_decoding_goes_on() {
    let limits = Limits::default().max_event_bytes(32);
    let input = b": hello\ndata: ok\n\nevent: big\ndata: 0123456789012345678901234567890123456789\n\ndata: next\n\n";
    let mut reader = EventReader::with_limits(&input[..], limits);
    assert_eq!(reader.next().unwrap().unwrap().data(), "ok");
    match reader.next().unwrap() {
        Err(DecodeError::EventTooLarge { limit, position }) => {
            assert_eq!(limit, 32);
            assert_eq!(
                position,
                Position {
                    offset: 18,
                    line: 4
                }
            );
        }
        other => panic!("expected EventTooLarge, got {other:?}"),
    }
    assert_eq!(reader.next().unwrap().unwrap().data(), "next");
    assert!(reader.next().is_none());
}

#[test]
fn an_oversized_line_is_a_typed_error_even_in_a_comment() {
    let limits = Limits::default().max_line_bytes(10);
    let mut decoder = ChunkDecoder::with_limits(limits);
    decoder.push(Bytes::from_static(
        b"data: a\n\n: a comment longer than ten\n\ndata: b\n\n",
    ));
    assert_eq!(decoder.next_event().unwrap().unwrap().data(), "a");
    let error = decoder.next_event().unwrap_err();
    assert!(
        matches!(error, DecodeError::LineTooLarge { limit: 10, .. }),
        "{error}"
    );
    assert_eq!(error.position(), Some(Position { offset: 9, line: 3 }));
    assert_eq!(decoder.next_event().unwrap().unwrap().data(), "b");
}

#[test]
fn a_stream_that_ends_mid_line_discards_the_event_and_says_where() {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::from_static(
        b"data: whole\n\n: note\nevent: x\ndata: cut",
    ));
    assert_eq!(decoder.next_event().unwrap().unwrap().data(), "whole");
    assert!(decoder.next_event().unwrap().is_none());
    assert!(
        decoder.incomplete().is_none(),
        "nothing is discarded before the end"
    );
    decoder.finish();
    assert!(decoder.next_event().unwrap().is_none());
    let tail = decoder.incomplete().unwrap();
    assert_eq!(
        tail.position,
        Position {
            offset: 20,
            line: 4
        }
    );
    assert_eq!(tail.bytes, 18);
}

#[test]
fn a_trailing_comment_is_not_an_incomplete_event() {
    let mut decoder = ChunkDecoder::new();
    decoder.push(Bytes::from_static(b"data: a\n\n: bye"));
    decoder.finish();
    while decoder.next_event().unwrap().is_some() {}
    assert_eq!(decoder.incomplete(), None);
}

#[test]
fn positions_count_lines_of_every_line_end_kind() {
    let input = b"\xEF\xBB\xBFdata: 1\r\n\r\ndata: 2\r\rdata: 3\n\n";
    let events: Vec<_> = EventReader::new(&input[..])
        .collect::<Result<_, _>>()
        .unwrap();
    let positions: Vec<_> = events
        .iter()
        .map(|e| (e.position().line, e.position().offset))
        .collect();
    assert_eq!(positions, [(1, 3), (3, 14), (5, 23)]);
}
