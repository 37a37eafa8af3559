#!/usr/bin/env bash
# Interop test: Python's `websockets` client against examples/echo_server.rs.
#
#   bash tests/interop/run.sh
#
# Creates tests/interop/.venv, installs the pinned requirements.txt, builds the
# echo server in release, runs it on a free 127.0.0.1 port, runs
# python_client.py against it and ends with an `N passed, M failed` line.
# With CI set, a missing dependency fails the run; without it, it skips loudly.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

PIP_TIMEOUT="${INTEROP_PIP_TIMEOUT:-600}"
BUILD_TIMEOUT="${INTEROP_BUILD_TIMEOUT:-1800}"
TEST_TIMEOUT="${INTEROP_TEST_TIMEOUT:-600}"
START_TIMEOUT=20 # seconds for the server to accept connections

log() { printf 'interop: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# A time-bounded command that still gets Ctrl-C (plain `timeout` puts it in its
# own process group, out of reach of the terminal's SIGINT).
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
command -v "$PYTHON" >/dev/null 2>&1 || missing "$PYTHON"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    missing "Python >= 3.11 for the pinned websockets (found $("$PYTHON" -V 2>&1))"

# --- venv with the pinned websockets -----------------------------------------

VPY="$VENV/bin/python"
if [[ -e "$VENV" ]] && ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
    log "recreating broken venv $VENV"
    rm -rf "$VENV"
fi
if [[ ! -e "$VPY" ]]; then
    log "creating venv $VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian without python3-venv has no ensurepip: make a bare venv and
        # let the system pip install into it.
        rm -rf "$VENV"
        "$PYTHON" -m venv --without-pip "$VENV" ||
            missing "python venv support (apt-get install python3-venv)"
    fi
fi
if "$VPY" -m pip --version >/dev/null 2>&1; then
    PIP=("$VPY" -m pip)
elif "$PYTHON" -m pip --version >/dev/null 2>&1; then
    PIP=("$PYTHON" -m pip --python "$VPY")
else
    missing "pip (apt-get install python3-pip python3-venv)"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log "installing $(grep -v '^#' "$HERE/requirements.txt" | xargs)"
bounded "$PIP_TIMEOUT" "${PIP[@]}" install -q -r "$HERE/requirements.txt" ||
    missing "could not install $HERE/requirements.txt with pip"
"$VPY" -c 'import websockets.asyncio.client' ||
    missing "websockets is not importable from $VENV"

# --- build the echo server ---------------------------------------------------

log "building the echo server (cargo build --release --features deflate --example echo_server)"
BUILD_JSON="$(cd "$ROOT" && bounded "$BUILD_TIMEOUT" cargo build --release --features deflate \
    --example echo_server --message-format=json-render-diagnostics)" ||
    die "cargo build --release --example echo_server"
SERVER_BIN="$(printf '%s\n' "$BUILD_JSON" | "$VPY" -c '
import json, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "echo_server" and msg.get("executable"):
        print(msg["executable"])
')"
[[ -x "$SERVER_BIN" ]] || die "cannot find the built echo_server binary"

# --- run the server ----------------------------------------------------------

WORK="$(mktemp -d)"
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

free_port() {
    "$VPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Returns 0 once the server accepts on $PORT, 1 if it died (e.g. the port was
# taken between free_port and bind), exits on a timeout.
wait_for_server() {
    local deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "echo server did not accept on 127.0.0.1:$PORT within ${START_TIMEOUT}s"
}

PORT=""
for attempt in 1 2 3; do
    PORT="$(free_port)"
    "$SERVER_BIN" "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    if wait_for_server; then
        break
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    log "echo server exited at start (attempt $attempt):"
    cat "$SERVER_LOG" >&2
    PORT=""
done
[[ -n "$PORT" ]] || die "could not start the echo server"
log "echo server pid $SERVER_PID on 127.0.0.1:$PORT"

# --- run the checks ----------------------------------------------------------

set +e
export SERVER_LOG
bounded "$TEST_TIMEOUT" "$VPY" -u "$HERE/python_client.py" \
    "ws://127.0.0.1:$PORT/" | tee "$WORK/client.out"
status=${PIPESTATUS[0]}
set -e

summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/client.out" | tail -n 1 || true)"
problem=""
if ((status == 124)); then
    problem="python_client.py timed out after ${TEST_TIMEOUT}s"
elif ((status != 0)); then
    problem="python_client.py exited with status $status"
elif [[ -z "$summary" ]]; then
    problem="python_client.py printed no summary"
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    problem="${problem:+$problem; }the echo server died during the run"
fi

if [[ -n "$problem" ]]; then
    log "echo server log:"
    sed 's/^/  server| /' "$SERVER_LOG" >&2
    log "FAILED: $problem"
    # Repeat the counts last so they are the closing line.
    [[ -n "$summary" ]] && echo "$summary"
    exit 1
fi
