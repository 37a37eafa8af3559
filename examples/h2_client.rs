//! Interop over HTTP/2: our RFC 8441 client (`rfc6455::tokio::h2`)
//! against a real peer, haproxy's h2c front translating each extended
//! CONNECT into an HTTP/1.1 upgrade to Python's `websockets`
//! (tests/interop/h2/README.md):
//!
//! ```text
//! cargo build --release --all-features --example h2_client
//! bash tests/interop/h2/run.sh target/release/examples/h2_client
//! ```
//!
//! Connects to `$H2_URL` (or the first argument): `http://` becomes
//! `ws://` (HTTP/2 with prior knowledge), `https://` becomes `wss://`.
//! Every check opens its own HTTP/2 connection with
//! [`connect_with`](rfc6455::tokio::h2::connect_with), prints `PASS name
//! [ms]` or `FAIL name: why`, then `N passed, M failed`; the exit status is
//! non-zero on any failure. Payloads are compared byte for byte.
//!
//! The backend (tests/interop/h2/echo_backend.py) echoes every message
//! whole, answers a close frame with the same code and reason, selects the
//! first subprotocol offered, accepts permessage-deflate when offered, and
//! on `/headers` first sends the JSON of the HTTP/1.1 request haproxy gave
//! it.
//!
//! Needs the features `h2` and `deflate` (`--all-features` has both).

#[cfg(all(feature = "h2", feature = "deflate"))]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    checks::main().await;
}

#[cfg(not(all(feature = "h2", feature = "deflate")))]
fn main() {
    eprintln!(
        "h2_client needs the features h2 and deflate: \
         cargo run --release --features h2,deflate --example h2_client"
    );
    std::process::exit(2);
}

#[cfg(all(feature = "h2", feature = "deflate"))]
mod checks {
    use std::fmt::Write as _;
    use std::future::Future;
    use std::pin::Pin;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use bytes::Bytes;
    use rfc6455::deflate::DeflateConfig;
    use rfc6455::handshake::{ClientRequest, Response};
    use rfc6455::tokio::h2::{connect_with, H2Stream};
    use rfc6455::tokio::WebSocketStream;
    use rfc6455::{CloseCode, CloseFrame, Config, Event, Message, MessageKind, State, StreamError};

    const MIB: usize = 1 << 20;
    /// Bound on one check, connects and closing handshakes included.
    const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

    type Ws = WebSocketStream<H2Stream>;
    /// `Ok(note)` or `Err(why)`.
    type Outcome = Result<String, String>;
    type Check = fn(Target, Rng) -> Pin<Box<dyn Future<Output = Outcome>>>;

    pub async fn main() {
        let Some(url) = std::env::args()
            .nth(1)
            .or_else(|| std::env::var("H2_URL").ok())
        else {
            eprintln!("usage: h2_client http://HOST:PORT/   (or set H2_URL)");
            std::process::exit(2);
        };
        let target = match Target::parse(&url) {
            Ok(target) => target,
            Err(e) => {
                eprintln!("h2_client: bad URL {url:?}: {e}");
                std::process::exit(2);
            }
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        println!(
            "rfc6455 tokio HTTP/2 client -> {} (payload seed {seed})",
            target.base
        );

        macro_rules! check {
            ($name:ident) => {
                (stringify!($name), (|t, r| Box::pin($name(t, r))) as Check)
            };
        }
        let checks: &[(&str, Check)] = &[
            check!(text_round_trip),
            check!(binary_round_trip),
            check!(empty_messages),
            check!(large_binary_1mib),
            check!(large_text_1mib),
            check!(fragmented_text_to_server),
            check!(ping_with_payload_gets_pong),
            check!(subprotocol_chat_selected),
            check!(permessage_deflate_agreed),
            check!(close_1000_with_reason),
        ];
        let (mut passed, mut failed) = (0, 0);
        for (index, &(name, check)) in checks.iter().enumerate() {
            let started = Instant::now();
            let rng = Rng(seed.wrapping_add(index as u64 * 0x9e37_79b9_7f4a_7c15) | 1);
            let outcome = tokio::time::timeout(CHECK_TIMEOUT, check(target.clone(), rng))
                .await
                .unwrap_or_else(|_| Err(format!("timed out after {} s", CHECK_TIMEOUT.as_secs())));
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
        std::process::exit(if failed == 0 && passed > 0 { 0 } else { 1 });
    }

    /// The haproxy front; checks connect to paths on it.
    #[derive(Clone)]
    struct Target {
        /// `ws://HOST:PORT` (or `wss://`), no trailing slash.
        base: String,
    }

    impl Target {
        fn parse(url: &str) -> Result<Target, String> {
            let ws = if let Some(rest) = url.strip_prefix("http://") {
                format!("ws://{rest}")
            } else if let Some(rest) = url.strip_prefix("https://") {
                format!("wss://{rest}")
            } else {
                url.to_owned()
            };
            // Validates scheme, host and port.
            let request = ClientRequest::new(&ws).map_err(|e| e.to_string())?;
            let scheme = if request.is_tls() { "wss" } else { "ws" };
            Ok(Target {
                base: format!("{scheme}://{}", request.host_header()),
            })
        }

        fn request(&self, path: &str) -> Result<ClientRequest, String> {
            let url = format!("{}{path}", self.base);
            ClientRequest::new(&url).map_err(|e| format!("{url}: {e}"))
        }

        /// A WebSocket over a new HTTP/2 connection (RFC 8441), checked to
        /// be one: `:status 200`.
        async fn connect_with(
            &self,
            request: ClientRequest,
            config: Config,
        ) -> Result<(Ws, Response), String> {
            let (ws, response) = connect_with(request, config)
                .await
                .map_err(|e| format!("connect to {}: {e}", self.base))?;
            if response.status() != 200 {
                return Err(format!(
                    "status {}, wanted 200 (HTTP/2 extended CONNECT)",
                    response.status()
                ));
            }
            Ok((ws, response))
        }

        /// The default config, no subprotocol.
        async fn connect(&self, path: &str) -> Result<Ws, String> {
            let request = self.request(path)?;
            Ok(self.connect_with(request, Config::default()).await?.0)
        }
    }

    // --- checks --------------------------------------------------------------

    async fn text_round_trip(target: Target, _: Rng) -> Outcome {
        let mut ws = target.connect("/").await?;
        for text in [
            "hello over h2",
            "héllo wörld",
            "日本語のテキスト",
            "emoji 🦀🎉 and 𝄞",
            "nul\0inside",
        ] {
            echo(&mut ws, Message::from(text), "text echo").await?;
        }
        close_normally(ws).await
    }

    async fn binary_round_trip(target: Target, mut rng: Rng) -> Outcome {
        let mut ws = target.connect("/").await?;
        let all: Vec<u8> = (0..=255).collect();
        for data in [
            b"\x00\x01\x02\xff".to_vec(),
            all,
            b"\xc3\x28 not utf-8".to_vec(),
            rng.bytes(70_000),
        ] {
            echo(&mut ws, Message::from(data), "binary echo").await?;
        }
        close_normally(ws).await
    }

    async fn empty_messages(target: Target, _: Rng) -> Outcome {
        let mut ws = target.connect("/").await?;
        echo(&mut ws, Message::from(""), "empty text echo").await?;
        echo(&mut ws, Message::from(Vec::new()), "empty binary echo").await?;
        close_normally(ws).await
    }

    async fn large_binary_1mib(target: Target, mut rng: Rng) -> Outcome {
        let mut ws = target.connect("/").await?;
        echo(&mut ws, Message::from(rng.bytes(MIB)), "1 MiB binary echo").await?;
        close_normally(ws).await
    }

    async fn large_text_1mib(target: Target, _: Rng) -> Outcome {
        // 1-, 2-, 3- and 4-byte UTF-8 sequences, cut at a character boundary.
        let unit = "héllo wörld € 𝄞 ascii ";
        let mut text = unit.repeat(MIB / unit.len() + 1);
        let mut end = MIB;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        let mut ws = target.connect("/").await?;
        echo(&mut ws, Message::from(text), "1 MiB text echo").await?;
        close_normally(ws).await
    }

    async fn fragmented_text_to_server(target: Target, _: Rng) -> Outcome {
        // Code points straddle frames ("€" = E2 82 AC, "𝄞" = F0 9D 84 9E),
        // one fragment is empty, and a ping comes between two fragments
        // (RFC 6455 §5.4).
        let parts: [&[u8]; 5] = [
            b"price: \xe2",
            b"\x82",
            b"",
            b"\xac 5, clef \xf0\x9d",
            b"\x84\x9e!",
        ];
        let mut ws = target.connect("/").await?;
        let ping = Bytes::from_static(b"between fragments");
        for (i, part) in parts.iter().enumerate() {
            let fin = i + 1 == parts.len();
            ws.send_fragment(MessageKind::Text, Bytes::copy_from_slice(part), fin)
                .await
                .map_err(|e| format!("send_fragment #{i}: {e}"))?;
            if i == 1 {
                ws.ping(ping.clone())
                    .await
                    .map_err(|e| format!("ping: {e}"))?;
            }
        }
        let (mut pong, mut message) = (None, None);
        while pong.is_none() || message.is_none() {
            match ws.recv().await.map_err(|e| format!("recv: {e}"))? {
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
            &Message::from("price: € 5, clef 𝄞!"),
            "fragmented text echoed whole",
        )?;
        close_normally(ws)
            .await
            .map(|_| format!("{} frames, a ping between", parts.len()))
    }

    async fn ping_with_payload_gets_pong(target: Target, _: Rng) -> Outcome {
        let mut ws = target.connect("/").await?;
        let payload = Bytes::from_static(b"h2-ping \x00\xff");
        let started = Instant::now();
        ws.ping(payload.clone())
            .await
            .map_err(|e| format!("ping: {e}"))?;
        loop {
            match ws.recv().await.map_err(|e| format!("recv: {e}"))? {
                Event::Pong(got) => {
                    expect_bytes(&got, &payload, "pong payload")?;
                    break;
                }
                Event::Ping(_) => {}
                other => return Err(format!("wanted a pong, got {}", show_event(&other))),
            }
        }
        let rtt = started.elapsed();
        // The stream still carries data after the ping.
        echo(&mut ws, Message::from("after ping"), "echo after ping").await?;
        close_normally(ws)
            .await
            .map(|_| format!("pong after {} µs", rtt.as_micros()))
    }

    async fn subprotocol_chat_selected(target: Target, _: Rng) -> Outcome {
        let request = target
            .request("/headers")?
            .protocol("chat")
            .map_err(|e| format!("protocol: {e}"))?;
        let (mut ws, response) = target.connect_with(request, Config::default()).await?;
        if response.protocol() != Some("chat") {
            return Err(format!(
                "selected subprotocol {:?}, wanted \"chat\" (sec-websocket-protocol: {:?})",
                response.protocol(),
                response.header("sec-websocket-protocol")
            ));
        }
        // What the backend got through haproxy.
        let seen = backend_request(&mut ws).await?;
        let offered = seen.header("sec-websocket-protocol");
        if offered.as_deref() != Some("chat") {
            return Err(format!(
                "the backend saw sec-websocket-protocol {offered:?}, wanted \"chat\""
            ));
        }
        echo(&mut ws, Message::from("with a subprotocol"), "echo").await?;
        close_normally(ws)
            .await
            .map(|_| "offered chat, both ends agree on chat".into())
    }

    async fn permessage_deflate_agreed(target: Target, mut rng: Rng) -> Outcome {
        // A path of its own, so that haproxy's log line for this stream can
        // be told apart (the backend echoes on any path but /headers).
        const PATH: &str = "/compressed";
        let config = Config::default().deflate(DeflateConfig::default());
        let request = target.request(PATH)?;
        let (mut ws, response) = target.connect_with(request, config).await?;
        let answer = response
            .header("sec-websocket-extensions")
            .unwrap_or_default()
            .to_owned();
        let Some(agreed) = response.agreed_extensions().deflate().copied() else {
            return Err(format!(
                "permessage-deflate not agreed (sec-websocket-extensions: {answer:?})"
            ));
        };
        if ws.connection().extensions().deflate() != Some(&agreed) {
            return Err(format!(
                "the connection runs {:?}, the handshake agreed {agreed:?}",
                ws.connection().extensions()
            ));
        }
        if !answer.starts_with("permessage-deflate") {
            return Err(format!("sec-websocket-extensions: {answer:?}"));
        }
        // Compressible: the same line over and over, with a counter.
        let mut text = String::with_capacity(100_100);
        let mut line = 0;
        while text.len() < 100_000 {
            let _ = writeln!(
                text,
                "line {line}: the quick brown fox jumps over the lazy dog"
            );
            line += 1;
        }
        text.truncate(100_000);
        let noise = rng.bytes(20_000);
        let plain = 2 * text.len() + noise.len();
        echo(
            &mut ws,
            Message::from(text.clone()),
            "100 KB text, compressed",
        )
        .await?;
        // A second message inflates against the first one's window when
        // the server keeps its context (websockets does, unless asked not
        // to).
        echo(&mut ws, Message::from(text), "100 KB text again").await?;
        echo(&mut ws, Message::from(noise), "20 KB incompressible binary").await?;
        close_normally(ws).await?;
        // The echoes really were compressed: haproxy's log line for the
        // stream counts the bytes the backend sent.
        let wire = match std::env::var_os("H2_HAPROXY_LOG") {
            Some(log) => match haproxy_bytes_read(&log, PATH).await {
                Some(bytes) if bytes < plain / 2 => {
                    format!("{plain} B of echoes took {bytes} B from the backend")
                }
                Some(bytes) => {
                    return Err(format!(
                        "{plain} B of echoes took {bytes} B from the backend: not compressed"
                    ))
                }
                None => return Err(format!("no haproxy log line for {PATH} in {log:?}")),
            },
            None => "bytes on the wire not checked: no H2_HAPROXY_LOG".into(),
        };
        Ok(format!("agreed {agreed:?}; answer {answer:?}; {wire}"))
    }

    async fn close_1000_with_reason(target: Target, mut rng: Rng) -> Outcome {
        let reason = format!("h2 close ✓ {:08x}", rng.next() as u32);
        let mut ws = target.connect("/").await?;
        echo(&mut ws, Message::from("before close"), "echo before close").await?;
        ws.close(CloseCode::NORMAL, &reason)
            .await
            .map_err(|e| format!("close: {e}"))?;
        let frame = next_close(&mut ws).await?;
        let want = CloseFrame::new(CloseCode::NORMAL, reason.as_str());
        if frame.as_ref() != Some(&want) {
            return Err(format!("the close reply is {frame:?}, wanted {want:?}"));
        }
        match ws.state() {
            State::Closed(status) if status.clean && status.initiated_locally => {}
            other => return Err(format!("state after the handshake: {other:?}")),
        }
        match ws.recv().await {
            Err(StreamError::Closed) => {}
            other => return Err(format!("recv after the close: {other:?}")),
        }
        Ok(format!("1000 {reason:?} echoed, clean"))
    }

    // --- helpers -------------------------------------------------------------

    /// The backend's first message on `/headers`: the request it got.
    struct Seen(serde_json::Value);

    impl Seen {
        fn header(&self, name: &str) -> Option<String> {
            self.0["headers"]
                .as_array()?
                .iter()
                .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .and_then(|h| h[1].as_str())
                .map(str::to_owned)
        }
    }

    async fn backend_request(ws: &mut Ws) -> Result<Seen, String> {
        let message = next_message(ws, "the /headers report").await?;
        let Message::Text(text) = message else {
            return Err("the /headers report is not text".into());
        };
        serde_json::from_str(text.as_str())
            .map(Seen)
            .map_err(|e| format!("the /headers report: {e}"))
    }

    /// The bytes haproxy relayed from the backend for the stream on `path`
    /// (its httplog line: `CLIENT [DATE] FRONT BACKEND/SERVER TIMERS STATUS
    /// BYTES_READ ... "GET http://AUTHORITY/PATH HTTP/2.0"`), waiting up to
    /// 3 s for the line: haproxy writes it once the stream has ended.
    async fn haproxy_bytes_read(log: &std::ffi::OsStr, path: &str) -> Option<usize> {
        let needle = format!("{path} HTTP/2.0\"");
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let found = std::fs::read_to_string(log).ok().and_then(|text| {
                text.lines()
                    .rev()
                    .find(|line| line.ends_with(&needle))
                    .and_then(|line| line.split_whitespace().nth(6)?.parse().ok())
            });
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a message and checks it comes back exactly.
    async fn echo(ws: &mut Ws, message: Message, what: &str) -> Result<(), String> {
        ws.send(message.clone())
            .await
            .map_err(|e| format!("{what}: send: {e}"))?;
        let got = next_message(ws, what).await?;
        expect_message(&got, &message, what)
    }

    /// The next data message, skipping pings and pongs.
    async fn next_message(ws: &mut Ws, what: &str) -> Result<Message, String> {
        loop {
            match ws.recv().await.map_err(|e| format!("{what}: recv: {e}"))? {
                Event::Ping(_) | Event::Pong(_) => {}
                Event::Close(frame) => return Err(format!("{what}: server closed: {frame:?}")),
                data => return Ok(data.into_message().expect("a data event")),
            }
        }
    }

    /// Reads up to the peer's close frame; no data may come before it.
    async fn next_close(ws: &mut Ws) -> Result<Option<CloseFrame>, String> {
        loop {
            match ws.recv().await {
                Ok(Event::Close(frame)) => return Ok(frame),
                Ok(Event::Ping(_) | Event::Pong(_)) => {}
                Ok(other) => return Err(format!("data after our close: {}", show_event(&other))),
                Err(e) => return Err(format!("waiting for the close reply: {e}")),
            }
        }
    }

    /// Ends a check's stream with 1000 and a finished closing handshake.
    async fn close_normally(mut ws: Ws) -> Outcome {
        ws.close(CloseCode::NORMAL, "done")
            .await
            .map_err(|e| format!("close: {e}"))?;
        let frame = next_close(&mut ws).await?;
        if frame.as_ref().map(|f| f.code) != Some(CloseCode::NORMAL) {
            return Err(format!("close reply {frame:?}, wanted code 1000"));
        }
        match ws.recv().await {
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

    /// xorshift64*: payloads that differ from run to run without a
    /// dependency.
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
}
