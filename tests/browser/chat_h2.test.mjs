// The chat example over HTTPS in a real browser, with the WebSockets on
// HTTP/2 (RFC 8441 extended CONNECT): makes a self-signed certificate with
// openssl, starts `chat 127.0.0.1:0 --tls cert key`, loads
// https://127.0.0.1:PORT/ in two headless Chromium pages, joins one room and
// talks both ways, and checks by two witnesses that the WebSockets went
// over HTTP/2: Chromium's DevTools (the handshake answer was 200, not 101)
// and the server's log (`chat: session ADDR over HTTP/2.0: ...`). It also
// checks the TLS port's HTTP/1.1 side (ALPN http/1.1: the page, and a
// WebSocket upgrade logged `over HTTP/1.1`), the server's HTTP/2 SETTINGS,
// the Origin check on an extended CONNECT, and that SIGTERM closes the
// pages' WebSockets with 1001 and stops the server.
//
//   CHAT_BIN=target/debug/examples/chat node chat_h2.test.mjs
//
// run.sh builds the example and sets CHAT_BIN (and CHROMIUM). Ends with a
// line `N passed, M failed`; exits non-zero if anything failed. Everything
// is on 127.0.0.1 and bounded in time.
//
// What this relies on (README.md has the probe's findings in full):
// Chromium sends a wss:// WebSocket as an extended CONNECT (`:protocol
// websocket`) on the page's own HTTP/2 connection, with no extra flag, but
// only when the page came from the same host name and port and the server
// sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1; otherwise it opens a new
// HTTP/1.1 connection for the Upgrade. The self-signed certificate is
// accepted with `ignoreHTTPSErrors` on the context. DevTools'
// Network.webSocketHandshakeResponseReceived has status 200 for extended
// CONNECT and 101 for the Upgrade (its request headers look like HTTP/1
// either way, so they prove nothing).

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { chromium } from "playwright-core";
import { assert, check as runCheck, results, withTimeout } from "./checks.mjs";

const CHAT_BIN = process.env.CHAT_BIN;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OPENSSL = process.env.OPENSSL || "openssl";
const SHOTS = process.env.SCREENSHOT_DIR || tmpdir();
/** Bound on every single wait, in ms. */
const WAIT = 10_000;
/** How often page conditions are checked, in ms. */
const POLL = 50;
/** Bound on one whole check. */
const CHECK = 30_000;
/** Bound on the whole run: past it, the server is killed and the run fails. */
const TOTAL = 240_000;

if (!CHAT_BIN) {
  console.error("set CHAT_BIN to the built chat example (run.sh does)");
  process.exit(2);
}

/** A named check with this file's time limit. */
const check = (name, body) => runCheck(name, CHECK, body);

// ---- the server ------------------------------------------------------------

const work = mkdtempSync(path.join(tmpdir(), "chat-h2-"));
const certFile = path.join(work, "cert.pem");
const keyFile = path.join(work, "key.pem");
let server; // the chat process
let serverOut = "";
let serverErr = "";
let serverExit; // resolves to {code, signal} when it exits

function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
}

// Whatever happens, the server does not outlive this process.
process.on("exit", killServer);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killServer();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}
setTimeout(() => {
  console.log(`not ok - the whole run took more than ${TOTAL} ms`);
  console.log(`${results.passed} passed, ${results.failed + 1} failed`);
  killServer();
  process.exit(1);
}, TOTAL).unref();

/** Self-signed, P-256, SAN for both names, valid for two days. */
function makeCertificate() {
  execFileSync(
    OPENSSL,
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "2", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", keyFile, "-out", certFile,
    ],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 },
  );
}

/** Starts the server; resolves to its URL once it prints it. */
function startServer() {
  server = spawn(CHAT_BIN, ["127.0.0.1:0", "--tls", certFile, keyFile], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.setEncoding("utf8");
  server.stderr.setEncoding("utf8");
  server.stderr.on("data", (chunk) => (serverErr += chunk));
  serverExit = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    server.stdout.on("data", (chunk) => {
      serverOut += chunk;
      // The first line, as run.sh reads it for the plain-HTTP test.
      const m = /^chat: open (https:\/\/127\.0\.0\.1:\d+\/) in a browser$/m.exec(serverOut);
      if (m) resolve(m[1]);
    });
    server.on("error", reject);
    serverExit.then(({ code, signal }) =>
      reject(new Error(`the server exited (${code ?? signal}) before printing its URL:\n${serverErr}`)),
    );
  });
}

/** The server's `chat: session ADDR over VERSION` lines so far. */
function sessionLines(version) {
  return serverErr.split("\n").filter((l) => l.startsWith("chat: session 127.0.0.1:") && l.includes(` over ${version}:`));
}

// ---- Node clients for the server side of things ----------------------------

/** Opens an HTTP/2 session and waits for the server's SETTINGS. */
function h2Session(base) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base, { ca: readFileSync(certFile) });
    session.once("error", reject);
    session.once("remoteSettings", (settings) => resolve({ session, settings }));
  });
}

/** One HTTP/2 request; resolves to {status, body} (body only for ends). */
function h2Request(session, headers) {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: headers[":method"] !== "CONNECT" });
    let status;
    let body = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => {
      status = h[":status"];
      // A refused CONNECT ends the stream; an accepted one stays open.
      if (headers[":method"] === "CONNECT" && status === 200) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ status, body });
      }
    });
    stream.on("data", (chunk) => (body += chunk));
    stream.on("end", () => resolve({ status, body }));
    stream.on("error", reject);
  });
}

/** Writes `request` on a TLS connection offering ALPN `alpn`, and resolves
 * to {alpn, head} once the answer's head (up to the blank line) is in. */
function tlsRequest(port, alpn, request) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: readFileSync(certFile), ALPNProtocols: [alpn] });
    let data = "";
    socket.setEncoding("latin1");
    socket.on("secureConnect", () => socket.write(request));
    socket.on("data", (chunk) => {
      data += chunk;
      const end = data.indexOf("\r\n\r\n");
      if (end >= 0) {
        resolve({ alpn: socket.alpnProtocol, head: data.slice(0, end), rest: data.slice(end + 4) });
        socket.destroy();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`connection closed; got ${JSON.stringify(data)}`)));
  });
}

// ---- page helpers (as in chat.test.mjs) ------------------------------------

function waitState(page, wanted) {
  return page.waitForSelector(`#status[data-state="${wanted}"]`, { timeout: WAIT });
}

/** Waits for a message list item of `kind` whose text is exactly `text`. */
function waitMessage(page, kind, text) {
  return page.waitForFunction(
    ([kind, text]) =>
      [...document.querySelectorAll(`#messages li.${kind}`)].some(
        (li) => (kind === "system" ? li.textContent : li.querySelector(".text")?.textContent) === text,
      ),
    [kind, text],
    { timeout: WAIT, polling: POLL },
  );
}

/** Waits until the member list shows exactly `names`. */
function waitMembers(page, names) {
  return page.waitForFunction(
    (names) =>
      JSON.stringify([...document.querySelectorAll("#members li")].map((li) => li.textContent)) ===
      JSON.stringify(names),
    names,
    { timeout: WAIT, polling: POLL },
  );
}

async function join(page, name, room) {
  // Chromium throttles background tabs: act on the tab in front.
  await page.bringToFront();
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join");
  await page.waitForFunction((room) => document.querySelector("#room-name").textContent === room, room, {
    timeout: WAIT,
    polling: POLL,
  });
}

async function say(page, text) {
  await page.bringToFront();
  await page.waitForSelector("#text:enabled", { timeout: WAIT });
  await page.fill("#text", text);
  await page.click("#send");
}

/** Records, through DevTools, the status of every WebSocket handshake
 * answer the page gets: 200 for extended CONNECT, 101 for the Upgrade. */
async function watchHandshakes(context, page) {
  const statuses = [];
  const cdp = await context.newCDPSession(page);
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) => statuses.push(e.response.status));
  await cdp.send("Network.enable");
  return statuses;
}

// ---- the run ---------------------------------------------------------------

let browser;
let base;
let port;
const pageErrors = [];

try {
  await check("openssl makes a certificate; chat starts with --tls", async () => {
    makeCertificate();
    base = await withTimeout(startServer(), 30_000, "the server's URL line");
    port = Number(new URL(base).port);
    console.log(`  # ${base}`);
  });

  await check("HTTP/2 (ALPN h2): SETTINGS_ENABLE_CONNECT_PROTOCOL, the page, a foreign Origin refused", async () => {
    const { session, settings } = await h2Session(base);
    try {
      assert(settings.enableConnectProtocol === true, `SETTINGS: ${JSON.stringify(settings)}`);
      const page = await h2Request(session, { ":method": "GET", ":path": "/" });
      assert(page.status === 200 && page.body.includes('id="status"'), `GET / gave ${page.status}`);
      const foreign = await h2Request(session, {
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":scheme": "https",
        ":path": "/ws",
        ":authority": `127.0.0.1:${port}`,
        "sec-websocket-version": "13",
        origin: "https://evil.example",
      });
      assert(foreign.status === 403, `a cross-origin extended CONNECT gave ${foreign.status}`);
    } finally {
      session.close();
    }
  });

  await check("HTTP/1.1 on the same TLS port (ALPN http/1.1): the page, and a WebSocket upgrade", async () => {
    const page = await tlsRequest(port, "http/1.1", `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    assert(page.alpn === "http/1.1", `ALPN ${page.alpn}`);
    assert(/^HTTP\/1\.1 200 /.test(page.head), page.head.split("\r\n")[0]);
    const before = sessionLines("HTTP/1.1").length;
    const upgrade = await tlsRequest(
      port,
      "http/1.1",
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Origin: https://127.0.0.1:${port}\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert(/^HTTP\/1\.1 101 /.test(upgrade.head), upgrade.head.split("\r\n")[0]);
    assert(/\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i.test(upgrade.head), upgrade.head);
    const deadline = Date.now() + WAIT;
    while (sessionLines("HTTP/1.1").length === before && Date.now() < deadline) await sleep(POLL);
    assert(sessionLines("HTTP/1.1").length > before, "the server logged no session over HTTP/1.1");
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    // The same flags as chat.test.mjs.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  console.log(`# chromium ${browser.version()}`);
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 760, height: 560 } });
  context.setDefaultTimeout(WAIT);
  const [alice, bob] = [await context.newPage(), await context.newPage()];
  const handshakes = { alice: await watchHandshakes(context, alice), bob: await watchHandshakes(context, bob) };
  for (const [who, page] of [["alice", alice], ["bob", bob]]) {
    page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  }
  const h2Before = sessionLines("HTTP/2.0").length;

  await check("both pages load over HTTP/2 and show the connection open", async () => {
    await alice.goto(base);
    await bob.goto(base);
    await Promise.all([waitState(alice, "open"), waitState(bob, "open")]);
    for (const [who, page] of [["alice", alice], ["bob", bob]]) {
      const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0]?.nextHopProtocol);
      assert(protocol === "h2", `${who}'s page came over ${protocol}`);
    }
  });

  await check("Chromium: both WebSocket handshakes answered 200 (extended CONNECT, not a 101 Upgrade)", async () => {
    const deadline = Date.now() + WAIT;
    while ((handshakes.alice.length === 0 || handshakes.bob.length === 0) && Date.now() < deadline) await sleep(POLL);
    assert(handshakes.alice.length > 0 && handshakes.bob.length > 0, `DevTools saw ${JSON.stringify(handshakes)}`);
    for (const [who, statuses] of Object.entries(handshakes)) {
      assert(statuses.every((s) => s === 200), `${who}'s handshake statuses: ${statuses.join(", ")}`);
    }
  });

  await check("the server logged both sessions over HTTP/2.0", async () => {
    // It logs when the session starts, which may be just after the page
    // sees the WebSocket open.
    const deadline = Date.now() + WAIT;
    while (sessionLines("HTTP/2.0").length < h2Before + 2 && Date.now() < deadline) await sleep(POLL);
    const lines = sessionLines("HTTP/2.0").slice(h2Before);
    assert(lines.length >= 2, `session lines over HTTP/2.0: ${JSON.stringify(lines)}`);
    console.log(lines.map((l) => `  # ${l}`).join("\n"));
  });

  await check("chromium negotiated permessage-deflate over HTTP/2", async () => {
    const extensions = await alice.evaluate(() => window.__extensions);
    assert(/permessage-deflate/.test(extensions), `extensions: ${extensions}`);
  });

  await check("alice and bob join the same room and see each other", async () => {
    await join(alice, "alice", "lobby");
    await join(bob, "bob", "lobby");
    await Promise.all([waitMembers(alice, ["alice", "bob"]), waitMembers(bob, ["alice", "bob"])]);
    await waitMessage(alice, "system", "bob joined");
  });

  await check("messages flow both ways: each page receives the other's", async () => {
    await say(alice, "hello over h2 from alice");
    await Promise.all([
      waitMessage(bob, "message", "hello over h2 from alice"),
      waitMessage(alice, "message", "hello over h2 from alice"),
    ]);
    await say(bob, "hi alice, bob here, also over h2");
    await Promise.all([
      waitMessage(alice, "message", "hi alice, bob here, also over h2"),
      waitMessage(bob, "message", "hi alice, bob here, also over h2"),
    ]);
  });

  await check("still the same two HTTP/2 WebSockets (no reconnects, no HTTP/1.1 fallback)", async () => {
    assert(
      handshakes.alice.length === 1 && handshakes.bob.length === 1,
      `handshakes seen: ${JSON.stringify(handshakes)}`,
    );
  });

  await check("no JavaScript errors on either page", async () => {
    assert(pageErrors.length === 0, pageErrors.join("; "));
  });

  try {
    await alice.screenshot({ path: path.join(SHOTS, "chat-h2-alice.png") });
    console.log(`# screenshot: ${path.join(SHOTS, "chat-h2-alice.png")}`);
  } catch (error) {
    console.log(`# no screenshot: ${error.message}`);
  }

  await check("SIGTERM: both pages see close 1001 and the server exits within 10 s", async () => {
    server.kill("SIGTERM");
    const lost = "connection lost (1001: server shutting down); reconnecting";
    await Promise.all([waitMessage(alice, "system", lost), waitMessage(bob, "system", lost)]);
    const exit = await withTimeout(serverExit, 10_000, "the server's exit after SIGTERM");
    assert(exit.code === 0, `the server exited with ${exit.code ?? exit.signal}`);
  });
} catch (error) {
  results.failed++;
  console.log("not ok - the browser run");
  console.log(String(error && error.stack ? error.stack : error).replace(/^/gm, "  # "));
} finally {
  if (browser) await withTimeout(browser.close(), 15_000, "closing Chromium").catch(() => {});
  killServer();
  if (results.failed > 0) {
    console.log("# server stderr:");
    console.log(serverErr.replace(/^/gm, "#   | "));
  }
  rmSync(work, { recursive: true, force: true });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed === 0 && results.passed > 0 ? 0 : 1);
