//! A streaming agent37 client in a few lines: sends a message, prints the
//! answer as it arrives, and the usage at the end. Dropped connections are
//! resumed and 429/503 answers retried by the library client; each time,
//! the `on_notice` callback says so.
//!
//! ```text
//! cargo run --features serve -- serve --recordings testdata/recordings/valid \
//!     --api-key sk_test --drop-after-events 5 --fail-first 1 &
//! AGENT37_API_KEY=sk_test AGENT37_BASE_URL=http://127.0.0.1:8037 \
//!     cargo run --features client --example client -- tool-calls-overlapping
//! ```

use std::io::Write;

use agent37_stream::client::Client;
use agent37_stream::protocol::event::ResponseEvent;
use agent37_stream::protocol::request::CreateResponse;
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url =
        std::env::var("AGENT37_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8037".to_owned());
    let input = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    // The API key comes from AGENT37_API_KEY.
    let client = Client::builder()
        .base_url(base_url)
        .on_notice(|notice| eprintln!("[{notice}]"))
        .build()?;

    let mut turn = client.create_stream(CreateResponse::new(input)).await?;
    while let Some(event) = turn.next().await {
        match event?.event {
            ResponseEvent::OutputTextDelta(delta) => print!("{}", &*delta.text),
            ResponseEvent::ToolCallStarted(call) => println!("\n[{}] {}", call.tool, call.label),
            _ => {}
        }
        std::io::stdout().flush()?;
    }

    let response = &turn.turn().response;
    println!("\n[{}; usage {:?}]", response.status, response.usage);
    println!("[continue with session {}]", response.session_id);
    Ok(())
}
