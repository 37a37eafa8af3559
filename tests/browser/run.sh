#!/usr/bin/env bash
# Browser test: the chat example (examples/chat) in headless Chromium.
#
#   bash tests/browser/run.sh
#
# Installs what it needs on a fresh Debian machine (Debian's chromium with
# apt-get when /usr/bin/chromium is missing; the pinned playwright-core from
# package-lock.json into tests/browser/node_modules), builds the chat
# example, starts it with the test-only admin route on a free 127.0.0.1
# port, runs chat.test.mjs with node, stops the server, and ends with an
# `N passed, M failed` line. With CI set, a missing dependency fails the
# run; without it, it skips loudly.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-/tmp}"

APT_TIMEOUT="${BROWSER_APT_TIMEOUT:-1200}"
NPM_TIMEOUT="${BROWSER_NPM_TIMEOUT:-300}"
BUILD_TIMEOUT="${BROWSER_BUILD_TIMEOUT:-1800}"
TEST_TIMEOUT="${BROWSER_TEST_TIMEOUT:-300}"
START_TIMEOUT=30 # seconds for the server to print its URL

log() { printf 'browser: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# A time-bounded command that still gets Ctrl-C.
bounded() { local limit=$1; shift; timeout --foreground -k 10 "$limit" "$@"; }

in_ci() { [[ -n "${CI:-}" && "${CI}" != "false" && "${CI}" != "0" ]]; }

# A missing dependency: fatal under CI, a loud skip otherwise.
missing() {
    if in_ci; then
        die "missing dependency (CI is set, so this is a failure): $*"
    fi
    log "SKIPPED: missing dependency: $*"
    log "SKIPPED: set CI=1 to make this a failure"
    exit 0
}

# --- dependencies ------------------------------------------------------------

command -v timeout >/dev/null 2>&1 || missing "timeout (coreutils)"
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || missing "cargo (Rust toolchain)"

if [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$CHROMIUM" == /usr/bin/chromium ]] && command -v apt-get >/dev/null 2>&1 &&
        [[ "$(id -u)" == 0 ]]; then
        log "installing Debian's chromium (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        bounded "$APT_TIMEOUT" apt-get update -q >/dev/null ||
            missing "apt-get update failed, so chromium cannot be installed"
        bounded "$APT_TIMEOUT" apt-get install -y -q --no-install-recommends chromium >/dev/null ||
            missing "apt-get install chromium failed"
    fi
    [[ -x "$CHROMIUM" ]] || missing "chromium at $CHROMIUM (apt-get install chromium)"
fi
log "$("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"

command -v node >/dev/null 2>&1 || missing "node (Node.js >= 20)"
command -v npm >/dev/null 2>&1 || missing "npm"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    missing "Node.js >= 20 for playwright-core (found $(node --version))"

# --- the pinned playwright-core ----------------------------------------------

log "installing playwright-core from package-lock.json (npm ci)"
(cd "$HERE" && bounded "$NPM_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) ||
    missing "npm ci in $HERE failed"
(cd "$HERE" && node -e 'import("playwright-core").then(() => process.exit(0), () => process.exit(1))') ||
    missing "playwright-core is not importable from $HERE/node_modules"

# --- build the chat example --------------------------------------------------

log "building the chat example (cargo build --features tokio,deflate --example chat)"
BUILD_JSON="$(cd "$ROOT" && bounded "$BUILD_TIMEOUT" cargo build --features tokio,deflate \
    --example chat --message-format=json-render-diagnostics)" ||
    die "cargo build --features tokio,deflate --example chat"
SERVER_BIN="$(printf '%s\n' "$BUILD_JSON" | node -e '
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", () => {
    for (const line of input.split("\n")) {
        let msg;
        try { msg = JSON.parse(line); } catch { continue; }
        if (msg.reason === "compiler-artifact" && msg.target?.name === "chat" && msg.executable) {
            console.log(msg.executable);
        }
    }
});')"
[[ -x "$SERVER_BIN" ]] || die "cannot find the built chat binary"

# --- run the server ----------------------------------------------------------

WORK="$(mktemp -d)"
SERVER_OUT="$WORK/server.out"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Port 0: the server picks a free port and prints its URL, so no other
# process can take the port between choosing and binding it.
"$SERVER_BIN" 127.0.0.1:0 --admin >"$SERVER_OUT" 2>"$SERVER_LOG" &
SERVER_PID=$!
URL=""
deadline=$((SECONDS + START_TIMEOUT))
while ((SECONDS < deadline)); do
    URL="$(sed -n 's|^chat: open \(http://127\.0\.0\.1:[0-9]*/\) in a browser$|\1|p' "$SERVER_OUT")"
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$URL" ]]; then
    cat "$SERVER_OUT" "$SERVER_LOG" >&2 || true
    die "the chat server did not start within ${START_TIMEOUT}s"
fi
log "chat server pid $SERVER_PID at $URL"

# --- run the checks ----------------------------------------------------------

set +e
CHAT_URL="$URL" CHROMIUM="$CHROMIUM" SCREENSHOT_DIR="$SCREENSHOT_DIR" \
    bounded "$TEST_TIMEOUT" node "$HERE/chat.test.mjs" | tee "$WORK/test.out"
status=${PIPESTATUS[0]}
set -e

summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/test.out" | tail -n 1 || true)"
problem=""
if ((status == 124)); then
    problem="chat.test.mjs timed out after ${TEST_TIMEOUT}s"
elif ((status != 0)); then
    problem="chat.test.mjs exited with status $status"
elif [[ -z "$summary" ]]; then
    problem="chat.test.mjs printed no summary"
fi

# Stop the server: SIGTERM makes it close every connection with 1001 and
# exit; it must do so promptly.
if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        problem="${problem:+$problem; }the chat server did not exit within 10 s of SIGTERM"
    fi
else
    problem="${problem:+$problem; }the chat server died during the run"
fi
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

if [[ -n "$problem" ]]; then
    log "chat server log:"
    sed 's/^/  server| /' "$SERVER_LOG" >&2
    log "FAILED: $problem"
    # Repeat the counts last so they are the closing line.
    [[ -n "$summary" ]] && echo "$summary"
    exit 1
fi
