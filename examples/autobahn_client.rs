//! The Autobahn|Testsuite client testee.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9003 rfc6455 [--tokio]
//! ```
//!
//! Asks the fuzzing server for the case count, runs every case as an echo
//! client, then asks it to write the reports.

use rfc6455::{blocking, Event, StreamError};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--tokio") {
        eprintln!("--tokio: the async adapter is not built yet");
        std::process::exit(2);
    }
    let base = args
        .first()
        .map_or("ws://127.0.0.1:9003", String::as_str)
        .trim_end_matches('/');
    let agent = args.get(1).map_or("rfc6455", String::as_str);

    let count = match case_count(base) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("getCaseCount failed: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("running {count} cases as agent {agent}");
    for case in 1..=count {
        if let Err(e) = echo(&format!("{base}/runCase?case={case}&agent={agent}")) {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = echo(&format!("{base}/updateReports?agent={agent}")) {
        eprintln!("updateReports failed: {e}");
        std::process::exit(1);
    }
}

fn case_count(base: &str) -> Result<u32, StreamError> {
    let (mut ws, _) = blocking::connect(&format!("{base}/getCaseCount"))?;
    let mut count = None;
    loop {
        match ws.recv() {
            Ok(Event::Text(text)) => count = text.trim().parse().ok(),
            Ok(Event::Close(_)) | Err(StreamError::Closed) => break,
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    count.ok_or(StreamError::Closed)
}

/// Echoes every message until the server closes.
fn echo(url: &str) -> Result<(), StreamError> {
    let (mut ws, _) = blocking::connect(url)?;
    loop {
        match ws.recv()? {
            Event::Text(text) => ws.send(text)?,
            Event::Binary(data) => ws.send(data)?,
            Event::Close(_) => return Ok(()),
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}
