//! A deliberately simple model of the WHATWG event-stream rules: decode the
//! whole stream to a string, split it into lines, interpret each line. No
//! incrementality, no zero-copy, no limits: easy to check against the spec
//! text, and the oracle the real decoder is compared with.

/// `(type, data, id)` of each dispatched event, and the final `retry`.
pub fn decode(input: &[u8]) -> (Vec<(String, String, String)>, Option<u64>) {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    // Complete lines only: a last line with no line end is discarded.
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }

    let mut events = Vec::new();
    let (mut data, mut event_type, mut last_id) = (String::new(), String::new(), String::new());
    let mut retry = None;
    for line in lines {
        if line.is_empty() {
            if !data.is_empty() {
                data.pop(); // the last "\n"
                let kind = if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                };
                events.push((kind, std::mem::take(&mut data), last_id.clone()));
            }
            data.clear();
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_owned(),
            "id" if !value.contains('\0') => last_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    retry = Some(ms);
                }
            }
            _ => {}
        }
    }
    (events, retry)
}
