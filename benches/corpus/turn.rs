//! A realistic agent turn, for the typed layer's benches and allocation
//! tests: what a client of the Responses contract reads, event for event.
//!
//! `response.created`; rounds of reasoning deltas, tool calls and output
//! text deltas (1–4 words each, some with JSON escapes, some non-ASCII);
//! a final `response.completed` whose `output_text` is the whole answer,
//! as the contract has it. Unlike the `deltas` corpus, the terminal event
//! is the real one, megabyte and all: a typed client parses it too.
//!
//! The generator keeps the decoded text beside the JSON it writes, so a
//! bench can check that a client folded exactly the expected answer.

use super::{CREATED, Corpus, Rng, Writer};

/// Words as they appear in a JSON string, with their decoded text. Mostly
/// ASCII; a few escapes (`\"`, `\n`, `\u00e9`) and raw multi-byte UTF-8
/// (accents, CJK, emoji), as a model's output has them.
const WORDS: &[(&str, &str)] = &[
    ("the", "the"),
    ("stream", "stream"),
    ("token", "token"),
    ("agent", "agent"),
    ("response", "response"),
    ("file", "file"),
    ("search", "search"),
    ("result", "result"),
    ("of", "of"),
    ("and", "and"),
    ("a", "a"),
    ("to", "to"),
    ("is", "is"),
    ("in", "in"),
    ("that", "that"),
    ("with", "with"),
    ("we", "we"),
    ("function", "function"),
    ("returns", "returns"),
    ("value,", "value,"),
    ("line.", "line."),
    ("buffer", "buffer"),
    ("parser", "parser"),
    ("chunk", "chunk"),
    ("for", "for"),
    ("this", "this"),
    ("it", "it"),
    ("résumé", "résumé"),
    ("日本", "日本"),
    ("🙂", "🙂"),
    ("naïve", "naïve"),
    (r#"\"quoted\""#, "\"quoted\""),
    (r"end.\n", "end.\n"),
    (r"caf\u00e9", "café"),
    (r"\n\n", "\n\n"),
];

/// Tools and their labels, as `response.tool_call.started` carries them.
const TOOLS: &[(&str, &str)] = &[
    ("browser", "Searching the web"),
    ("python", "Running code"),
    ("files", "Reading the workspace"),
    ("shell", "Running a command"),
];

/// The turn, with what a client should make of it.
pub struct Turn {
    pub corpus: Corpus,
    /// The concatenated output text deltas, decoded: also the terminal
    /// event's `output_text`.
    pub output_text: String,
    /// The concatenated reasoning deltas, decoded.
    pub reasoning: String,
    /// Output text and reasoning deltas.
    pub deltas: usize,
    /// Deltas whose JSON has an escape (their text cannot be borrowed).
    pub escaped_deltas: usize,
    /// Deltas with non-ASCII text.
    pub non_ascii_deltas: usize,
    /// `response.tool_call.*` events.
    pub tool_events: usize,
}

/// What the generator is asked for.
struct Shape {
    name: &'static str,
    seed: u64,
    /// Stop opening rounds once the turn has this many events.
    events: usize,
    tool_calls: bool,
}

/// The turn: ~100 k events, of which ~2 % are tool calls.
pub fn turn() -> Turn {
    generate(Shape {
        name: "turn",
        seed: 0x7E57_0001,
        events: 100_000,
        tool_calls: true,
    })
}

/// The same rounds without tool calls: deltas only between the created and
/// completed events (allocation counts per delta).
pub fn turn_deltas() -> Turn {
    generate(Shape {
        name: "turn-deltas",
        seed: 0x7E57_0002,
        events: 100_000,
        tool_calls: false,
    })
}

/// Accumulates one kind of delta text, JSON and decoded.
struct Text {
    json: String,
    decoded: String,
}

impl Text {
    /// 1–4 words (a space before each but the text's first), returned as
    /// the delta's JSON string content.
    fn delta(&mut self, rng: &mut Rng) -> String {
        let mut json = String::new();
        for _ in 0..rng.between(1, 4) {
            if !self.decoded.is_empty() || !json.is_empty() {
                json.push(' ');
                self.decoded.push(' ');
            }
            let (word_json, word) = WORDS[rng.below(WORDS.len())];
            json.push_str(word_json);
            self.decoded.push_str(word);
        }
        self.json.push_str(&json);
        json
    }
}

fn generate(shape: Shape) -> Turn {
    let mut rng = Rng(shape.seed);
    let mut w = Writer::new(b"\n");
    let mut output = Text {
        json: String::new(),
        decoded: String::new(),
    };
    let mut reasoning = Text {
        json: String::new(),
        decoded: String::new(),
    };
    let (mut deltas, mut escaped_deltas, mut non_ascii_deltas, mut tool_events) = (0, 0, 0, 0);
    let mut delta = |w: &mut Writer, rng: &mut Rng, name: &str, text: &mut Text| {
        let json = text.delta(rng);
        deltas += 1;
        escaped_deltas += usize::from(json.contains('\\'));
        non_ascii_deltas += usize::from(!json.is_ascii());
        w.event(name, &[&format!(r#"{{"text":"{json}"}}"#)], &[]);
    };
    w.event("response.created", &[CREATED], &[]);
    while w.events < shape.events {
        for _ in 0..rng.between(5, 40) {
            delta(&mut w, &mut rng, "response.reasoning.delta", &mut reasoning);
        }
        if shape.tool_calls && rng.below(2) == 0 {
            // One call, or two at once; each closes in the order it opened.
            let calls: Vec<(&str, &str)> = (0..rng.between(1, 2))
                .map(|_| TOOLS[rng.below(TOOLS.len())])
                .collect();
            for (tool, label) in &calls {
                w.event(
                    "response.tool_call.started",
                    &[&format!(r#"{{"tool":"{tool}","label":"{label}"}}"#)],
                    &[],
                );
            }
            for (tool, _) in &calls {
                let data = if rng.below(8) == 0 {
                    (
                        "response.tool_call.failed",
                        format!(r#"{{"tool":"{tool}","error":"timed out after 30 s"}}"#),
                    )
                } else {
                    let ms = rng.between(5, 20_000);
                    (
                        "response.tool_call.completed",
                        format!(r#"{{"tool":"{tool}","duration_ms":{ms}}}"#),
                    )
                };
                w.event(data.0, &[&data.1], &[]);
            }
            tool_events += 2 * calls.len();
        }
        for _ in 0..rng.between(10, 80) {
            delta(&mut w, &mut rng, "response.output_text.delta", &mut output);
        }
    }
    let completed = format!(
        r#"{{"output_text":"{}","usage":{{"input_tokens":18234,"output_tokens":{deltas},"cost_usd":0.2481}}}}"#,
        output.json
    );
    w.event("response.completed", &[&completed], &[]);
    Turn {
        corpus: w.finish(shape.name),
        output_text: output.decoded,
        reasoning: reasoning.decoded,
        deltas,
        escaped_deltas,
        non_ascii_deltas,
        tool_events,
    }
}
