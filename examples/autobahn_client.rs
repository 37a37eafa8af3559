//! The Autobahn|Testsuite client testee.
//!
//! ```text
//! cargo run --release --features tokio,deflate --example autobahn_client -- ws://127.0.0.1:9003 rfc6455 [--tokio]
//! ```
//!
//! Asks the fuzzing server for the case count, runs every case as an echo
//! client, then asks it to write the reports. `--tokio` uses the async
//! adapter (needs the `tokio` feature).

use rfc6455::handshake::ClientRequest;
use rfc6455::{blocking, Config, Event, StreamError};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let base = positional
        .first()
        .copied()
        .unwrap_or("ws://127.0.0.1:9003")
        .trim_end_matches('/')
        .to_string();
    let agent = positional.get(1).copied().unwrap_or("rfc6455").to_string();
    let use_tokio = args.iter().any(|a| a == "--tokio");

    let run: fn(&str, bool) -> Result<Option<String>, StreamError> =
        if use_tokio { run_tokio } else { run_blocking };
    let count: u32 = match run(&format!("{base}/getCaseCount"), false) {
        Ok(Some(text)) => text.trim().parse().unwrap_or(0),
        other => {
            eprintln!("getCaseCount failed: {other:?}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "running {count} cases as agent {agent} ({})",
        if use_tokio { "tokio" } else { "blocking" }
    );
    for case in 1..=count {
        if let Err(e) = run(&format!("{base}/runCase?case={case}&agent={agent}"), true) {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = run(&format!("{base}/updateReports?agent={agent}"), false) {
        eprintln!("updateReports failed: {e}");
        std::process::exit(1);
    }
}

/// With the `deflate` feature, offers permessage-deflate. The offer names
/// `client_no_context_takeover` (the suite's server declines cases 13.2,
/// 13.5 and 13.6 without it) and does not ask for
/// `server_no_context_takeover`, which the defaults do: the suite's server
/// then uses its own settings in each case.
fn config() -> Config {
    let config = Config::default();
    #[cfg(feature = "deflate")]
    let config = config.deflate(
        rfc6455::deflate::DeflateConfig::default()
            .server_no_context_takeover(false)
            .client_no_context_takeover(true),
    );
    config
}

/// Reads (and with `echo_back`, echoes) every message until the server
/// closes; returns the last text received (the case count for
/// `getCaseCount`).
fn run_blocking(url: &str, echo_back: bool) -> Result<Option<String>, StreamError> {
    let (mut ws, _) = blocking::connect_with(ClientRequest::new(url)?, config())?;
    let mut last_text = None;
    loop {
        match ws.recv()? {
            Event::Text(text) => {
                last_text = Some(text.to_string());
                if echo_back {
                    ws.send(text)?;
                }
            }
            Event::Binary(data) if echo_back => ws.send(data)?,
            Event::Close(_) => return Ok(last_text),
            Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}

#[cfg(feature = "tokio")]
fn run_tokio(url: &str, echo_back: bool) -> Result<Option<String>, StreamError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (mut ws, _) = rfc6455::tokio::connect_with(ClientRequest::new(url)?, config()).await?;
        let mut last_text = None;
        loop {
            match ws.recv().await? {
                Event::Text(text) => {
                    last_text = Some(text.to_string());
                    if echo_back {
                        ws.send(text).await?;
                    }
                }
                Event::Binary(data) if echo_back => ws.send(data).await?,
                Event::Close(_) => return Ok(last_text),
                Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => {}
            }
        }
    })
}

#[cfg(not(feature = "tokio"))]
fn run_tokio(_url: &str, _echo_back: bool) -> Result<Option<String>, StreamError> {
    eprintln!(
        "--tokio needs the tokio feature: cargo run --features tokio --example autobahn_client"
    );
    std::process::exit(2);
}
