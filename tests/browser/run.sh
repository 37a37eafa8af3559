#!/usr/bin/env bash
# Browser tests: the chat example (examples/chat) in headless Chromium.
#
#   bash tests/browser/run.sh
#
# Installs what it needs on a fresh Debian machine (Debian's chromium with
# apt-get when /usr/bin/chromium is missing; the pinned playwright-core from
# package-lock.json into tests/browser/node_modules), builds the chat
# example, and runs both tests with node:
#
# - chat.test.mjs, plain HTTP: this script starts the server with the
#   test-only admin route on a free 127.0.0.1 port, and stops it after
#   (it must exit promptly on SIGTERM);
# - chat_h2.test.mjs, HTTPS with the WebSockets on HTTP/2 (RFC 8441): it
#   makes its own certificate with openssl and starts its own server.
#
# Ends with a line `N passed, M failed` over both. With CI set, a missing
# dependency fails the run; without it, it skips loudly. README.md says
# what the tests found about Chromium and HTTP/2.
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
H2_TEST_TIMEOUT="${BROWSER_H2_TEST_TIMEOUT:-300}"
START_TIMEOUT=30 # seconds for the server to print its URL

# --- dependencies ------------------------------------------------------------

require_timeout_and_cargo
# Debian's chromium, and openssl for the HTTPS test's certificate.
PACKAGES=()
[[ -x "$CHROMIUM" || "$CHROMIUM" != /usr/bin/chromium ]] || PACKAGES+=(chromium)
command -v openssl >/dev/null 2>&1 || PACKAGES+=(openssl)
if ((${#PACKAGES[@]})) && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    log "installing ${PACKAGES[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    bounded "$APT_TIMEOUT" apt-get update -q >/dev/null ||
        missing "apt-get update failed, so ${PACKAGES[*]} cannot be installed"
    bounded "$APT_TIMEOUT" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null ||
        missing "apt-get install ${PACKAGES[*]} failed"
fi
[[ -x "$CHROMIUM" ]] || missing "chromium at $CHROMIUM (apt-get install chromium)"
command -v openssl >/dev/null 2>&1 || missing "openssl (for the HTTPS test's certificate)"
log "$("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"

require_node

# --- the pinned playwright-core ----------------------------------------------

log "installing playwright-core from package-lock.json (npm ci)"
(cd "$HERE" && bounded "$NPM_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) ||
    missing "npm ci in $HERE failed"
(cd "$HERE" && node -e 'import("playwright-core").then(() => process.exit(0), () => process.exit(1))') ||
    missing "playwright-core is not importable from $HERE/node_modules"

# --- build the chat example --------------------------------------------------

FEATURES=axum,tls,deflate
log "building the chat example (cargo build --features $FEATURES --example chat)"
BUILD_JSON="$(cd "$ROOT" && bounded "$BUILD_TIMEOUT" cargo build --features "$FEATURES" \
    --example chat --message-format=json-render-diagnostics)" ||
    die "cargo build --features $FEATURES --example chat"
SERVER_BIN="$(cargo_executable chat <<<"$BUILD_JSON")"
[[ -x "$SERVER_BIN" ]] || die "cannot find the built chat binary"

# --- chat.test.mjs: plain HTTP, the server started here ----------------------

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
fi

# --- chat_h2.test.mjs: HTTPS, WebSockets over HTTP/2 -------------------------

log "HTTPS: chat_h2.test.mjs (its own certificate and server)"
set +e
CHAT_BIN="$SERVER_BIN" CHROMIUM="$CHROMIUM" SCREENSHOT_DIR="$SCREENSHOT_DIR" \
    bounded "$H2_TEST_TIMEOUT" node "$HERE/chat_h2.test.mjs" | tee "$WORK/test_h2.out"
status=${PIPESTATUS[0]}
set -e

h2_summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/test_h2.out" | tail -n 1 || true)"
if ((status == 124)); then
    problem="${problem:+$problem; }chat_h2.test.mjs timed out after ${H2_TEST_TIMEOUT}s"
elif ((status != 0)); then
    problem="${problem:+$problem; }chat_h2.test.mjs exited with status $status"
elif [[ -z "$h2_summary" ]]; then
    problem="${problem:+$problem; }chat_h2.test.mjs printed no summary"
fi

# --- both --------------------------------------------------------------------

passed=0
failed=0
for line in "$summary" "$h2_summary"; do
    if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    fi
done
log "chat.test.mjs: ${summary:-no summary}; chat_h2.test.mjs: ${h2_summary:-no summary}"
if [[ -n "$problem" ]]; then
    log "FAILED: $problem"
    # The counts last, so they are the closing line.
    echo "$passed passed, $failed failed"
    exit 1
fi
echo "$passed passed, $failed failed"
