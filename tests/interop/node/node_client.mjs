// Interop checks: Node's `ws` client against our echo server.
//
// Usage: node node_client.mjs ws://127.0.0.1:PORT/
//
// Each check opens its own connection, prints `PASS name [ms]` or
// `FAIL name: why`, and the run ends with a plain `N passed, M failed`
// line. Exit status is 0 only if every check passed. Payloads are compared
// byte for byte.
//
// If SERVER_LOG names the echo server's stdout log, the closing check also
// looks for the server's own `closed with CODE "REASON" (clean: true)` line.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";

const { version } = createRequire(import.meta.url)("ws/package.json");
const MIB = 1 << 20;
const CHECK_TIMEOUT = 60_000; // ms per check, all included
const RECV_TIMEOUT = 10_000;

class CheckFailed extends Error {}

function expect(cond, what) {
    if (!cond) throw new CheckFailed(what);
}

function preview(buf) {
    const hex = buf.subarray(0, 24).toString("hex");
    return `[${hex}${buf.length > 24 ? "…" : ""}]`;
}

function expectBytes(got, want, what) {
    if (Buffer.compare(got, want) === 0) return;
    let at = 0;
    while (at < got.length && at < want.length && got[at] === want[at]) at++;
    throw new CheckFailed(
        `${what}: got ${preview(got)}, wanted ${preview(want)} ` +
            `(lengths ${got.length} and ${want.length}, first difference at byte ${at})`,
    );
}

/// A message as compared: its kind and bytes.
function msg(value) {
    return typeof value === "string"
        ? { binary: false, data: Buffer.from(value, "utf8") }
        : { binary: true, data: Buffer.from(value) };
}

function expectMessage(got, want, what) {
    expect(got.binary === want.binary,
        `${what}: got a ${got.binary ? "binary" : "text"} message, wanted ${want.binary ? "binary" : "text"}`);
    expectBytes(got.data, want.data, what);
}

/// A client connection with a queue of received messages and pongs.
class Peer {
    static open(url, options = {}) {
        const ws = new WebSocket(url, {
            perMessageDeflate: false,
            maxPayload: 4 * MIB,
            handshakeTimeout: 10_000,
            ...options,
        });
        return new Promise((resolve, reject) => {
            ws.once("open", () => resolve(new Peer(ws)));
            ws.once("error", reject);
        });
    }

    constructor(ws) {
        this.ws = ws;
        this.items = [];
        this.waiters = [];
        this.closed = null;
        ws.on("message", (data, isBinary) => this.push({ kind: "message", binary: isBinary, data }));
        ws.on("pong", (data) => this.push({ kind: "pong", data }));
        ws.on("error", (err) => (this.error = err));
        ws.on("close", (code, reason) => {
            this.closed = { code, reason: reason.toString("utf8") };
            this.push({ kind: "close", ...this.closed });
        });
    }

    push(item) {
        const waiter = this.waiters.shift();
        if (waiter) waiter(item);
        else this.items.push(item);
    }

    /// The next item (message, pong or close), within RECV_TIMEOUT.
    next(what) {
        if (this.items.length) return Promise.resolve(this.items.shift());
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.waiters.splice(this.waiters.indexOf(waiter), 1);
                reject(new CheckFailed(`${what}: nothing arrived within ${RECV_TIMEOUT} ms`));
            }, RECV_TIMEOUT);
            const waiter = (item) => {
                clearTimeout(timer);
                resolve(item);
            };
            this.waiters.push(waiter);
        });
    }

    /// The next data message, skipping pongs.
    async recv(what) {
        for (;;) {
            const item = await this.next(what);
            if (item.kind === "message") return { binary: item.binary, data: item.data };
            if (item.kind === "close") {
                throw new CheckFailed(`${what}: server closed with ${item.code} ${JSON.stringify(item.reason)}`);
            }
        }
    }

    send(data, options) {
        return new Promise((resolve, reject) =>
            this.ws.send(data, options, (err) => (err ? reject(err) : resolve())),
        );
    }

    async echo(value, what) {
        const want = msg(value);
        await this.send(want.data, { binary: want.binary });
        expectMessage(await this.recv(what), want, what);
    }

    /// Closes with `code` and `reason` and waits for the close event.
    async close(code = 1000, reason = "done") {
        this.ws.close(code, reason);
        for (;;) {
            const item = await this.next("waiting for the close");
            if (item.kind === "close") return item;
        }
    }
}

async function closeNormally(peer) {
    const closed = await peer.close(1000, "done");
    expect(closed.code === 1000, `server replied with close code ${closed.code}, wanted 1000`);
}

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

// --- data messages -----------------------------------------------------------

check("text_round_trip", async (url) => {
    const peer = await Peer.open(url);
    for (const text of ["hello", "héllo wörld", "日本語のテキスト", "emoji 🦀🎉 and 𝄞",
        "nul\0inside", "tab\tnewline\n"]) {
        await peer.echo(text, "text echo");
    }
    await closeNormally(peer);
});

check("binary_round_trip", async (url) => {
    const peer = await Peer.open(url);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const data of [Buffer.from([0, 1, 2, 255]), all, Buffer.from("c32820", "hex"), randomBytes(4096)]) {
        await peer.echo(data, "binary echo");
    }
    await closeNormally(peer);
});

check("empty_messages", async (url) => {
    const peer = await Peer.open(url);
    await peer.echo("", "empty text echo");
    await peer.echo(Buffer.alloc(0), "empty binary echo");
    await closeNormally(peer);
});

check("large_binary_1mib", async (url) => {
    const peer = await Peer.open(url);
    await peer.echo(randomBytes(MIB), "1 MiB binary echo");
    await closeNormally(peer);
});

check("large_text_1mib", async (url) => {
    // 1-, 2-, 3- and 4-byte UTF-8 sequences, cut at a character boundary.
    const unit = Buffer.from("héllo wörld € 𝄞 ascii ");
    const bytes = Buffer.alloc(MIB + 4, unit);
    let end = MIB;
    while ((bytes[end] & 0xc0) === 0x80) end--; // a continuation byte: inside a character
    const text = bytes.subarray(0, end).toString("utf8");
    expect(Buffer.byteLength(text) === end && end > MIB - 4, "test bug: bad 1 MiB text");
    const peer = await Peer.open(url);
    await peer.echo(text, "1 MiB text echo");
    await closeNormally(peer);
});

check("compressed_round_trip", async (url) => {
    // ws offers permessage-deflate here; our server (built with the deflate
    // feature) accepts it.
    const peer = await Peer.open(url, { perMessageDeflate: { threshold: 0 } });
    const ext = peer.ws.extensions;
    expect(ext.includes("permessage-deflate"), `permessage-deflate not negotiated (${JSON.stringify(ext)})`);
    for (const value of ["hello ".repeat(2000), "κόσμε ".repeat(3000), Buffer.alloc(200_000),
        randomBytes(10_000), "short"]) {
        await peer.echo(value, "compressed echo");
    }
    await closeNormally(peer);
    return ext;
});

// --- fragmentation -----------------------------------------------------------

async function sendFragments(peer, parts, binary) {
    for (let i = 0; i < parts.length; i++) {
        await peer.send(parts[i], { binary, fin: i === parts.length - 1 });
    }
}

check("fragmented_text_to_server", async (url) => {
    // RFC 6455 §5.6: only the whole message must be UTF-8, so code points
    // may straddle frames. "€" = E2 82 AC, "𝄞" = F0 9D 84 9E.
    const bytes = (...pieces) => Buffer.concat(pieces.map((p) => Buffer.from(p)));
    const parts = [bytes("price: ", [0xe2]), bytes([0x82]), bytes(""),
        bytes([0xac], " 5, clef ", [0xf0, 0x9d]), bytes([0x84, 0x9e], "!")];
    const peer = await Peer.open(url);
    await sendFragments(peer, parts, false);
    expectMessage(await peer.recv("fragmented text echo"), msg("price: € 5, clef 𝄞!"),
        "fragmented text echoed whole");
    await closeNormally(peer);
    return `${parts.length} frames`;
});

check("fragmented_binary_to_server", async (url) => {
    const parts = [randomBytes(1000), Buffer.alloc(0), randomBytes(70_000), randomBytes(3)];
    const peer = await Peer.open(url);
    await sendFragments(peer, parts, true);
    expectMessage(await peer.recv("fragmented binary echo"), msg(Buffer.concat(parts)),
        "fragmented binary echoed whole");
    await closeNormally(peer);
    return `${parts.length} frames`;
});

check("fragmented_with_ping_between", async (url) => {
    // Control frames may come between the fragments of a message (§5.4).
    const peer = await Peer.open(url);
    const payload = Buffer.from("between fragments");
    await peer.send("first, ", { binary: false, fin: false });
    peer.ws.ping(payload);
    await peer.send("second", { binary: false, fin: true });
    let pong = null;
    let message = null;
    while (!pong || !message) {
        const item = await peer.next("pong and echo");
        if (item.kind === "pong") pong = item.data;
        else if (item.kind === "message") {
            expect(!message, "an extra message");
            message = item;
        } else throw new CheckFailed(`server closed early with ${item.code}`);
    }
    expectBytes(pong, payload, "pong payload");
    expectMessage(message, msg("first, second"), "fragmented text around a ping");
    await closeNormally(peer);
});

// --- control frames ------------------------------------------------------------

check("ping_with_payload_gets_pong", async (url) => {
    const peer = await Peer.open(url);
    const payload = Buffer.concat([Buffer.from("interop-ping "), Buffer.from([0x00, 0xff])]);
    const started = performance.now();
    peer.ws.ping(payload);
    const item = await peer.next("pong");
    expect(item.kind === "pong", `wanted a pong, got a ${item.kind}`);
    expectBytes(item.data, payload, "pong payload");
    const rtt = performance.now() - started;
    await peer.echo("after ping", "echo after ping");
    await closeNormally(peer);
    return `pong after ${rtt.toFixed(2)} ms`;
});

// --- closing handshake -------------------------------------------------------

check("close_with_code_and_reason", async (url) => {
    const code = 4001;
    const reason = `interop close ✓ ${randomBytes(4).toString("hex")}`;
    const peer = await Peer.open(url);
    await peer.echo("before close", "echo before close");
    const started = performance.now();
    const closed = await peer.close(code, reason);
    const elapsed = performance.now() - started;
    // Our server answers with the code (and no reason).
    expect(closed.code === code, `server's close reply has code ${closed.code}, wanted ${code}`);
    // ws waits for the server to close TCP (30 s at most): it must do so
    // right after the closing handshake.
    expect(elapsed < 4000, `closing took ${elapsed.toFixed(0)} ms: server did not close TCP promptly`);

    const log = process.env.SERVER_LOG;
    if (!log) return "SERVER_LOG not set: server side not checked";
    const needle = `closed with ${code} ${JSON.stringify(reason)} (clean: true)`;
    for (let i = 0; i < 50; i++) { // the server logs from its own thread
        if (readFileSync(log, "utf8").includes(needle)) {
            return `server logged ${code} ${JSON.stringify(reason)}`;
        }
        await sleep(100);
    }
    throw new CheckFailed(`server log has no line containing ${JSON.stringify(needle)}`);
});

// --- runner ------------------------------------------------------------------

async function main(url) {
    console.log(`ws ${version} (Node ${process.versions.node}) -> ${url}`);
    let passed = 0;
    let failed = 0;
    for (const [name, fn] of checks) {
        const started = performance.now();
        let timer;
        try {
            const timeout = new Promise((_, reject) => {
                timer = setTimeout(() => reject(new CheckFailed(`timed out after ${CHECK_TIMEOUT} ms`)),
                    CHECK_TIMEOUT);
            });
            const note = await Promise.race([fn(url), timeout]);
            passed++;
            const ms = (performance.now() - started).toFixed(0);
            console.log(`PASS ${name} [${ms} ms]${note ? ` (${note})` : ""}`);
        } catch (err) {
            failed++;
            const why = err instanceof CheckFailed ? err.message : `${err?.name}: ${err?.message}`;
            console.log(`FAIL ${name}: ${why}`);
            if (!(err instanceof CheckFailed) && process.env.INTEROP_VERBOSE) console.error(err);
        } finally {
            clearTimeout(timer);
        }
    }
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 && passed > 0;
}

if (process.argv.length !== 3) {
    console.error("usage: node node_client.mjs ws://127.0.0.1:PORT/");
    process.exit(2);
}
// `exit` also ends connections left open by a failed check.
main(process.argv[2]).then((ok) => process.exit(ok ? 0 : 1), (err) => {
    console.error(err);
    process.exit(1);
});
