//! Sends each line of standard input as a text message and prints replies.
//!
//! ```text
//! cargo run --example echo_client [URL]    # default ws://127.0.0.1:9001/
//! ```

use std::io::BufRead;

use rfc6455::{blocking, CloseCode, Event, StreamError};

fn main() -> Result<(), StreamError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (mut ws, _response) = blocking::connect(&url)?;
    eprintln!("connected to {url}");
    for line in std::io::stdin().lock().lines() {
        ws.send(line?)?;
        loop {
            match ws.recv()? {
                Event::Text(text) => {
                    println!("{text}");
                    break;
                }
                Event::Binary(data) => {
                    println!("<{} binary bytes>", data.len());
                    break;
                }
                Event::Close(frame) => {
                    eprintln!("server closed: {frame:?}");
                    return Ok(());
                }
                Event::Ping(_) | Event::Pong(_) => {}
            }
        }
    }
    ws.close(CloseCode::NORMAL, "bye")?;
    while !matches!(ws.recv(), Ok(Event::Close(_)) | Err(_)) {}
    Ok(())
}
