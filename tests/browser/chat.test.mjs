// The chat example in a real browser: two headless Chromium pages join a
// room and talk; then the server cuts one page's connection without a close
// frame (the test-only admin route), and the page must show that it is
// reconnecting, come back, rejoin its room, and talk again.
//
//   CHAT_URL=http://127.0.0.1:PORT/ node chat.test.mjs
//
// run.sh starts the server (with --admin) and sets CHAT_URL. Ends with a
// line `N passed, M failed`; exits non-zero if anything failed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { assert, check as runCheck, results, withTimeout } from "./checks.mjs";

const BASE = process.env.CHAT_URL;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || tmpdir();
/** Bound on every single wait, in ms. */
const WAIT = 10_000;
/** How often page conditions are checked, in ms: a fixed interval rather
 * than animation frames, which Chromium throttles in background pages. */
const POLL = 50;
/** Bound on one whole check. */
const CHECK = 30_000;

if (!BASE || !/^http:\/\/127\.0\.0\.1:\d+\/$/.test(BASE)) {
  console.error("set CHAT_URL to the chat server's http://127.0.0.1:PORT/ URL");
  process.exit(2);
}

/** A named check with this file's time limit. */
const check = (name, body) => runCheck(name, CHECK, body);

// ---- page helpers ----------------------------------------------------------

const state = (page) => page.getAttribute("#status", "data-state");

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

function countMessages(page, kind, text) {
  return page.evaluate(
    ([kind, text]) =>
      [...document.querySelectorAll(`#messages li.${kind}`)].filter(
        (li) => (kind === "system" ? li.textContent : li.querySelector(".text")?.textContent) === text,
      ).length,
    [kind, text],
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
  // Chromium throttles animation frames in background tabs, which makes
  // every click there wait: act on the tab in front, as a person would.
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

/** Records every value the status element takes from now on. */
function recordStates(page) {
  return page.evaluate(() => {
    const status = document.querySelector("#status");
    window.__states = [status.dataset.state];
    new MutationObserver(() => {
      const now = status.dataset.state;
      if (window.__states.at(-1) !== now) window.__states.push(now);
    }).observe(status, {
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });
}

// ---- the run ---------------------------------------------------------------

const userDataDir = mkdtempSync(path.join(tmpdir(), "chat-chromium-"));
let context;
const pageErrors = [];

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 760, height: 560 },
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
  context.setDefaultTimeout(WAIT);
  const [alice, bob] = [await context.newPage(), await context.newPage()];
  for (const [who, page] of [["alice", alice], ["bob", bob]]) {
    page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  }

  await check("plain HTTP on the same port: page, 404, refused non-upgrade", async () => {
    const page = await fetch(BASE);
    assert(page.status === 200, `GET / gave ${page.status}`);
    assert(/text\/html/.test(page.headers.get("content-type")), "GET / is not HTML");
    assert((await page.text()).includes('id="status"'), "GET / is not the chat page");
    const missing = await fetch(new URL("/nope", BASE));
    assert(missing.status === 404, `GET /nope gave ${missing.status}`);
    const plainWs = await fetch(new URL("/ws", BASE));
    assert(plainWs.status >= 400 && plainWs.status < 500, `plain GET /ws gave ${plainWs.status}`);
  });

  await check("both pages load and show the connection open", async () => {
    await Promise.all([alice.goto(BASE), bob.goto(BASE)]);
    await Promise.all([waitState(alice, "open"), waitState(bob, "open")]);
    assert((await alice.textContent("#status")) === "open", "status text");
  });

  await check("chromium negotiated permessage-deflate with the server", async () => {
    const extensions = await alice.evaluate(() => window.__extensions);
    assert(/permessage-deflate/.test(extensions), `extensions: ${extensions}`);
  });

  await check("alice and bob join the same room and see each other", async () => {
    await join(alice, "alice", "lobby");
    await join(bob, "bob", "lobby");
    await Promise.all([waitMembers(alice, ["alice", "bob"]), waitMembers(bob, ["alice", "bob"])]);
    await waitMessage(alice, "system", "bob joined");
  });

  await check("room messages reach both pages", async () => {
    await say(alice, "hello from alice");
    await Promise.all([
      waitMessage(alice, "message", "hello from alice"),
      waitMessage(bob, "message", "hello from alice"),
    ]);
    await say(bob, "hi alice, bob here");
    await Promise.all([
      waitMessage(alice, "message", "hi alice, bob here"),
      waitMessage(bob, "message", "hi alice, bob here"),
    ]);
  });

  await check("a direct message reaches its target and the sender", async () => {
    await say(bob, "/msg alice just for you");
    await Promise.all([waitMessage(alice, "dm", "just for you"), waitMessage(bob, "dm", "just for you")]);
    assert((await countMessages(alice, "message", "just for you")) === 0, "the DM went to the room");
  });

  await check("the server cuts alice: her page shows reconnecting, then open again", async () => {
    await alice.bringToFront();
    await recordStates(alice);
    const cut = await fetch(new URL("/admin/cut?name=alice", BASE));
    assert(cut.status === 200, `the admin route gave ${cut.status}`);
    // The close was unclean: no close frame, so code 1006.
    await alice.waitForFunction(
      () => [...document.querySelectorAll("#messages li.system")].some((li) => /connection lost \(1006\)/.test(li.textContent)),
      null,
      { timeout: WAIT, polling: POLL },
    );
    await alice.waitForFunction(() => window.__states.includes("reconnecting"), null, { timeout: WAIT, polling: POLL });
    if ((await state(alice)) === "reconnecting") {
      // For a person to look at, when the moment is still there.
      await alice.screenshot({ path: path.join(SHOTS, "chat-alice-reconnecting.png") }).catch(() => {});
    }
    await waitState(alice, "open");
    const states = await alice.evaluate(() => window.__states);
    const lost = states.indexOf("reconnecting");
    assert(lost > 0 && states.lastIndexOf("open") > lost, `states seen: ${states.join(" → ")}`);
    console.log(`  # alice's states: ${states.join(" → ")}`);
    // Bob saw alice go, and stayed connected himself.
    await waitMessage(bob, "system", "alice dropped");
    assert((await state(bob)) === "open", "bob's connection was affected");
  });

  await check("alice's page rejoins the room by itself", async () => {
    await Promise.all([waitMembers(alice, ["alice", "bob"]), waitMembers(bob, ["alice", "bob"])]);
    await alice.waitForFunction(() => document.querySelector("#room-name").textContent === "lobby", null, {
      polling: POLL,
    });
    assert((await countMessages(bob, "system", "alice joined")) === 1, "bob did not see alice come back once");
  });

  await check("messages flow both ways after the reconnect", async () => {
    await say(alice, "back again");
    await Promise.all([waitMessage(alice, "message", "back again"), waitMessage(bob, "message", "back again")]);
    await say(bob, "welcome back");
    await Promise.all([waitMessage(alice, "message", "welcome back"), waitMessage(bob, "message", "welcome back")]);
  });

  await check("no JavaScript errors on either page", async () => {
    assert(pageErrors.length === 0, pageErrors.join("; "));
  });

  // For a person to look at; not an assertion.
  try {
    await alice.screenshot({ path: path.join(SHOTS, "chat-alice.png") });
    await bob.screenshot({ path: path.join(SHOTS, "chat-bob.png") });
    console.log(`# screenshots: ${path.join(SHOTS, "chat-alice.png")}, ${path.join(SHOTS, "chat-bob.png")}`);
  } catch (error) {
    console.log(`# no screenshot: ${error.message}`);
  }
} catch (error) {
  results.failed++;
  console.log("not ok - the browser run");
  console.log(String(error && error.stack ? error.stack : error).replace(/^/gm, "  # "));
} finally {
  if (context) await withTimeout(context.close(), 15_000, "closing Chromium").catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed === 0 && results.passed > 0 ? 0 : 1);
