// Probe server: HTTPS with HTTP/2 and HTTP/1.1 on one port (ALPN), sending
// SETTINGS_ENABLE_CONNECT_PROTOCOL=1, serving a page that opens a wss://
// WebSocket and echoes WebSocket frames over either
//   - RFC 8441 extended CONNECT on an HTTP/2 stream, or
//   - the RFC 6455 HTTP/1.1 Upgrade,
// logging which one every WebSocket took, one line each:
//   ws over HTTP/2 extended CONNECT conn=N path=... (N: the TLS connection)
//   ws over HTTP/1.1 upgrade conn=N path=...
// Every request and TLS connection is logged too (with its ALPN), so the log
// shows whether the WebSocket shared the page's connection.
//
//   TLS_CERT=cert.pem TLS_KEY=key.pem node probe_server.mjs [PORT]
//
// With NO_CONNECT_PROTOCOL=1 it does not send SETTINGS_ENABLE_CONNECT_PROTOCOL
// (a control: Chromium must then fall back to HTTP/1.1).
// PORT defaults to 0 (a free port). Prints `probe_server: listening on
// https://127.0.0.1:PORT/` on stdout once listening. run.sh makes the
// self-signed certificate (SAN localhost and 127.0.0.1) with openssl.
//
// The page (GET /) takes query parameters, all optional:
//   ws=HOST:PORT   where the WebSocket goes (default: location.host)
//   warm=URL       fetch(URL) before opening the WebSocket (to open a
//                  connection to another host first)
//   cred=MODE      credentials mode of that fetch (default "include")
//   probe=NAME     passed on as /ws?probe=NAME, to find the log line
// It sends "ping" and puts the reply in window.__result and document.title
// (`reply:TEXT` or `error:...`).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PROTOCOL, HTTP2_HEADER_PATH } = http2.constants;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const log = (line) => console.log(`probe_server: ${line}`);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>pending</title></head>
<body><pre id="out">pending</pre>
<script>
(async () => {
  const q = new URLSearchParams(location.search);
  const host = q.get("ws") || location.host;
  const probe = q.get("probe") || "page";
  const out = document.getElementById("out");
  const done = (result) => {
    window.__result = result;
    document.title = result.reply !== undefined ? "reply:" + result.reply : "error:" + result.error;
    out.textContent = JSON.stringify(result);
  };
  if (q.get("warm")) {
    try {
      await fetch(q.get("warm"), { mode: "cors", credentials: q.get("cred") || "include" });
    } catch (e) {
      // Only the connection matters; a CORS failure still opened it.
    }
  }
  const url = "wss://" + host + "/ws?probe=" + encodeURIComponent(probe);
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    return done({ url, error: String(e) });
  }
  const timer = setTimeout(() => done({ url, error: "timeout" }), 10000);
  ws.onopen = () => ws.send("ping");
  ws.onmessage = (event) => {
    clearTimeout(timer);
    done({ url, reply: String(event.data), extensions: ws.extensions, protocol: ws.protocol });
    ws.close(1000, "bye");
  };
  ws.onerror = () => {
    clearTimeout(timer);
    done({ url, error: "websocket error" });
  };
})();
</script></body></html>
`;

// ---- a tiny WebSocket frame codec (RFC 6455 section 5) ---------------------

/** Encodes one unmasked server frame. */
function encodeFrame(opcode, payload) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Feeds bytes in, calls onFrame(fin, opcode, payload) for each whole
 * (unmasked) client frame. */
function frameDecoder(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) {
        for (let i = 0; i < len; i++) payload[i] ^= buf[maskOff + (i & 3)];
      }
      buf = buf.subarray(off + len);
      onFrame(fin, opcode, payload);
    }
  };
}

/** Echo over a duplex (an HTTP/2 stream or a TLS socket): text and binary
 * messages come back unchanged, ping gets pong, close gets close. */
function echo(duplex, what, initial) {
  let message = [];
  let messageOpcode = 0;
  let closed = false;
  const decode = frameDecoder((fin, opcode, payload) => {
    if (closed) return;
    if (opcode === 0x8) {
      closed = true;
      log(`${what}: close ${payload.length >= 2 ? payload.readUInt16BE(0) : "(no code)"}`);
      duplex.end(encodeFrame(0x8, payload.subarray(0, 2)));
      return;
    }
    if (opcode === 0x9) return void duplex.write(encodeFrame(0xa, payload));
    if (opcode === 0xa) return;
    if (opcode !== 0x0) messageOpcode = opcode;
    message.push(payload);
    if (!fin) return;
    const whole = Buffer.concat(message);
    message = [];
    log(`${what}: message ${JSON.stringify(whole.toString("utf8").slice(0, 80))}, echoed`);
    duplex.write(encodeFrame(messageOpcode, whole));
  });
  duplex.on("data", decode);
  if (initial && initial.length) decode(initial);
  duplex.on("error", (e) => log(`${what}: error ${e.code || e.message}`));
  duplex.on("close", () => log(`${what}: closed`));
}

// ---- the server ------------------------------------------------------------

const cert = process.env.TLS_CERT;
const key = process.env.TLS_KEY;
if (!cert || !key) {
  console.error("set TLS_CERT and TLS_KEY to PEM files");
  process.exit(2);
}

const noConnectProtocol = process.env.NO_CONNECT_PROTOCOL === "1";
const server = http2.createSecureServer({
  cert: readFileSync(cert),
  key: readFileSync(key),
  allowHTTP1: true,
  ALPNProtocols: ["h2", "http/1.1"],
  settings: { enableConnectProtocol: !noConnectProtocol },
});

// Connection ids, so the log shows which connection carried what. Keyed by
// the client's port: an HTTP/2 session's .socket is a proxy, not the socket.
let nextConn = 1;
const idOf = (socket) => connOf.get(socket.remotePort) ?? "?";
const connOf = new Map();
server.on("secureConnection", (socket) => {
  const id = nextConn++;
  const port = socket.remotePort;
  connOf.set(port, id);
  log(
    `conn=${id} TLS from ${socket.remoteAddress}:${socket.remotePort} alpn=${socket.alpnProtocol} ` +
      `sni=${socket.servername || "(none)"}`,
  );
  socket.on("close", () => {
    connOf.delete(port);
    log(`conn=${id} closed`);
  });
});
server.on("session", (session) => {
  session.on("remoteSettings", (s) => log(`conn=${idOf(session.socket)} h2 client SETTINGS ${JSON.stringify(s)}`));
});

function logRequest(req) {
  const h2 = req.httpVersionMajor === 2;
  const conn = idOf(h2 ? req.stream.session.socket : req.socket);
  const protocol = h2 ? req.headers[HTTP2_HEADER_PROTOCOL] : undefined;
  log(
    `conn=${conn} HTTP/${req.httpVersion} ${req.method}${protocol ? ` :protocol=${protocol}` : ""} ` +
      `${h2 ? req.headers[HTTP2_HEADER_PATH] : req.url} authority=${req.headers[":authority"] || req.headers.host}`,
  );
  return { h2, conn, protocol };
}

// Node's HTTP/2 compatibility layer sends every CONNECT stream here (with a
// response object), and answers 405 itself when nobody listens. HTTP/1.1
// CONNECT comes here too, with a socket.
server.on("connect", (req, res) => {
  const { h2, conn, protocol } = logRequest(req);
  if (!h2) {
    res.end("HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    return;
  }
  const path = req.headers[HTTP2_HEADER_PATH] || "";
  if (protocol !== "websocket" || !path.startsWith("/ws")) {
    res.writeHead(400);
    return void res.end();
  }
  const version = req.headers["sec-websocket-version"];
  log(
    `ws over HTTP/2 extended CONNECT conn=${conn} path=${path} version=${version} ` +
      `origin=${req.headers.origin} extensions=${JSON.stringify(req.headers["sec-websocket-extensions"] || "")}`,
  );
  // RFC 8441: 200 opens the tunnel; no Sec-WebSocket-Accept on HTTP/2.
  // No extensions are accepted, so the echo sees plain frames.
  req.stream.respond({ ":status": 200 });
  echo(req.stream, `h2 ws conn=${conn} ${path}`);
});

server.on("request", (req, res) => {
  const { h2 } = logRequest(req);
  const url = new URL(h2 ? req.headers[HTTP2_HEADER_PATH] : req.url, "https://x/");
  if (req.method === "GET" && url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    return void res.end(PAGE);
  }
  if (url.pathname === "/warm") {
    // For the page's warm-up fetch from another origin.
    res.writeHead(200, {
      "content-type": "text/plain",
      "access-control-allow-origin": req.headers.origin || "*",
      "access-control-allow-credentials": "true",
      "cache-control": "no-store",
    });
    return void res.end("warm\n");
  }
  if (url.pathname === "/ws") {
    res.writeHead(426, { "content-type": "text/plain" });
    return void res.end("WebSocket only\n");
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

// HTTP/1.1 Upgrade, if Chromium does not use HTTP/2 (allowHTTP1 hands HTTP/1
// connections to Node's HTTP/1 server code, which emits `upgrade` here).
server.on("upgrade", (req, socket, head) => {
  const conn = idOf(socket);
  const wsKey = req.headers["sec-websocket-key"];
  log(`conn=${conn} HTTP/${req.httpVersion} ${req.method} ${req.url} upgrade=${req.headers.upgrade}`);
  if (!/^websocket$/i.test(req.headers.upgrade || "") || !wsKey || !req.url.startsWith("/ws")) {
    socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    return;
  }
  log(
    `ws over HTTP/1.1 upgrade conn=${conn} path=${req.url} version=${req.headers["sec-websocket-version"]} ` +
      `origin=${req.headers.origin} extensions=${JSON.stringify(req.headers["sec-websocket-extensions"] || "")}`,
  );
  const accept = createHash("sha1")
    .update(wsKey + GUID)
    .digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
      `sec-websocket-accept: ${accept}\r\n\r\n`,
  );
  echo(socket, `h1 ws conn=${conn} ${req.url}`, head);
});

server.on("tlsClientError", (e, socket) => log(`TLS client error from ${socket.remoteAddress}: ${e.code || e.message}`));
server.on("sessionError", (e) => log(`h2 session error: ${e.code || e.message}`));

const port = Number(process.argv[2] || 0);
server.listen(port, "127.0.0.1", () => {
  console.log(`probe_server: listening on https://127.0.0.1:${server.address().port}/`);
  log(`SETTINGS_ENABLE_CONNECT_PROTOCOL ${noConnectProtocol ? "not sent" : "= 1"}`);
});

const stop = () => {
  log("stopping");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
