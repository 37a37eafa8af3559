// Echo server on Node's `ws`, for examples/interop_client.rs.
//
// Usage: node node_server.mjs [HOST [PORT]]     (default 127.0.0.1, port 0 = any)
//
// Prints `node server listening on ws://HOST:PORT/` once it accepts. The
// protocol (tests/interop/README.md):
//
// - any path but the two below: echo each message back whole (same type,
//   same bytes); a client's close frame gets the same code and reason back
//   (ws echoes it) and is remembered;
// - /fragmented: echo each message as several frames;
// - /closes: send one text message "CODE REASON" per close frame received
//   so far, then close with 4002 "closes reported".

import { createRequire } from "node:module";
import { WebSocketServer } from "ws";

const { version } = createRequire(import.meta.url)("ws/package.json");
const MIB = 1 << 20;
const REPORT_CLOSE = [4002, "closes reported"];

const host = process.argv[2] ?? "127.0.0.1";
const port = Number(process.argv[3] ?? 0);
const closes = []; // "CODE REASON" for every close frame a client sent

const server = new WebSocketServer({
    host,
    port,
    perMessageDeflate: false,
    maxPayload: 4 * MIB,
});

// The message as `pieces` frames; text is cut at arbitrary bytes, code
// points included (the whole message stays UTF-8, RFC 6455 §5.6).
function sendFragmented(ws, data, binary, pieces = 3) {
    const step = Math.max(1, Math.ceil(data.length / pieces));
    for (let at = 0; ; at += step) {
        const fin = at + step >= data.length;
        ws.send(data.subarray(at, at + step), { binary, fin });
        if (fin) break;
    }
}

server.on("connection", (ws, request) => {
    const path = new URL(request.url, "ws://x").pathname;
    if (path === "/closes") {
        for (const entry of closes) ws.send(entry);
        ws.close(...REPORT_CLOSE);
        return;
    }
    const fragmented = path === "/fragmented";
    ws.on("message", (data, isBinary) => {
        if (fragmented) sendFragmented(ws, data, isBinary);
        else ws.send(data, { binary: isBinary });
    });
    // A close frame without a code is reported as 1005.
    ws.on("close", (code, reason) => closes.push(`${code} ${reason.toString()}`));
    ws.on("error", (err) => console.error(`node server: connection error: ${err.message}`));
});

server.on("listening", () => {
    const address = server.address();
    console.log(`node server (ws ${version}) listening on ws://${address.address}:${address.port}/`);
});
server.on("error", (err) => {
    console.error(`node server: ${err.message}`);
    process.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
