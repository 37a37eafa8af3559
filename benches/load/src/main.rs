//! Echo load and idle-memory benchmark: rfc6455 against tokio-tungstenite,
//! fastwebsockets and a plain TCP echo, each server in its own process
//! pinned to one core, the load generator pinned to another; and a fan-out
//! (broadcast) benchmark against the same peers and sockudo-ws.
//!
//! ```text
//! cargo run --release --manifest-path benches/load/Cargo.toml -- [--quick] [--rounds N] [--secs S]
//!     [--scenario CONNSxBYTES ...] [--servers a,b,...]
//! cargo run --release --manifest-path benches/load/Cargo.toml -- idle [--conns 10000] [--wait 3] [--servers a,b,...]
//! cargo run --release --manifest-path benches/load/Cargo.toml -- fanout [--quick] [--subs 1000,10000]
//!     [--secs S] [--rounds N] [--window W] [--servers a,b,...] [--deflate]
//! ```
//!
//! See benches/README.md for what is measured and how to read the tables.

mod client;
mod fanout;
mod fanout_client;
mod fanout_servers;
mod servers;
mod sys;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use servers::Kind;

const SERVER_CORE: usize = 0;
const CLIENT_CORE: usize = 1;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("server") {
        let kind = args
            .get(1)
            .and_then(|n| Kind::from_name(n))
            .expect("usage: server KIND");
        if sys::cores() >= 2 {
            sys::pin_to_core(SERVER_CORE);
        }
        sys::raise_nofile();
        if let Err(e) = servers::run(kind) {
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
}

/// The issue's scenarios: (connections, message bytes).
const SCENARIOS: [(usize, usize); 6] = [
    (1, 16),
    (100, 20),
    (10, 1024),
    (200, 16 * 1024),
    (500, 16 * 1024),
    (1, 1024 * 1024),
];

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
        if o.scenarios.is_empty() {
            o.scenarios = SCENARIOS.to_vec();
        }
        if o.servers.is_empty() {
            o.servers = Kind::ALL.to_vec();
            if o.idle {
                // 10 000 threads is not a configuration anyone runs.
                o.servers.retain(|k| *k != Kind::Rfc6455Blocking);
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
        "usage: ws-load [load] [--quick] [--rounds N] [--secs S] [--scenario CONNSxBYTES]... [--servers a,b]\n       \
         ws-load idle [--quick] [--conns N] [--wait S] [--servers a,b]\n       \
         ws-load fanout [--quick] [--subs N,N] [--secs S] [--rounds N] [--window W] [--servers a,b] [--deflate]\n\
         servers: {}",
        Kind::ALL.map(Kind::name).join(", ")
    );
    std::process::exit(2)
}

/// A server child process, killed when dropped.
struct Server {
    kind: Kind,
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(kind: Kind) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["server", kind.name()])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", kind.name()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port: u16 = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("{} did not start: {line:?}", kind.name()))?;
        Ok(Server {
            kind,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One round's measurement.
#[derive(Clone, Copy, Default)]
struct Sample {
    msgs_per_sec: f64,
    server_cpu_per_msg: f64,
    server_util: f64,
    client_util: f64,
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
    println!(
        "echo load: {} round(s) x {} s per server (after {} s warm-up), servers alternating; medians\n",
        o.rounds, o.secs, o.warmup
    );
    let mut rows = Vec::new();
    for &(conns, size) in &o.scenarios {
        let kinds: Vec<Kind> = o
            .servers
            .iter()
            .copied()
            .filter(|k| *k != Kind::Rfc6455Blocking || conns <= BLOCKING_MAX_CONNS)
            .collect();
        let servers: Vec<Server> = kinds
            .iter()
            .map(|k| Server::start(*k))
            .collect::<Result<_, _>>()?;
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
        for round in 0..o.rounds {
            // Alternate the order too, so no server always runs first.
            let order: Vec<usize> = if round % 2 == 0 {
                (0..servers.len()).collect()
            } else {
                (0..servers.len()).rev().collect()
            };
            for i in order {
                let sample = measure(&servers[i], conns, size, o).await.map_err(|e| {
                    format!(
                        "{} with {conns} x {}: {e}",
                        servers[i].kind.name(),
                        bytes(size)
                    )
                })?;
                eprintln!(
                    "  {} conns x {}, round {}, {:<18} {:>10.0} msg/s, server CPU {:>3.0}%, generator CPU {:>3.0}%",
                    conns,
                    bytes(size),
                    round + 1,
                    servers[i].kind.name(),
                    sample.msgs_per_sec,
                    sample.server_util * 100.0,
                    sample.client_util * 100.0
                );
                samples[i].push(sample);
            }
        }
        let medians: Vec<(Kind, Sample)> = servers
            .iter()
            .zip(&samples)
            .map(|(s, list)| {
                let m = |f: fn(&Sample) -> f64| median(list.iter().map(f).collect());
                (
                    s.kind,
                    Sample {
                        msgs_per_sec: m(|s| s.msgs_per_sec),
                        server_cpu_per_msg: m(|s| s.server_cpu_per_msg),
                        server_util: m(|s| s.server_util),
                        client_util: m(|s| s.client_util),
                    },
                )
            })
            .collect();
        rows.push((conns, size, medians));
    }
    println!("| scenario | server | msgs/s | rfc6455 ÷ this (msgs/s) | server CPU µs/msg | this ÷ rfc6455 (CPU/msg) | server CPU | generator CPU |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (conns, size, medians) in &rows {
        let ours = medians
            .iter()
            .find(|(k, _)| *k == Kind::Rfc6455)
            .map(|m| m.1);
        for (kind, s) in medians {
            let (speed_ratio, cpu_ratio) = match ours {
                Some(o) if *kind != Kind::Rfc6455 => (
                    format!("{:.2}", o.msgs_per_sec / s.msgs_per_sec),
                    format!("{:.2}", s.server_cpu_per_msg / o.server_cpu_per_msg),
                ),
                _ => ("".into(), "".into()),
            };
            println!(
                "| {conns} × {} | {} | {:.0} | {speed_ratio} | {:.2} | {cpu_ratio} | {:.0}% | {:.0}% |",
                bytes(*size),
                kind.name(),
                s.msgs_per_sec,
                s.server_cpu_per_msg * 1e6,
                s.server_util * 100.0,
                s.client_util * 100.0,
            );
        }
    }
    Ok(())
}

/// Opens `conns` connections to `server`, runs them for the warm-up and
/// the measured window, and closes them.
async fn measure(
    server: &Server,
    conns: usize,
    size: usize,
    o: &Options,
) -> Result<Sample, String> {
    let websocket = server.kind.is_websocket();
    let mut opened = Vec::with_capacity(conns);
    // Open in batches: a listen backlog overflow would stall on SYN retries.
    for batch_start in (0..conns).step_by(100) {
        let batch: Vec<_> = (batch_start..conns.min(batch_start + 100))
            .map(|id| tokio::spawn(client::Conn::open(server.addr, websocket, size, id as u64)))
            .collect();
        for task in batch {
            opened.push(
                task.await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| format!("connect: {e}"))?,
            );
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = opened
        .into_iter()
        .map(|mut conn| {
            let stop = stop.clone();
            let count = count.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    conn.round_trip().await?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, std::io::Error>(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let me = std::process::id();
    let (n0, s0, c0, t0) = (
        count.load(Ordering::Relaxed),
        sys::cpu_seconds(server.pid()),
        sys::cpu_seconds(me),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(o.secs)).await;
    let (n1, s1, c1, elapsed) = (
        count.load(Ordering::Relaxed),
        sys::cpu_seconds(server.pid()),
        sys::cpu_seconds(me),
        t0.elapsed().as_secs_f64(),
    );
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        // Every echo is checked: a mismatch fails the whole run.
        worker
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    let msgs = (n1 - n0) as f64;
    if msgs == 0.0 {
        return Err("no message echoed in the measured window".into());
    }
    Ok(Sample {
        msgs_per_sec: msgs / elapsed,
        server_cpu_per_msg: (s1 - s0) / msgs,
        server_util: (s1 - s0) / elapsed,
        client_util: (c1 - c0) / elapsed,
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
        let server = Server::start(kind)?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = sys::rss_bytes(server.pid());
        let mut streams = Vec::with_capacity(o.conns);
        for batch_start in (0..o.conns).step_by(200) {
            let batch: Vec<_> = (batch_start..o.conns.min(batch_start + 200))
                .map(|_| tokio::spawn(client::open(server.addr, kind.is_websocket())))
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
