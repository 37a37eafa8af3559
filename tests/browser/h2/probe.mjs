// Probe: does headless Chromium carry a wss:// WebSocket over an HTTP/2
// connection with RFC 8441 extended CONNECT? Loads probe_server.mjs's page
// in several set-ups (host name, certificate handling, whether an HTTP/2
// connection to the WebSocket's host exists first, whether the server sends
// SETTINGS_ENABLE_CONNECT_PROTOCOL) and reports, for each, which protocol
// the page came over and which way the WebSocket went.
//
//   PROBE_PORT=PORT SPKI_HASH=base64 [SERVER_LOG=server.log]
//   [CONTROL_PORT=PORT2 CONTROL_LOG=control.log] node probe.mjs
//
// run.sh starts the servers and sets these. SPKI_HASH is the base64 SHA-256
// of the certificate's SubjectPublicKeyInfo, for Chromium's
// --ignore-certificate-errors-spki-list. CONTROL_PORT is a second server
// that does not send SETTINGS_ENABLE_CONNECT_PROTOCOL. Set NETLOG_DIR to
// also write a Chromium net-log per browser there.
//
// Two independent witnesses per WebSocket:
//   - Chromium (DevTools protocol, Network.webSocketHandshakeResponseReceived):
//     status 200 = HTTP/2 extended CONNECT (RFC 8441), 101 = HTTP/1.1 Upgrade.
//     This one needs nothing from the server, so it works for any server.
//   - the server's log (SERVER_LOG, optional): the `ws over ...` line and the
//     TLS connection it came on.
// Exits 0 when Chromium used extended CONNECT in every set-up of EXPECT_H2
// and HTTP/1.1 in every one of EXPECT_H1 (by both witnesses where both are
// there), 1 otherwise.

import { readFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const PORT = process.env.PROBE_PORT;
const SERVER_LOG = process.env.SERVER_LOG;
const CONTROL_PORT = process.env.CONTROL_PORT;
const CONTROL_LOG = process.env.CONTROL_LOG;
const SPKI = process.env.SPKI_HASH;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const NETLOG_DIR = process.env.NETLOG_DIR;
const WAIT = 10_000;

if (!PORT || !SPKI) {
  console.error("set PROBE_PORT and SPKI_HASH (run.sh does)");
  process.exit(2);
}

// The same flags as tests/browser/chat.test.mjs.
const BASE_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Browsers by certificate handling at launch: "spki" trusts the probe's
 * key by --ignore-certificate-errors-spki-list, "plain" does not. */
const BROWSERS = {
  plain: [],
  spki: [`--ignore-certificate-errors-spki-list=${SPKI}`],
};

/**
 * One set-up each, in a fresh browser context (so fresh connections).
 *   browser: key of BROWSERS; ignore: the context's ignoreHTTPSErrors
 *   page: host the page is loaded from; ws: host the WebSocket goes to
 *   warm: fetch /warm from the WebSocket's host first, with these credentials
 *   control: use the server without SETTINGS_ENABLE_CONNECT_PROTOCOL
 */
const SCENARIOS = [
  { name: "no-cert-handling-127", browser: "plain", ignore: false, page: "127.0.0.1", ws: "127.0.0.1" },
  { name: "ignoreHTTPSErrors-127", browser: "plain", ignore: true, page: "127.0.0.1", ws: "127.0.0.1" },
  { name: "ignoreHTTPSErrors-localhost", browser: "plain", ignore: true, page: "localhost", ws: "localhost" },
  { name: "ignoreHTTPSErrors-cross-host-warm", browser: "plain", ignore: true, page: "127.0.0.1", ws: "localhost", warm: "include" },
  { name: "spki-127", browser: "spki", ignore: false, page: "127.0.0.1", ws: "127.0.0.1" },
  { name: "spki-localhost", browser: "spki", ignore: false, page: "localhost", ws: "localhost" },
  { name: "spki+ignore-127", browser: "spki", ignore: true, page: "127.0.0.1", ws: "127.0.0.1" },
  // The WebSocket's host has no connection yet (page from the other name).
  { name: "spki-cross-host-cold", browser: "spki", ignore: false, page: "127.0.0.1", ws: "localhost" },
  // ... or has one, opened by a fetch with or without credentials.
  { name: "spki-cross-host-warm", browser: "spki", ignore: false, page: "127.0.0.1", ws: "localhost", warm: "include" },
  { name: "spki-cross-host-warm-omit", browser: "spki", ignore: false, page: "127.0.0.1", ws: "localhost", warm: "omit" },
  // The server does not send SETTINGS_ENABLE_CONNECT_PROTOCOL.
  { name: "spki-127-no-setting", browser: "spki", ignore: false, page: "127.0.0.1", ws: "127.0.0.1", control: true },
].filter((s) => !s.control || CONTROL_PORT);

const H2 = "HTTP/2 extended CONNECT";
const H1 = "HTTP/1.1 upgrade";
/** What the exit status checks. */
const EXPECT_H2 = ["ignoreHTTPSErrors-127", "ignoreHTTPSErrors-localhost", "spki-127", "spki-localhost"];
const EXPECT_H1 = ["spki-cross-host-cold", ...(CONTROL_PORT ? ["spki-127-no-setting"] : [])];

/** What the server saw for probe `name`: page request and WebSocket. */
function serverView(logFile, name) {
  if (!logFile) return undefined;
  const lines = readFileSync(logFile, "utf8").split("\n");
  const tag = `probe=${encodeURIComponent(name)}`;
  const pageLine = lines.find((l) => / GET \/\?/.test(l) && l.includes(tag));
  const wsLine = lines.find((l) => /ws over /.test(l) && l.includes(`/ws?${tag} `));
  const conn = (l) => (l && /conn=(\d+)/.exec(l)?.[1]) || "-";
  const alpn = new Map(
    lines
      .map((l) => /conn=(\d+) TLS from \S+ alpn=(\S+)/.exec(l))
      .filter(Boolean)
      .map((m) => [m[1], m[2]]),
  );
  return {
    page: pageLine ? (/HTTP\/2\.0/.test(pageLine) ? "h2" : "http/1.1") : "none",
    pageConn: conn(pageLine),
    ws: wsLine ? (/extended CONNECT/.test(wsLine) ? H2 : H1) : "none",
    wsConn: conn(wsLine),
    wsConnAlpn: alpn.get(conn(wsLine)) || "-",
    wsLine: wsLine ? wsLine.replace(/^probe_server: /, "") : "",
  };
}

async function runScenario(browser, s) {
  const port = s.control ? CONTROL_PORT : PORT;
  const context = await browser.newContext({ ignoreHTTPSErrors: s.ignore });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const handshake = {};
  cdp.on("Network.webSocketWillSendHandshakeRequest", (e) => {
    handshake.requestHeaders = Object.keys(e.request.headers || {}).sort();
  });
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) => {
    handshake.status = e.response.status;
    handshake.headersText = (e.response.headersText || "").split("\r\n")[0];
  });
  await cdp.send("Network.enable");
  const q = new URLSearchParams({ probe: s.name });
  if (s.ws !== s.page) q.set("ws", `${s.ws}:${port}`);
  if (s.warm) {
    q.set("warm", `https://${s.ws}:${port}/warm?probe=${s.name}`);
    q.set("cred", s.warm);
  }
  const url = `https://${s.page}:${port}/?${q}`;
  const out = { name: s.name, url };
  try {
    await page.goto(url, { timeout: WAIT });
    out.navProtocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0]?.nextHopProtocol);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: WAIT + 2000, polling: 50 });
    out.result = await page.evaluate(() => window.__result);
  } catch (error) {
    out.error = String(error.message || error).split("\n")[0];
  }
  out.handshake = handshake;
  await context.close();
  out.chromium = handshake.status === 200 ? H2 : handshake.status === 101 ? H1 : "none";
  // The server logs before it echoes, so its lines are there already.
  out.server = serverView(s.control ? CONTROL_LOG : SERVER_LOG, s.name);
  return out;
}

function describe(s, r) {
  const reply = r.result ? (r.result.reply !== undefined ? `reply "${r.result.reply}"` : r.result.error) : "no reply";
  const sv = r.server;
  const server = sv
    ? `; server: page ${sv.page} conn ${sv.pageConn}, ${sv.ws} conn ${sv.wsConn} (alpn ${sv.wsConnAlpn}` +
      `${sv.wsConn !== "-" && sv.wsConn === sv.pageConn ? ", the page's connection" : ""})`
    : "";
  return (
    `${r.name}: page ${s.page} over ${r.navProtocol ?? "-"}; ws to ${s.ws}` +
    `${s.warm ? ` after fetch(credentials: ${s.warm})` : ""}${s.control ? " (no SETTINGS_ENABLE_CONNECT_PROTOCOL)" : ""}: ` +
    `chromium: ${r.chromium} (status ${r.handshake.status ?? "-"})${server}; ${reply}` +
    `${r.error ? `; error: ${r.error}` : ""}`
  );
}

const results = [];
for (const [kind, extra] of Object.entries(BROWSERS)) {
  const args = [...BASE_ARGS, ...extra];
  if (NETLOG_DIR) args.push(`--log-net-log=${path.join(NETLOG_DIR, `netlog-${kind}.json`)}`);
  // launch() gives Chromium a fresh temporary --user-data-dir.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 30_000, args });
  if (kind === "plain") console.log(`chromium ${browser.version()}`);
  try {
    for (const s of SCENARIOS.filter((s) => s.browser === kind)) {
      const r = await runScenario(browser, s);
      results.push(r);
      console.log(describe(s, r));
    }
  } finally {
    await browser.close();
  }
}

console.log("\ndetails:");
for (const r of results) console.log(JSON.stringify(r));

const way = (name) => {
  const r = results.find((r) => r.name === name);
  if (!r || (r.server && r.server.ws !== r.chromium)) return "disagree";
  return r.result?.reply === "ping" ? r.chromium : "failed";
};
const bad = [
  ...EXPECT_H2.filter((n) => way(n) !== H2).map((n) => `${n}: expected ${H2}, got ${way(n)}`),
  ...EXPECT_H1.filter((n) => way(n) !== H1).map((n) => `${n}: expected ${H1}, got ${way(n)}`),
];
for (const b of bad) console.log(`unexpected: ${b}`);
console.log(
  bad.length === 0
    ? `\nRESULT: yes, Chromium used RFC 8441 extended CONNECT (${EXPECT_H2.join(", ")})` +
        ` and HTTP/1.1 where expected (${EXPECT_H1.join(", ")})`
    : "\nRESULT: not as expected (see above)",
);
process.exit(bad.length === 0 ? 0 : 1);
