// The cluster test's clients (run.sh starts redis, two chat instances A and
// B sharing it, and haproxy in front of both, then runs this).
//
//   CLUSTER_A_URL=http://127.0.0.1:PA/ CLUSTER_B_URL=http://127.0.0.1:PB/ \
//   CLUSTER_FRONT_URL=http://127.0.0.1:PF/ CLUSTER_A_PID=PID \
//   CLUSTER_HAPROXY_SOCKET=/path/to/stats.sock \
//   CLUSTER_A_LOG=/path/to/a.log CLUSTER_B_LOG=/path/to/b.log \
//   CLUSTER_CONTROL=/path/to/fifo CLUSTER_CONTROL_REPLY=/path/to/fifo node check.mjs
//
// CLUSTER_A_LOG and CLUSTER_B_LOG are the instances' stderr. The two FIFOs
// are run.sh's control channel: this writes a request line to
// CLUSTER_CONTROL (`redis-stop`: SIGKILL to redis-server; `redis-start`:
// start it again on the same port) and reads run.sh's one-line answer
// (`ok ...` or `error ...`) from CLUSTER_CONTROL_REPLY. run.sh keeps both
// open, so opening them never blocks.
//
// Phase 1: a1..a3 connect straight to A, b1..b3 straight to B (a certain
// split), all join room r1 (the A clients first, so that their seeing
// `joined` for every B client is a certain cross-instance check), then each
// says 50 numbered lines at once. Every client must get all 300 `message`
// events exactly once, each sender's in order, within 20 s.
//
// Phase 2, a Redis outage: run.sh kills redis-server. Within 3 s both
// instances' /healthz say "redis":"down" and both logs report it. Meanwhile
// rooms keep working on each instance: every client says a line, which
// reaches the 3 clients on its instance exactly once and not the other
// instance (waited 500 ms); every client says a second line just before
// redis-server is started again on the same port. Within 10 s both
// /healthz say "redis":"up", and a line from a1 and one from b1 reach all 6
// clients exactly once. No line said during the outage may reach the other
// instance, not even late, after Redis is back: publishes made while Redis
// is down are dropped. The retry delays in the logs must double (cap 5 s).
//
// Phase 3: instance A is sent SIGKILL. a1..a3 see their connections drop,
// reconnect through haproxy (backoff 100 ms doubling to 500 ms), join r1
// again, and must be back within 15 s of the kill: their `welcome`, then a
// line b1 says after that welcome reaches them, and their own line reaches
// b1..b3. Each client's failover time is printed. A rejoin refused with
// `name_taken` (the name still held for the dead connection) is retried
// every 200 ms and reported in a NOTE line.
//
// Prints `ok`/`FAIL` per check and ends with `N passed, M failed`; exits 1
// on any failure.
import fs from "node:fs";
import net from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const ROOM = "r1";
const LINES = 50;
const JOIN_TIMEOUT = 5_000; // each join step
const PHASE1_TIMEOUT = 20_000; // from the first say to the last delivery
const FAILOVER_TIMEOUT = 15_000; // from the kill to the last client back
const SETTLE_TIMEOUT = 5_000; // Redis up, haproxy sees A and B UP, A DOWN after the kill
const CONTROL_TIMEOUT = 8_000; // run.sh's answer to a control request
const REDIS_DOWN_TIMEOUT = 3_000; // from the kill of redis-server to "down" and a log line
const LOCAL_TIMEOUT = 2_000; // a line said during the outage, to its instance's clients
const NO_CROSS_WAIT = 500; // ... and it has not reached the other instance after this
const REDIS_UP_TIMEOUT = 10_000; // from the restart to "up" on both (backoff caps at 5 s)
const SPAN_TIMEOUT = 6_000; // then a line to all 6 clients (a publisher may still sleep up to 5 s)

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
const A_LOG = env("CLUSTER_A_LOG");
const B_LOG = env("CLUSTER_B_LOG");
const CONTROL = env("CLUSTER_CONTROL");
const CONTROL_REPLY = env("CLUSTER_CONTROL_REPLY");
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

/** 200 with JSON `"redis": redis` and, if given, that many connections. */
function healthShows(h, connections, redis = "up") {
    return (
        h.status === 200 &&
        typeof h.body === "object" &&
        h.body?.redis === redis &&
        (connections === undefined || h.body?.connections === connections)
    );
}
const showHealth = (h) => (h.error ? `error ${h.error}` : `${h.status} ${h.text.trim()}`);

/**
 * Polls /healthz of every `[label, url]` every 50 ms until `healthShows(h,
 * connections, redis)` for all, or `ms` pass. Returns {label: {h, t}}: the
 * last answer, and when it first showed `redis` (undefined if never).
 */
async function healthUntil(instances, redis, connections, ms) {
    const deadline = now() + ms;
    const seen = {};
    for (;;) {
        await Promise.all(instances.map(async ([label, url]) => {
            if (seen[label]?.t !== undefined) return;
            const h = await healthz(url);
            seen[label] = { h, t: healthShows(h, connections, redis) ? now() : undefined };
        }));
        if (Object.values(seen).every((s) => s.t !== undefined) || now() >= deadline) return seen;
        await sleep(50);
    }
}

// --- run.sh's control channel and the instances' logs ----------------------------

const replyLines = [];
let replies = null;

/**
 * Asks run.sh to do `request` (`redis-stop`, `redis-start`); resolves with
 * its answer line, or null after `ms`.
 */
async function control(request, ms = CONTROL_TIMEOUT) {
    if (!replies) {
        // Non-blocking, as a socket: a pending read must not hold a thread
        // (or the exit) the way a file read would.
        const fd = fs.openSync(CONTROL_REPLY, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        replies = new net.Socket({ fd, readable: true, writable: false });
        replies.unref();
        let partial = "";
        replies.on("data", (chunk) => {
            const lines = (partial + chunk).split("\n");
            partial = lines.pop();
            replyLines.push(...lines);
        });
    }
    fs.appendFileSync(CONTROL, `${request}\n`);
    return (await until(() => replyLines.length > 0, ms)) ? replyLines.shift() : null;
}

const logSize = (path) => fs.statSync(path).size;
/** The lines of the log at `path` from byte `offset` on. */
function logLines(path, offset) {
    return fs.readFileSync(path).subarray(offset).toString().split("\n").filter(Boolean);
}
/** What redis_bus.rs logs when it loses Redis or cannot reach it. */
const OUTAGE_RE = /^chat: redis: (subscription lost|cannot subscribe|publish failed|cannot connect to publish)/;
const RETRY_RE = /^chat: redis: (cannot subscribe|cannot connect to publish): .*; retrying in ([0-9.]+)(ns|µs|ms|s)$/;

/**
 * The retry delays (seconds) that `lines` announce, per loop: {subscribe:
 * [...], publish: [...]}.
 */
function retryDelays(lines) {
    const unit = { ns: 1e-9, "µs": 1e-6, ms: 1e-3, s: 1 };
    const delays = { subscribe: [], publish: [] };
    for (const line of lines) {
        const m = line.match(RETRY_RE);
        if (m) delays[m[1] === "cannot subscribe" ? "subscribe" : "publish"].push(Number(m[2]) * unit[m[3]]);
    }
    return delays;
}
/** Delays that start at 100 or 200 ms and double up to 5 s: "" if so, else what is wrong. */
function backoffProblem(delays) {
    const near = (a, b) => Math.abs(a - b) <= 0.001 * b;
    if (delays.length && !(near(delays[0], 0.1) || near(delays[0], 0.2))) return `starts at ${delays[0]} s`;
    for (let i = 1; i < delays.length; i++) {
        if (!near(delays[i], Math.min(delays[i - 1] * 2, 5))) return `${delays[i - 1]} s then ${delays[i]} s`;
    }
    return "";
}
const showDelays = (delays) => delays.map((d) => (d < 1 ? `${Math.round(d * 1000)} ms` : `${d} s`)).join(", ") || "none";

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
/** The clients whose connection is not open, with its state. */
const notOpen = () => ALL.filter((c) => c.ws.readyState !== WebSocket.OPEN)
    .map((c) => `${c.name}: ${["connecting", "open", "closing", "closed"][c.ws.readyState]}`);
if (notOpen().length) {
    await stop("all six connections still open before the Redis outage", some(notOpen()));
}

// --- phase 2: Redis goes away, rooms stay local, Redis comes back ---------------

const INSTANCES = [["A", A_URL], ["B", B_URL]];
const LOGS = { A: A_LOG, B: B_LOG };
const ON = { A, B }; // each instance's clients
const logStart = { A: logSize(A_LOG), B: logSize(B_LOG) };

info("phase 2: run.sh kills redis-server (SIGKILL)");
const tRedisKill = now();
const stopped = await control("redis-stop");
if (!stopped?.startsWith("ok ")) {
    await stop("run.sh killed redis-server", stopped ?? `no answer in ${secs(CONTROL_TIMEOUT)} s`);
}
info(`phase 2: run.sh: ${stopped.slice(3)}`);

const down = await healthUntil(INSTANCES, "down", 3, REDIS_DOWN_TIMEOUT);
for (const [label] of INSTANCES) {
    const { h, t } = down[label];
    check(t !== undefined,
        `${label} GET /healthz: "redis":"down"${t === undefined ? "" : ` ${secs(t - tRedisKill)} s after the kill`} ` +
        `(limit ${secs(REDIS_DOWN_TIMEOUT)} s), 3 connections`, `still ${showHealth(h)}`);
}
const outageLine = (label) => logLines(LOGS[label], logStart[label]).find((l) => OUTAGE_RE.test(l));
await until(() => INSTANCES.every(([label]) => outageLine(label)), Math.max(0, tRedisKill + REDIS_DOWN_TIMEOUT - now()));
for (const [label] of INSTANCES) {
    const line = outageLine(label);
    check(Boolean(line), `${label}'s log reports the outage${line ? `: "${line}"` : ""}`,
        `no line matching ${OUTAGE_RE} in ${secs(REDIS_DOWN_TIMEOUT)} s`);
}

/** c's `message`s on connection 1 with text `${round} ${s.name}` from s. */
const said = (c, round, s) => c.got(1, s.name, `${round} ${s.name}`);
/** What is wrong with `round` at the clients of `label`: each line of its own instance's clients once. */
function localProblems(label, round) {
    return ON[label].flatMap((c) => ON[label]
        .map((s) => [s, said(c, round, s).length])
        .filter(([, n]) => n !== 1)
        .map(([s, n]) => `${c.name} got ${s.name}'s x${n}`));
}
/** Lines of `rounds` that reached the clients of `label` from the other instance. */
function crossed(label, rounds) {
    return ON[label].flatMap((c) => ALL.filter((s) => s.instance !== label)
        .flatMap((s) => rounds.flatMap((round) => said(c, round, s).map((m) => ({ c, m })))));
}

info("phase 2: while Redis is down, every client says a line");
const tDown = now();
for (const c of ALL) c.send({ type: "say", text: `down ${c.name}` });
const local = await until(() => INSTANCES.every(([label]) =>
    ON[label].every((c) => ON[label].every((s) => said(c, "down", s).length > 0))), LOCAL_TIMEOUT);
info(`phase 2: lines to their own instance's clients in ${secs(now() - tDown)} s${local ? "" : " (timed out)"}; ` +
    `${NO_CROSS_WAIT} ms more for any that would cross`);
await sleep(NO_CROSS_WAIT);
for (const [label] of INSTANCES) {
    const mine = ON[label].map((c) => c.name).join(", ");
    const problems = localProblems(label, "down");
    check(problems.length === 0, `room r1 works on ${label} without Redis: ${mine} each got the lines of ${mine} exactly once`,
        some(problems));
    const other = ALL.filter((s) => s.instance !== label).map((s) => s.name).join(", ");
    const bad = crossed(label, ["down"]);
    check(bad.length === 0, `none of ${other}'s lines reached ${label} (nothing can carry them)`,
        some(bad.map(({ c, m }) => `${c.name} got "${m.text}" ${secs(m.t - tDown)} s after it was said`)));
}

// Said just before redis-server starts again: a publisher that kept them
// until Redis is back would deliver them late, after the restart.
for (const c of ALL) c.send({ type: "say", text: `down-late ${c.name}` });
const tDownLate = now();
info("phase 2: every client said another line; run.sh starts redis-server again on the same port");
const started = await control("redis-start");
const tRestart = now();
if (!started?.startsWith("ok ")) {
    await stop("run.sh started redis-server again", started ?? `no answer in ${secs(CONTROL_TIMEOUT)} s`);
}
info(`phase 2: run.sh: ${started.slice(3)}`);

const up = await healthUntil(INSTANCES, "up", 3, REDIS_UP_TIMEOUT);
for (const [label] of INSTANCES) {
    const { h, t } = up[label];
    check(t !== undefined,
        `${label} GET /healthz: "redis":"up" again${t === undefined ? "" : ` ${secs(t - tRestart)} s after the restart`} ` +
        `(limit ${secs(REDIS_UP_TIMEOUT)} s), 3 connections`, `still ${showHealth(h)}`);
}

// Redis back: r1 spans both instances again. Each instance's publisher
// sends in order, so once a1's line has reached B (b1's, A), any line of
// A's (B's) from the outage that was still going to be delivered has been.
const spanners = [A[0], B[0]];
const tSpan = now();
for (const s of spanners) s.send({ type: "say", text: `redis-back ${s.name}` });
await until(() => spanners.every((s) => ALL.every((c) => said(c, "redis-back", s).length > 0)), SPAN_TIMEOUT);
await sleep(200); // for duplicates
for (const s of spanners) {
    const got = ALL.map((c) => [c, said(c, "redis-back", s)]);
    const problems = got.filter(([, ms]) => ms.length !== 1).map(([c, ms]) => `${c.name} x${ms.length}`);
    const last = Math.max(...got.flatMap(([, ms]) => ms.map((m) => m.t)));
    check(problems.length === 0,
        `${s.name}'s line after the restart reached all ${ALL.length} clients exactly once` +
        (problems.length ? "" : ` (in ${secs(last - tSpan)} s)`), some(problems));
}
{
    const problems = INSTANCES.flatMap(([label]) => localProblems(label, "down-late"));
    check(problems.length === 0, "the lines said just before the restart reached their own instance's clients exactly once",
        some(problems));
    const late = INSTANCES.flatMap(([label]) => crossed(label, ["down", "down-late"]));
    const saidAt = (m) => (m.text.startsWith("down-late ") ? tDownLate : tDown);
    const range = (xs) => `${secs(Math.min(...xs))}-${secs(Math.max(...xs))} s`;
    check(late.length === 0, "no line said while Redis was down reached the other instance, not even after it was back",
        late.length && `${late.length} arrived, ${range(late.map(({ m }) => m.t - tRestart))} after the restart ` +
            `(${range(late.map(({ m }) => m.t - saidAt(m)))} after they were said; the restart was ` +
            `${secs(tRestart - tDown)} s after the first ones, ${secs(tRestart - tDownLate)} s after the others): ` +
            some(late.map(({ c, m }) => `${c.name} got "${m.text}"`), 6));
}

// What each instance logged from the kill on, and its retry delays.
for (const [label] of INSTANCES) {
    const lines = logLines(LOGS[label], logStart[label]);
    const kinds = new Map();
    for (const line of lines) {
        const kind = line.replace(/^chat: (redis: )?/, "").split(/[:;]/)[0];
        kinds.set(kind, (kinds.get(kind) || 0) + 1);
    }
    info(`${label}'s log since the kill: ${[...kinds].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(", ") || "nothing"}`);
    const delays = retryDelays(lines);
    const problems = Object.entries(delays)
        .map(([loop, list]) => [loop, backoffProblem(list)])
        .filter(([, p]) => p)
        .map(([loop, p]) => `${loop}: ${p}`);
    check(problems.length === 0 && delays.subscribe.length > 0,
        `${label}'s retry delays double from 100 ms, capped at 5 s (logged: subscribe ` +
        `${showDelays(delays.subscribe)}; publish ${showDelays(delays.publish)})`,
        problems.join("; ") || "no retry of the subscription logged");
}
const phase2Trouble = ALL.flatMap((c) => [
    ...c.errors.map((e) => `${c.name}: error ${e.code} ${e.message}`),
    ...c.closes.map((x) => `${c.name}: closed ${x.code} ${x.reason}`),
    ...c.bad.map((b) => `${c.name}: ${b}`),
]);
check(phase2Trouble.length === 0, "phase 2: no error, close or unexpected message", some(phase2Trouble, 6));
if (notOpen().length) {
    await stop("all six connections still open before the kill of A", some(notOpen()));
}

// --- phase 3: kill A, a1-a3 come back through haproxy -----------------------------

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

info(`phase 3: SIGKILL to instance A (pid ${A_PID})`);
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
info(`phase 3: ${secs(tDone - tKill)} s from the kill to the last client back`);

// Every line of phase 3 exactly once at each client that got it.
await sleep(200);
const dupPhase3 = ALL.flatMap((c) => {
    const seen = new Map();
    for (const m of c.messages) {
        if (!/^(back|ping-after-failover) /.test(m.text)) continue;
        const key = `${m.conn}|${m.from}|${m.text}`;
        seen.set(key, (seen.get(key) || 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${c.name}: ${key} x${n}`);
});
check(dupPhase3.length === 0, "phase 3 lines arrived once each", some(dupPhase3));
const phase3Trouble = [
    ...B.flatMap((c) => [
        ...c.errors.map((e) => `${c.name}: error ${e.code}`),
        ...c.closes.map((x) => `${c.name}: closed ${x.code} ${x.reason}`),
    ]),
    ...A.flatMap((c) => c.errors.filter((e) => e.code !== "name_taken").map((e) => `${c.name}: error ${e.code}`)),
    ...A.flatMap((c) => c.closes.filter((x) => x.conn > 1).map((x) => `${c.name}: new connection closed ${x.code}`)),
    ...ALL.flatMap((c) => c.bad.map((b) => `${c.name}: ${b}`)),
];
check(phase3Trouble.length === 0, "phase 3: B's clients undisturbed, no errors or closes", some(phase3Trouble, 6));

{
    const h = await healthz(B_URL);
    check(healthShows(h, 6), "B GET /healthz: 6 connections (3 + the 3 failed over), redis up", showHealth(h));
    await haproxyUntil((s) => s.a?.status?.startsWith("DOWN"));
    check(servers.a?.status?.startsWith("DOWN") && servers.b?.status === "UP",
        "haproxy marked A DOWN and kept B UP", await haproxyState());
}

info(`total ${secs(now() - T0)} s`);
await finish();
