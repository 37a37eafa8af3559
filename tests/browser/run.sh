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
LOG_NAME=browser
# shellcheck source=../lib.sh
source "$ROOT/tests/lib.sh"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-/tmp}"

APT_TIMEOUT="${BROWSER_APT_TIMEOUT:-1200}"
NPM_TIMEOUT="${BROWSER_NPM_TIMEOUT:-300}"
BUILD_TIMEOUT="${BROWSER_BUILD_TIMEOUT:-1800}"
TEST_TIMEOUT="${BROWSER_TEST_TIMEOUT:-300}"
START_TIMEOUT=30 # seconds for the server to print its URL

# --- dependencies ------------------------------------------------------------

require_timeout_and_cargo

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

require_node

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
SERVER_BIN="$(cargo_executable chat <<<"$BUILD_JSON")"
[[ -x "$SERVER_BIN" ]] || die "cannot find the built chat binary"

# --- run the server ----------------------------------------------------------

WORK="$(mktemp -d)"
SERVER_OUT="$WORK/server.out"
SERVER_LOG="$WORK/server.log"
cleanup() {
    stop_servers
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Port 0: the server picks a free port and prints its URL, so no other
# process can take the port between choosing and binding it.
start_server "$SERVER_OUT" "$SERVER_LOG" \
    's|^chat: open \(http://127\.0\.0\.1:[0-9]*/\) in a browser$|\1|p' "$START_TIMEOUT" \
    "$SERVER_BIN" 127.0.0.1:0 --admin ||
    die "the chat server did not start within ${START_TIMEOUT}s"
URL="$SERVER_URL"
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
    stop_server "$SERVER_PID" 10 ||
        problem="${problem:+$problem; }the chat server did not exit within 10 s of SIGTERM"
else
    problem="${problem:+$problem; }the chat server died during the run"
    stop_server "$SERVER_PID"
fi

if [[ -n "$problem" ]]; then
    log "chat server log:"
    sed 's/^/  server| /' "$SERVER_LOG" >&2
    log "FAILED: $problem"
    # Repeat the counts last so they are the closing line.
    [[ -n "$summary" ]] && echo "$summary"
    exit 1
fi
