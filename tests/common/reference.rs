//! A deliberately simple model of the WHATWG event-stream rules: cut the
//! whole stream into lines, decode each, interpret each. No incrementality,
//! no zero-copy, no limits: easy to check against the spec text, and the
//! oracle the real decoder is compared with.

/// What the model makes of a whole stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// `(type, data, id)` of each dispatched event.
    pub events: Vec<(String, String, String)>,
    /// `(byte offset, 1-based line)` of each event's first field line.
    pub positions: Vec<(u64, u64)>,
    /// The reconnection time left at the end.
    pub retry: Option<u64>,
    /// The last event id left at the end.
    pub last_event_id: String,
}

/// The whole model of `input`.
pub fn model(input: &[u8]) -> Model {
    // A BOM is skipped only at the very start; line ends are ASCII, so
    // cutting lines before decoding UTF-8 cuts them where decoding first
    // would.
    let (bom, body) = match input.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3u64, rest),
        None => (0, input),
    };

    // Complete lines, each with its offset and line number; a last line
    // with no line end is discarded.
    let mut lines = Vec::new();
    let (mut start, mut i, mut number) = (0, 0, 1u64);
    while i < body.len() {
        if body[i] == b'\r' || body[i] == b'\n' {
            lines.push((&body[start..i], bom + start as u64, number));
            if body[i] == b'\r' && body.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            i += 1;
            start = i;
            number += 1;
        } else {
            i += 1;
        }
    }

    let mut model = Model::default();
    let (mut data, mut event_type) = (String::new(), String::new());
    let mut block_start = None;
    for (raw, offset, number) in lines {
        let line = String::from_utf8_lossy(raw);
        if line.is_empty() {
            if !data.is_empty() {
                data.pop(); // the last "\n"
                let kind = if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                };
                let id = model.last_event_id.clone();
                model.events.push((kind, std::mem::take(&mut data), id));
                model
                    .positions
                    .push(block_start.expect("data implies a field line"));
            }
            data.clear();
            event_type.clear();
            block_start = None;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        block_start.get_or_insert((offset, number));
        let (name, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&*line, ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_owned(),
            "id" if !value.contains('\0') => model.last_event_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    model.retry = Some(ms);
                }
            }
            _ => {}
        }
    }
    model
}
