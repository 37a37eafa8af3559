#!/usr/bin/env bash
# Real-peer interop: Python's `websockets` and Node's `ws`, each as client
# against examples/echo_server.rs and as server for examples/interop_client.rs.
#
#   bash tests/interop/run.sh
#
# Also: Node's ws over the frame limit must always see 1009 (the lingering
# close), and 1000 open Node clients must all get 1001 when each echo server
# is sent SIGTERM (graceful shutdown), with the server exiting 0 in time.
#
# Installs the pinned peers (tests/interop/.venv from requirements.txt,
# tests/interop/node/node_modules from package-lock.json with npm ci), builds
# both examples once in release, runs the four directions, each server on a
# port of its own choosing on 127.0.0.1, prints a per-direction summary and
# ends with an `N passed, M failed` line (all checks of all directions).
# Exit status is non-zero on any failure. With CI set, a missing peer is a
# failure; without it, that peer's directions are skipped loudly.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG_NAME=interop
# shellcheck source=../lib.sh
source "$ROOT/tests/lib.sh"

VENV="$HERE/.venv"
NODE_DIR="$HERE/node"
PYTHON="${PYTHON:-python3}"

PIP_TIMEOUT="${INTEROP_PIP_TIMEOUT:-600}"
NPM_TIMEOUT="${INTEROP_NPM_TIMEOUT:-300}"
BUILD_TIMEOUT="${INTEROP_BUILD_TIMEOUT:-1800}"
TEST_TIMEOUT="${INTEROP_TEST_TIMEOUT:-300}" # per direction
START_TIMEOUT=20                              # seconds for a server to listen

# A missing peer: fatal under CI (like `missing`); otherwise its directions
# are skipped, loudly, and the others still run.
SKIPPED=()
skip_peer() {
    local peer=$1
    shift
    in_ci && missing "$*"
    log "SKIPPED: the $peer directions: missing dependency: $*"
    SKIPPED+=("$peer: $*")
    return 1
}

# --- dependencies ------------------------------------------------------------

require_timeout_and_cargo

# Python: a venv with the pinned websockets.
setup_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || skip_peer python "$PYTHON" || return 1
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        skip_peer python "Python >= 3.11 for the pinned websockets (found $("$PYTHON" -V 2>&1))" ||
        return 1
    VPY="$VENV/bin/python"
    if [[ -e "$VENV" ]] && ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
        log "recreating broken venv $VENV"
        rm -rf "$VENV"
    fi
    if [[ ! -e "$VPY" ]]; then
        log "creating venv $VENV"
        if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
            # Debian without python3-venv has no ensurepip: make a bare venv
            # and let the system pip install into it.
            rm -rf "$VENV"
            "$PYTHON" -m venv --without-pip "$VENV" ||
                skip_peer python "python venv support (apt-get install python3-venv)" || return 1
        fi
    fi
    local pip
    if "$VPY" -m pip --version >/dev/null 2>&1; then
        pip=("$VPY" -m pip)
    elif "$PYTHON" -m pip --version >/dev/null 2>&1; then
        pip=("$PYTHON" -m pip --python "$VPY")
    else
        skip_peer python "pip (apt-get install python3-pip python3-venv)"
        return 1
    fi
    log "installing $(grep -v '^#' "$HERE/requirements.txt" | xargs) (pip)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        bounded "$PIP_TIMEOUT" "${pip[@]}" install -q -r "$HERE/requirements.txt" ||
        skip_peer python "could not install $HERE/requirements.txt with pip" || return 1
    "$VPY" -c 'import websockets.asyncio.client, websockets.asyncio.server' ||
        skip_peer python "websockets is not importable from $VENV" || return 1
}

# Node: the pinned ws from package-lock.json.
setup_node() {
    command -v node >/dev/null 2>&1 || skip_peer node "node (Node.js >= 20)" || return 1
    command -v npm >/dev/null 2>&1 || skip_peer node "npm" || return 1
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        skip_peer node "Node.js >= 20 (found $(node --version))" || return 1
    log "installing ws from $NODE_DIR/package-lock.json (npm ci)"
    (cd "$NODE_DIR" && bounded "$NPM_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) ||
        skip_peer node "npm ci in $NODE_DIR failed" || return 1
    (cd "$NODE_DIR" && node -e 'import("ws").then(() => process.exit(0), () => process.exit(1))') ||
        skip_peer node "ws is not importable from $NODE_DIR/node_modules" || return 1
}

HAVE_PYTHON=0
HAVE_NODE=0
setup_python && HAVE_PYTHON=1
setup_node && HAVE_NODE=1
if ((HAVE_PYTHON == 0 && HAVE_NODE == 0)); then
    log "SKIPPED: no peer available (${SKIPPED[*]})"
    log "SKIPPED: set CI=1 to make this a failure"
    exit 0
fi

# --- build our two binaries, once --------------------------------------------

# --all-features: the feature set autobahn/run.sh builds in release too, so
# neither build invalidates the other's artifacts.
BUILD=(cargo build --release --all-features --example echo_server --example async_echo_server
    --example autobahn_server --example interop_client)
log "building: ${BUILD[*]}"
BUILD_JSON="$(cd "$ROOT" && bounded "$BUILD_TIMEOUT" "${BUILD[@]}" \
    --message-format=json-render-diagnostics)" || die "${BUILD[*]}"
SERVER_BIN="$(cargo_executable echo_server <<<"$BUILD_JSON")"
CLIENT_BIN="$(cargo_executable interop_client <<<"$BUILD_JSON")"
ASYNC_SERVER_BIN="$(cargo_executable async_echo_server <<<"$BUILD_JSON")"
AXUM_SERVER_BIN="$(cargo_executable autobahn_server <<<"$BUILD_JSON")"
[[ -x "$SERVER_BIN" ]] || die "cannot find the built echo_server binary"
[[ -x "$AXUM_SERVER_BIN" ]] || die "cannot find the built autobahn_server binary"
[[ -x "$ASYNC_SERVER_BIN" ]] || die "cannot find the built async_echo_server binary"
[[ -x "$CLIENT_BIN" ]] || die "cannot find the built interop_client binary"

# --- the directions ----------------------------------------------------------

WORK="$(mktemp -d)"
cleanup() {
    stop_servers
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# `sed -n` scripts that print each server's URL from its first line.
RUST_URL='s|^echo server listening on \(ws://127\.0\.0\.1:[0-9]*\)$|\1/|p'
ASYNC_URL='s|^async echo server listening on \(ws://127\.0\.0\.1:[0-9]*\)$|\1/|p'
AXUM_URL='s|^autobahn_server (axum) on \(127\.0\.0\.1:[0-9]*\)$|ws://\1/|p'
PEER_URL='s|^[a-z]* server (.*) listening on \(ws://127\.0\.0\.1:[0-9]*/\)$|\1|p'

TOTAL_PASSED=0
TOTAL_FAILED=0
RESULTS=()

# direction LABEL SERVER_URL_SED SERVER_CMD... -- CLIENT_CMD...: starts the
# server, runs the client with the server's URL as last argument (and
# SERVER_LOG naming the server's output), stops the server, and records the
# client's counts. No summary, a non-zero exit or a server that died are
# failures.
direction() {
    local label=$1 url_sed=$2
    shift 2
    local server=() client=()
    while (($#)) && [[ "$1" != -- ]]; do
        server+=("$1")
        shift
    done
    shift
    client=("$@")
    local n=$((${#RESULTS[@]} + 1))
    local out="$WORK/$n.client" slog="$WORK/$n.server"
    printf '\n=== %s\n' "$label"
    local started=$EPOCHREALTIME
    local status=0 summary="" problem=""
    if start_server "$slog" - "$url_sed" "$START_TIMEOUT" "${server[@]}"; then
        log "$label: server pid $SERVER_PID at $SERVER_URL"
        set +e
        SERVER_LOG="$slog" bounded "$TEST_TIMEOUT" "${client[@]}" "$SERVER_URL" | tee "$out"
        status=${PIPESTATUS[0]}
        set -e
        summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)"
        if ((status == 124)); then
            problem="the client timed out after ${TEST_TIMEOUT}s"
        elif ((status != 0)); then
            problem="the client exited with status $status"
        elif [[ -z "$summary" ]]; then
            problem="the client printed no summary"
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            problem="${problem:+$problem; }the server died during the run"
        fi
        stop_server "$SERVER_PID" || problem="${problem:+$problem; }the server ignored SIGTERM"
    else
        problem="the server did not start"
    fi
    local seconds
    seconds="$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"

    if [[ -n "$problem" ]]; then
        log "$label: server output:"
        sed 's/^/  server| /' "$slog" >&2
    fi
    record "$label" "$summary" "$problem" "$seconds"
}

# record LABEL SUMMARY PROBLEM SECONDS: adds a run's counts (from its
# `N passed, M failed` SUMMARY) to the totals and its line to the results.
# A PROBLEM the client did not count (crash, timeout) still counts as a
# failure.
record() {
    local label=$1 summary=$2 problem=$3 seconds=$4 passed=0 failed=0
    if [[ -n "$summary" ]]; then
        read -r passed _ failed _ <<<"$summary"
    fi
    if [[ -n "$problem" ]]; then
        log "$label: FAILED: $problem"
        ((failed > 0)) || failed=1
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    local verdict=PASS
    [[ -z "$problem" && $failed == 0 ]] || verdict=FAIL
    RESULTS+=("$(printf '%-4s  %-40s %3d passed, %d failed  %6s s%s' \
        "$verdict" "$label" "$passed" "$failed" "$seconds" "${problem:+  ($problem)}")")
}

if ((HAVE_PYTHON)); then
    direction "python websockets client -> rust server" "$RUST_URL" \
        "$SERVER_BIN" 127.0.0.1:0 -- "$VPY" -u "$HERE/python_client.py"
    direction "rust client -> python websockets server" "$PEER_URL" \
        "$VPY" -u "$HERE/python_server.py" 127.0.0.1 0 -- "$CLIENT_BIN"
fi
if ((HAVE_NODE)); then
    direction "node ws client -> rust server" "$RUST_URL" \
        "$SERVER_BIN" 127.0.0.1:0 -- node "$NODE_DIR/node_client.mjs"
    direction "rust client -> node ws server" "$PEER_URL" \
        node "$NODE_DIR/node_server.mjs" 127.0.0.1 0 -- "$CLIENT_BIN"
    # 20 MB over the 16 MiB frame limit: Node must see 1009 every time,
    # which takes the server's lingering close (RFC 6455 §7.1.1).
    direction "node ws 20 MB x50 -> 1009 (blocking)" "$RUST_URL" \
        "$SERVER_BIN" 127.0.0.1:0 -- node "$NODE_DIR/too_big.mjs" 50
    direction "node ws 20 MB x50 -> 1009 (tokio)" "$ASYNC_URL" \
        "$ASYNC_SERVER_BIN" 127.0.0.1:0 -- node "$NODE_DIR/too_big.mjs" 50
fi

# shutdown_check LABEL URL_SED SERVER_CMD...: opens SHUTDOWN_CONNS Node
# clients, sends the server SIGTERM once they are all open, and requires
# every client to get Close 1001 and the server to exit 0 within 6 s (its
# close timeout is 5 s).
SHUTDOWN_CONNS=1000
# A thousand sockets on each side, plus the servers' own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 4096 2>/dev/null || true
shutdown_check() {
    local label=$1 url_sed=$2
    shift 2
    local n=$((${#RESULTS[@]} + 1))
    local out="$WORK/$n.client" slog="$WORK/$n.server"
    printf '\n=== %s\n' "$label"
    local started=$EPOCHREALTIME problem="" summary=""
    if start_server "$slog" - "$url_sed" "$START_TIMEOUT" "$@"; then
        bounded "$TEST_TIMEOUT" node "$NODE_DIR/shutdown_clients.mjs" "$SHUTDOWN_CONNS" \
            "$SERVER_URL" >"$out" 2>&1 &
        local client=$!
        local waited=0
        until grep -q '^ready' "$out" || ! kill -0 "$client" 2>/dev/null || ((waited > 600)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        local signaled=$EPOCHREALTIME
        kill -TERM "$SERVER_PID"
        local server_status=0 tenths=0
        while kill -0 "$SERVER_PID" 2>/dev/null && ((tenths < 60)); do
            sleep 0.1
            tenths=$((tenths + 1))
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            problem="the server was still running 6 s after SIGTERM"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || server_status=$?
        local exit_seconds
        exit_seconds="$(awk -v a="$signaled" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
        ((server_status == 0)) || problem="${problem:+$problem; }the server exited with $server_status"
        wait "$client" || problem="${problem:+$problem; }the clients failed"
        cat "$out"
        log "$label: server exited $exit_seconds s after SIGTERM: $(tail -n 1 "$slog")"
        summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)"
    else
        problem="the server did not start"
    fi
    local seconds
    seconds="$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
    record "$label" "$summary" "$problem" "$seconds"
}

if ((HAVE_NODE)); then
    shutdown_check "SIGTERM with 1000 open -> 1001 (blocking)" "$RUST_URL" \
        "$SERVER_BIN" 127.0.0.1:0
    shutdown_check "SIGTERM with 1000 open -> 1001 (tokio)" "$ASYNC_URL" \
        "$ASYNC_SERVER_BIN" 127.0.0.1:0
    shutdown_check "SIGTERM with 1000 open -> 1001 (axum)" "$AXUM_URL" \
        "$AXUM_SERVER_BIN" 127.0.0.1:0 --axum
fi

# --- summary -----------------------------------------------------------------

printf '\n=== summary\n'
printf '%s\n' "${RESULTS[@]}"
for skipped in "${SKIPPED[@]}"; do
    printf 'SKIP  %s\n' "$skipped"
done
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
((TOTAL_FAILED == 0))
