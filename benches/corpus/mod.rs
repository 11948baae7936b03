//! Deterministic event-stream corpora shared by the benches and the
//! allocation test (`#[path]`-included, so every user sees the same bytes).
//!
//! Each corpus remembers where the server's writes ended, so a bench can
//! feed a decoder "one chunk per write" as well as fixed-size reads.
#![allow(dead_code)]

use bytes::Bytes;

pub mod turn;

/// The criterion settings every bench uses. Each sample decodes megabytes,
/// so few samples give tight intervals and a whole bench stays within a few
/// minutes on a shared machine.
pub fn criterion_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
}

/// One named corpus.
pub struct Corpus {
    pub name: &'static str,
    pub bytes: Bytes,
    /// Events a conforming decoder dispatches (heartbeats are not events).
    pub events: usize,
    /// Total bytes of dispatched data, a second check that decoders agree.
    pub data_bytes: usize,
    /// End offset of each write the server made (one per event or heartbeat).
    pub writes: Vec<usize>,
}

impl Corpus {
    /// The corpus cut into reads of `size` bytes (the last one shorter).
    pub fn reads(&self, size: usize) -> Vec<Bytes> {
        (0..self.bytes.len())
            .step_by(size)
            .map(|from| self.bytes.slice(from..(from + size).min(self.bytes.len())))
            .collect()
    }

    /// The corpus cut as the server wrote it: one chunk per write.
    pub fn write_chunks(&self) -> Vec<Bytes> {
        let mut from = 0;
        self.writes
            .iter()
            .map(|&to| {
                let chunk = self.bytes.slice(from..to);
                from = to;
                chunk
            })
            .collect()
    }

    /// The chunks for a chunking name used in bench ids.
    pub fn chunks(&self, chunking: Chunking) -> Vec<Bytes> {
        match chunking {
            Chunking::Read(size) => self.reads(size),
            Chunking::Writes => self.write_chunks(),
        }
    }

    pub fn mib(&self) -> f64 {
        self.bytes.len() as f64 / (1024.0 * 1024.0)
    }
}

/// How a stream arrives at the decoder.
#[derive(Clone, Copy, Debug)]
pub enum Chunking {
    /// Fixed-size reads (a socket read, an HTTP client's buffer).
    Read(usize),
    /// One chunk per server write (an HTTP/1.1 chunk or HTTP/2 DATA frame
    /// per event, as streaming servers flush).
    Writes,
}

impl std::fmt::Display for Chunking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Chunking::Read(size) if size % 1024 == 0 => write!(f, "read{}k", size / 1024),
            Chunking::Read(size) => write!(f, "read{size}"),
            Chunking::Writes => f.write_str("per-write"),
        }
    }
}

/// SplitMix64: tiny, seedable, good enough to vary text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// Word-like text as it appears inside a JSON string: mostly ASCII, some
/// escapes and some multi-byte UTF-8, like a model's output.
fn json_text(rng: &mut Rng, approx_len: usize) -> String {
    const WORDS: &[&str] = &[
        "the",
        "stream",
        "token",
        "agent",
        "response",
        "delta",
        "tool",
        "call",
        "result",
        "of",
        "and",
        "a",
        "to",
        "is",
        "in",
        "that",
        "file",
        "search",
        "résumé",
        "naïve",
        "—",
        "🙂",
        "\\\"quoted\\\"",
        "\\n",
        "line",
        "buffer",
        "parser",
        "chunk",
        "Größe",
        "数据",
    ];
    let mut text = String::with_capacity(approx_len + 16);
    while text.len() < approx_len {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(WORDS[rng.below(WORDS.len())]);
    }
    text
}

/// Builds an event stream one server write at a time.
struct Writer {
    out: Vec<u8>,
    eol: &'static [u8],
    events: usize,
    data_bytes: usize,
    writes: Vec<usize>,
}

impl Writer {
    fn new(eol: &'static [u8]) -> Self {
        Writer {
            out: Vec::new(),
            eol,
            events: 0,
            data_bytes: 0,
            writes: Vec::new(),
        }
    }

    fn line(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.out.extend_from_slice(part);
        }
        self.out.extend_from_slice(self.eol);
    }

    /// One event: an `event` line, then each entry of `data` as a `data`
    /// line, then the blank line; `comments` go between the fields.
    fn event(&mut self, event_type: &str, data: &[&str], comments: &[&str]) {
        self.line(&[b"event: ", event_type.as_bytes()]);
        for comment in comments {
            self.line(&[b":", comment.as_bytes()]);
        }
        for line in data {
            self.line(&[b"data: ", line.as_bytes()]);
        }
        self.line(&[]);
        self.events += 1;
        self.data_bytes += data.iter().map(|l| l.len()).sum::<usize>() + data.len() - 1;
        self.writes.push(self.out.len());
    }

    /// A heartbeat: a comment block on its own, which dispatches nothing.
    fn heartbeat(&mut self, text: &str) {
        self.line(&[b":", text.as_bytes()]);
        self.line(&[]);
        self.writes.push(self.out.len());
    }

    fn finish(self, name: &'static str) -> Corpus {
        Corpus {
            name,
            bytes: Bytes::from(self.out),
            events: self.events,
            data_bytes: self.data_bytes,
            writes: self.writes,
        }
    }
}

const CREATED: &str = r#"{"id":"9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c","instance_id":"inst_7Hq2","session_id":"sess_4kP9"}"#;
const DELTA: &str = "response.output_text.delta";

/// The terminal frame. A real one carries the whole text in
/// `output_text`; the deltas corpora carry a summary instead, so that one
/// multi-megabyte event does not dilute a corpus of small ones (a contract
/// checker reports it as `output-text-mismatch`, once).
fn completed(output_text: &str, output_tokens: usize) -> String {
    format!(
        r#"{{"output_text":"{output_text}","usage":{{"input_tokens":1234,"output_tokens":{output_tokens},"cost_usd":0.0123}}}}"#
    )
}

/// `response.created`, up to `delta_count` text deltas of about 75 bytes
/// each on the wire (fewer if the stream reaches `max_bytes` first),
/// `response.completed`. With `heartbeats`, 1–3 `: keep-alive` blocks go
/// before each delta and comment lines inside every fourth one.
fn agent_turn(
    name: &'static str,
    eol: &'static [u8],
    delta_count: usize,
    max_bytes: usize,
    heartbeats: bool,
) -> Corpus {
    let mut rng = Rng(0x5EED_0000 ^ delta_count as u64);
    let mut w = Writer::new(eol);
    w.event("response.created", &[CREATED], &[]);
    let mut text_len = 0;
    let mut deltas = 0;
    for i in 0..delta_count {
        if w.out.len() >= max_bytes {
            break;
        }
        deltas += 1;
        // The frame around the text is 53 bytes with LF line ends; the
        // text averages 22, so an event is about 75 bytes.
        let len = rng.between(6, 34);
        let text = json_text(&mut rng, len);
        text_len += text.len();
        let data = format!(r#"{{"text":"{text}"}}"#);
        if heartbeats {
            for _ in 0..rng.between(1, 3) {
                w.heartbeat(" keep-alive");
            }
            let comments: &[&str] = if i % 4 == 0 { &[" ping", ""] } else { &[] };
            w.event(DELTA, &[&data], comments);
        } else {
            w.event(DELTA, &[&data], &[]);
        }
    }
    let summary = format!("({text_len} bytes of text in {deltas} deltas)");
    w.event("response.completed", &[&completed(&summary, deltas)], &[]);
    w.finish(name)
}

/// ~100 k agent-like text deltas of ~75 bytes, between a created and a
/// completed frame, LF line ends.
pub fn deltas() -> Corpus {
    agent_turn("deltas", b"\n", 100_000, usize::MAX, false)
}

/// The deltas with CRLF line ends.
pub fn crlf() -> Corpus {
    agent_turn("crlf", b"\r\n", 100_000, usize::MAX, false)
}

/// Comment-heavy: 1–3 `: keep-alive` heartbeat blocks before each delta,
/// and comment lines inside every fourth event.
pub fn comments() -> Corpus {
    agent_turn("comments", b"\n", 50_000, usize::MAX, true)
}

/// A deltas stream of about `size` bytes (whole events, the last one a
/// `response.completed`).
pub fn deltas_of_size(size: usize) -> Corpus {
    agent_turn(
        "deltas-sized",
        b"\n",
        usize::MAX,
        size.saturating_sub(200),
        false,
    )
}

/// 64 single-line JSON events of 64 KiB each (`response.reasoning.delta`:
/// a long thought, a big tool result), between a created and a completed
/// frame.
pub fn large() -> Corpus {
    let mut rng = Rng(0x1A26_E000);
    let mut w = Writer::new(b"\n");
    w.event("response.created", &[CREATED], &[]);
    for _ in 0..64 {
        let (prefix, suffix) = (r#"{"text":""#, r#""}"#);
        let target = 64 * 1024 - prefix.len() - suffix.len();
        let mut text = json_text(&mut rng, target);
        // Cut back to the target on a char boundary, never inside an escape.
        while text.len() > target || text.ends_with('\\') {
            text.pop();
        }
        let data = format!("{prefix}{text}{suffix}");
        w.event("response.reasoning.delta", &[&data], &[]);
    }
    w.event("response.completed", &[&completed("", 64 * 16 * 1024)], &[]);
    w.finish("large")
}

/// Data spread over many `data` lines: tool calls whose payloads are
/// pretty-printed JSON, one line per `data` field, 4–32 lines per event.
pub fn multiline() -> Corpus {
    let mut rng = Rng(0x3017_1E00);
    let mut w = Writer::new(b"\n");
    w.event("response.created", &[CREATED], &[]);
    for i in 0..8192 {
        let (event_type, head) = if i % 2 == 0 {
            (
                "response.tool_call.started",
                r#"  "tool": "search", "label": "Searching the web","#.to_owned(),
            )
        } else {
            let ms = rng.between(1, 5000);
            (
                "response.tool_call.completed",
                format!(r#"  "tool": "search", "duration_ms": {ms},"#),
            )
        };
        let fields = rng.between(2, 30);
        let mut lines = vec!["{".to_owned(), head];
        for f in 0..fields {
            let len = rng.between(10, 50);
            let comma = if f + 1 < fields { "," } else { "" };
            lines.push(format!(
                r#"  "field_{f}": "{}"{comma}"#,
                json_text(&mut rng, len)
            ));
        }
        lines.push("}".to_owned());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        w.event(event_type, &refs, &[]);
    }
    w.event("response.completed", &[&completed("", 0)], &[]);
    w.finish("multiline")
}

/// Every named corpus, in table order.
pub fn all() -> Vec<Corpus> {
    vec![deltas(), large(), multiline(), crlf(), comments()]
}
