//! The echo run as a chart: hand-written SVG text, no plotting crate.
//!
//! One group of bars per scenario, one bar per server. The upper panel is
//! throughput relative to the fastest server of the scenario (so
//! scenarios of very different rates share one axis; the fastest one's
//! rate is written under the group); the lower panel is the round-trip
//! latency per message on a log scale: the bar is p99, a black mark on it
//! p50.

use std::fmt::Write as _;

use crate::servers::Kind;
use crate::Scenario;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
/// Top of the throughput panel.
const TOP_Y: f64 = 134.0;
const TOP_H: f64 = 250.0;
/// Between the panels: scenario names, the fastest rate, the lower title.
const GAP_H: f64 = 84.0;
const BOTTOM_H: f64 = 230.0;
const FOOT_H: f64 = 40.0;
/// The widest a bar gets (few servers or few scenarios).
const MAX_BAR: f64 = 56.0;
/// Room above the highest latency bar for its (vertical) label.
const LABEL_ROOM: f64 = 46.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// The Okabe-Ito palette (distinct for the common colour-vision
/// deficiencies); the two rfc6455 servers in two blues, tcp grey.
fn colour(kind: Kind) -> &'static str {
    match kind {
        Kind::Rfc6455 => "#0072b2",
        Kind::Rfc6455Blocking => "#56b4e9",
        Kind::Tungstenite => "#e69f00",
        Kind::Fastwebsockets => "#009e73",
        Kind::Sockudo => "#cc79a7",
        Kind::Tcp => "#8c8c8c",
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A rate in messages per second, short: 61.8k, 1.79k, 2.31M.
fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.2}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// A latency in nanoseconds, short: 31 µs, 1.2 ms.
fn latency(ns: f64) -> String {
    let us = ns / 1e3;
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 10e3 {
        format!("{:.0} ms", us / 1e3)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else if us >= 10.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

/// 10^`exp` nanoseconds, as a tick label: 10 µs, 1 ms, 1 s.
fn decade_label(exp: i32) -> String {
    let (unit, base) = match exp {
        ..=2 => ("ns", 0),
        3..=5 => ("µs", 3),
        6..=8 => ("ms", 6),
        _ => ("s", 9),
    };
    format!("{} {unit}", 10u64.pow((exp - base).clamp(0, 18) as u32))
}

/// Where the bars of one group go: (x of the first bar, bar pitch).
fn bars(group_x: f64, group_w: f64, n: usize) -> (f64, f64) {
    let inner = group_w * 0.9;
    let pitch = (inner / n.max(1) as f64).min(MAX_BAR);
    (group_x + (group_w - pitch * n as f64) / 2.0, pitch)
}

/// The chart of `results`; `subtitle` says when and how it was measured.
pub fn svg(results: &[Scenario], subtitle: &str) -> String {
    let height = TOP_Y + TOP_H + GAP_H + BOTTOM_H + FOOT_H;
    let plot_w = WIDTH - LEFT - RIGHT;
    let group_w = plot_w / results.len().max(1) as f64;
    let bottom_y = TOP_Y + TOP_H + GAP_H;
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">"#
    );
    let _ = writeln!(
        o,
        "<title>Echo load test: throughput relative to the fastest server, and p99/p50 round-trip latency, per scenario and server</title>"
    );
    let _ = writeln!(
        o,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="30" font-size="19" font-weight="bold" fill="#222">Echo over loopback TCP: rfc6455 and its peers{}</text>"##,
        if results.iter().all(|sc| sc.deflate.is_some()) && !results.is_empty() {
            ", permessage-deflate"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="52" font-size="12" fill="#555">{}</text>"##,
        esc(subtitle)
    );

    // Legend: every server that appears, in the tool's order.
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| {
            results
                .iter()
                .any(|sc| sc.rows.iter().any(|r| r.kind == *k))
        })
        .collect();
    let mut x = LEFT;
    for kind in &kinds {
        let _ = writeln!(
            o,
            r##"<rect x="{x}" y="68" width="14" height="14" fill="{}"/><text x="{}" y="80" font-size="13" fill="#222">{}</text>"##,
            colour(*kind),
            x + 19.0,
            kind.name()
        );
        x += 19.0 + kind.name().len() as f64 * 7.8 + 22.0;
    }
    let _ = writeln!(
        o,
        r##"<line x1="{x}" y1="75" x2="{}" y2="75" stroke="#000" stroke-width="2.5"/><text x="{}" y="80" font-size="13" fill="#222">p50 (on the p99 bar)</text>"##,
        x + 16.0,
        x + 21.0
    );

    // Upper panel: throughput ÷ the fastest server of the scenario.
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="{}" font-size="13" font-weight="bold" fill="#222">Throughput (messages/s), relative to the fastest server of each scenario: higher is better</text>"##,
        TOP_Y - 24.0
    );
    let y_rel = |v: f64| TOP_Y + TOP_H * (1.0 - v.clamp(0.0, 1.0));
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = y_rel(tick);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{}" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" fill="#444" text-anchor="end">{tick}</text>"##,
            WIDTH - RIGHT,
            if tick == 0.0 { "#888" } else { "#e3e3e3" },
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (g, sc) in results.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w;
        let best = sc
            .rows
            .iter()
            .map(|r| r.median.msgs_per_sec)
            .fold(0.0, f64::max);
        let (x0, pitch) = bars(gx, group_w, sc.rows.len());
        let label_font = (pitch / 2.8).clamp(7.0, 11.0);
        for (j, row) in sc.rows.iter().enumerate() {
            let rel = if best > 0.0 {
                row.median.msgs_per_sec / best
            } else {
                0.0
            };
            let x = x0 + j as f64 * pitch + 1.0;
            let w = pitch - 2.0;
            let y = y_rel(rel);
            let _ = writeln!(
                o,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}, {}: {:.0} msg/s ({:.2} of the fastest)</title></rect>"##,
                TOP_Y + TOP_H - y,
                colour(row.kind),
                sc.label(),
                row.kind.name(),
                row.median.msgs_per_sec,
                rel
            );
            let _ = writeln!(
                o,
                r##"<text x="{:.1}" y="{:.1}" font-size="{label_font:.1}" fill="#222" text-anchor="middle">{rel:.2}</text>"##,
                x + w / 2.0,
                y - 4.0
            );
        }
        let cx = gx + group_w / 2.0;
        let _ = writeln!(
            o,
            r##"<text x="{cx:.1}" y="{:.1}" font-size="14" font-weight="bold" fill="#222" text-anchor="middle">{}</text>"##,
            TOP_Y + TOP_H + 20.0,
            esc(&sc.label())
        );
        let _ = writeln!(
            o,
            r##"<text x="{cx:.1}" y="{:.1}" font-size="11" fill="#555" text-anchor="middle">1.00 = {} msg/s</text>"##,
            TOP_Y + TOP_H + 36.0,
            rate(best)
        );
    }

    // Lower panel: latency, log scale, whole decades.
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="{}" font-size="13" font-weight="bold" fill="#222">Round trip per message (send to echo), bar p99, black mark p50, log scale: lower is better</text>"##,
        bottom_y - 14.0
    );
    let values = || {
        results
            .iter()
            .flat_map(|sc| sc.rows.iter().map(|r| r.median))
    };
    let low = values()
        .map(|s| s.p50)
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let high = values().map(|s| s.p99).fold(0.0, f64::max);
    // From the decade below the lowest p50 to just above the highest p99,
    // with room for its label.
    let (lo, hi) = if low.is_finite() && high > low {
        let lo = low.log10().floor();
        (lo, lo + (high.log10() - lo) / (1.0 - LABEL_ROOM / BOTTOM_H))
    } else {
        (3.0, 6.0)
    };
    let y_log = |ns: f64| {
        let l = if ns > 0.0 { ns.log10() } else { lo };
        bottom_y + BOTTOM_H * (1.0 - ((l - lo) / (hi - lo)).clamp(0.0, 1.0))
    };
    let mut decade = lo;
    while decade <= hi {
        let v = 10f64.powf(decade);
        let y = y_log(v);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{}" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" fill="#444" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            if decade == lo { "#888" } else { "#d6d6d6" },
            LEFT - 6.0,
            y + 4.0,
            decade_label(decade as i32)
        );
        for m in [2.0, 5.0] {
            if (v * m).log10() <= hi {
                let y = y_log(v * m);
                let _ = writeln!(
                    o,
                    r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#f0f0f0" stroke-width="1"/>"##,
                    WIDTH - RIGHT
                );
            }
        }
        decade += 1.0;
    }
    let base = bottom_y + BOTTOM_H;
    for (g, sc) in results.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w;
        let (x0, pitch) = bars(gx, group_w, sc.rows.len());
        let label_font = (pitch / 2.6).clamp(7.0, 10.0);
        for (j, row) in sc.rows.iter().enumerate() {
            let s = row.median;
            let x = x0 + j as f64 * pitch + 1.0;
            let w = pitch - 2.0;
            let y = y_log(s.p99);
            let _ = writeln!(
                o,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}, {}: p50 {}, p99 {}</title></rect>"##,
                base - y,
                colour(row.kind),
                sc.label(),
                row.kind.name(),
                latency(s.p50),
                latency(s.p99)
            );
            let y50 = y_log(s.p50);
            let _ = writeln!(
                o,
                r##"<line x1="{:.1}" y1="{y50:.1}" x2="{:.1}" y2="{y50:.1}" stroke="#000" stroke-width="2.5"/>"##,
                x - 1.0,
                x + w + 1.0
            );
            let _ = writeln!(
                o,
                r##"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="{label_font:.1}" fill="#222">{}</text>"##,
                x + w / 2.0 + label_font * 0.35,
                y - 4.0,
                latency(s.p99)
            );
        }
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" font-size="14" font-weight="bold" fill="#222" text-anchor="middle">{}</text>"##,
            gx + group_w / 2.0,
            base + 20.0,
            esc(&sc.label())
        );
    }
    let _ = writeln!(o, "</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Row, Sample};

    #[test]
    fn labels() {
        assert_eq!(decade_label(4), "10 µs");
        assert_eq!(decade_label(6), "1 ms");
        assert_eq!(decade_label(9), "1 s");
        assert_eq!(latency(31_200.0), "31 µs");
        assert_eq!(latency(1_234_000.0), "1.2 ms");
        assert_eq!(rate(61_827.0), "61.8k");
        assert_eq!(rate(1_794.0), "1.79k");
    }

    #[test]
    fn one_bar_per_server_and_scenario() {
        let row = |kind, msgs_per_sec, p99| Row {
            kind,
            median: Sample {
                msgs_per_sec,
                p50: p99 / 3.0,
                p99,
                ..Sample::default()
            },
            speed_ratio: None,
            cpu_ratio: None,
        };
        let results = [
            Scenario {
                conns: 1,
                size: 16,
                deflate: None,
                rows: vec![
                    row(Kind::Rfc6455, 30_000.0, 40e3),
                    row(Kind::Tcp, 29_000.0, 35e3),
                ],
            },
            Scenario {
                conns: 500,
                size: 16 << 10,
                deflate: None,
                rows: vec![
                    row(Kind::Rfc6455, 34_000.0, 30e6),
                    row(Kind::Sockudo, 36_000.0, 28e6),
                ],
            },
        ];
        let svg = svg(&results, "a < b & c");
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt; b &amp; c"));
        // Two panels × four bars, plus the background and four legend boxes.
        assert_eq!(svg.matches("<rect ").count(), 8 + 1 + 3);
        assert!(svg.contains("500 × 16 KiB"));
        assert!(svg.contains(">0.94</text>"), "34k of 36k");
    }
}
