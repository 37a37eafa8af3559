//! Interop checks from our side: the blocking client against another
//! implementation's echo server (tests/interop/run.sh runs it against
//! Python's `websockets` and Node's `ws`).
//!
//! ```text
//! cargo run --release --example interop_client -- ws://127.0.0.1:9002/
//! ```
//!
//! Prints `PASS name [ms]` or `FAIL name: why` per check, then
//! `N passed, M failed`; the exit status is non-zero on any failure. Every
//! payload is compared byte for byte.
//!
//! The server must follow a small protocol (tests/interop/README.md):
//!
//! - any path but the two below: echo each data message back whole, with
//!   the same kind and bytes; answer a close frame with the same code and
//!   reason, and remember both;
//! - `/fragmented`: echo each message split into several frames;
//! - `/closes`: send one text message `CODE REASON` per close frame the
//!   server received so far, then close with 4002 `closes reported`.

use std::fmt::Write as _;
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rfc6455::blocking::{self, WebSocket};
use rfc6455::handshake::ClientRequest;
use rfc6455::{CloseCode, CloseFrame, Config, Event, Message, MessageKind, State, StreamError};

const MIB: usize = 1 << 20;
/// Bound on one check, connects and closing handshakes included.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// What the server closes a `/closes` report with.
const REPORT_CLOSE: (u16, &str) = (4002, "closes reported");

type Ws = WebSocket<TcpStream>;
/// `Ok(note)` or `Err(why)`.
type Outcome = Result<String, String>;
type Check = fn(&Target, &mut Rng) -> Outcome;

fn main() {
    let Some(base) = std::env::args().nth(1) else {
        eprintln!("usage: interop_client ws://HOST:PORT/");
        std::process::exit(2);
    };
    let target = match Target::parse(&base) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("interop_client: bad URL {base:?}: {e}");
            std::process::exit(2);
        }
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    println!("rfc6455 blocking client -> {base} (payload seed {seed})");

    let checks: &[(&str, Check)] = &[
        ("text_round_trip", text_round_trip),
        ("binary_round_trip", binary_round_trip),
        ("empty_messages", empty_messages),
        ("large_binary_1mib", large_binary_1mib),
        ("large_text_1mib", large_text_1mib),
        ("fragmented_text_to_server", fragmented_text_to_server),
        ("fragmented_binary_to_server", fragmented_binary_to_server),
        ("fragmented_with_ping_between", fragmented_with_ping_between),
        ("fragmented_from_server", fragmented_from_server),
        ("ping_with_payload_gets_pong", ping_with_payload_gets_pong),
        ("close_with_code_and_reason", close_with_code_and_reason),
        ("server_close_with_code_and_reason", server_close),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (index, &(name, check)) in checks.iter().enumerate() {
        let started = Instant::now();
        let target = target.clone();
        let mut rng = Rng(seed.wrapping_add(index as u64 * 0x9e37_79b9_7f4a_7c15) | 1);
        let (tx, rx) = mpsc::channel();
        // A thread per check, so a peer that stops answering costs one
        // timeout rather than the whole run (a stuck thread ends with the
        // process).
        thread::spawn(move || {
            let _ = tx.send(check(&target, &mut rng));
        });
        let outcome = match rx.recv_timeout(CHECK_TIMEOUT) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("timed out after {} s", CHECK_TIMEOUT.as_secs()))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err("the check panicked".into()),
        };
        match outcome {
            Ok(note) => {
                passed += 1;
                let ms = started.elapsed().as_millis();
                let note = if note.is_empty() {
                    note
                } else {
                    format!(" ({note})")
                };
                println!("PASS {name} [{ms} ms]{note}");
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    // `exit` rather than returning: it also ends threads of timed-out checks.
    std::process::exit(if failed == 0 && passed > 0 { 0 } else { 1 });
}

/// The server under test; checks connect to paths on it.
#[derive(Clone)]
struct Target {
    authority: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let request = ClientRequest::new(url).map_err(|e| e.to_string())?;
        if request.is_tls() {
            return Err("wss:// is not supported here".into());
        }
        let host = request.host();
        let authority = if host.contains(':') {
            format!("[{host}]:{}", request.port())
        } else {
            format!("{host}:{}", request.port())
        };
        Ok(Target { authority })
    }

    /// Connects over a plain `TcpStream` (no TLS layer whatever the
    /// features) and runs the client handshake with the default config.
    fn connect(&self, path: &str) -> Result<Ws, String> {
        let url = format!("ws://{}{path}", self.authority);
        let fail = |e: &dyn std::fmt::Display| format!("connect to {url}: {e}");
        let request = ClientRequest::new(&url).map_err(|e| fail(&e))?;
        let stream = TcpStream::connect((request.host(), request.port())).map_err(|e| fail(&e))?;
        stream.set_nodelay(true).map_err(|e| fail(&e))?;
        let (ws, _response) =
            blocking::client(stream, &request, Config::default()).map_err(|e| fail(&e))?;
        Ok(ws)
    }
}

// --- checks ------------------------------------------------------------------

fn text_round_trip(target: &Target, _: &mut Rng) -> Outcome {
    let mut ws = target.connect("/")?;
    for text in [
        "hello",
        "héllo wörld",
        "日本語のテキスト",
        "emoji 🦀🎉 and 𝄞",
        "nul\0inside",
        "tab\tnewline\n",
    ] {
        echo(&mut ws, Message::from(text), "text echo")?;
    }
    close_normally(ws)
}

fn binary_round_trip(target: &Target, rng: &mut Rng) -> Outcome {
    let mut ws = target.connect("/")?;
    let all: Vec<u8> = (0..=255).collect();
    for data in [
        b"\x00\x01\x02\xff".to_vec(),
        all,
        b"\xc3\x28 not utf-8".to_vec(),
        rng.bytes(4096),
    ] {
        echo(&mut ws, Message::from(data), "binary echo")?;
    }
    close_normally(ws)
}

fn empty_messages(target: &Target, _: &mut Rng) -> Outcome {
    let mut ws = target.connect("/")?;
    echo(&mut ws, Message::from(""), "empty text echo")?;
    echo(&mut ws, Message::from(Vec::new()), "empty binary echo")?;
    close_normally(ws)
}

fn large_binary_1mib(target: &Target, rng: &mut Rng) -> Outcome {
    let mut ws = target.connect("/")?;
    echo(&mut ws, Message::from(rng.bytes(MIB)), "1 MiB binary echo")?;
    close_normally(ws)
}

fn large_text_1mib(target: &Target, _: &mut Rng) -> Outcome {
    // 1-, 2-, 3- and 4-byte UTF-8 sequences, cut at a character boundary.
    let unit = "héllo wörld € 𝄞 ascii ";
    let mut text = unit.repeat(MIB / unit.len() + 1);
    let mut end = MIB;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    let mut ws = target.connect("/")?;
    echo(&mut ws, Message::from(text), "1 MiB text echo")?;
    close_normally(ws)
}

fn fragmented_text_to_server(target: &Target, _: &mut Rng) -> Outcome {
    // RFC 6455 §5.6: only the whole message must be UTF-8, so code points
    // may straddle frames. "€" = E2 82 AC, "𝄞" = F0 9D 84 9E.
    let parts: [&[u8]; 5] = [
        b"price: \xe2",
        b"\x82",
        b"",
        b"\xac 5, clef \xf0\x9d",
        b"\x84\x9e!",
    ];
    let mut ws = target.connect("/")?;
    send_in_fragments(&mut ws, MessageKind::Text, &parts)?;
    let want = Message::from("price: € 5, clef 𝄞!");
    let got = next_message(&mut ws, "fragmented text echo")?;
    expect_message(&got, &want, "fragmented text echoed whole")?;
    close_normally(ws).map(|_| format!("{} frames", parts.len()))
}

fn fragmented_binary_to_server(target: &Target, rng: &mut Rng) -> Outcome {
    let parts = [rng.bytes(1000), Vec::new(), rng.bytes(70_000), rng.bytes(3)];
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let mut ws = target.connect("/")?;
    send_in_fragments(&mut ws, MessageKind::Binary, &slices)?;
    let want = Message::from(parts.concat());
    let got = next_message(&mut ws, "fragmented binary echo")?;
    expect_message(&got, &want, "fragmented binary echoed whole")?;
    close_normally(ws).map(|_| format!("{} frames", parts.len()))
}

fn fragmented_with_ping_between(target: &Target, _: &mut Rng) -> Outcome {
    // Control frames may come between the fragments of a message (§5.4).
    let mut ws = target.connect("/")?;
    let ping = Bytes::from_static(b"between fragments");
    ws.send_fragment(MessageKind::Text, Bytes::from_static(b"first, "), false)
        .map_err(|e| format!("send_fragment: {e}"))?;
    ws.ping(ping.clone()).map_err(|e| format!("ping: {e}"))?;
    ws.send_fragment(MessageKind::Text, Bytes::from_static(b"second"), true)
        .map_err(|e| format!("send_fragment: {e}"))?;
    let (mut pong, mut message) = (None, None);
    while pong.is_none() || message.is_none() {
        match ws.recv().map_err(|e| format!("recv: {e}"))? {
            Event::Pong(payload) => pong = Some(payload),
            Event::Ping(_) => {}
            Event::Close(frame) => return Err(format!("server closed early: {frame:?}")),
            data => {
                if message.is_some() {
                    return Err(format!("an extra message: {}", show_event(&data)));
                }
                message = data.into_message();
            }
        }
    }
    expect_bytes(pong.as_deref().unwrap_or_default(), &ping, "pong payload")?;
    expect_message(
        &message.unwrap_or(Message::from("")),
        &Message::from("first, second"),
        "fragmented text around a ping",
    )?;
    close_normally(ws)
}

fn fragmented_from_server(target: &Target, rng: &mut Rng) -> Outcome {
    // On /fragmented the server sends each echo in several frames: this
    // checks our reassembly of a real peer's fragments.
    let mut ws = target.connect("/fragmented")?;
    echo(
        &mut ws,
        Message::from("fragments from the server: κόσμε 🦀 ".repeat(50)),
        "text echoed in fragments",
    )?;
    echo(
        &mut ws,
        Message::from(rng.bytes(100_000)),
        "binary echoed in fragments",
    )?;
    close_normally(ws)
}

fn ping_with_payload_gets_pong(target: &Target, _: &mut Rng) -> Outcome {
    let mut ws = target.connect("/")?;
    let payload = Bytes::from_static(b"interop-ping \x00\xff");
    let started = Instant::now();
    ws.ping(payload.clone()).map_err(|e| format!("ping: {e}"))?;
    loop {
        match ws.recv().map_err(|e| format!("recv: {e}"))? {
            Event::Pong(got) => {
                expect_bytes(&got, &payload, "pong payload")?;
                break;
            }
            Event::Ping(_) => {}
            other => return Err(format!("wanted a pong, got {}", show_event(&other))),
        }
    }
    let rtt = started.elapsed();
    // The connection still carries data after the ping.
    echo(&mut ws, Message::from("after ping"), "echo after ping")?;
    close_normally(ws).map(|_| format!("pong after {} µs", rtt.as_micros()))
}

fn close_with_code_and_reason(target: &Target, rng: &mut Rng) -> Outcome {
    let code = CloseCode(4001);
    let reason = format!("interop close ✓ {:08x}", rng.next() as u32);
    let mut ws = target.connect("/")?;
    echo(&mut ws, Message::from("before close"), "echo before close")?;
    ws.close(code, &reason).map_err(|e| format!("close: {e}"))?;
    let frame = next_close(&mut ws)?;
    // The server answers with our code and reason.
    let want = CloseFrame::new(code, reason.as_str());
    if frame.as_ref() != Some(&want) {
        return Err(format!(
            "server's close reply is {frame:?}, wanted {want:?}"
        ));
    }
    match ws.state() {
        State::Closed(status) if status.clean && status.initiated_locally => {}
        other => return Err(format!("state after the handshake: {other:?}")),
    }
    // The server application saw both: ask it on another connection. Its
    // close handling may still be running, so allow it a moment.
    let entry = format!("{} {reason}", code.0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let closes = read_closes(target)?.closes;
        if closes.contains(&entry) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server's /closes report lacks {entry:?} (it has {} entries, last {:?})",
                closes.len(),
                closes.last()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(format!("server echoed and reported {} {reason:?}", code.0))
}

fn server_close(target: &Target, _: &mut Rng) -> Outcome {
    // The server closes the /closes connection itself, with a code and a
    // reason that we must see as sent.
    let report = read_closes(target)?;
    let (code, reason) = REPORT_CLOSE;
    if report.frame != Some(CloseFrame::new(CloseCode(code), reason)) {
        return Err(format!(
            "server's close frame is {:?}, wanted {code} {reason:?}",
            report.frame
        ));
    }
    if !report.clean {
        return Err(format!("closing handshake not clean: {:?}", report.frame));
    }
    Ok(format!(
        "got {code} {reason:?}; {} closes reported",
        report.closes.len()
    ))
}

// --- helpers -----------------------------------------------------------------

/// What a `/closes` connection brought.
struct Report {
    /// The server's `CODE REASON` lines.
    closes: Vec<String>,
    /// The server's close frame.
    frame: Option<CloseFrame>,
    /// The server closed first and the closing handshake completed.
    clean: bool,
}

fn read_closes(target: &Target) -> Result<Report, String> {
    let mut ws = target.connect("/closes")?;
    let mut closes = Vec::new();
    loop {
        match ws.recv().map_err(|e| format!("/closes: recv: {e}"))? {
            Event::Text(text) => closes.push(text.as_str().to_owned()),
            Event::Close(frame) => {
                let clean =
                    matches!(ws.state(), State::Closed(s) if s.clean && !s.initiated_locally);
                return Ok(Report {
                    closes,
                    frame,
                    clean,
                });
            }
            Event::Ping(_) | Event::Pong(_) => {}
            other => return Err(format!("/closes: unexpected {}", show_event(&other))),
        }
    }
}

/// Sends a message and checks the server echoes it exactly.
fn echo(ws: &mut Ws, message: Message, what: &str) -> Result<(), String> {
    ws.send(message.clone())
        .map_err(|e| format!("{what}: send: {e}"))?;
    let got = next_message(ws, what)?;
    expect_message(&got, &message, what)
}

fn send_in_fragments(ws: &mut Ws, kind: MessageKind, parts: &[&[u8]]) -> Result<(), String> {
    for (i, part) in parts.iter().enumerate() {
        let fin = i + 1 == parts.len();
        ws.send_fragment(kind, Bytes::copy_from_slice(part), fin)
            .map_err(|e| format!("send_fragment #{i}: {e}"))?;
    }
    Ok(())
}

/// The next data message, skipping pings and pongs.
fn next_message(ws: &mut Ws, what: &str) -> Result<Message, String> {
    loop {
        match ws.recv().map_err(|e| format!("{what}: recv: {e}"))? {
            Event::Ping(_) | Event::Pong(_) => {}
            Event::Close(frame) => return Err(format!("{what}: server closed: {frame:?}")),
            data => return Ok(data.into_message().expect("a data event")),
        }
    }
}

/// Reads up to the peer's close frame; no data may come before it.
fn next_close(ws: &mut Ws) -> Result<Option<CloseFrame>, String> {
    loop {
        match ws.recv() {
            Ok(Event::Close(frame)) => return Ok(frame),
            Ok(Event::Ping(_) | Event::Pong(_)) => {}
            Ok(other) => return Err(format!("data after our close: {}", show_event(&other))),
            Err(e) => return Err(format!("waiting for the close reply: {e}")),
        }
    }
}

/// Ends a check's connection with 1000 and a finished handshake.
fn close_normally(mut ws: Ws) -> Outcome {
    ws.close(CloseCode::NORMAL, "done")
        .map_err(|e| format!("close: {e}"))?;
    let frame = next_close(&mut ws)?;
    if frame.as_ref().map(|f| f.code) != Some(CloseCode::NORMAL) {
        return Err(format!("close reply {frame:?}, wanted code 1000"));
    }
    match ws.recv() {
        Err(StreamError::Closed) => Ok(String::new()),
        other => Err(format!("recv after the close: {other:?}")),
    }
}

fn expect_message(got: &Message, want: &Message, what: &str) -> Result<(), String> {
    if got.kind() != want.kind() {
        return Err(format!(
            "{what}: got a {:?} message, wanted {:?}",
            got.kind(),
            want.kind()
        ));
    }
    expect_bytes(got.as_bytes(), want.as_bytes(), what)
}

fn expect_bytes(got: &[u8], want: &[u8], what: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "{what}: got {}, wanted {} (lengths {} and {}, first difference at byte {at})",
        preview(got),
        preview(want),
        got.len(),
        want.len()
    ))
}

fn preview(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(24) {
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > 24 {
        out.push('…');
    }
    format!("[{out}]")
}

fn show_event(event: &Event) -> String {
    match event {
        Event::Text(text) => format!("text of {} bytes", text.as_bytes().len()),
        Event::Binary(data) => format!("binary of {} bytes", data.len()),
        other => format!("{other:?}"),
    }
}

/// xorshift64*: payloads that differ from run to run without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}
