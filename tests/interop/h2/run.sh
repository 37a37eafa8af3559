#!/usr/bin/env bash
# A real RFC 8441 peer: haproxy's cleartext HTTP/2 front turning extended
# CONNECT into an HTTP/1.1 WebSocket upgrade to Python's `websockets`.
#
#   bash tests/interop/h2/run.sh CMD [ARGS...]
#   bash tests/interop/h2/run.sh node tests/interop/h2/node_h2_client.mjs
#
# 1. installs haproxy with apt-get when it is missing (`apt-get update`
#    first only when apt knows no haproxy package);
# 2. reuses tests/interop/.venv with the pinned websockets from
#    tests/interop/requirements.txt, made the way tests/interop/run.sh makes
#    it (pip runs only when the pinned version is not already there);
# 3. starts echo_backend.py on 127.0.0.1 (port 0: it prints where it
#    listens), then haproxy (haproxy.cfg.in with a free port for the front
#    and the backend's port), and waits, bounded, until both listen;
# 4. runs CMD with H2_URL=http://127.0.0.1:PORT/ (the haproxy h2c front),
#    H2_BACKEND_LOG (the backend's output: one `request:` and one
#    `response:` JSON line per handshake) and H2_HAPROXY_LOG exported;
# 5. stops both (EXIT trap) and exits with CMD's status. On a failure, or
#    with H2_VERBOSE=1, it prints both servers' logs first.
#
# Everything listens on and connects to 127.0.0.1 only. Timeouts (seconds):
# H2_APT_TIMEOUT (600), H2_PIP_TIMEOUT (600), H2_TEST_TIMEOUT (300, CMD).
# With CI set a dependency that cannot be had is a failure; without it the
# run is a loud skip (exit 0), like tests/interop/run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTEROP="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LOG_NAME=h2-interop
# shellcheck source=../../lib.sh
source "$ROOT/tests/lib.sh"

if (($# == 0)); then
    echo "usage: bash tests/interop/h2/run.sh CMD [ARGS...]   (CMD gets H2_URL)" >&2
    exit 2
fi

VENV="$INTEROP/.venv"
PYTHON="${PYTHON:-python3}"
APT_TIMEOUT="${H2_APT_TIMEOUT:-600}"
PIP_TIMEOUT="${H2_PIP_TIMEOUT:-600}"
TEST_TIMEOUT="${H2_TEST_TIMEOUT:-300}"
START_TIMEOUT=20 # seconds for each server to listen

T0=$EPOCHREALTIME

command -v timeout >/dev/null 2>&1 || missing "timeout (coreutils)"

# --- haproxy -------------------------------------------------------------------

find_haproxy() {
    HAPROXY="$(command -v haproxy 2>/dev/null || true)"
    [[ -n "$HAPROXY" ]] || { [[ -x /usr/sbin/haproxy ]] && HAPROXY=/usr/sbin/haproxy; }
    [[ -n "$HAPROXY" ]]
}

if ! find_haproxy; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        missing "haproxy (apt-get install haproxy; needs root)"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Lock::Timeout: wait for another apt-get instead of failing at once.
    APT=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    if ! apt-cache policy haproxy 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        step "apt-get update (apt knows no haproxy package yet)"
        bounded "$APT_TIMEOUT" "${APT[@]}" update -q >&2 || missing "haproxy: apt-get update failed"
    fi
    step "installing haproxy (apt-get install)"
    bounded "$APT_TIMEOUT" "${APT[@]}" install -y -q --no-install-recommends haproxy >&2 ||
        missing "haproxy: apt-get install haproxy failed"
    find_haproxy || missing "haproxy: installed, but no haproxy binary found"
fi
HAPROXY_VERSION="$("$HAPROXY" -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p' | head -n 1)"
step "haproxy $HAPROXY_VERSION ($HAPROXY)"

# --- python websockets ----------------------------------------------------------

# Same venv and the same fallbacks as setup_python in tests/interop/run.sh.
command -v "$PYTHON" >/dev/null 2>&1 || missing "$PYTHON"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    missing "Python >= 3.11 for the pinned websockets (found $("$PYTHON" -V 2>&1))"
VPY="$VENV/bin/python"
if [[ -e "$VENV" ]] && ! "$VPY" -c 'import sys' >/dev/null 2>&1; then
    step "recreating broken venv $VENV"
    rm -rf "$VENV"
fi
if [[ ! -e "$VPY" ]]; then
    step "creating venv $VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        "$PYTHON" -m venv --without-pip "$VENV" ||
            missing "python venv support (apt-get install python3-venv)"
    fi
fi
PIN="$(sed -n 's/^websockets==\([^ #]*\).*/\1/p' "$INTEROP/requirements.txt")"
[[ -n "$PIN" ]] || die "no websockets==VERSION pin in $INTEROP/requirements.txt"
if "$VPY" -c 'import sys, websockets; sys.exit(websockets.__version__ != sys.argv[1])' "$PIN" 2>/dev/null; then
    step "websockets $PIN already in $VENV"
else
    if "$VPY" -m pip --version >/dev/null 2>&1; then
        PIP=("$VPY" -m pip)
    elif "$PYTHON" -m pip --version >/dev/null 2>&1; then
        PIP=("$PYTHON" -m pip --python "$VPY")
    else
        missing "pip (apt-get install python3-pip python3-venv)"
    fi
    step "installing $(grep -v '^#' "$INTEROP/requirements.txt" | xargs) into $VENV (pip)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        bounded "$PIP_TIMEOUT" "${PIP[@]}" install -q -r "$INTEROP/requirements.txt" ||
        missing "could not install $INTEROP/requirements.txt with pip"
fi
"$VPY" -c 'import websockets.asyncio.server' || missing "websockets is not importable from $VENV"

# --- the servers -----------------------------------------------------------------

WORK="$(mktemp -d)"
BACKEND_LOG="$WORK/backend.log"
HAPROXY_LOG="$WORK/haproxy.log"
HAPROXY_CFG="$WORK/haproxy.cfg"
STATUS=1

show_logs() {
    log "backend output:"
    sed 's/^/  backend| /' "$BACKEND_LOG" >&2 2>/dev/null || true
    log "haproxy output:"
    sed 's/^/  haproxy| /' "$HAPROXY_LOG" >&2 2>/dev/null || true
}

cleanup() {
    local status=$?
    if ((status != 0)) || [[ "${H2_VERBOSE:-0}" != 0 ]]; then
        show_logs
    fi
    stop_servers
    rm -rf "$WORK"
    step "stopped haproxy and the backend; exit status $status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "starting the websockets backend"
start_server "$BACKEND_LOG" - 's|^h2 backend (.*) listening on \(ws://127\.0\.0\.1:[0-9]*/\)$|\1|p' \
    "$START_TIMEOUT" "$VPY" -u "$HERE/echo_backend.py" 127.0.0.1 0 ||
    die "the websockets backend did not start"
BACKEND_PID=$SERVER_PID
BACKEND_PORT="${SERVER_URL#ws://127.0.0.1:}"
BACKEND_PORT="${BACKEND_PORT%/}"
step "backend: $(head -n 1 "$BACKEND_LOG") (pid $BACKEND_PID)"

# A free port for the front: bound and released by Python, then haproxy binds
# it. Another process may take it in between; haproxy then fails to bind and
# exits, and another port is tried.
free_port() {
    "$VPY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# haproxy.cfg.in with the h2c front on PORT and the echo backend behind it.
render_haproxy_cfg() {
    sed -e "s/@FRONT_PORT@/$1/g" -e "s/@BACKEND_PORT@/$BACKEND_PORT/g" "$HERE/haproxy.cfg.in"
}
start_haproxy render_haproxy_cfg "$HAPROXY_CFG" "$HAPROXY_LOG" ||
    die "$HAPROXY_ERROR (the h2c front needs haproxy >= 2.5 for the server keyword 'ws')"
step "haproxy $HAPROXY_VERSION listening on 127.0.0.1:$FRONT_PORT (pid $HAPROXY_PID)"

# --- the command ---------------------------------------------------------------

export H2_URL="http://127.0.0.1:$FRONT_PORT/"
export H2_BACKEND_LOG="$BACKEND_LOG" H2_HAPROXY_LOG="$HAPROXY_LOG"
step "running: H2_URL=$H2_URL $*"
T_CMD=$EPOCHREALTIME
set +e
bounded "$TEST_TIMEOUT" "$@"
STATUS=$?
set -e
if ((STATUS == 124)); then
    log "the command timed out after ${TEST_TIMEOUT}s"
fi
step "the command exited with status $STATUS after $(since "$T_CMD") s"
kill -0 "$HAPROXY_PID" 2>/dev/null || log "WARNING: haproxy died during the run"
kill -0 "$BACKEND_PID" 2>/dev/null || log "WARNING: the backend died during the run"
exit "$STATUS"
