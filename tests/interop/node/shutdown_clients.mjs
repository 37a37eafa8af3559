// Opens N WebSockets to a server, prints `ready N` once all are open, then
// waits for the server to close them all: every one must receive Close
// 1001 (Going Away). Meant to run while the server is told to shut down
// (SIGTERM) after `ready`.
//
// Usage: node shutdown_clients.mjs N ws://127.0.0.1:PORT/
//
// Prints the close codes seen and a final `N passed, M failed`.

import WebSocket from "ws";

const [count, url] = [Number(process.argv[2]), process.argv[3]];
const OPEN_TIMEOUT = 30_000;
const CLOSE_TIMEOUT = 30_000;

function within(ms, what, promise) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sockets = [];
const closed = [];
const opened = [];
for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("error", () => {});
    opened.push(new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("close", (code) => reject(new Error(`closed with ${code} before opening`)));
    }));
    closed.push(new Promise((resolve) => ws.on("close", (code) => resolve(code))));
    sockets.push(ws);
    // A little pacing: the listen backlog is finite.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
}
try {
    await within(OPEN_TIMEOUT, "opening", Promise.all(opened));
} catch (e) {
    console.log(`FAIL ${e.message}`);
    console.log(`0 passed, ${count} failed`);
    process.exit(1);
}
console.log(`ready ${count}`);
let codes;
try {
    codes = await within(CLOSE_TIMEOUT, "closing", Promise.all(closed));
} catch (e) {
    console.log(`FAIL ${e.message}`);
    console.log(`0 passed, ${count} failed`);
    process.exit(1);
}
const tally = {};
for (const code of codes) tally[code] = (tally[code] ?? 0) + 1;
console.log(`close codes seen: ${JSON.stringify(tally)}`);
const passed = tally[1001] ?? 0;
console.log(`${passed} passed, ${count - passed} failed`);
process.exit(passed === count ? 0 : 1);
