#!/usr/bin/env node
// RFC 8441 (WebSocket over HTTP/2) client on Node's built-in http2 module,
// no npm dependencies. It proves tests/interop/h2/run.sh works before our
// own HTTP/2 client exists:
//
//   bash tests/interop/h2/run.sh node tests/interop/h2/node_h2_client.mjs
//
// Connects to H2_URL (or the first argument), http://HOST:PORT/, with prior
// knowledge (cleartext h2, no upgrade), and runs two checks on that one
// HTTP/2 connection, each its own stream:
//
// 1. extended_connect_echo: the server's SETTINGS announce
//    SETTINGS_ENABLE_CONNECT_PROTOCOL; `:method CONNECT`, `:protocol
//    websocket`, `:scheme http`, `:path /`, `:authority`,
//    `sec-websocket-version: 13` get `:status 200`; a masked text frame
//    "hello over h2" comes back unmasked and equal; a close 1000 comes back
//    as a close 1000; the stream then ends.
// 2. negotiation_probe: the same on `:path /headers`, offering the
//    subprotocols "chat, superchat" and permessage-deflate (with
//    server_no_context_takeover, so each compressed message inflates on its
//    own). Prints what the client got back (sec-websocket-protocol,
//    sec-websocket-extensions) and what the backend saw (its first message,
//    the JSON of the HTTP/1.1 request haproxy sent it), then checks an echo
//    and the close like check 1. Which headers pass is reported, not
//    asserted; the two ends must agree, though: an extension or subprotocol
//    the client was told about must be one it offered.
//
// Ends with `N passed, M failed`; exit status 0 only when all passed. Every
// wait is bounded (STEP_TIMEOUT_MS each, the whole run TOTAL_TIMEOUT_MS).

import http2 from "node:http2";
import crypto from "node:crypto";
import zlib from "node:zlib";

const STEP_TIMEOUT_MS = 10_000;
const TOTAL_TIMEOUT_MS = 60_000;

const target = process.argv[2] ?? process.env.H2_URL;
if (!target) {
    console.error("FAIL: no URL: set H2_URL=http://HOST:PORT/ or pass it as the first argument");
    process.exit(2);
}
const url = new URL(target);
if (url.protocol !== "http:") {
    console.error(`FAIL: ${target}: only http:// (cleartext h2, prior knowledge) is supported`);
    process.exit(2);
}

const overall = setTimeout(() => {
    console.error(`FAIL: the whole run took over ${TOTAL_TIMEOUT_MS} ms`);
    process.exit(1);
}, TOTAL_TIMEOUT_MS);
overall.unref();

// --- WebSocket frames (RFC 6455 section 5) ----------------------------------

const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// A single-frame message from the client: FIN set, masked with a fresh key.
function encodeFrame(opcode, payload, { fin = true, rsv1 = false } = {}) {
    payload = Buffer.from(payload);
    const len = payload.length;
    const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
    const head = Buffer.alloc(2 + lenBytes + 4);
    head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    if (lenBytes === 0) {
        head[1] = 0x80 | len;
    } else if (lenBytes === 2) {
        head[1] = 0x80 | 126;
        head.writeUInt16BE(len, 2);
    } else {
        head[1] = 0x80 | 127;
        head.writeBigUInt64BE(BigInt(len), 2);
    }
    const key = crypto.randomBytes(4);
    key.copy(head, 2 + lenBytes);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i] ^ key[i & 3];
    return Buffer.concat([head, masked]);
}

function closePayload(code, reason = "") {
    const b = Buffer.alloc(2 + Buffer.byteLength(reason));
    b.writeUInt16BE(code, 0);
    b.write(reason, 2);
    return b;
}

// One frame from the front of buf, or null if buf does not hold a whole one.
function decodeFrame(buf) {
    if (buf.length < 2) return null;
    const fin = (buf[0] & 0x80) !== 0;
    const rsv = (buf[0] >> 4) & 0x7;
    const opcode = buf[0] & 0x0f;
    const masked = (buf[1] & 0x80) !== 0;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) {
        if (buf.length < 4) return null;
        len = buf.readUInt16BE(2);
        off = 4;
    } else if (len === 127) {
        if (buf.length < 10) return null;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`absurd frame length ${big}`);
        len = Number(big);
        off = 10;
    }
    let key = null;
    if (masked) {
        if (buf.length < off + 4) return null;
        key = buf.subarray(off, off + 4);
        off += 4;
    }
    if (buf.length < off + len) return null;
    const payload = Buffer.from(buf.subarray(off, off + len));
    if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
    return { frame: { fin, rsv, opcode, masked, payload }, rest: buf.subarray(off + len) };
}

// --- helpers -----------------------------------------------------------------

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function check(cond, message) {
    if (!cond) throw new Error(message);
}

// Wraps an HTTP/2 stream carrying a WebSocket: frames in, frames out.
class WsOverH2 {
    constructor(stream) {
        this.stream = stream;
        this.buf = Buffer.alloc(0);
        this.waiters = [];
        this.ended = false;
        this.error = null;
        stream.on("data", (chunk) => {
            this.buf = Buffer.concat([this.buf, chunk]);
            this.wake();
        });
        stream.on("end", () => {
            this.ended = true;
            this.wake();
        });
        stream.on("error", (err) => {
            this.error = err;
            this.wake();
        });
        this.closed = new Promise((resolve) => stream.on("close", resolve));
    }

    wake() {
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
    }

    send(opcode, payload) {
        this.stream.write(encodeFrame(opcode, payload));
    }

    async nextFrame(what) {
        return withTimeout((async () => {
            for (;;) {
                const got = decodeFrame(this.buf);
                if (got) {
                    this.buf = got.rest;
                    return got.frame;
                }
                if (this.error) throw new Error(`stream error while waiting for ${what}: ${this.error.message}`);
                if (this.ended) throw new Error(`stream ended while waiting for ${what} (${this.buf.length} bytes left over)`);
                await new Promise((resolve) => this.waiters.push(resolve));
            }
        })(), what);
    }
}

// A server frame carrying a whole message; inflates it when RSV1 is set.
function messagePayload(frame, deflate, what) {
    check(!frame.masked, `${what}: the server's frame is masked (RFC 6455 5.1 forbids it)`);
    check(frame.fin, `${what}: expected one whole frame, got FIN=0`);
    if (frame.rsv & 0x4) {
        check(deflate, `${what}: RSV1 set but permessage-deflate was not negotiated`);
        // RFC 7692 7.2.2: append the empty stored block the sender removed;
        // the data ends on a sync flush, not on a final block.
        return zlib.inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]),
            { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    }
    check(frame.rsv === 0, `${what}: unexpected RSV bits ${frame.rsv}`);
    return frame.payload;
}

function connect() {
    const session = http2.connect(url.origin);
    session.on("error", () => {}); // surfaced through the pending step instead
    const settings = new Promise((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
        session.once("close", () => reject(new Error("the connection closed before the server's SETTINGS")));
    });
    return { session, settings };
}

async function openWebSocket(session, streams, path, extra = {}) {
    const headers = {
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":scheme": "http",
        ":path": path,
        ":authority": url.host,
        "sec-websocket-version": "13",
        ...extra,
    };
    const stream = session.request(headers, { endStream: false });
    streams.push(stream);
    const ws = new WsOverH2(stream);
    const response = await withTimeout(new Promise((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", reject);
        stream.once("close", () => reject(new Error(`stream closed before a response (RST code ${stream.rstCode})`)));
    }), `the response to CONNECT ${path}`);
    check(response[":status"] === 200,
        `CONNECT ${path}: expected :status 200, got ${response[":status"]} ${JSON.stringify(response)}`);
    return { ws, response };
}

async function closeHandshake(ws, what) {
    ws.send(OP.close, closePayload(1000));
    const frame = await ws.nextFrame(`the close echo (${what})`);
    check(frame.opcode === OP.close, `${what}: expected a close frame, got opcode ${frame.opcode}`);
    messagePayload(frame, false, what);
    check(frame.payload.length >= 2, `${what}: close frame without a code`);
    const code = frame.payload.readUInt16BE(0);
    check(code === 1000, `${what}: expected close code 1000, got ${code}`);
    ws.stream.end();
    await withTimeout(ws.closed, `the stream to close after the close handshake (${what})`);
}

function showHeaders(label, headers) {
    const lines = Object.entries(headers).map(([k, v]) => `    ${k}: ${v}`);
    console.log(`  ${label}:\n${lines.join("\n")}`);
}

// --- the checks ----------------------------------------------------------------

async function extendedConnectEcho(session, streams) {
    const { ws, response } = await openWebSocket(session, streams, "/");
    showHeaders("response headers", response);
    const text = "hello over h2";
    ws.send(OP.text, text);
    const frame = await ws.nextFrame("the echoed text frame");
    check(frame.opcode === OP.text, `expected a text frame back, got opcode ${frame.opcode}`);
    const got = messagePayload(frame, false, "echo").toString("utf8");
    check(got === text, `echo mismatch: sent ${JSON.stringify(text)}, got ${JSON.stringify(got)}`);
    console.log(`  echoed: ${JSON.stringify(got)}`);
    await closeHandshake(ws, "extended_connect_echo");
}

async function negotiationProbe(session, streams) {
    const offered = {
        "sec-websocket-protocol": "chat, superchat",
        "sec-websocket-extensions": "permessage-deflate; server_no_context_takeover; client_max_window_bits",
    };
    const { ws, response } = await openWebSocket(session, streams, "/headers", offered);
    showHeaders("response headers", response);
    const proto = response["sec-websocket-protocol"];
    const ext = response["sec-websocket-extensions"];
    check(proto === undefined || ["chat", "superchat"].includes(proto),
        `the server selected a subprotocol the client did not offer: ${proto}`);
    check(ext === undefined || /^permessage-deflate\b/.test(ext),
        `the server answered an extension the client did not offer: ${ext}`);
    const deflate = ext !== undefined;
    console.log(`  subprotocol selected (client view): ${proto ?? "none"}`);
    console.log(`  permessage-deflate (client view): ${deflate ? ext : "not negotiated"}`);

    const first = await ws.nextFrame("the backend's /headers report");
    check(first.opcode === OP.text, `expected the /headers text report, got opcode ${first.opcode}`);
    const report = JSON.parse(messagePayload(first, deflate, "/headers report").toString("utf8"));
    console.log(`  backend saw: ${report.method} ${report.path}`);
    for (const [k, v] of report.headers) console.log(`    ${k}: ${v}`);
    const seen = Object.fromEntries(report.headers.map(([k, v]) => [k.toLowerCase(), v]));
    const backendProto = seen["sec-websocket-protocol"];
    const backendExt = seen["sec-websocket-extensions"];
    console.log(`  backend got sec-websocket-protocol: ${backendProto ?? "(absent)"}`);
    console.log(`  backend got sec-websocket-extensions: ${backendExt ?? "(absent)"}`);
    console.log(`  backend got sec-websocket-key: ${seen["sec-websocket-key"] ?? "(absent)"}`);

    const text = "hello again, maybe compressed ".repeat(4);
    ws.send(OP.text, text);
    const frame = await ws.nextFrame("the probe's echoed text frame");
    check(frame.opcode === OP.text, `expected a text frame back, got opcode ${frame.opcode}`);
    if (frame.rsv & 0x4) console.log("  echo came back compressed (RSV1)");
    const got = messagePayload(frame, deflate, "probe echo").toString("utf8");
    check(got === text, `probe echo mismatch: sent ${JSON.stringify(text)}, got ${JSON.stringify(got)}`);
    await closeHandshake(ws, "negotiation_probe");
}

async function main() {
    let passed = 0;
    let failed = 0;
    console.log(`node ${process.version} http2 client -> ${url.origin} (prior knowledge)`);
    const { session, settings } = connect();
    try {
        const remote = await withTimeout(settings, "the server's SETTINGS");
        console.log(`  server SETTINGS: ${JSON.stringify(remote)}`);
        check(remote.enableConnectProtocol === true,
            "the server's SETTINGS do not enable the extended CONNECT protocol " +
            "(SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 section 3)");
    } catch (err) {
        console.log(`FAIL settings: ${err.message}`);
        session.destroy();
        console.log("0 passed, 1 failed");
        process.exit(1);
    }
    for (const [name, fn] of [
        ["extended_connect_echo", extendedConnectEcho],
        ["negotiation_probe", negotiationProbe],
    ]) {
        console.log(`- ${name}`);
        const streams = [];
        try {
            await fn(session, streams);
            console.log(`PASS ${name}`);
            passed++;
        } catch (err) {
            console.log(`FAIL ${name}: ${err.message}`);
            failed++;
        } finally {
            // A failed check must not leave its stream open: that would
            // hold up the session's close.
            for (const s of streams) if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
        }
    }
    await withTimeout(new Promise((resolve) => session.close(resolve)), "the HTTP/2 session to close")
        .catch((err) => {
            console.log(`FAIL session close: ${err.message}`);
            session.destroy();
            failed++;
        });
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
    console.error(`FAIL: ${err.stack ?? err}`);
    process.exit(1);
});
