//! Echo load and idle-memory benchmark: rfc6455 against tokio-tungstenite,
//! fastwebsockets, sockudo-ws and a plain TCP echo, each server in its own
//! process pinned to one core, the load generator pinned to another; and a
//! fan-out (broadcast) benchmark against the same peers.
//!
//! ```text
//! cargo run --release --manifest-path benches/load/Cargo.toml -- [--quick] [--rounds N] [--secs S]
//!     [--scenario CONNSxBYTES ...] [--servers a,b,...] [--svg FILE] [--deflate] [--deflate-level N]
//! cargo run --release --manifest-path benches/load/Cargo.toml -- idle [--conns 10000] [--wait 3] [--servers a,b,...]
//! cargo run --release --manifest-path benches/load/Cargo.toml -- fanout [--quick] [--subs 1000,10000]
//!     [--secs S] [--rounds N] [--window W] [--servers a,b,...] [--deflate]
//! ```
//!
//! See benches/README.md for what is measured and how to read the tables.

mod chart;
mod client;
mod fanout;
mod fanout_client;
mod fanout_servers;
mod process;
mod servers;
mod sys;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_client::Histogram;
use servers::Kind;

const SERVER_CORE: usize = 0;
const CLIENT_CORE: usize = 1;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("server") {
        let kind = args
            .get(1)
            .and_then(|n| Kind::from_name(n))
            .expect("usage: server KIND [--deflate [LEVEL]]");
        let deflate = args.get(2).map(String::as_str) == Some("--deflate");
        let level = args.get(3).map(|l| l.parse().expect("LEVEL: 0..=9"));
        if sys::cores() >= 2 {
            sys::pin_to_core(SERVER_CORE);
        }
        sys::raise_nofile();
        if let Err(e) = servers::run(kind, deflate, level) {
            eprintln!("{} server failed: {e}", kind.name());
            std::process::exit(1);
        }
        return;
    }
    if args.first().map(String::as_str) == Some("fanout-server") {
        let kind = args
            .get(1)
            .and_then(|n| fanout_servers::FanKind::from_name(n))
            .expect("usage: fanout-server KIND [--deflate]");
        let deflate = args.get(2).map(String::as_str) == Some("--deflate");
        if sys::cores() >= 2 {
            sys::pin_to_core(SERVER_CORE);
        }
        sys::raise_nofile();
        if let Err(e) = fanout_servers::run(kind, deflate) {
            eprintln!("{} fan-out server failed: {e}", kind.name());
            std::process::exit(1);
        }
        return;
    }
    let fanout = args.first().map(String::as_str) == Some("fanout");
    let fanout_options = fanout.then(|| fanout::Options::parse(&args[1..]));
    let options = if fanout {
        Options::parse(&[])
    } else {
        Options::parse(&args)
    };
    if sys::cores() >= 2 {
        sys::pin_to_core(CLIENT_CORE);
    } else {
        eprintln!("warning: one core only: server and load generator share it");
    }
    let nofile = sys::raise_nofile();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "machine: {} cores, {}; server pinned to core {SERVER_CORE}, load generator to core {CLIENT_CORE}; RLIMIT_NOFILE {nofile}\n",
        sys::cores(),
        sys::cpu_model()
    );
    let result = if let Some(o) = &fanout_options {
        runtime.block_on(fanout::run(o))
    } else if options.idle {
        runtime.block_on(idle(&options))
    } else {
        runtime.block_on(load(&options))
    };
    if let Err(e) = result {
        eprintln!("FAILED: {e}");
        std::process::exit(1);
    }
}

struct Options {
    idle: bool,
    quick: bool,
    rounds: usize,
    secs: f64,
    warmup: f64,
    scenarios: Vec<(usize, usize)>,
    servers: Vec<Kind>,
    conns: usize,
    wait: f64,
    /// Where to write the chart: `--svg FILE`, or [`DEFAULT_SVG`] (with
    /// `--deflate`, [`DEFAULT_DEFLATE_SVG`]) for a full run (not
    /// `--quick`, every scenario, every server).
    svg: Option<PathBuf>,
    /// `--deflate`: every scenario's messages are compressed JSON texts,
    /// permessage-deflate negotiated; only servers that can take part.
    deflate: bool,
    /// `--deflate-level N`: every server compresses at zlib level N
    /// instead of its library's default (rfc6455 1, sockudo-ws 6).
    deflate_level: Option<u32>,
}

/// The chart of a full run, next to this crate's Cargo.toml.
const DEFAULT_SVG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/echo.svg");
/// The chart of a full `--deflate` run.
const DEFAULT_DEFLATE_SVG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/echo-deflate.svg");

/// The issue's scenarios: (connections, message bytes).
const SCENARIOS: [(usize, usize); 6] = [
    (1, 16),
    (100, 20),
    (10, 1024),
    (200, 16 * 1024),
    (500, 16 * 1024),
    (1, 1024 * 1024),
];

/// The scenarios of `--deflate` (issue 15: compressed echo of 100 × 1 KiB
/// JSON).
const DEFLATE_SCENARIOS: [(usize, usize); 1] = [(100, 1024)];

/// The blocking adapter (a thread per connection) runs only where there
/// are at most this many connections.
const BLOCKING_MAX_CONNS: usize = 10;

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut o = Options {
            idle: false,
            quick: false,
            rounds: 5,
            secs: 3.0,
            warmup: 0.5,
            scenarios: Vec::new(),
            servers: Vec::new(),
            conns: 10_000,
            wait: 3.0,
            svg: None,
            deflate: false,
            deflate_level: None,
        };
        let mut it = args.iter();
        let mut explicit_rounds = false;
        let mut explicit_secs = false;
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> String {
                it.next()
                    .cloned()
                    .unwrap_or_else(|| usage(&format!("{name} needs a value")))
            };
            match arg.as_str() {
                "idle" => o.idle = true,
                "load" => o.idle = false,
                "--quick" => o.quick = true,
                "--deflate" => o.deflate = true,
                "--deflate-level" => {
                    let level: u32 = parse_num(&value("--deflate-level"));
                    if level > 9 {
                        usage("--deflate-level takes 0..=9");
                    }
                    o.deflate_level = Some(level);
                    o.deflate = true;
                }
                "--rounds" => {
                    o.rounds = parse_num(&value("--rounds"));
                    explicit_rounds = true;
                }
                "--secs" => {
                    o.secs = parse_num(&value("--secs"));
                    explicit_secs = true;
                }
                "--conns" => o.conns = parse_num(&value("--conns")),
                "--wait" => o.wait = parse_num(&value("--wait")),
                "--svg" => o.svg = Some(PathBuf::from(value("--svg"))),
                "--scenario" => {
                    let v = value("--scenario");
                    let (c, b) = v
                        .split_once('x')
                        .unwrap_or_else(|| usage("--scenario CONNSxBYTES"));
                    o.scenarios.push((parse_num(c), parse_num(b)));
                }
                "--servers" => {
                    o.servers = value("--servers")
                        .split(',')
                        .map(|n| {
                            Kind::from_name(n)
                                .unwrap_or_else(|| usage(&format!("unknown server {n}")))
                        })
                        .collect()
                }
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if o.quick {
            if !explicit_rounds {
                o.rounds = 1;
            }
            if !explicit_secs {
                o.secs = 1.0;
            }
            o.warmup = 0.2;
            if o.idle && o.conns == 10_000 {
                o.conns = 1000;
                o.wait = 1.0;
            }
        }
        let full = !o.quick && o.scenarios.is_empty() && o.servers.is_empty();
        if full && !o.idle && o.svg.is_none() {
            o.svg = Some(PathBuf::from(if o.deflate {
                DEFAULT_DEFLATE_SVG
            } else {
                DEFAULT_SVG
            }));
        }
        if o.deflate && o.idle {
            usage("--deflate is for the echo load test (and fan-out), not idle");
        }
        if o.rounds == 0 || o.secs <= 0.0 {
            usage("--rounds and --secs must be positive");
        }
        if o.scenarios.is_empty() {
            o.scenarios = if o.deflate {
                DEFLATE_SCENARIOS.to_vec()
            } else {
                SCENARIOS.to_vec()
            };
        }
        if o.deflate {
            if let Some(&(_, size)) = o
                .scenarios
                .iter()
                .find(|(_, size)| *size < client::DEFLATE_MIN_SIZE)
            {
                usage(&format!(
                    "--deflate sends JSON messages of at least {} bytes, not {size}",
                    client::DEFLATE_MIN_SIZE
                ));
            }
        }
        if o.servers.is_empty() {
            o.servers = Kind::ALL.to_vec();
            if o.idle {
                // 10 000 threads is not a configuration anyone runs.
                o.servers.retain(|k| *k != Kind::Rfc6455Blocking);
            }
        }
        if o.deflate {
            for kind in o.servers.iter().filter(|k| !k.deflates()) {
                eprintln!(
                    "note: {} has no permessage-deflate: left out of the --deflate scenarios",
                    kind.name()
                );
            }
            o.servers.retain(|k| k.deflates());
            if o.servers.is_empty() {
                usage("--deflate: none of these servers has permessage-deflate");
            }
        }
        o
    }
}

fn parse_num<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}\n");
    }
    eprintln!(
        "usage: ws-load [load] [--quick] [--rounds N] [--secs S] [--scenario CONNSxBYTES]... [--servers a,b] [--svg FILE] [--deflate] [--deflate-level N]\n       \
         ws-load idle [--quick] [--conns N] [--wait S] [--servers a,b]\n       \
         ws-load fanout [--quick] [--subs N,N] [--secs S] [--rounds N] [--window W] [--servers a,b] [--deflate]\n\
         servers: {}",
        Kind::ALL.map(Kind::name).join(", ")
    );
    std::process::exit(2)
}

/// An echo server under test, in its own process.
struct Server {
    kind: Kind,
    process: process::ServerProcess,
}

impl Server {
    /// `deflate`: `None` without permessage-deflate; `Some(level)` with it,
    /// at that zlib level or the library's default.
    fn start(kind: Kind, deflate: Option<Option<u32>>) -> Result<Server, String> {
        let level = deflate.flatten().map(|l| l.to_string());
        let mut args = vec!["server", kind.name()];
        if deflate.is_some() {
            args.push("--deflate");
        }
        if let Some(level) = &level {
            args.push(level);
        }
        let process = process::ServerProcess::spawn(&args, kind.name())?;
        Ok(Server { kind, process })
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// One round's measurement.
#[derive(Clone, Copy, Default)]
struct Sample {
    msgs_per_sec: f64,
    server_cpu_per_msg: f64,
    server_util: f64,
    client_util: f64,
    /// Round-trip latency per message, nanoseconds.
    p50: f64,
    p99: f64,
    /// Echo payload bytes on the wire per message (compressed, with
    /// `--deflate`).
    wire_bytes_per_msg: f64,
    /// Echoes in the window that came uncompressed (RSV1 clear) in a
    /// `--deflate` scenario.
    uncompressed: u64,
}

/// One server's medians over the rounds of a scenario.
struct Row {
    kind: Kind,
    median: Sample,
    /// rfc6455's msgs/s ÷ this server's, per round, then the median.
    speed_ratio: Option<f64>,
    /// This server's CPU per message ÷ rfc6455's, per round, then the median.
    cpu_ratio: Option<f64>,
}

/// The result of one scenario.
struct Scenario {
    conns: usize,
    size: usize,
    /// Compressed JSON texts, permessage-deflate negotiated: `Some` of the
    /// servers' zlib level when `--deflate-level` set one.
    deflate: Option<Option<u32>>,
    rows: Vec<Row>,
}

impl Scenario {
    /// "100 × 1 KiB", or "100 × 1 KiB JSON, deflate".
    fn label(&self) -> String {
        scenario_label(self.conns, self.size, self.deflate)
    }
}

/// "100 × 1 KiB", "100 × 1 KiB JSON, deflate", "100 × 1 KiB JSON, deflate level 1".
fn scenario_label(conns: usize, size: usize, deflate: Option<Option<u32>>) -> String {
    let mut label = format!("{conns} × {}", bytes(size));
    match deflate {
        None => {}
        Some(None) => label.push_str(" JSON, deflate"),
        Some(Some(level)) => label.push_str(&format!(" JSON, deflate level {level}")),
    }
    label
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

async fn load(o: &Options) -> Result<(), String> {
    let load = sys::loadavg();
    let started = sys::utc_now();
    println!(
        "echo load: {} round(s) x {} s per server (after {} s warm-up), servers alternating; medians\n\
         started {started}, load average {:.2} {:.2} {:.2}\n",
        o.rounds, o.secs, o.warmup, load[0], load[1], load[2]
    );
    if o.deflate {
        println!(
            "permessage-deflate: the client offers \"permessage-deflate; client_no_context_takeover; \
             server_no_context_takeover\" and sends text frames with RSV1, JSON of the scenario's size \
             compressed beforehand (zlib level 6, each message alone); every echo is inflated and compared; \
             servers compress at {}\n",
            match o.deflate_level {
                Some(level) => format!("zlib level {level} (--deflate-level)"),
                None => "their library's default level (rfc6455: 1, sockudo-ws: 6)".into(),
            }
        );
    }
    let mut results = Vec::new();
    for &(conns, size) in &o.scenarios {
        // Every connection's messages, built once for the scenario.
        let rings: Vec<Arc<client::DeflateRing>> = if o.deflate {
            let len = client::DeflateRing::len_for(conns, size);
            let rings = (0..conns)
                .map(|id| client::DeflateRing::new(id as u64, size, len).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            let ratio = median(rings.iter().map(|r| r.ratio()).collect());
            println!(
                "{}: {len} distinct messages per connection, compressed to {:.0}% of their size by the client (median)\n",
                scenario_label(conns, size, o.deflate.then_some(o.deflate_level)),
                ratio * 100.0
            );
            rings
        } else {
            Vec::new()
        };
        let kinds: Vec<Kind> = o
            .servers
            .iter()
            .copied()
            .filter(|k| *k != Kind::Rfc6455Blocking || conns <= BLOCKING_MAX_CONNS)
            .collect();
        let servers: Vec<Server> = kinds
            .iter()
            .map(|k| Server::start(*k, o.deflate.then_some(o.deflate_level)))
            .collect::<Result<_, _>>()?;
        // One histogram for the scenario, cleared before each window.
        let histogram = Arc::new(Histogram::new());
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
        for round in 0..o.rounds {
            // Alternate the order too, so no server always runs first.
            let order: Vec<usize> = if round % 2 == 0 {
                (0..servers.len()).collect()
            } else {
                (0..servers.len()).rev().collect()
            };
            for i in order {
                let sample = measure(&servers[i], conns, size, &rings, o, &histogram)
                    .await
                    .map_err(|e| {
                        format!(
                            "{} with {}: {e}",
                            servers[i].kind.name(),
                            scenario_label(conns, size, o.deflate.then_some(o.deflate_level))
                        )
                    })?;
                eprintln!(
                    "  {}, round {}, {:<18} {:>10.0} msg/s, p50 {:>9}, p99 {:>9}, server CPU {:>3.0}%, generator CPU {:>3.0}%{}",
                    scenario_label(conns, size, o.deflate.then_some(o.deflate_level)),
                    round + 1,
                    servers[i].kind.name(),
                    sample.msgs_per_sec,
                    duration(sample.p50),
                    duration(sample.p99),
                    sample.server_util * 100.0,
                    sample.client_util * 100.0,
                    if o.deflate {
                        format!(
                            ", echo {:.0} B on the wire, {} uncompressed",
                            sample.wire_bytes_per_msg, sample.uncompressed
                        )
                    } else {
                        String::new()
                    }
                );
                samples[i].push(sample);
            }
        }
        let ours = kinds.iter().position(|k| *k == Kind::Rfc6455);
        let rows = servers
            .iter()
            .zip(&samples)
            .enumerate()
            .map(|(i, (server, list))| {
                let m = |f: fn(&Sample) -> f64| median(list.iter().map(f).collect());
                // Ratios per round, both servers measured in that round;
                // then the median.
                let per_round = |f: fn(&Sample, &Sample) -> f64| {
                    ours.filter(|&r| r != i).map(|r| {
                        median(samples[r].iter().zip(list).map(|(a, b)| f(a, b)).collect())
                    })
                };
                Row {
                    kind: server.kind,
                    median: Sample {
                        msgs_per_sec: m(|s| s.msgs_per_sec),
                        server_cpu_per_msg: m(|s| s.server_cpu_per_msg),
                        server_util: m(|s| s.server_util),
                        client_util: m(|s| s.client_util),
                        p50: m(|s| s.p50),
                        p99: m(|s| s.p99),
                        wire_bytes_per_msg: m(|s| s.wire_bytes_per_msg),
                        // Not a median: every round's, summed.
                        uncompressed: list.iter().map(|s| s.uncompressed).sum(),
                    },
                    speed_ratio: per_round(|a, b| a.msgs_per_sec / b.msgs_per_sec),
                    cpu_ratio: per_round(|a, b| b.server_cpu_per_msg / a.server_cpu_per_msg),
                }
            })
            .collect();
        results.push(Scenario {
            conns,
            size,
            deflate: o.deflate.then_some(o.deflate_level),
            rows,
        });
    }
    print_tables(&results);
    if let Some(path) = &o.svg {
        let subtitle = format!(
            "{started}, {} round(s) \u{d7} {} s per server, medians; load average {:.2} at start; \
             {} cores, server pinned to core {SERVER_CORE}, load generator to core {CLIENT_CORE}",
            o.rounds,
            o.secs,
            load[0],
            sys::cores()
        );
        std::fs::write(path, chart::svg(&results, &subtitle))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("\nchart written to {}", path.display());
    }
    Ok(())
}

fn print_tables(results: &[Scenario]) {
    let ratio = |r: Option<f64>| r.map_or(String::new(), |r| format!("{r:.2}"));
    // With deflate: the echo's size on the wire, and how many echoes (all
    // rounds) came without RSV1.
    let deflate = results.iter().any(|sc| sc.deflate.is_some());
    println!(
        "| scenario | server | msgs/s | rfc6455 ÷ this (msgs/s) | p50 latency | p99 latency \
         | server CPU µs/msg | this ÷ rfc6455 (CPU/msg) | server CPU | generator CPU |{}",
        if deflate {
            " echo B on the wire | uncompressed echoes (all rounds) |"
        } else {
            ""
        }
    );
    println!(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|{}",
        if deflate { "---:|---:|" } else { "" }
    );
    for sc in results {
        for row in &sc.rows {
            let s = &row.median;
            let extra = match (deflate, sc.deflate.is_some()) {
                (false, _) => String::new(),
                (true, false) => " | |".into(),
                (true, true) => format!(" {:.0} | {} |", s.wire_bytes_per_msg, s.uncompressed),
            };
            println!(
                "| {} | {} | {:.0} | {} | {} | {} | {:.2} | {} | {:.0}% | {:.0}% |{extra}",
                sc.label(),
                row.kind.name(),
                s.msgs_per_sec,
                ratio(row.speed_ratio),
                duration(s.p50),
                duration(s.p99),
                s.server_cpu_per_msg * 1e6,
                ratio(row.cpu_ratio),
                s.server_util * 100.0,
                s.client_util * 100.0,
            );
        }
    }
    // The same ratios, one line per scenario: ours against each peer.
    let peers: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| {
            *k != Kind::Rfc6455
                && results.iter().any(|sc| {
                    sc.rows
                        .iter()
                        .any(|r| r.kind == *k && r.speed_ratio.is_some())
                })
        })
        .collect();
    if peers.is_empty() {
        return;
    }
    println!(
        "\nrfc6455's throughput ÷ each peer's (same rounds, median; above 1: rfc6455 is faster):\n"
    );
    print!("| scenario | rfc6455 msgs/s | rfc6455 p99 |");
    for peer in &peers {
        print!(" ÷ {} |", peer.name());
    }
    println!();
    println!("|---|---:|---:|{}", "---:|".repeat(peers.len()));
    for sc in results {
        let Some(ours) = sc.rows.iter().find(|r| r.kind == Kind::Rfc6455) else {
            continue;
        };
        print!(
            "| {} | {:.0} | {} |",
            sc.label(),
            ours.median.msgs_per_sec,
            duration(ours.median.p99)
        );
        for peer in &peers {
            let r = sc
                .rows
                .iter()
                .find(|r| r.kind == *peer)
                .and_then(|r| r.speed_ratio);
            print!(" {} |", r.map_or("–".to_string(), |r| format!("{r:.2}")));
        }
        println!();
    }
}

/// A latency in nanoseconds, as µs below 1 ms.
fn duration(ns: f64) -> String {
    if ns.is_nan() {
        "–".into()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

/// Phases of a measurement, as the connections see them.
const WARMUP: u8 = 0;
const MEASURING: u8 = 1;
const STOP: u8 = 2;

/// Opens `conns` connections to `server`, runs them for the warm-up and
/// the measured window, and closes them. A message counts (and its
/// round-trip time goes into `histogram`) when its echo arrives inside
/// the window.
/// With `--deflate`, `rings` holds every connection's messages.
async fn measure(
    server: &Server,
    conns: usize,
    size: usize,
    rings: &[Arc<client::DeflateRing>],
    o: &Options,
    histogram: &Arc<Histogram>,
) -> Result<Sample, String> {
    let websocket = server.kind.is_websocket();
    let mut opened = Vec::with_capacity(conns);
    // Open in batches: a listen backlog overflow would stall on SYN retries.
    for batch_start in (0..conns).step_by(100) {
        let batch: Vec<_> = (batch_start..conns.min(batch_start + 100))
            .map(|id| {
                tokio::spawn(client::Conn::open(
                    server.process.addr,
                    websocket,
                    size,
                    id as u64,
                    rings.get(id).cloned(),
                ))
            })
            .collect();
        for task in batch {
            opened.push(
                task.await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("connect: {e}"))?,
            );
        }
    }
    histogram.clear();
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let count = Arc::new(AtomicU64::new(0));
    let wire_bytes = Arc::new(AtomicU64::new(0));
    let uncompressed = Arc::new(AtomicU64::new(0));
    let deflate = !rings.is_empty();
    let workers: Vec<_> = opened
        .into_iter()
        .map(|mut conn| {
            let phase = phase.clone();
            let count = count.clone();
            let wire_bytes = wire_bytes.clone();
            let uncompressed = uncompressed.clone();
            let histogram = histogram.clone();
            tokio::spawn(async move {
                loop {
                    let echo = conn.round_trip().await?;
                    match phase.load(Ordering::Relaxed) {
                        WARMUP => {}
                        MEASURING => {
                            histogram.record(echo.ns);
                            count.fetch_add(1, Ordering::Relaxed);
                            wire_bytes.fetch_add(echo.wire_bytes as u64, Ordering::Relaxed);
                            if deflate && !echo.compressed {
                                uncompressed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => return Ok::<_, std::io::Error>(()),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    // The generator's runtime has one thread: no connection runs between
    // the phase change and these readings.
    let me = std::process::id();
    phase.store(MEASURING, Ordering::Relaxed);
    let (s0, c0, t0) = (
        sys::cpu_seconds(server.pid()),
        sys::cpu_seconds(me),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(o.secs)).await;
    phase.store(STOP, Ordering::Relaxed);
    let (msgs, s1, c1, elapsed) = (
        count.load(Ordering::Relaxed) as f64,
        sys::cpu_seconds(server.pid()),
        sys::cpu_seconds(me),
        t0.elapsed().as_secs_f64(),
    );
    for worker in workers {
        // Every echo is checked: a mismatch fails the whole run.
        worker
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    if msgs == 0.0 {
        return Err("no message echoed in the measured window".into());
    }
    Ok(Sample {
        msgs_per_sec: msgs / elapsed,
        server_cpu_per_msg: (s1 - s0) / msgs,
        server_util: (s1 - s0) / elapsed,
        client_util: (c1 - c0) / elapsed,
        p50: histogram.quantile(0.5),
        p99: histogram.quantile(0.99),
        wire_bytes_per_msg: wire_bytes.load(Ordering::Relaxed) as f64 / msgs,
        uncompressed: uncompressed.load(Ordering::Relaxed),
    })
}

fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// Opens `--conns` idle WebSocket connections to each server and reports
/// the server's RSS growth per connection.
async fn idle(o: &Options) -> Result<(), String> {
    println!(
        "idle memory: {} connections per server (handshake completed, then idle for {} s)\n",
        o.conns, o.wait
    );
    println!("| server | RSS before | RSS with connections | per connection |");
    println!("|---|---:|---:|---:|");
    for &kind in &o.servers {
        let server = Server::start(kind, None)?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = sys::rss_bytes(server.pid());
        let mut streams = Vec::with_capacity(o.conns);
        for batch_start in (0..o.conns).step_by(200) {
            let batch: Vec<_> = (batch_start..o.conns.min(batch_start + 200))
                .map(|_| {
                    tokio::spawn(client::open(
                        server.process.addr,
                        kind.is_websocket(),
                        false,
                    ))
                })
                .collect();
            for task in batch {
                streams.push(
                    task.await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| format!("{}: connect: {e}", kind.name()))?,
                );
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(o.wait)).await;
        let after = sys::rss_bytes(server.pid());
        let per = after.saturating_sub(before) as f64 / o.conns as f64;
        println!(
            "| {} | {:.1} MiB | {:.1} MiB | {:.2} KiB |",
            kind.name(),
            before as f64 / (1 << 20) as f64,
            after as f64 / (1 << 20) as f64,
            per / 1024.0
        );
        drop(streams);
        drop(server);
    }
    Ok(())
}
