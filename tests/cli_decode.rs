//! `agent37-stream decode` against the conformance vectors, as a user runs it.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn decode(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent37-stream"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run agent37-stream");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn every_vector_decodes_to_its_events_at_any_chunk_size() {
    for vector in common::vectors() {
        for chunk in [None, Some("1"), Some("7")] {
            let args: Vec<&str> = chunk.map_or(vec![], |n| vec!["--chunk-size", n]);
            let output = decode(&args, &vector.input);
            assert!(output.status.success(), "{}: {:?}", vector.name, output);
            let got: Vec<(String, String, String)> = lines(&output)
                .iter()
                .map(|l| {
                    assert_eq!(
                        l.as_object().unwrap().len(),
                        4,
                        "exactly the four fields of §6"
                    );
                    (
                        l["event"].as_str().unwrap().to_owned(),
                        l["data"].as_str().unwrap().to_owned(),
                        l["id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(
                got, vector.expected,
                "{} at chunk size {chunk:?}",
                vector.name
            );
        }
    }
}

#[test]
fn lines_have_the_fields_of_protocol_section_6_in_order() {
    let output = decode(&[], b"event: e\nid: 7\ndata: d\n\n");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"event\":\"e\",\"data\":\"d\",\"id\":\"7\",\"retry\":null}\n"
    );
}

#[test]
fn each_line_carries_the_retry_in_force_at_dispatch() {
    let output = decode(
        &[],
        b"data: a\n\nretry: 250\ndata: b\n\nretry: x\ndata: c\n\n",
    );
    let retries: Vec<_> = lines(&output).iter().map(|l| l["retry"].clone()).collect();
    assert_eq!(retries, [serde_json::Value::Null, 250.into(), 250.into()]);
}

#[test]
fn a_file_argument_and_dash_read_the_same_stream() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/conformance/real/openai-chat-content.sse"
    );
    let from_file = decode(&[path], b"");
    let from_stdin = decode(&["-"], &std::fs::read(path).unwrap());
    assert!(from_file.status.success());
    assert_eq!(from_file.stdout, from_stdin.stdout);
    assert_eq!(lines(&from_file).len(), 18);
}

#[test]
fn an_oversized_event_is_reported_and_skipped_with_exit_1() {
    let output = decode(
        &["--max-event-bytes", "16"],
        b"data: small\n\ndata: far too large for the limit\n\ndata: after\n\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let data: Vec<_> = lines(&output)
        .iter()
        .map(|l| l["data"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data, ["small", "after"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("16 bytes"),
        "{stderr}"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(decode(&["/no/such/file.sse"], b"").status.code(), Some(2));
    assert_eq!(decode(&["--chunk-size", "0"], b"").status.code(), Some(2));
    assert_eq!(decode(&["--bogus"], b"").status.code(), Some(2));
}

#[test]
fn a_discarded_unterminated_last_event_is_reported_on_stderr() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/conformance/real/anthropic-basic-response.sse"
    );
    let output = decode(&[path], b"");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output).len(), 8);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("anthropic-basic-response.sse: the stream ends inside an event")
            && stderr.contains("49 bytes from line 25 (byte 997) discarded"),
        "{stderr}"
    );

    let output = decode(&[], b"data: 1\n\ndata: 2\ndata: 3");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(lines(&output).len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("<stdin>: the stream ends inside an event")
            && stderr.contains("from line 3 (byte 9)"),
        "{stderr}"
    );
    // A stream that ends cleanly gets no such line.
    assert!(decode(&[], b"data: 1\n\n").stderr.is_empty());
}

#[test]
fn raising_max_event_bytes_raises_the_line_limit() {
    let mut stream = b"data: ".to_vec();
    stream.extend(std::iter::repeat_n(b'x', 20 << 20));
    stream.extend_from_slice(b"\n\n");
    let default = decode(&[], &stream);
    assert_eq!(default.status.code(), Some(1));
    assert!(lines(&default).is_empty());
    let raised = decode(&["--max-event-bytes", "33554432"], &stream);
    assert_eq!(
        raised.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&raised.stderr)
    );
    let events = lines(&raised);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"].as_str().map(str::len), Some(20 << 20));
}
