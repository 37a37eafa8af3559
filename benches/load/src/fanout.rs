//! The fan-out (broadcast) benchmark: one publisher, N subscribers, every
//! message the publisher sends delivered by the server to every
//! subscriber. See benches/README.md, "Fan-out".
//!
//! ```text
//! ws-load fanout [--quick] [--subs 1000,10000] [--secs S] [--rounds N] [--warmup S]
//!     [--window W] [--servers a,b] [--deflate]
//! ```

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fanout_client::{Publisher, Shared, Subscriber, MSG_LEN, RING};
use crate::fanout_servers::FanKind;
use crate::process::ServerProcess;
use crate::sys;

pub struct Options {
    subs: Vec<usize>,
    rounds: usize,
    secs: f64,
    warmup: f64,
    window: usize,
    servers: Vec<FanKind>,
    deflate: bool,
    /// How long the in-flight messages may take to arrive once the
    /// publisher stops, and how long a run may go without any message
    /// completing.
    drain_timeout: f64,
}

impl Options {
    pub fn parse(args: &[String]) -> Options {
        let mut o = Options {
            subs: vec![1000, 10_000],
            rounds: 3,
            secs: 3.0,
            warmup: 0.5,
            window: 16,
            servers: Vec::new(),
            deflate: false,
            drain_timeout: 10.0,
        };
        let (mut quick, mut explicit_rounds, mut explicit_secs, mut explicit_subs) =
            (false, false, false, false);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> String {
                it.next()
                    .cloned()
                    .unwrap_or_else(|| usage(&format!("{name} needs a value")))
            };
            match arg.as_str() {
                "--quick" => quick = true,
                "--deflate" => o.deflate = true,
                "--subs" => {
                    o.subs = value("--subs").split(',').map(parse_num).collect();
                    explicit_subs = true;
                }
                "--rounds" => {
                    o.rounds = parse_num(&value("--rounds"));
                    explicit_rounds = true;
                }
                "--secs" => {
                    o.secs = parse_num(&value("--secs"));
                    explicit_secs = true;
                }
                "--warmup" => o.warmup = parse_num(&value("--warmup")),
                "--window" => o.window = parse_num(&value("--window")),
                "--servers" => {
                    o.servers = value("--servers")
                        .split(',')
                        .map(|n| {
                            FanKind::from_name(n)
                                .unwrap_or_else(|| usage(&format!("unknown server {n}")))
                        })
                        .collect()
                }
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        if quick {
            if !explicit_subs {
                o.subs = vec![1000];
            }
            if !explicit_rounds {
                o.rounds = 1;
            }
            if !explicit_secs {
                o.secs = 1.0;
            }
            o.warmup = 0.2;
        }
        if o.window == 0 || o.window >= RING {
            usage(&format!("--window must be in 1..{RING}"));
        }
        if o.rounds == 0 || o.subs.contains(&0) {
            usage("--rounds and --subs must be positive");
        }
        if o.servers.is_empty() {
            o.servers = if o.deflate {
                vec![
                    FanKind::Rfc6455,
                    FanKind::Rfc6455PerClient,
                    FanKind::Rfc6455Broadcast,
                    FanKind::Sockudo,
                ]
            } else {
                vec![
                    FanKind::Rfc6455,
                    FanKind::Rfc6455Broadcast,
                    FanKind::Tungstenite,
                    FanKind::Fastwebsockets,
                    FanKind::Sockudo,
                    FanKind::Tcp,
                ]
            };
        }
        if o.deflate {
            if let Some(k) = o.servers.iter().find(|k| !k.compresses()) {
                eprintln!(
                    "note: {} has no permessage-deflate; it runs uncompressed",
                    k.name()
                );
            }
        }
        o
    }
}

fn parse_num<T: std::str::FromStr>(s: &str) -> T {
    s.trim()
        .parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}\n");
    }
    eprintln!(
        "usage: ws-load fanout [--quick] [--subs N,N] [--secs S] [--rounds N] [--warmup S]\n       \
         [--window W] [--servers a,b] [--deflate]\n\
         servers: {}",
        FanKind::ALL.map(FanKind::name).join(", ")
    );
    std::process::exit(2)
}

/// A fan-out server child process, killed when dropped.
/// A fan-out server in its own process.
fn start_server(kind: FanKind, deflate: bool) -> Result<ServerProcess, String> {
    let mut args = vec!["fanout-server", kind.name()];
    if deflate {
        args.push("--deflate");
    }
    ServerProcess::spawn(&args, kind.name())
}

/// One measurement of one server.
#[derive(Clone, Debug, Default)]
struct Sample {
    /// Messages × subscribers per second.
    deliveries_per_sec: f64,
    /// Server CPU seconds per delivered message (one message to one
    /// subscriber).
    server_cpu_per_delivery: f64,
    p50: f64,
    p99: f64,
    server_util: f64,
    client_util: f64,
    /// Data frame bytes on the wire per delivery (header included).
    wire_bytes: f64,
    /// The server's resident memory at the end of the window, bytes.
    server_rss: f64,
    /// Share of data frames that came compressed.
    compressed: f64,
    /// Whether the server agreed to permessage-deflate, and then whether
    /// without context takeover.
    deflate: Option<bool>,
    /// Set when the run broke a rule: not a number to report.
    invalid: Option<String>,
}

pub async fn run(o: &Options) -> Result<(), String> {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<usize>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    let nofile = sys::raise_nofile() as usize;
    let most = *o.subs.iter().max().unwrap();
    if most + 64 > nofile || most + 1 > high - low + 1 {
        return Err(format!(
            "{most} subscribers need that many file descriptors (RLIMIT_NOFILE {nofile}) \
             and ephemeral ports ({low}-{high})"
        ));
    }
    println!(
        "load average before the run: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "fan-out: {} round(s) x {} s per server (after {} s warm-up), server order rotated \
         each round; {}-byte text messages, at most {} in flight{}; medians\n",
        o.rounds,
        o.secs,
        o.warmup,
        MSG_LEN,
        o.window,
        if o.deflate {
            ", subscribers offer permessage-deflate"
        } else {
            ""
        }
    );
    let reference = o
        .servers
        .iter()
        .copied()
        .find(|k| *k == FanKind::Rfc6455)
        .or_else(|| o.servers.first().copied())
        .expect("at least one server");
    let mut tables = Vec::new();
    for &subs in &o.subs {
        let k = o.servers.len();
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); k];
        for round in 0..o.rounds {
            for j in 0..k {
                let i = (j + round) % k;
                let kind = o.servers[i];
                let sample = measure(kind, subs, o).await;
                match &sample.invalid {
                    None => eprintln!(
                        "  {subs} subs, round {}, {:<18} {:>10.0} deliveries/s, {:>6.0} ns CPU each, \
                         p50 {:>8} p99 {:>8}, server CPU {:>3.0}%, generator CPU {:>3.0}%",
                        round + 1,
                        kind.name(),
                        sample.deliveries_per_sec,
                        sample.server_cpu_per_delivery * 1e9,
                        duration(sample.p50),
                        duration(sample.p99),
                        sample.server_util * 100.0,
                        sample.client_util * 100.0,
                    ),
                    Some(e) => eprintln!(
                        "  {subs} subs, round {}, {:<18} INVALID: {e}",
                        round + 1,
                        kind.name()
                    ),
                }
                samples[i].push(sample);
            }
        }
        tables.push((subs, samples));
    }
    print_table(o, reference, &tables);
    let invalid = tables
        .iter()
        .flat_map(|(_, samples)| samples.iter().flatten())
        .filter(|s| s.invalid.is_some())
        .count();
    if invalid > 0 {
        return Err(format!("{invalid} run(s) were invalid: see the table"));
    }
    Ok(())
}

fn print_table(o: &Options, reference: FanKind, tables: &[(usize, Vec<Vec<Sample>>)]) {
    let r = reference.name();
    print!(
        "| subs | server | deliveries/s | {r} ÷ this | server CPU ns/delivery | this ÷ {r} (CPU) \
         | p50 latency | p99 latency | server CPU | generator CPU | server RSS |"
    );
    if o.deflate {
        print!(" wire B/msg | compressed |");
    }
    println!();
    print!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    if o.deflate {
        print!("---:|---|");
    }
    println!();
    let ri = o.servers.iter().position(|k| *k == reference).unwrap();
    for (subs, samples) in tables {
        for (i, kind) in o.servers.iter().enumerate() {
            let list = &samples[i];
            let invalid: Vec<&String> = list.iter().filter_map(|s| s.invalid.as_ref()).collect();
            if let Some(first) = invalid.first() {
                println!(
                    "| {subs} | {} | **invalid** in {} of {} rounds: {} | | | | | | | | |{}",
                    kind.name(),
                    invalid.len(),
                    list.len(),
                    first.replace('|', "/"),
                    if o.deflate { " | |" } else { "" }
                );
                continue;
            }
            let m = |f: fn(&Sample) -> f64| median(list.iter().map(f).collect());
            // Ratios per round, both measured in that round; then the median.
            let (speed, cpu) = if i == ri {
                (String::new(), String::new())
            } else {
                let pairs: Vec<(&Sample, &Sample)> = samples[ri]
                    .iter()
                    .zip(list)
                    .filter(|(a, b)| a.invalid.is_none() && b.invalid.is_none())
                    .collect();
                if pairs.is_empty() {
                    (String::new(), String::new())
                } else {
                    (
                        format!(
                            "{:.2}",
                            median(
                                pairs
                                    .iter()
                                    .map(|(a, b)| a.deliveries_per_sec / b.deliveries_per_sec)
                                    .collect()
                            )
                        ),
                        format!(
                            "{:.2}",
                            median(
                                pairs
                                    .iter()
                                    .map(|(a, b)| b.server_cpu_per_delivery
                                        / a.server_cpu_per_delivery)
                                    .collect()
                            )
                        ),
                    )
                }
            };
            print!(
                "| {subs} | {} | {:.0} | {speed} | {:.0} | {cpu} | {} | {} | {:.0}% | {:.0}% | {:.0} MiB |",
                kind.name(),
                m(|s| s.deliveries_per_sec),
                m(|s| s.server_cpu_per_delivery) * 1e9,
                duration(m(|s| s.p50)),
                duration(m(|s| s.p99)),
                m(|s| s.server_util) * 100.0,
                m(|s| s.client_util) * 100.0,
                m(|s| s.server_rss) / (1 << 20) as f64,
            );
            if o.deflate {
                let how = match list[0].deflate {
                    None => "no (not agreed)".to_string(),
                    Some(no_takeover) => format!(
                        "{:.0}%{}",
                        m(|s| s.compressed) * 100.0,
                        if no_takeover {
                            ", server_no_context_takeover"
                        } else {
                            ", context takeover"
                        }
                    ),
                };
                print!(" {:.1} | {how} |", m(|s| s.wire_bytes));
            }
            println!();
        }
    }
    println!();
    for kind in &o.servers {
        println!("- {}: {}", kind.name(), kind.describe(o.deflate));
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn duration(ns: f64) -> String {
    if ns.is_nan() {
        "–".into()
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

/// Starts server `kind`, connects `subs` subscribers and the publisher,
/// publishes for the warm-up and the measured window, and checks that every
/// subscriber got every message once, in order.
async fn measure(kind: FanKind, subs: usize, o: &Options) -> Sample {
    let invalid = |e: String| Sample {
        invalid: Some(e),
        ..Sample::default()
    };
    let server = match start_server(kind, o.deflate) {
        Ok(s) => s,
        Err(e) => return invalid(e),
    };
    // Subscribers connect in batches: a listen backlog overflow would stall
    // on SYN retries.
    let mut opened = Vec::with_capacity(subs);
    let mut deflate = None;
    for batch_start in (0..subs).step_by(100) {
        let batch: Vec<_> = (batch_start..subs.min(batch_start + 100))
            .map(|id| tokio::spawn(Subscriber::open(server.addr, id, o.deflate)))
            .collect();
        for task in batch {
            match task.await {
                Ok(Ok((sub, agreed))) => {
                    deflate = agreed;
                    opened.push(sub);
                }
                Ok(Err(e)) => return invalid(format!("subscriber connect: {e}")),
                Err(e) => return invalid(e.to_string()),
            }
        }
    }
    let publisher = match Publisher::open(server.addr).await {
        Ok(p) => p,
        Err(e) => return invalid(format!("publisher connect: {e}")),
    };
    let shared = Arc::new(Shared::new(subs));
    let readers: Vec<_> = opened
        .into_iter()
        .map(|sub| tokio::spawn(sub.run(shared.clone())))
        .collect();
    let publishing = tokio::spawn(publisher.run(shared.clone(), o.window));

    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let me = std::process::id();
    let server_pid = server.pid();
    shared.latency.clear();
    shared.sampling.store(true, Ordering::Relaxed);
    let (n0, w0, f0, z0) = (
        shared.received.load(Ordering::Relaxed),
        shared.wire_bytes.load(Ordering::Relaxed),
        shared.data_frames.load(Ordering::Relaxed),
        shared.compressed_frames.load(Ordering::Relaxed),
    );
    let (s0, c0, t0) = (
        sys::cpu_seconds(server_pid),
        sys::cpu_seconds(me),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(o.secs)).await;
    let (s1, c1, elapsed) = (
        sys::cpu_seconds(server_pid),
        sys::cpu_seconds(me),
        t0.elapsed().as_secs_f64(),
    );
    let (n1, w1, f1, z1) = (
        shared.received.load(Ordering::Relaxed),
        shared.wire_bytes.load(Ordering::Relaxed),
        shared.data_frames.load(Ordering::Relaxed),
        shared.compressed_frames.load(Ordering::Relaxed),
    );
    let rss = sys::rss_bytes(server_pid);
    shared.sampling.store(false, Ordering::Relaxed);
    shared.stop.store(true, Ordering::Relaxed);

    // What was sent must arrive everywhere.
    let mut problem = None;
    let drain_start = Instant::now();
    let mut last_completed = shared.completed.load(Ordering::Relaxed);
    let mut last_progress = Instant::now();
    loop {
        let completed = shared.completed.load(Ordering::Relaxed);
        let sent = shared.sent.load(Ordering::Relaxed);
        if shared.errors.load(Ordering::Relaxed) > 0 {
            break;
        }
        if publishing.is_finished() && completed == sent {
            break;
        }
        if completed != last_completed {
            last_completed = completed;
            last_progress = Instant::now();
        }
        if last_progress.elapsed().as_secs_f64() > o.drain_timeout
            || drain_start.elapsed().as_secs_f64() > 6.0 * o.drain_timeout
        {
            problem = Some(format!(
                "stalled: {completed} of {sent} messages reached every subscriber"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pings = shared.pings.load(Ordering::Relaxed);
    for reader in &readers {
        reader.abort();
    }
    for reader in readers {
        let _ = reader.await;
    }
    publishing.abort();
    match publishing.await {
        Ok(Err(e)) if problem.is_none() && shared.errors.load(Ordering::Relaxed) == 0 => {
            problem = Some(format!("publisher: {e}"))
        }
        _ => {}
    }
    drop(server);
    let errors = shared.errors.load(Ordering::Relaxed);
    if errors > 0 {
        return invalid(format!(
            "{errors} error(s), first: {}",
            shared.first_error().unwrap_or_default()
        ));
    }
    if let Some(p) = problem {
        return invalid(p);
    }
    // Deliveries as the subscribers count them: completions come in bursts
    // (a server may write all in-flight messages to one subscriber before
    // the next), so messages done everywhere × subscribers would be coarse.
    let deliveries = (n1 - n0) as f64;
    if deliveries == 0.0 {
        return invalid("no message delivered in the measured window".into());
    }
    if pings > 0 {
        eprintln!("  ({} answered {pings} pings)", kind.name());
    }
    Sample {
        deliveries_per_sec: deliveries / elapsed,
        server_cpu_per_delivery: (s1 - s0) / deliveries,
        p50: shared.latency.quantile(0.5),
        p99: shared.latency.quantile(0.99),
        server_util: (s1 - s0) / elapsed,
        client_util: (c1 - c0) / elapsed,
        wire_bytes: (w1 - w0) as f64 / (f1 - f0).max(1) as f64,
        compressed: (z1 - z0) as f64 / (f1 - f0).max(1) as f64,
        server_rss: rss as f64,
        deflate,
        invalid: None,
    }
}
