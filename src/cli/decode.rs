//! `agent37-stream decode` (the command-line contract in docs/contract.md): one JSON object per dispatched
//! event, one per line.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use agent37_stream::sse::{ChunkDecoder, Event, Limits};
use bytes::Bytes;

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Feed the decoder N bytes at a time, to reproduce chunk-boundary bugs
    /// (the output does not depend on it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// Largest event accepted, in bytes; a larger one is reported and skipped.
    /// The longest line accepted follows it, up or down.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_EVENT_BYTES)]
    pub max_event_bytes: usize,
    /// The stream to decode; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
}

/// One output line.
#[derive(serde::Serialize)]
struct Line<'a> {
    event: &'a str,
    data: &'a str,
    id: &'a str,
    retry: Option<u64>,
}

/// Runs `decode`: exit 0 when the stream decoded, 1 when an event broke a
/// limit, 2 when the input could not be read. An unterminated last event,
/// discarded by the SSE rules, is reported on stderr (exit status unchanged).
pub fn run(args: DecodeArgs) -> ExitCode {
    let (name, mut input): (String, Box<dyn Read>) = match &args.file {
        Some(path) if path.as_os_str() != "-" => match std::fs::File::open(path) {
            Ok(file) => (path.display().to_string(), Box::new(file)),
            Err(error) => {
                eprintln!(
                    "agent37-stream decode: cannot read {}: {error}",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
        _ => ("<stdin>".to_owned(), Box::new(std::io::stdin().lock())),
    };
    let chunk_size = args
        .chunk_size
        .map_or(DEFAULT_READ, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut decoder =
        ChunkDecoder::with_limits(Limits::default().max_event_bytes(args.max_event_bytes));
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    let mut finishing = false;
    loop {
        match decoder.next_event() {
            Ok(Some(event)) => {
                if let Err(error) = write_line(&mut out, &event, decoder.retry()) {
                    return write_failed(error);
                }
                continue;
            }
            Ok(None) if finishing => break,
            Ok(None) => {}
            Err(error) => {
                eprintln!("agent37-stream decode: {name}: {error}");
                failed = true;
                continue;
            }
        }
        match read_chunk(&mut input, chunk_size) {
            Ok(Some(chunk)) => decoder.push(chunk),
            Ok(None) => {
                decoder.finish();
                finishing = true;
            }
            Err(error) => {
                eprintln!("agent37-stream decode: cannot read {name}: {error}");
                return ExitCode::from(2);
            }
        }
        // Live streams (a pipe from curl) show each event as it completes.
        if let Err(error) = out.flush() {
            return write_failed(error);
        }
    }
    if let Err(error) = out.flush() {
        return write_failed(error);
    }
    // The SSE rules drop an unterminated last event without a word; say so,
    // or a reader counting events thinks one was lost. It is no failure.
    if let Some(incomplete) = decoder.incomplete() {
        eprintln!(
            "agent37-stream decode: {name}: the stream ends inside an event (no blank line \
             after it): {} bytes from {} discarded",
            incomplete.bytes, incomplete.position
        );
    }
    ExitCode::from(u8::from(failed))
}

/// Bytes read at a time when `--chunk-size` is not given.
const DEFAULT_READ: usize = 64 * 1024;

/// Reads up to `size` bytes (fewer only at the end of the input); `None`
/// at the end.
fn read_chunk(input: &mut dyn Read, size: usize) -> std::io::Result<Option<Bytes>> {
    let mut chunk = Vec::with_capacity(size.min(DEFAULT_READ));
    input.take(size as u64).read_to_end(&mut chunk)?;
    Ok((!chunk.is_empty()).then(|| Bytes::from(chunk)))
}

fn write_line(out: &mut impl Write, event: &Event, retry: Option<u64>) -> std::io::Result<()> {
    let line = Line {
        event: event.event_type(),
        data: event.data(),
        id: event.id(),
        retry,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

fn write_failed(error: std::io::Error) -> ExitCode {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("agent37-stream decode: cannot write output: {error}");
    ExitCode::from(2)
}
