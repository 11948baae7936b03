//! `check` through its streaming path: large recordings of every shape are
//! checked in memory bounded by the decoder limits plus the kept quotes,
//! never in proportion to the recording; and the streaming API agrees with
//! the in-memory one.

use std::io::Read;

use agent37_stream::check::{CheckOptions, Checker, check_bytes, check_reader};
use bytes::Bytes;

/// `len` bytes of `pattern` repeated, produced as they are read.
struct Generated {
    pattern: &'static [u8],
    at: usize,
    len: usize,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.len - self.at);
        for (i, byte) in buf[..n].iter_mut().enumerate() {
            *byte = self.pattern[(self.at + i) % self.pattern.len()];
        }
        self.at += n;
        Ok(n)
    }
}

const INPUT: usize = 8 << 20;
const LIMIT: usize = 256 << 10;

/// The most the decoder may hold: its buffer (at most twice its limit, as a
/// buffer grows by doubling) and a chunk or two.
const DECODER: usize = 2 * LIMIT + (128 << 10);
/// What kept lines may add: their budget, and slack.
const KEPT: usize = (4 << 20) + (256 << 10);

/// Checks `len` bytes of `pattern` pushed 64 KiB at a time and returns the
/// peak buffered bytes and the finding codes.
fn peak(pattern: &'static [u8], len: usize) -> (usize, Vec<&'static str>) {
    let options = CheckOptions::default().max_event_bytes(LIMIT);
    let mut input = Generated {
        pattern,
        at: 0,
        len,
    };
    let mut checker = Checker::new(&options);
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = input.read(&mut buf).expect("generated input");
        if n == 0 {
            break;
        }
        checker.push(Bytes::copy_from_slice(&buf[..n]));
    }
    let peak = checker.peak_buffered();
    let report = checker.finish();
    let mut codes: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    codes.dedup();
    (peak, codes)
}

#[test]
fn a_recording_with_no_line_end_is_held_up_to_the_limit_only() {
    let (peak, codes) = peak(b"x", INPUT);
    assert!(peak <= DECODER, "held {peak} bytes of {INPUT}");
    assert_eq!(codes, ["event-too-large", "missing-terminal"]);
}

#[test]
fn a_recording_of_line_ends_only_holds_next_to_nothing() {
    for pattern in [&b"\n"[..], b"\r\n", b"\r"] {
        let (peak, codes) = peak(pattern, INPUT / 4);
        assert!(peak <= 128 << 10, "held {peak} bytes");
        assert_eq!(codes, ["missing-terminal"]);
    }
}

#[test]
fn many_events_keep_a_bounded_number_of_lines() {
    let (peak, codes) = peak(
        b"event: response.reasoning.delta\ndata: {\"text\":\"hm\"}\n\n",
        INPUT,
    );
    assert!(peak <= DECODER + KEPT, "held {peak} bytes of {INPUT}");
    // The input ends inside an event.
    assert_eq!(
        codes,
        ["missing-created", "incomplete-event", "missing-terminal"]
    );
}

#[test]
fn long_lines_of_one_long_event_hold_the_event_limit_only() {
    let (peak, codes) = peak(b"data: 0123456789abcdef0123456789abcdef\n", INPUT);
    assert!(peak <= DECODER, "held {peak} bytes of {INPUT}");
    assert_eq!(
        codes,
        ["event-too-large", "missing-terminal"],
        "the whole recording is one block, too large"
    );
}

#[test]
fn reader_and_bytes_agree_and_quote_a_cut_long_line() {
    let mut recording = concat!(
        "event: response.created\n",
        "data: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n\n",
        "data: ",
    )
    .as_bytes()
    .to_vec();
    recording.extend(std::iter::repeat_n(b'y', 300_000));
    let from_bytes = check_bytes(&recording, &CheckOptions::default());
    let from_reader =
        check_reader(&recording[..], &CheckOptions::default().chunk_size(5)).expect("in memory");
    assert_eq!(from_bytes, from_reader);
    let entry = from_bytes.entry("long.sse");
    let end = entry.diagnostics.last().expect("missing-terminal");
    assert_eq!(
        (end.code.as_str(), end.line, end.column),
        ("missing-terminal", 4, 300_007)
    );
    let text = agent37_stream::check::human(&entry, &from_bytes.excerpts).to_string();
    // Both quotes of the 300 006-character line are cut to a width.
    assert!(text.starts_with("warning[incomplete-event]"), "{text}");
    assert!(text.contains("\n4 | data: yyyyyyyy"), "{text}");
    assert!(
        text.contains("\n4 | …yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n"),
        "{text}"
    );
    let quotes = text.lines().filter(|line| line.starts_with("4 |"));
    assert!(quotes.clone().count() == 2);
    assert!(
        quotes.clone().all(|line| line.chars().count() <= 106),
        "{text}"
    );
}

mod quoted_lines {
    use agent37_stream::check::{CheckOptions, check_bytes};
    use proptest::prelude::*;

    /// Each line of `bytes` with the offset where it starts, split the plain
    /// way over the whole recording (the streaming checker must agree).
    fn lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
        let mut at = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut lines = Vec::new();
        loop {
            match bytes[at..].iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    lines.push((at, &bytes[at..]));
                    return lines;
                }
                Some(len) => {
                    lines.push((at, &bytes[at..at + len]));
                    let end = at + len;
                    at = end
                        + if bytes[end..].starts_with(b"\r\n") {
                            2
                        } else {
                            1
                        };
                }
            }
        }
    }

    fn recording() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"event: response.created\n"[..]),
            Just(&b"data: {\"id\":\"c91d2a7e84f04b6f9a3d5e1c0b87f4a2\",\"instance_id\":\"i\",\"session_id\":\"s\"}\n"[..]),
            Just(&b"event: response.tool_call.started\ndata: {\"tool\":\"t\"}\n"[..]),
            Just(&b"event: response.completed\ndata: {\"output_text\":\"\",\"usage\":null}\n"[..]),
            Just(&b"event: response.x\xC3\xA9\xFF\tz\n"[..]),
            Just(&b"data: 0123456789012345678901234567890123456789012345678901234567890123456789"[..]),
            Just(&b": comment\n"[..]),
            Just(&b"\n"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\xEF\xBB\xBF"[..]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Every finding quotes exactly the line it points at, with the
        /// column counted on that line, at any chunk size and limit.
        #[test]
        fn every_finding_quotes_its_own_line(
            bytes in recording(),
            chunk in 1..40usize,
            limit in prop_oneof![Just(48usize), Just(100), Just(1 << 20)],
        ) {
            let options = CheckOptions::default().max_event_bytes(limit).chunk_size(chunk);
            let report = check_bytes(&bytes, &options);
            prop_assert_eq!(report.findings.len(), report.excerpts.len());
            let lines = lines(&bytes);
            for (finding, excerpt) in report.findings.iter().zip(&report.excerpts) {
                let index = usize::try_from(finding.position.line - 1).expect("small");
                let (start, line) = lines[index];
                let into = usize::try_from(finding.position.offset).expect("small") - start;
                let column = String::from_utf8_lossy(&line[..into.min(line.len())]).chars().count() as u64 + 1;
                prop_assert_eq!(excerpt.column, column, "{:?}", finding);
                let text = excerpt.text.as_deref().expect("recent lines are kept");
                prop_assert_eq!(text, String::from_utf8_lossy(line), "{:?}", finding);
                prop_assert!(!excerpt.cut && excerpt.skipped == 0);
            }
        }

        /// Long lines keep a head and a tail: the same ones at any chunk size.
        #[test]
        fn quotes_of_long_lines_do_not_depend_on_chunking(
            head in recording(),
            long in 700..2000usize,
            tail in recording(),
            chunk in 1..97usize,
            limit in prop_oneof![Just(1000usize), Just(1 << 20)],
        ) {
            let mut bytes = head;
            bytes.extend_from_slice(b"data: ");
            bytes.extend("é🚀x".chars().cycle().take(long).collect::<String>().bytes());
            bytes.extend(tail);
            let options = CheckOptions::default().max_event_bytes(limit);
            let whole = check_bytes(&bytes, &options);
            prop_assert_eq!(check_bytes(&bytes, &options.chunk_size(chunk)), whole);
        }
    }
}
