// Node's `ws` client sends one message over the server's frame limit and
// must see the server's close code 1009 every time, not a reset (1006): the
// server lingers after failing, draining the rest of the message until
// Node closes, so its Close frame is never lost (RFC 6455 §7.1.1).
//
// Usage: node too_big.mjs [RUNS] ws://127.0.0.1:PORT/
//
// Prints one line per run and a final `N passed, M failed`. The server is
// expected to have the default 16 MiB frame limit.

import WebSocket from "ws";

const SIZE = 20_000_000;
const RUN_TIMEOUT = 20_000; // ms

const args = process.argv.slice(2);
const url = args.pop();
const runs = Number(args[0] ?? 50);
const payload = Buffer.alloc(SIZE, 0x61);

function once() {
    return new Promise((resolve) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        const timer = setTimeout(() => {
            ws.terminate();
            resolve("timeout");
        }, RUN_TIMEOUT);
        ws.on("open", () => ws.send(payload));
        ws.on("error", () => {}); // the close event reports the outcome
        ws.on("close", (code) => {
            clearTimeout(timer);
            resolve(code);
        });
    });
}

let passed = 0;
let failed = 0;
for (let run = 1; run <= runs; run++) {
    const code = await once();
    if (code === 1009) {
        passed++;
        console.log(`PASS run ${run}: close ${code}`);
    } else {
        failed++;
        console.log(`FAIL run ${run}: close ${code}, expected 1009`);
    }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
