//! The turn of `ask`: send, follow, check, record, report.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use agent37_stream::check::{self, CheckOptions};
use std::pin::Pin;

use agent37_stream::client::{Client, ClientError, TurnStream};
use agent37_stream::protocol::request::CreateResponse;
use agent37_stream::protocol::response::Status;
use futures_core::Stream;

use super::render::{Renderer, Style, turn_json};
use super::{AskArgs, FAILED, Format, TROUBLE};

/// The base URL's environment variable.
const BASE_URL_ENV: &str = "AGENT37_BASE_URL";
/// The most bytes of a turn kept for `--record` and the final check.
const RECORD_LIMIT: usize = 256 << 20;

pub(super) fn run(args: AskArgs) -> ExitCode {
    let Some(base_url) = args.base_url.clone().or_else(|| {
        std::env::var(BASE_URL_ENV)
            .ok()
            .filter(|url| !url.is_empty())
    }) else {
        return trouble(&format!(
            "no base URL: pass --base-url or set {BASE_URL_ENV}"
        ));
    };
    let stderr_style = Style::detect(io::stderr().is_terminal());
    let mut builder = Client::builder()
        .base_url(base_url)
        .on_notice(move |notice| eprintln!("{}", stderr_style.notice(&notice.to_string())));
    if let Some(key) = &args.api_key {
        builder = builder.api_key(key.clone());
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(err) => return trouble(&err),
    };
    let mut request = CreateResponse::builder(args.message.clone()).stream(true);
    if let Some(session) = &args.session_id {
        request = request.session_id(session.clone());
    }
    let request = match request.build() {
        Ok(request) => request,
        Err(err) => return trouble(&err),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return trouble(&err),
    };
    runtime.block_on(follow(&client, request, &args))
}

async fn next(stream: &mut TurnStream) -> Option<<TurnStream as Stream>::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

fn trouble(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("agent37-stream ask: {err}");
    ExitCode::from(TROUBLE)
}

async fn follow(client: &Client, request: CreateResponse, args: &AskArgs) -> ExitCode {
    let mut stream = match client.create_stream(request).await {
        Ok(stream) => stream.record(RECORD_LIMIT),
        Err(err) => return trouble(&err),
    };
    let live = args.format == Format::Human;
    let stdout = io::stdout();
    let style = Style::detect(live && stdout.is_terminal());
    let mut renderer = Renderer::new(stdout.lock(), style);
    let mut broke_contract = false;
    let mut ended = None;
    while let Some(item) = next(&mut stream).await {
        let written = match item {
            Ok(event) if live => renderer.event(&event.event),
            Ok(_) => Ok(()),
            // The stream goes on after these: say so, and remember.
            Err(err @ (ClientError::Contract(_) | ClientError::Payload { .. })) => {
                broke_contract = true;
                renderer
                    .pause()
                    .map(|()| eprintln!("agent37-stream ask: {err}"))
            }
            Err(err) => {
                ended = Some(err);
                break;
            }
        };
        if written.is_err() {
            return trouble(&"cannot write to stdout");
        }
    }
    if renderer.pause().is_err() {
        return trouble(&"cannot write to stdout");
    }
    drop(renderer);
    let recorded = stream.recorded();
    if let Some(err) = ended {
        eprintln!("agent37-stream ask: {err}");
        // A cancelled turn ended; everything else is a connection the
        // retries could not save.
        return ExitCode::from(if matches!(err, ClientError::Cancelled(_)) {
            FAILED
        } else {
            TROUBLE
        });
    }
    // The stream that completed the turn, checked as `check` would.
    match &recorded {
        Some(bytes) => {
            let report = check::check_bytes(bytes, &CheckOptions::default());
            let label = args
                .record
                .as_ref()
                .map_or_else(|| "<stream>".to_owned(), |path| path.display().to_string());
            let entry = report.entry(label);
            if !entry.diagnostics.is_empty() {
                eprint!("{}", check::human(&entry, &report.excerpts));
            }
            broke_contract |= report.errors() > 0;
        }
        None => eprintln!(
            "agent37-stream ask: the stream is over {} MiB; not checked as a whole",
            RECORD_LIMIT >> 20
        ),
    }
    if let Some(path) = &args.record {
        let Some(bytes) = &recorded else {
            return trouble(&format!(
                "{}: the stream is too large to record",
                path.display()
            ));
        };
        if let Err(err) = std::fs::write(path, bytes) {
            return trouble(&format!("{}: {err}", path.display()));
        }
    }
    let turn = stream.into_turn();
    let mut out = io::stdout().lock();
    let written = match args.format {
        Format::Human => writeln!(out, "{}", style.usage(&turn.response)),
        Format::Json => serde_json::to_writer_pretty(&mut out, &turn_json(&turn))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    if written.is_err() {
        return trouble(&"cannot write to stdout");
    }
    if broke_contract || turn.response.status != Status::Completed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
