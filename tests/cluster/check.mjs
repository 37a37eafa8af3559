// The cluster test's clients (run.sh starts redis, two chat instances A and
// B sharing it, and haproxy in front of both, then runs this).
//
//   CLUSTER_A_URL=http://127.0.0.1:PA/ CLUSTER_B_URL=http://127.0.0.1:PB/ \
//   CLUSTER_FRONT_URL=http://127.0.0.1:PF/ CLUSTER_A_PID=PID \
//   CLUSTER_HAPROXY_SOCKET=/path/to/stats.sock node check.mjs
//
// Phase 1: a1..a3 connect straight to A, b1..b3 straight to B (a certain
// split), all join room r1 (the A clients first, so that their seeing
// `joined` for every B client is a certain cross-instance check), then each
// says 50 numbered lines at once. Every client must get all 300 `message`
// events exactly once, each sender's in order, within 20 s.
//
// Phase 2: instance A is sent SIGKILL. a1..a3 see their connections drop,
// reconnect through haproxy (backoff 100 ms doubling to 500 ms), join r1
// again, and must be back within 15 s of the kill: their `welcome`, then a
// line b1 says after that welcome reaches them, and their own line reaches
// b1..b3. Each client's failover time is printed. A rejoin refused with
// `name_taken` (the name still held for the dead connection) is retried
// every 200 ms and reported in a NOTE line.
//
// Prints `ok`/`FAIL` per check and ends with `N passed, M failed`; exits 1
// on any failure.
import net from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const ROOM = "r1";
const LINES = 50;
const JOIN_TIMEOUT = 5_000; // each join step
const PHASE1_TIMEOUT = 20_000; // from the first say to the last delivery
const FAILOVER_TIMEOUT = 15_000; // from the kill to the last client back
const SETTLE_TIMEOUT = 5_000; // Redis up, haproxy sees A and B UP, A DOWN after the kill

function env(name) {
    const value = process.env[name];
    if (!value) {
        console.error(`check.mjs: ${name} is not set (run.sh sets it)`);
        process.exit(2);
    }
    return value;
}
const A_URL = env("CLUSTER_A_URL");
const B_URL = env("CLUSTER_B_URL");
const FRONT_URL = env("CLUSTER_FRONT_URL");
const A_PID = Number(env("CLUSTER_A_PID"));
const HAPROXY_SOCKET = env("CLUSTER_HAPROXY_SOCKET");
const wsUrl = (http) => new URL("ws", http).href.replace(/^http/, "ws");

const T0 = performance.now();
const now = () => performance.now();
const secs = (ms) => (ms / 1000).toFixed(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const stamp = () => `[${secs(now() - T0)} s]`;
const info = (text) => console.log(`${stamp()} ${text}`);

let passed = 0;
let failed = 0;
function check(ok, what, detail = "") {
    if (ok) {
        passed++;
        console.log(`ok   - ${what}`);
    } else {
        failed++;
        console.log(`FAIL - ${what}${detail ? `: ${detail}` : ""}`);
    }
    return ok;
}

/** Polls `cond` every 10 ms until it holds (true) or `ms` pass (false). */
async function until(cond, ms) {
    const deadline = now() + ms;
    for (;;) {
        if (cond()) return true;
        if (now() >= deadline) return false;
        await sleep(10);
    }
}

/** At most `limit` items of a list, for messages. */
function some(items, limit = 8) {
    const list = [...items];
    return list.length <= limit
        ? list.join(", ")
        : `${list.slice(0, limit).join(", ")}, ... (${list.length} in all)`;
}

// --- haproxy and /healthz -------------------------------------------------------

/** `show stat` over haproxy's stats socket: {server: {status, check}}. */
function haproxyServers() {
    return new Promise((resolve, reject) => {
        const socket = net.createConnection(HAPROXY_SOCKET);
        let text = "";
        socket.setTimeout(2_000, () => socket.destroy(new Error("stats socket timed out")));
        socket.on("connect", () => socket.end("show stat\n"));
        socket.on("data", (chunk) => (text += chunk));
        socket.on("error", reject);
        socket.on("close", () => {
            const lines = text.split("\n").filter((l) => l.trim());
            const header = (lines.shift() || "").replace(/^# /, "").split(",");
            const col = (name) => header.indexOf(name);
            const servers = {};
            for (const line of lines) {
                const f = line.split(",");
                if (f[col("pxname")] === "chat" && !["BACKEND", "FRONTEND"].includes(f[col("svname")])) {
                    servers[f[col("svname")]] = {
                        status: f[col("status")],
                        check: f[col("check_status")],
                    };
                }
            }
            resolve(servers);
        });
    });
}

async function haproxyState() {
    try {
        const s = await haproxyServers();
        return Object.entries(s)
            .map(([name, v]) => `${name} ${v.status} (${v.check})`)
            .join(", ");
    } catch (e) {
        return `stats socket: ${e.message}`;
    }
}

/** `GET /healthz`: {status, body} (body parsed when it is JSON), or {error}. */
async function healthz(base) {
    try {
        const response = await fetch(new URL("healthz", base), { signal: AbortSignal.timeout(2_000) });
        const text = await response.text();
        let body = text;
        try {
            body = JSON.parse(text);
        } catch {}
        return { status: response.status, body, text };
    } catch (e) {
        return { error: e.cause?.code || e.message };
    }
}

function healthShows(h, connections) {
    return (
        h.status === 200 &&
        typeof h.body === "object" &&
        h.body?.redis === "up" &&
        (connections === undefined || h.body?.connections === connections)
    );
}
const showHealth = (h) => (h.error ? `error ${h.error}` : `${h.status} ${h.text.trim()}`);

// --- the clients -----------------------------------------------------------------

class Client {
    constructor(name, instance) {
        this.name = name;
        this.instance = instance; // "A" or "B": where phase 1 connects
        this.ws = null;
        this.conn = 0; // connection number: 1 in phase 1, 2+ after the failover
        this.welcomes = []; // {conn, t, room, members}
        this.joined = []; // {conn, name, t}
        this.messages = []; // {conn, from, text, t}
        this.errors = []; // {conn, code, message}
        this.closes = []; // {conn, code, reason, t}
        this.bad = []; // unparsable or unknown server messages
        this.onDrop = null; // called once when connection 1 drops
    }

    /** Opens a connection; resolves on open, rejects if it fails first. */
    open(url) {
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(url, { handshakeTimeout: 2_000 });
            const conn = this.conn + 1;
            let opened = false;
            ws.on("open", () => {
                opened = true;
                this.ws = ws;
                this.conn = conn;
                resolve();
            });
            ws.on("error", (e) => {
                if (!opened) reject(e);
            });
            ws.on("message", (data, binary) => this.receive(conn, data, binary));
            ws.on("close", (code, reason) => {
                if (!opened) return reject(new Error(`closed before open (${code})`));
                this.closes.push({ conn, code, reason: reason.toString(), t: now() });
                if (conn === 1 && this.onDrop) this.onDrop();
            });
        });
    }

    receive(conn, data, binary) {
        const t = now();
        let m;
        try {
            m = JSON.parse(data.toString());
        } catch {
            return this.bad.push(`unparsable ${binary ? "binary" : "text"}: ${data.toString().slice(0, 80)}`);
        }
        switch (m.type) {
            case "welcome":
                return this.welcomes.push({ conn, t, room: m.room, name: m.name, members: m.members });
            case "joined":
                return m.room === ROOM && this.joined.push({ conn, t, name: m.name });
            case "left":
                return; // not checked: A dies without telling anyone
            case "message":
                if (m.room !== ROOM) return this.bad.push(`message in room ${m.room}`);
                return this.messages.push({ conn, t, from: m.from, text: m.text });
            case "error":
                return this.errors.push({ conn, t, code: m.code, message: m.message });
            default:
                return this.bad.push(`unexpected ${data.toString().slice(0, 80)}`);
        }
    }

    send(obj) {
        this.ws.send(JSON.stringify(obj));
    }

    join() {
        this.send({ type: "join", name: this.name, room: ROOM });
    }

    welcomed(conn) {
        return this.welcomes.find((w) => w.conn === conn && w.room === ROOM);
    }

    /** The `message` events from `from` with `text` on connection `conn`. */
    got(conn, from, text) {
        return this.messages.filter((m) => m.conn === conn && m.from === from && m.text === text);
    }
}

const A = ["a1", "a2", "a3"].map((n) => new Client(n, "A"));
const B = ["b1", "b2", "b3"].map((n) => new Client(n, "B"));
const ALL = [...A, ...B];
const NAMES = ALL.map((c) => c.name);

async function finish() {
    for (const c of ALL) c.onDrop = null;
    for (const c of ALL) {
        try {
            c.ws?.close(1000);
        } catch {}
    }
    await sleep(100);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

/** Fails the check and stops: later phases need this one. */
async function stop(what, detail) {
    check(false, what, detail);
    console.log("FAILED: the later checks need this one; stopping");
    await finish();
}

// --- before: both instances healthy, haproxy sees both ---------------------------

info(`A ${A_URL}, B ${B_URL}, haproxy ${FRONT_URL}, A's pid ${A_PID}`);
// An instance may print its URL before its Redis connection is up: wait
// (bounded) for `"redis":"up"`.
for (const [label, url] of [["A", A_URL], ["B", B_URL]]) {
    let h;
    const up = await (async () => {
        const deadline = now() + SETTLE_TIMEOUT;
        for (;;) {
            h = await healthz(url);
            if (healthShows(h) || now() >= deadline) return healthShows(h);
            await sleep(50);
        }
    })();
    check(up && h.body.connections === 0, `${label} GET /healthz: 200, redis up, 0 connections`, showHealth(h));
}
let servers = {};
/** Polls haproxy's `show stat` every 50 ms until `cond(servers)` or the timeout. */
async function haproxyUntil(cond) {
    const deadline = now() + SETTLE_TIMEOUT;
    for (;;) {
        try {
            servers = await haproxyServers();
        } catch {}
        if (cond(servers) || now() >= deadline) return cond(servers);
        await sleep(50);
    }
}
await haproxyUntil((s) => s.a?.status === "UP" && s.b?.status === "UP");
if (!check(servers.a?.status === "UP" && servers.b?.status === "UP",
    "haproxy's /healthz checks see both instances UP", await haproxyState())) {
    await stop("haproxy has both instances to fail over between");
}

// --- phase 1: 3 clients on A, 3 on B, all in r1, 50 lines each -------------------

info("phase 1: a1-a3 connect to A, b1-b3 to B");
try {
    await Promise.all([
        ...A.map((c) => c.open(wsUrl(A_URL))),
        ...B.map((c) => c.open(wsUrl(B_URL))),
    ]);
} catch (e) {
    await stop("all six clients connect directly", e.message);
}
for (const c of ALL) {
    c.onDrop = () => info(`unexpected: ${c.name}'s connection closed`);
}

const tJoin = now();
A.forEach((c) => c.join());
if (!(await until(() => A.every((c) => c.welcomed(1)), JOIN_TIMEOUT))) {
    await stop("a1-a3 get their welcome to r1", `missing for ${some(A.filter((c) => !c.welcomed(1)).map((c) => c.name))}; errors: ${some(A.flatMap((c) => c.errors.map((e) => `${c.name}: ${e.code}`)))}`);
}
B.forEach((c) => c.join());
if (!(await until(() => B.every((c) => c.welcomed(1)), JOIN_TIMEOUT))) {
    await stop("b1-b3 get their welcome to r1", `missing for ${some(B.filter((c) => !c.welcomed(1)).map((c) => c.name))}; errors: ${some(B.flatMap((c) => c.errors.map((e) => `${c.name}: ${e.code}`)))}`);
}
check(true, "all six clients welcomed to r1");

// a1-a3 were in r1 before any B client joined: each must see `joined` for
// b1-b3, which only Redis can have carried from B.
const sawB = (c) => B.every((b) => c.joined.some((j) => j.name === b.name));
const crossJoined = await until(() => A.every(sawB), JOIN_TIMEOUT);
info(`join phase: ${secs(now() - tJoin)} s`);
check(crossJoined, "a1-a3 (on A) each saw `joined` for b1-b3 (on B)",
    some(A.filter((c) => !sawB(c)).map((c) => `${c.name} saw ${c.joined.length ? `only ${some(c.joined.map((j) => j.name))}` : "none"}`)));
// The B clients joined a room that already had members on A: whether their
// welcome lists them is the chat's choice, so it is only reported.
for (const c of B) {
    info(`${c.name}'s welcome lists: ${some(c.welcomed(1).members) || "nobody"}`);
}
// Nobody is announced twice (say, once locally and again through Redis).
const dupJoined = ALL.flatMap((c) => {
    const counts = new Map();
    c.joined.forEach((j) => counts.set(j.name, (counts.get(j.name) || 0) + 1));
    return [...counts].filter(([, n]) => n > 1).map(([name, n]) => `${c.name} got ${name} x${n}`);
});
check(dupJoined.length === 0, "no client got the same `joined` twice", some(dupJoined));
const selfJoined = ALL.filter((c) => c.joined.some((j) => j.name === c.name)).map((c) => c.name);
check(selfJoined.length === 0, "no client got `joined` for itself", some(selfJoined));

for (const [label, url] of [["A", A_URL], ["B", B_URL]]) {
    const h = await healthz(url);
    check(healthShows(h, 3), `${label} GET /healthz: 3 connections, redis up`, showHealth(h));
}

info(`phase 1: every client says ${LINES} lines at once`);
const lineRe = /^(\S+) (\d+)$/;
const tSay = now();
for (const c of ALL) {
    for (let i = 0; i < LINES; i++) c.send({ type: "say", text: `${c.name} ${i}` });
}
const phase1 = (c) => c.messages.filter((m) => m.conn === 1 && lineRe.test(m.text));
const complete = await until(() => ALL.every((c) => phase1(c).length >= NAMES.length * LINES), PHASE1_TIMEOUT);
const tSaid = now();
// A little longer for duplicates that would arrive after the last line.
await sleep(200);
info(`phase 1: ${NAMES.length * LINES} lines to each of ${ALL.length} clients in ${secs(tSaid - tSay)} s${complete ? "" : " (timed out)"}`);

for (const c of ALL) {
    const problems = [];
    const bySender = new Map(NAMES.map((n) => [n, []]));
    for (const m of phase1(c)) {
        const [, who, i] = m.text.match(lineRe);
        if (who !== m.from) problems.push(`"${m.text}" came from ${m.from}`);
        else if (!bySender.has(who)) problems.push(`a line from unknown ${who}`);
        else bySender.get(who).push(Number(i));
    }
    for (const [sender, seen] of bySender) {
        const expected = [...Array(LINES).keys()];
        if (seen.join() === expected.join()) continue;
        const missing = expected.filter((i) => !seen.includes(i));
        const dups = seen.filter((i, k) => seen.indexOf(i) !== k);
        const outOfOrder = seen.some((i, k) => k > 0 && i < seen[k - 1]);
        problems.push(`from ${sender}: ${seen.length} lines` +
            (missing.length ? `, missing ${some(missing, 5)}` : "") +
            (dups.length ? `, duplicated ${some(dups, 5)}` : "") +
            (outOfOrder ? `, out of order (${some(seen, 12)})` : ""));
    }
    check(problems.length === 0,
        `${c.name} (on ${c.instance}) got all ${NAMES.length * LINES} lines exactly once, each sender's in order`,
        problems.join("; "));
}
const phase1Trouble = ALL.flatMap((c) => [
    ...c.errors.map((e) => `${c.name}: error ${e.code} ${e.message}`),
    ...c.closes.map((x) => `${c.name}: closed ${x.code} ${x.reason}`),
    ...c.bad.map((b) => `${c.name}: ${b}`),
]);
check(phase1Trouble.length === 0, "phase 1: no error, close or unexpected message", some(phase1Trouble, 6));
if (!ALL.every((c) => c.ws.readyState === WebSocket.OPEN)) {
    await stop("all six connections still open before the kill");
}

// --- phase 2: kill A, a1-a3 come back through haproxy -----------------------------

const back = new Map(); // name -> {tDrop, tOpen, attempts, tWelcome, tPing, tHeard, nameTaken}
const FRONT_WS = wsUrl(FRONT_URL);

/** a1-a3, once their connection to A drops: reconnect and rejoin. */
async function failover(c) {
    const r = { tDrop: now(), attempts: 0, nameTaken: 0, lastError: "" };
    back.set(c.name, r);
    const deadline = tKill + FAILOVER_TIMEOUT;
    let delay = 100;
    while (now() < deadline) {
        r.attempts++;
        try {
            await c.open(FRONT_WS);
            break;
        } catch (e) {
            r.lastError = e.message;
            await sleep(Math.min(delay, Math.max(0, deadline - now())));
            delay = Math.min(delay * 2, 500);
        }
    }
    if (c.conn < 2) return;
    r.tOpen = now();
    const conn = c.conn;
    // Join; a `name_taken` (the name still held for the dead connection)
    // is retried every 200 ms until the deadline, and reported.
    let errorsSeen = c.errors.length;
    c.join();
    while (now() < deadline && !c.welcomed(conn)) {
        const fresh = c.errors.slice(errorsSeen);
        errorsSeen = c.errors.length;
        if (fresh.some((e) => e.code === "name_taken")) {
            r.nameTaken++;
            await sleep(200);
            if (c.ws.readyState === WebSocket.OPEN) c.join();
        } else {
            await sleep(10);
        }
    }
    const welcome = c.welcomed(conn);
    if (!welcome) return;
    r.tWelcome = welcome.t;
    // After the welcome: b1 says a line for c, and c says one for B.
    B[0].send({ type: "say", text: `ping-after-failover ${c.name}` });
    c.send({ type: "say", text: `back ${c.name}` });
    await until(() => c.got(conn, "b1", `ping-after-failover ${c.name}`).length > 0 &&
        B.every((b) => b.got(1, c.name, `back ${c.name}`).length > 0), Math.max(0, deadline - now()));
    const ping = c.got(conn, "b1", `ping-after-failover ${c.name}`)[0];
    const heard = B.map((b) => b.got(1, c.name, `back ${c.name}`)[0]);
    if (ping) r.tPing = ping.t;
    if (heard.every(Boolean)) r.tHeard = Math.max(...heard.map((m) => m.t));
}

const reconnecting = [];
for (const c of A) {
    c.onDrop = () => reconnecting.push(failover(c));
}
for (const c of B) {
    c.onDrop = () => info(`unexpected: ${c.name}'s connection to B closed`);
}

info(`phase 2: SIGKILL to instance A (pid ${A_PID})`);
const tKill = now();
try {
    process.kill(A_PID, "SIGKILL");
} catch (e) {
    await stop("instance A killed", e.message);
}
const dropped = await until(() => reconnecting.length === A.length, FAILOVER_TIMEOUT);
check(dropped, "a1-a3 saw their connections to A drop",
    `not: ${some(A.filter((c) => !back.has(c.name)).map((c) => c.name))}`);
await Promise.all(reconnecting);
const tDone = now();

for (const c of A) {
    const r = back.get(c.name);
    if (!r) continue;
    const at = (t) => (t === undefined ? "never" : `${secs(t - tKill)} s`);
    info(`${c.name}: drop seen ${at(r.tDrop)}, reconnected ${at(r.tOpen)} (attempt ${r.attempts}), ` +
        `welcome ${at(r.tWelcome)}, b1's line ${at(r.tPing)}, its line at b1-b3 ${at(r.tHeard)}` +
        (r.nameTaken ? `, name_taken ${r.nameTaken}x` : ""));
    const ok = r.tWelcome !== undefined && r.tPing !== undefined && r.tHeard !== undefined;
    const took = ok ? Math.max(r.tPing, r.tHeard) - tKill : undefined;
    check(ok && took <= FAILOVER_TIMEOUT,
        `${c.name} back in r1 through haproxy${ok ? ` after ${secs(took)} s` : ""} (limit ${secs(FAILOVER_TIMEOUT)} s)`,
        !r.tOpen ? `could not reconnect in ${r.attempts} attempts: ${r.lastError}`
            : !r.tWelcome ? `no welcome (errors: ${some(c.errors.filter((e) => e.conn > 1).map((e) => e.code)) || "none"})`
            : !r.tPing ? "b1's line after its welcome never reached it"
            : !r.tHeard ? `its line did not reach ${some(B.filter((b) => !b.got(1, c.name, `back ${c.name}`).length).map((b) => b.name))}`
            : "too late");
    // Not a failure as long as the client is back in time, but worth knowing.
    if (r.nameTaken) {
        info(`NOTE: ${c.name}'s rejoin got name_taken ${r.nameTaken} times (its name was still held for the ` +
            `dead instance) until ${secs(r.tWelcome === undefined ? now() - tKill : r.tWelcome - tKill)} s after the kill`);
    }
}
info(`phase 2: ${secs(tDone - tKill)} s from the kill to the last client back`);

// Every line of phase 2 exactly once at each client that got it.
await sleep(200);
const dupPhase2 = ALL.flatMap((c) => {
    const seen = new Map();
    for (const m of c.messages) {
        if (lineRe.test(m.text) && !/^(back|ping-after-failover) /.test(m.text)) continue;
        const key = `${m.conn}|${m.from}|${m.text}`;
        seen.set(key, (seen.get(key) || 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${c.name}: ${key} x${n}`);
});
check(dupPhase2.length === 0, "phase 2 lines arrived once each", some(dupPhase2));
const phase2Trouble = [
    ...B.flatMap((c) => [
        ...c.errors.map((e) => `${c.name}: error ${e.code}`),
        ...c.closes.map((x) => `${c.name}: closed ${x.code} ${x.reason}`),
    ]),
    ...A.flatMap((c) => c.errors.filter((e) => e.code !== "name_taken").map((e) => `${c.name}: error ${e.code}`)),
    ...A.flatMap((c) => c.closes.filter((x) => x.conn > 1).map((x) => `${c.name}: new connection closed ${x.code}`)),
    ...ALL.flatMap((c) => c.bad.map((b) => `${c.name}: ${b}`)),
];
check(phase2Trouble.length === 0, "phase 2: B's clients undisturbed, no errors or closes", some(phase2Trouble, 6));

{
    const h = await healthz(B_URL);
    check(healthShows(h, 6), "B GET /healthz: 6 connections (3 + the 3 failed over), redis up", showHealth(h));
    await haproxyUntil((s) => s.a?.status?.startsWith("DOWN"));
    check(servers.a?.status?.startsWith("DOWN") && servers.b?.status === "UP",
        "haproxy marked A DOWN and kept B UP", await haproxyState());
}

info(`total ${secs(now() - T0)} s`);
await finish();
