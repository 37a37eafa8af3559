//! The server's opening handshake machine, `ServerHandshake`, fed an
//! arbitrary request in chunks the input chooses, and answered with a
//! decision the input chooses.
//!
//! Input: `[flags, split, decision, inject, bytes...]`.
//!
//! - `flags`: bits 0-1 pick the `Limits` (`Config::handshake_limits`), bits
//!   2-3 the server's permessage-deflate config (none or one of three),
//!   bit 4 makes the request with our own `ClientRequest` (template mode,
//!   below), bit 5 ends the input with EOF rather than the deadline.
//! - `split` seeds the chunking of reads and writes (`Splitter`).
//! - `decision`: low 3 bits accept (plain, with an offered or a foreign
//!   subprotocol, declining extensions, with a header copied from the
//!   request, with a header that tries to inject another), reject (with
//!   a status from a table, odd ones included), decide with a closure, or
//!   let the deadline pass; the high nibble is the parameter.
//! - `inject`: 0 for nothing; else at step `inject & 0x3f` of a third run,
//!   `handle_timeout(deadline)` (bit 6 clear) or an early `finish()` (set).
//! - Template mode: the bytes are `extensions \n protocols \n header lines
//!   ... \0 frames`; whatever of it `ClientRequest` accepts is offered,
//!   the request is that `ClientRequest`'s encoding, then the frames.
//!
//! Checked:
//! - nothing panics; every split of the input (and of the writes) gives
//!   the same actions (`Read`, `Decide`, `Write`, `Done`, repeats merged),
//!   the same request, the same bytes transmitted and the same outcome (the
//!   same error, or a connection with the same extensions giving the same
//!   events from the bytes after the head); `handle_timeout` before the
//!   deadline changes nothing;
//! - the request decided on is `parse_request`'s (which depends only on
//!   the head); a parse error is refused with `RequestError::response()`;
//! - what an accepted request may be (checked independently): its target
//!   (`path`) visible ASCII without `#`, its authority (`host`) without
//!   userinfo, with balanced brackets and a port of at most 65535, at
//!   most one `Origin`, printable ASCII; and the same request rebuilt
//!   from its fields parses to the same `Request`, while one change makes
//!   exactly the error it should: `#` or a non-ASCII character added to
//!   the target is `InvalidTarget`, a `Host` with `@`, an unbalanced
//!   bracket or port 65536 is `InvalidHost` (and `[::1]:65535` is
//!   accepted), a second `Origin` is `DuplicateHeader` (a first one is
//!   taken as the origin), and an `Origin` with a non-ASCII character or
//!   a tab is `InvalidOrigin`;
//! - in template mode, `ClientRequest::header` refuses `Keep-Alive`,
//!   `Proxy-Connection` and `TE` (any case), and the request never carries
//!   them;
//! - `poll_timeout` is `Some` until `Done` (the deadline, or the deadline
//!   plus `REFUSAL_GRACE` while a refusal is written), `None` at `Done`;
//!   `transmit` is non-empty exactly when the action is `Write`;
//! - a 101 is exactly `Request::accept`'s answer: valid HTTP/1.1 with the
//!   right `Sec-WebSocket-Accept`, the chosen subprotocol, each extra
//!   header as exactly one field, and the permessage-deflate answer that
//!   `server_accept` gives for the config (none when declined), which the
//!   strict client check `client_accept_offers` against the request's own
//!   offers accepts with the very parameters the connection runs; in
//!   template mode the `ClientRequest` that made the request accepts the
//!   answer with `parse_response` and agrees on the same extensions;
//! - beyond the machine's one decision, `Request::accept` directly: the
//!   plain answer (also declining extensions, also choosing the first
//!   subprotocol) is always possible with each of the four server configs
//!   and is a 101 as above; headers copied from the request are refused or
//!   written as exactly one field; the offers round-trip through
//!   `format_extensions` and `parse_extensions`;
//! - every refusal (parse error, decision, 408 at the deadline, 500 when
//!   the decision cannot be written) is one HTTP/1.1 response whose status
//!   is the one the error `finish` gives was answered with
//!   (`RequestError::status()`, 408, the refusal's, or 500), framed by its
//!   `Content-Length`, without injected fields, read back by a client as a
//!   rejection with the same status and body; a decision's refusal is
//!   reported with the status sent (`Refusal::sent_status`: its own within
//!   200..=999, else 500);
//! - a `Connection` comes out only after the whole 101 was transmitted
//!   (also from an early `finish()`), and then always: a `handle_timeout`
//!   at the deadline (or an early `finish()`) after the last byte of the
//!   101 gives the same connection as the run left alone; a deadline
//!   before that always ends in `Done` by the deadline plus
//!   `REFUSAL_GRACE`, without a connection, whether or not the peer
//!   reads.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{client_accept_offers, server_accept, DeflateConfig};
use rfc6455::handshake::{
    format_extensions, parse_extensions, parse_request, AcceptOptions, BuildError, ClientRequest,
    Error, HttpVersion, Limits, Parsed, Refusal, Request, RequestError, ServerAction,
    ServerHandshake, REFUSAL_GRACE,
};
use rfc6455::{Config, Extensions};
use rfc6455_fuzz::handshake::{check_refusal, limits, ConnectionSummary, HttpResponse};
use rfc6455_fuzz::Splitter;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Refusal statuses a decision picks from, odd ones included.
const STATUSES: [u16; 16] = [
    400, 401, 403, 404, 429, 500, 503, 200, 301, 999, 426, 101, 42, 0, 1000, 599,
];

/// A header whose value tries to add another field.
const EVIL: (&str, &str) = ("X-Evil", "a\r\nSet-Cookie: injected");

/// Connection-specific fields a client request may not carry (RFC 9113
/// §8.2.2): `ClientRequest::header` refuses them.
const HOP_BY_HOP: [&str; 3] = ["Keep-Alive", "Proxy-Connection", "TE"];

/// What `ClientRequest` accepted of a template.
struct Template {
    request: ClientRequest,
    protocols: Vec<String>,
    extensions: Option<String>,
}

struct Setup {
    config: Config,
    deflate: Option<DeflateConfig>,
    split: u8,
    decision: u8,
    eof_at_end: bool,
    input: Vec<u8>,
    template: Option<Template>,
}

impl Setup {
    fn new(flags: u8, split: u8, decision: u8, bytes: &[u8]) -> Setup {
        let deflate = deflate_choice(flags >> 2);
        let mut config = Config::default()
            .handshake_limits(limits(flags))
            .handshake_timeout(TIMEOUT);
        if let Some(deflate) = &deflate {
            config = config.deflate(deflate.clone());
        }
        let (input, template) = if flags & 0x10 != 0 {
            let (template, frames) = template(bytes);
            let mut input = template.request.encode();
            input.extend_from_slice(frames);
            (input, Some(template))
        } else {
            (bytes.to_vec(), None)
        };
        Setup {
            config,
            deflate,
            split,
            decision,
            eof_at_end: flags & 0x20 != 0,
            input,
            template,
        }
    }
}

/// The server's permessage-deflate config, one of four.
fn deflate_choice(selector: u8) -> Option<DeflateConfig> {
    match selector & 3 {
        0 => None,
        1 => Some(DeflateConfig::default()),
        2 => Some(
            DeflateConfig::default()
                .client_max_window_bits(10)
                .server_no_context_takeover(true),
        ),
        // A configured client limit of 8 counts as 9.
        _ => Some(
            DeflateConfig::default()
                .server_max_window_bits(9)
                .client_max_window_bits(8)
                .client_no_context_takeover(true),
        ),
    }
}

/// `extensions \n protocols \n header lines... \0 frames`: a `ClientRequest`
/// with whatever of it the builders accept, and the frames.
fn template(bytes: &[u8]) -> (Template, &[u8]) {
    let (spec, frames) = match bytes.iter().position(|&b| b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    let spec = String::from_utf8_lossy(spec);
    let mut lines = spec.split('\n');
    let mut request = ClientRequest::new("ws://example.com/chat").expect("a valid URL");
    let mut extensions = None;
    if let Some(line) = lines.next().filter(|l| !l.is_empty()) {
        if let Ok(r) = request.clone().extensions(line) {
            extensions = r.extensions_offered().map(str::to_owned);
            request = r;
        }
    }
    let mut protocols = Vec::new();
    for protocol in lines.next().unwrap_or_default().split(',') {
        let protocol = protocol.trim();
        if let Ok(r) = request.clone().protocol(protocol) {
            protocols.push(protocol.to_owned());
            request = r;
        }
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let added = request.clone().header(name, value.trim());
            if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                assert!(
                    matches!(
                        added,
                        Err(BuildError::ReservedHeader { .. } | BuildError::InvalidHeader { .. })
                    ),
                    "{name} accepted: {added:?}"
                );
            }
            if let Ok(r) = added {
                request = r;
            }
        }
    }
    let template = Template {
        request,
        protocols,
        extensions,
    };
    (template, frames)
}

/// What the server decides.
#[derive(Clone, Debug)]
enum Decision {
    Accept(AcceptOptions),
    Refuse(Refusal),
    /// `decide` with a closure: accept when there is an `Origin`, else 403.
    Closure,
    /// No decision: the deadline passes.
    Wait,
}

impl Decision {
    fn new(byte: u8, request: &Request) -> Decision {
        let param = usize::from(byte >> 4);
        let protocols = request.protocols();
        let offered = |i: usize| protocols.get(i % protocols.len().max(1)).cloned();
        match byte & 7 {
            0 => Decision::Accept(AcceptOptions::default()),
            1 => Decision::Accept(
                AcceptOptions::default().protocol(offered(param).unwrap_or("chat".into())),
            ),
            2 => {
                let mut options = AcceptOptions::default().decline_extensions();
                if let Some(protocol) = offered(param) {
                    options = options.protocol(protocol);
                }
                Decision::Accept(options)
            }
            3 => {
                let headers = request.headers();
                let options = match headers.get(param % headers.len().max(1)) {
                    Some(h) => match h.value_str() {
                        Some(value) => AcceptOptions::default().header(h.name.clone(), value),
                        None => AcceptOptions::default().header(h.name.clone(), "x"),
                    },
                    None => AcceptOptions::default().header("X-Fuzz", "1"),
                };
                Decision::Accept(options)
            }
            4 => Decision::Accept(AcceptOptions::default().header(EVIL.0, EVIL.1)),
            5 => Decision::Refuse(
                Refusal::new(STATUSES[param])
                    .header("X-Reason", "fuzz")
                    .header(EVIL.0, EVIL.1)
                    .header("Content-Length", "99")
                    .body(request.path().as_bytes().to_vec()),
            ),
            6 => Decision::Closure,
            _ => Decision::Wait,
        }
    }

    /// What the decision amounts to for `request`: accept with these
    /// options, or refuse with this; `None` for no decision.
    fn choice(&self, request: &Request) -> Option<Result<AcceptOptions, Refusal>> {
        match self {
            Decision::Accept(options) => Some(Ok(options.clone())),
            Decision::Refuse(refusal) => Some(Err(refusal.clone())),
            Decision::Closure => Some(closure(request)),
            Decision::Wait => None,
        }
    }
}

fn closure(request: &Request) -> Result<AcceptOptions, Refusal> {
    match request.origin() {
        Some(_) => Ok(AcceptOptions::default()),
        None => Err(Refusal::new(403).body("no origin")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inject {
    None,
    /// `handle_timeout(deadline)` at this step.
    Timeout(usize),
    /// `finish()` at this step.
    Finish(usize),
}

/// Everything a run observed.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The actions, repeats merged.
    actions: Vec<ServerAction>,
    /// The request decided on.
    request: Option<Request>,
    /// The whole answer, as first queued.
    queued: Vec<u8>,
    /// What was written of it.
    transmitted: Vec<u8>,
    result: Result<ConnectionSummary, Error>,
    /// An injected event cut the run short.
    interrupted: bool,
}

fn run(s: &Setup, chunked: bool, inject: Inject) -> Outcome {
    let t0 = Instant::now();
    let deadline = t0 + TIMEOUT;
    let chunks = if chunked {
        Splitter::chunks(s.split, &s.input)
    } else {
        vec![&s.input[..]]
    };
    let mut next_chunk = 0;
    let mut writes = Splitter::new(s.split.wrapping_add(0x5a));
    let write_max = [1usize, 2, 7, 64][usize::from(s.split >> 6)];
    let mut hs = ServerHandshake::new(s.config.clone(), t0);
    let mut out = Outcome {
        actions: Vec::new(),
        request: None,
        queued: Vec::new(),
        transmitted: Vec::new(),
        result: Err(Error::Timeout),
        interrupted: false,
    };
    let mut step = 0;
    loop {
        // What the connection, if any, still has to read.
        let rest = &chunks[next_chunk..];
        if inject == Inject::Timeout(step) {
            timed_out(s, hs, deadline, (&mut writes, write_max), rest, &mut out);
            return out;
        }
        if inject == Inject::Finish(step) {
            out.interrupted = true;
            out.result = hs
                .finish()
                .map(|c| ConnectionSummary::new(c, rest, s.eof_at_end));
            return out;
        }
        step += 1;
        assert!(step < 1 << 20, "no progress: {:?}", out.actions);

        let action = hs.poll_action();
        assert_eq!(hs.transmit().is_empty(), action != ServerAction::Write);
        if action == ServerAction::Write && out.queued.is_empty() {
            out.queued = hs.transmit().to_vec();
        }
        check_timeout(&hs, action, deadline, &out.queued);
        if out.actions.last() != Some(&action) {
            out.actions.push(action);
        }
        match action {
            ServerAction::Read => {
                if chunked {
                    // Before the deadline, time changes nothing.
                    hs.handle_timeout(t0 + TIMEOUT / 2);
                }
                match chunks.get(next_chunk) {
                    Some(chunk) => {
                        hs.recv(chunk);
                        next_chunk += 1;
                    }
                    None if s.eof_at_end => hs.recv_eof(),
                    None => hs.handle_timeout(deadline),
                }
            }
            ServerAction::Decide => {
                let request = hs.request().expect("a request to decide on").clone();
                check_request(s, &request);
                match Decision::new(s.decision, &request) {
                    Decision::Accept(options) => hs.accept(options),
                    Decision::Refuse(refusal) => hs.refuse(refusal),
                    Decision::Closure => hs.decide(closure),
                    Decision::Wait => hs.handle_timeout(deadline),
                }
                assert!(hs.request().is_none(), "still deciding after the decision");
                out.request = Some(request);
            }
            ServerAction::Write => {
                let pending = hs.transmit();
                assert_eq!(pending, &out.queued[out.transmitted.len()..]);
                let n = if chunked {
                    1 + writes.next_u32() as usize % write_max
                } else {
                    pending.len()
                };
                let n = n.min(pending.len());
                out.transmitted.extend_from_slice(&pending[..n]);
                hs.advance(n);
            }
            ServerAction::Done => break,
        }
    }
    // Done stays done.
    assert_eq!(hs.poll_action(), ServerAction::Done);
    assert_eq!(hs.poll_timeout(), None);
    out.result = hs
        .finish()
        .map(|conn| ConnectionSummary::new(conn, &chunks[next_chunk..], s.eof_at_end));
    out
}

/// `poll_timeout` is `Some` until `Done`: the deadline, or while a refusal
/// is written, the deadline plus the grace.
fn check_timeout(hs: &ServerHandshake, action: ServerAction, deadline: Instant, queued: &[u8]) {
    match (action, hs.poll_timeout()) {
        (ServerAction::Done, None) => {}
        (ServerAction::Done, Some(t)) => panic!("Done with a timeout {t:?}"),
        (action, None) => panic!("no timeout while {action:?}"),
        (ServerAction::Read | ServerAction::Decide, Some(t)) => assert_eq!(t, deadline),
        (ServerAction::Write, Some(t)) if queued.starts_with(b"HTTP/1.1 101 ") => {
            assert_eq!(t, deadline)
        }
        (ServerAction::Write, Some(t)) => assert_eq!(t, deadline + REFUSAL_GRACE),
    }
}

/// The deadline passes at this point of the run: the machine must be done
/// by the end of the grace, whether the peer reads or not. A 101 already
/// transmitted whole stands: the connection comes out (fed `rest`).
fn timed_out(
    s: &Setup,
    mut hs: ServerHandshake,
    deadline: Instant,
    (writes, write_max): (&mut Splitter, usize),
    rest: &[&[u8]],
    out: &mut Outcome,
) {
    out.interrupted = true;
    let written_101 = out.queued.starts_with(b"HTTP/1.1 101 ") && out.transmitted == out.queued;
    hs.handle_timeout(deadline);
    if written_101 {
        assert_eq!(
            hs.poll_action(),
            ServerAction::Done,
            "a 101 written whole and not done"
        );
    }
    let grace_end = deadline + REFUSAL_GRACE;
    let action = hs.poll_action();
    if let Some(t) = hs.poll_timeout() {
        assert!(t <= grace_end, "{t:?} past the grace");
    }
    match action {
        ServerAction::Read | ServerAction::Decide => {
            panic!("{action:?} after the deadline")
        }
        ServerAction::Write => {
            let pending = hs.transmit();
            if out.queued.is_empty() {
                // The answer queued at the deadline (a 408).
                out.queued = pending.to_vec();
            }
            assert_eq!(pending, &out.queued[out.transmitted.len()..]);
            // The peer reads some of it, or nothing.
            let n = (writes.next_u32() as usize % (write_max + 1)).min(pending.len());
            out.transmitted.extend_from_slice(&pending[..n]);
            hs.advance(n);
            if hs.poll_action() != ServerAction::Done {
                hs.handle_timeout(grace_end);
            }
        }
        ServerAction::Done => {}
    }
    assert_eq!(
        hs.poll_action(),
        ServerAction::Done,
        "not done after the grace"
    );
    assert_eq!(hs.poll_timeout(), None);
    out.result = hs
        .finish()
        .map(|c| ConnectionSummary::new(c, rest, s.eof_at_end));
    if written_101 {
        if let Err(e) = &out.result {
            panic!("a 101 written whole, then the deadline: {e:?}, not a connection");
        }
    } else {
        assert!(out.result.is_err(), "a connection after the deadline");
    }
}

/// What every validated HTTP/1.1 request has; in template mode, exactly
/// what the `ClientRequest` asked for.
fn check_request(s: &Setup, request: &Request) {
    assert_eq!(request.version(), HttpVersion::Http11);
    assert_eq!(request.method(), "GET");
    let key = request.key().expect("HTTP/1.1 has a key");
    assert_eq!(key.len(), 24, "key {key:?}");
    assert!(request.accept_key().is_some());
    assert!(!request.host().is_empty());
    assert!(request.path().starts_with('/'), "{:?}", request.path());
    for protocol in request.protocols() {
        assert!(!protocol.is_empty());
    }
    // The target: visible ASCII, no fragment.
    let path = request.path().as_bytes();
    assert!(
        path.iter().all(|b| (0x21..=0x7e).contains(b)) && !path.contains(&b'#'),
        "target {:?}",
        request.path()
    );
    assert!(valid_authority(request.host()), "host {:?}", request.host());
    // At most one Origin, printable ASCII, and that is the origin.
    let origins: Vec<&[u8]> = request
        .headers()
        .iter()
        .filter(|h| h.is("Origin"))
        .map(|h| h.value.as_slice())
        .collect();
    match origins[..] {
        [] => assert_eq!(request.origin(), None),
        [origin] => {
            assert!(origin.iter().all(|b| (0x20..=0x7e).contains(b)));
            assert_eq!(request.origin().map(str::as_bytes), Some(origin));
        }
        _ => panic!("{} Origin fields accepted", origins.len()),
    }
    if let Some(t) = &s.template {
        for name in HOP_BY_HOP {
            assert!(!request.headers().iter().any(|h| h.is(name)), "{name} sent");
        }
        assert_eq!(key, t.request.key());
        assert_eq!(request.host(), "example.com");
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.protocols(), &t.protocols[..]);
        let offered = match &t.extensions {
            Some(value) => parse_extensions(value).expect("our own offer parses"),
            None => Vec::new(),
        };
        assert_eq!(request.extensions(), &offered[..]);
    }
}

/// `host[:port]` (RFC 3986 §3.2.2, §3.2.3), written here independently:
/// visible ASCII without userinfo (`@`), a bracketed IP literal (not
/// empty) or a name without brackets or colons, then nothing or `:` and a
/// port of at most 5 digits and 65535.
fn valid_authority(authority: &str) -> bool {
    let visible = |s: &str| s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if !visible(authority) || authority.contains('@') {
        return false;
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, port)) => (literal, port),
            None => return false,
        },
        None => match authority.find(':') {
            Some(colon) => authority.split_at(colon),
            None => (authority, ""),
        },
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some("") => true,
        Some(digits) => {
            digits.len() <= 5
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.parse::<u32>().is_ok_and(|p| p <= 65535)
        }
    };
    !host.is_empty() && !host.contains(['[', ']']) && port_ok
}

/// The accepted request rebuilt from its request line and fields (`input`
/// is its head), with `target` in place of the target (`None`: the same)
/// and `fields` changed by `edit`; parsed with room for it.
fn rebuilt(
    input: &[u8],
    request: &Request,
    target: impl FnOnce(&str) -> String,
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>),
) -> Result<Parsed<Request>, RequestError> {
    let (method, raw_target) = request_line(input, request);
    let mut fields: Vec<(String, Vec<u8>)> = request
        .headers()
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    edit(&mut fields);
    let mut bytes = format!("{method} {} HTTP/1.1\r\n", target(&raw_target)).into_bytes();
    for (name, value) in &fields {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    let roomy = Limits {
        max_size: bytes.len() + 1,
        max_headers: fields.len().max(1),
    };
    parse_request(&bytes, &roomy)
}

/// The accepted request rebuilt, and rebuilt with one change each: the
/// target, `Host` and `Origin` rules of `parse_request`.
fn check_changes(input: &[u8], request: &Request) {
    let same = |t: &str| t.to_owned();
    match rebuilt(input, request, same, |_| {}) {
        Ok(Parsed::Complete(again, _)) => assert_eq!(&again, request),
        other => panic!("rebuilt as {other:?}"),
    }
    for suffix in ["#f", "\u{e9}"] {
        let mut changed = None;
        let result = rebuilt(
            input,
            request,
            |t| {
                let t = format!("{t}{suffix}");
                changed = Some(t.clone());
                t
            },
            |_| {},
        );
        let target = changed.expect("the target");
        assert_eq!(result, Err(RequestError::InvalidTarget { target }));
    }

    let set = |name: &'static str, value: &'static [u8]| {
        move |fields: &mut Vec<(String, Vec<u8>)>| {
            fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            fields.push((name.to_owned(), value.to_vec()));
        }
    };
    for host in [
        &b"u@a.test"[..],
        b"a.test:65536",
        b"[::1",
        b"a.test]",
        b"[]",
    ] {
        assert_eq!(
            rebuilt(input, request, same, set("Host", host)),
            Err(RequestError::InvalidHost),
            "Host: {}",
            String::from_utf8_lossy(host)
        );
    }
    // An absolute-form target's authority stands for the host.
    let absolute = !request_line(input, request).1.starts_with('/');
    match rebuilt(input, request, same, set("Host", b"[::1]:65535")) {
        Ok(Parsed::Complete(changed, _)) if absolute => assert_eq!(changed.host(), request.host()),
        Ok(Parsed::Complete(changed, _)) => assert_eq!(changed.host(), "[::1]:65535"),
        other => panic!("Host: [::1]:65535 gave {other:?}"),
    }

    let second = rebuilt(input, request, same, |fields| {
        fields.push(("Origin".to_owned(), b"http://a.test".to_vec()))
    });
    match (request.origin(), second) {
        (Some(_), second) => assert_eq!(
            second,
            Err(RequestError::DuplicateHeader { name: "Origin" })
        ),
        (None, Ok(Parsed::Complete(changed, _))) => {
            assert_eq!(changed.origin(), Some("http://a.test"))
        }
        (None, other) => panic!("a first Origin gave {other:?}"),
    }
    for origin in [&b"http://caf\xc3\xa9.test"[..], b"http://a\tb"] {
        assert_eq!(
            rebuilt(input, request, same, set("Origin", origin)),
            Err(RequestError::InvalidOrigin),
            "Origin: {origin:?}"
        );
    }
}

/// The method and request-target of the accepted request's head, as
/// httparse reads them.
fn request_line(input: &[u8], request: &Request) -> (String, String) {
    let mut slots = vec![httparse::EMPTY_HEADER; request.headers().len()];
    let mut head = httparse::Request::new(&mut slots);
    let Ok(httparse::Status::Complete(_)) = head.parse(input) else {
        panic!("an accepted head httparse cannot read: {input:?}");
    };
    (
        head.method.expect("a method").to_owned(),
        head.path.expect("a target").to_owned(),
    )
}

/// The properties of any run's outcome.
fn check_outcome(s: &Setup, out: &Outcome) {
    let choice = out
        .request
        .as_ref()
        .and_then(|r| Decision::new(s.decision, r).choice(r));
    match &out.result {
        Ok(summary) => {
            // Only once the whole 101 is out.
            assert!(!out.queued.is_empty(), "a connection without an answer");
            assert_eq!(
                out.transmitted, out.queued,
                "a connection before the whole 101"
            );
            let request = out.request.as_ref().expect("accepted without a request");
            let Some(Ok(options)) = choice else {
                panic!("a connection though the decision was {choice:?}");
            };
            let answerer = Answerer {
                config: &s.config,
                deflate: s.deflate.as_ref(),
                template: s.template.as_ref(),
            };
            check_101(
                &answerer,
                request,
                &options,
                &out.queued,
                &summary.extensions,
            );
        }
        Err(error) => {
            let whole = !out.queued.is_empty() && out.transmitted == out.queued;
            if out.interrupted && !whole {
                return;
            }
            // The status each failure is answered with.
            let status = match error {
                Error::Request(e) => e.status(),
                Error::Timeout => 408,
                Error::Refused { status } => *status,
                _ => 500,
            };
            let body = match (error, &out.request, &choice) {
                (Error::ClosedDuringHandshake, None, _) => {
                    assert!(out.queued.is_empty(), "an answer to a request never seen");
                    return;
                }
                // Only a 101 not yet written whole is abandoned at the
                // deadline (returned above); one written whole stands.
                (Error::Timeout, _, _) if out.queued.starts_with(b"HTTP/1.1 101 ") => {
                    panic!(
                        "a timeout after the whole 101 (interrupted: {})",
                        out.interrupted
                    )
                }
                (Error::Timeout, _, _) => {
                    assert_eq!(out.queued, Refusal::new(408).encode());
                    Vec::new()
                }
                // Reported with the status sent (checked on the wire below):
                // the refusal's own, or 500 for one no refusal can have.
                (Error::Refused { status: refused }, Some(_), Some(Err(refusal))) => {
                    assert_eq!(out.queued, refusal.encode());
                    let sent = if (200..=999).contains(&refusal.status) {
                        refusal.status
                    } else {
                        500
                    };
                    assert_eq!(refusal.sent_status(), sent, "{refusal:?}");
                    assert_eq!(*refused, sent, "reported status for {refusal:?}");
                    refusal.body.clone()
                }
                (Error::Build(e), Some(request), Some(Ok(options))) => {
                    let expected = request.accept(options, &s.config).map(|_| ());
                    assert_eq!(expected, Err(e.clone()));
                    assert_eq!(out.queued, Refusal::new(500).encode());
                    Vec::new()
                }
                (Error::Request(error), None, _) => {
                    assert_eq!(out.queued, error.response());
                    format!("{error}\n").into_bytes()
                }
                (error, request, choice) => {
                    panic!("{error:?} after {request:?} and {choice:?}")
                }
            };
            // RFC 6455 §4.4: our own 426 names the version we speak.
            let required: &[(&str, &[u8])] = match error {
                Error::Request(RequestError::UnsupportedVersion { .. }) => {
                    &[("sec-websocket-version", b"13")]
                }
                _ => &[],
            };
            if whole {
                check_refusal(&out.queued, status, &body, required, &["set-cookie"]);
            }
        }
    }
}

/// What a 101 was made with.
struct Answerer<'a> {
    config: &'a Config,
    deflate: Option<&'a DeflateConfig>,
    /// The `ClientRequest` that made the request, in template mode.
    template: Option<&'a Template>,
}

/// A 101 is exactly `Request::accept`'s answer, and agrees on what the
/// connection runs (`runs`).
fn check_101(
    a: &Answerer,
    request: &Request,
    options: &AcceptOptions,
    answer: &[u8],
    runs: &Extensions,
) {
    let accepted = request
        .accept(options, a.config)
        .expect("accepted with these options");
    assert_eq!(answer, accepted.encode());
    assert_eq!(accepted.status(), 101);
    assert_eq!(accepted.protocol(), options.protocol.as_deref());
    assert_eq!(runs, accepted.extensions());

    let response = HttpResponse::parse(answer);
    assert_eq!(response.code, 101);
    assert_eq!(
        response.head_len,
        answer.len(),
        "bytes after the 101's head"
    );
    assert_eq!(response.one("upgrade"), Some(&b"websocket"[..]));
    assert_eq!(response.one("connection"), Some(&b"Upgrade"[..]));
    let key = request.accept_key().expect("HTTP/1.1 has a key");
    assert_eq!(response.one("sec-websocket-accept"), Some(key.as_bytes()));
    assert_eq!(
        response.one("sec-websocket-protocol"),
        options.protocol.as_deref().map(str::as_bytes)
    );
    if let Some(protocol) = &options.protocol {
        assert!(request.protocols().contains(protocol));
    }
    assert!(response.all("content-length").is_empty());
    assert!(response.all("transfer-encoding").is_empty());

    // The extensions: what `server_accept` agrees to with the config,
    // unless declined, and what the strict client check accepts against
    // the offers the request made, with the same parameters.
    let expected = match (a.deflate, options.decline_extensions) {
        (Some(deflate), false) => server_accept(request.extensions(), deflate),
        _ => None,
    };
    match (response.one("sec-websocket-extensions"), expected) {
        (None, None) => assert!(runs.is_empty()),
        (Some(value), Some((text, params))) => {
            assert_eq!(value, text.as_bytes());
            assert_eq!(runs.deflate(), Some(&params));
            let answered = parse_extensions(&text).expect("the answer parses");
            assert_eq!(
                client_accept_offers(&answered, request.extensions()),
                Ok(Some(params)),
                "{text:?} against {:?}",
                request.extensions()
            );
        }
        (got, want) => panic!("extensions answered {got:?}, expected {want:?}"),
    }

    // Extra headers: one field each, and no field but those meant (so
    // nothing injected).
    for (name, value) in &options.headers {
        let name = name.to_ascii_lowercase();
        assert_eq!(response.all(&name), [value.as_bytes()], "{name}");
    }
    let fields: Vec<(String, Vec<u8>)> = accepted
        .fields()
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    assert_eq!(fields, response.fields);
    assert_eq!(
        fields.len(),
        3 + usize::from(options.protocol.is_some())
            + usize::from(!runs.is_empty())
            + options.headers.len()
    );

    // Our own client accepts the answer to its own request.
    if let Some(t) = a.template {
        let roomy = Limits::default();
        match t.request.parse_response(answer, &roomy) {
            Ok(Parsed::Complete(response, len)) => {
                assert_eq!(len, answer.len());
                assert_eq!(response.status(), 101);
                assert_eq!(response.protocol(), options.protocol.as_deref());
                assert_eq!(response.agreed_extensions(), runs);
            }
            other => panic!("our client refused {answer:?}: {other:?}"),
        }
    }
}

/// `Request::accept` directly, beyond the one decision the machine ran:
/// the plain answer (and one declining extensions, and one choosing the
/// first subprotocol offered) is always possible with each of the four
/// server configs, and is a valid 101; headers copied from the request are
/// refused or written as exactly one field each. The offers also
/// round-trip through `format_extensions` and `parse_extensions`.
fn check_accepts(s: &Setup, request: &Request) {
    if !request.extensions().is_empty() {
        let value = format_extensions(request.extensions());
        assert_eq!(
            parse_extensions(&value).as_deref(),
            Ok(request.extensions()),
            "extensions do not round-trip through {value:?}"
        );
    }
    let mut plain = vec![
        AcceptOptions::default(),
        AcceptOptions::default().decline_extensions(),
    ];
    if let Some(protocol) = request.protocols().first() {
        plain.push(AcceptOptions::default().protocol(protocol.clone()));
    }
    for selector in 0..4 {
        let deflate = deflate_choice(selector);
        let mut config = Config::default();
        if let Some(deflate) = &deflate {
            config = config.deflate(deflate.clone());
        }
        let answerer = Answerer {
            config: &config,
            deflate: deflate.as_ref(),
            template: s.template.as_ref(),
        };
        for options in &plain {
            let accepted = request
                .accept(options, &config)
                .unwrap_or_else(|e| panic!("{options:?} refused: {e}"));
            check_101(
                &answerer,
                request,
                options,
                &accepted.encode(),
                accepted.extensions(),
            );
        }
    }
    let answerer = Answerer {
        config: &s.config,
        deflate: s.deflate.as_ref(),
        template: None,
    };
    for header in request.headers().iter().take(4) {
        let Some(value) = header.value_str() else {
            continue;
        };
        let options = AcceptOptions::default().header(header.name.clone(), value);
        if let Ok(accepted) = request.accept(&options, &s.config) {
            check_101(
                &answerer,
                request,
                &options,
                &accepted.encode(),
                accepted.extensions(),
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, split, decision, inject, bytes @ ..] = data else {
        return;
    };
    let s = Setup::new(*flags, *split, *decision, bytes);

    let whole = run(&s, false, Inject::None);
    check_outcome(&s, &whole);

    // The machine decides on what the parser gives, and refuses its errors.
    let limits = s.config.handshake_limits;
    match parse_request(&s.input, &limits) {
        Ok(Parsed::Complete(request, len)) => {
            assert!(len <= s.input.len() && len <= limits.max_size);
            assert_eq!(whole.request.as_ref(), Some(&request));
            check_accepts(&s, &request);
            check_changes(&s.input[..len], &request);
            // It depends only on the head.
            assert_eq!(
                parse_request(&s.input[..len], &limits),
                Ok(Parsed::Complete(request, len))
            );
            if let Ok(shorter) = parse_request(&s.input[..len - 1], &limits) {
                assert_eq!(shorter, Parsed::Partial, "a cut head parsed");
            }
        }
        Ok(Parsed::Partial) => {
            assert!(s.input.len() < limits.max_size);
            assert_eq!(whole.request, None);
            let end = if s.eof_at_end {
                Error::ClosedDuringHandshake
            } else {
                Error::Timeout
            };
            assert_eq!(whole.result.as_ref().err(), Some(&end));
        }
        Err(error) => {
            assert_eq!(whole.request, None);
            assert_eq!(whole.result.as_ref().err(), Some(&Error::Request(error)));
        }
    }

    // Any split gives the same.
    let chunked = run(&s, true, Inject::None);
    check_outcome(&s, &chunked);
    assert_eq!(chunked, whole, "split {split} differs from whole");

    if *inject != 0 {
        let step = usize::from(inject & 0x3f);
        let inject = if inject & 0x40 != 0 {
            Inject::Finish(step)
        } else {
            Inject::Timeout(step)
        };
        let injected = run(&s, true, inject);
        check_outcome(&s, &injected);
        if !injected.interrupted {
            assert_eq!(injected, chunked);
        } else if injected.result.is_ok() {
            // After the whole 101, neither the deadline nor an early
            // `finish()` changes anything.
            assert_eq!(injected.request, chunked.request);
            assert_eq!(injected.queued, chunked.queued);
            assert_eq!(injected.transmitted, chunked.transmitted);
            assert_eq!(injected.result, chunked.result);
        }
    }
});
