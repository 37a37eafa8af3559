# Shell helpers shared by tests/interop/run.sh and tests/browser/run.sh.
#
#   LOG_NAME=interop
#   source "$ROOT/tests/lib.sh"
#
# Sourced, not run: it only defines functions (and fixes PATH for cargo).
# shellcheck shell=bash

log() { printf '%s: %s\n' "${LOG_NAME:-test}" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# A time-bounded command that still gets Ctrl-C (plain `timeout` puts it in its
# own process group, out of reach of the terminal's SIGINT).
bounded() { local limit=$1; shift; timeout --foreground -k 10 "$limit" "$@"; }

in_ci() { [[ -n "${CI:-}" && "${CI}" != "false" && "${CI}" != "0" ]]; }

# A missing dependency: fatal under CI, a loud skip (exit 0) otherwise.
missing() {
    if in_ci; then
        die "missing dependency (CI is set, so this is a failure): $*"
    fi
    log "SKIPPED: missing dependency: $*"
    log "SKIPPED: set CI=1 to make this a failure"
    exit 0
}

# `timeout` and cargo (also from ~/.cargo/bin when PATH lacks it), or missing.
require_timeout_and_cargo() {
    command -v timeout >/dev/null 2>&1 || missing "timeout (coreutils)"
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || missing "cargo (Rust toolchain)"
}

# Node.js >= 20 and npm, or missing.
require_node() {
    command -v node >/dev/null 2>&1 || missing "node (Node.js >= 20)"
    command -v npm >/dev/null 2>&1 || missing "npm"
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        missing "Node.js >= 20 (found $(node --version))"
}

# cargo_executable NAME: the path of the binary target NAME, read from the
# `cargo build --message-format=json...` output on stdin.
cargo_executable() {
    grep -F '"reason":"compiler-artifact"' |
        grep -F "\"name\":\"$1\"" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' |
        tail -n 1
}

# Every process start_server started, for stop_servers.
STARTED_PIDS=()

# start_server OUT ERR SED SECONDS CMD...: runs CMD in the background, stdout
# to OUT and stderr to ERR (ERR "-": into OUT too), and waits at most SECONDS
# for the `sed -n` script SED to print the server's URL from OUT. Servers
# bind port 0 and print where they listen, so no free port has to be guessed
# and no other process can take it between choosing and binding. Sets
# SERVER_PID and SERVER_URL. Returns 1, after showing the server's output,
# when the server exits or prints no URL in time.
start_server() {
    local out=$1 err=$2 script=$3 limit=$4
    local deadline=$((SECONDS + limit))
    shift 4
    : >"$out" # exists before the first look
    if [[ "$err" == - ]]; then
        "$@" >"$out" 2>&1 &
    else
        "$@" >"$out" 2>"$err" &
    fi
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    SERVER_URL=""
    while ((SECONDS < deadline)); do
        SERVER_URL="$(sed -n "$script" "$out" | head -n 1)"
        [[ -n "$SERVER_URL" ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "$1 did not start (no URL within $limit s); its output:"
    cat "$out" >&2
    [[ "$err" == - ]] || cat "$err" >&2
    stop_server "$SERVER_PID"
    return 1
}

# stop_server PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5);
# reaps it. Returns 1 if it needed SIGKILL.
stop_server() {
    local pid=$1 limit=$((${2:-5} * 10)) status=0
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 "$limit"); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            status=1
        fi
    fi
    wait "$pid" 2>/dev/null || true
    # Forget it: its PID may be reused by an unrelated process.
    local kept=() other
    for other in "${STARTED_PIDS[@]}"; do
        [[ "$other" == "$pid" ]] || kept+=("$other")
    done
    STARTED_PIDS=("${kept[@]}")
    return "$status"
}

# stop_servers: stops whatever start_server started that still runs (for an
# EXIT trap).
stop_servers() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        stop_server "$pid" 2 || true
    done
}

# Seconds since an $EPOCHREALTIME, two decimals; `step` logs with the time
# since the script's $T0.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
step() { log "[$(since "$T0") s] $*"; }

# listening PORT: some socket listens on 127.0.0.1:PORT (Linux /proc/net/tcp:
# local address 0100007F:HEXPORT, state 0A = LISTEN). No connection is made.
listening() {
    local hex
    hex="$(printf '%04X' "$1")"
    awk -v want="0100007F:$hex" '$2 == want && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# start_haproxy RENDER CFG LOG: haproxy in the foreground on a free
# 127.0.0.1 port (from the caller's `free_port`), output to LOG, up to three
# ports: another process may take a free port before haproxy binds it.
# `RENDER PORT` prints the config whose front listens on PORT; it is written
# to CFG and checked with `haproxy -c` first. Needs $HAPROXY and
# $START_TIMEOUT (seconds to listen). Sets FRONT_PORT and HAPROXY_PID; on
# failure sets HAPROXY_ERROR and returns 1, for the caller to fail its way.
# shellcheck disable=SC2034 # FRONT_PORT, HAPROXY_ERROR: read by the caller
start_haproxy() {
    local render=$1 cfg=$2 haproxy_log=$3 attempt deadline up
    HAPROXY_PID=""
    HAPROXY_ERROR=""
    for attempt in 1 2 3; do
        FRONT_PORT="$(free_port)"
        "$render" "$FRONT_PORT" >"$cfg"
        if ((attempt == 1)) && ! "$HAPROXY" -c -q -f "$cfg" >&2; then
            HAPROXY_ERROR="haproxy rejects its config ($cfg)"
            return 1
        fi
        step "starting haproxy on 127.0.0.1:$FRONT_PORT (attempt $attempt)"
        : >"$haproxy_log"
        # -db: foreground, no daemon; SIGTERM stops it at once.
        "$HAPROXY" -db -f "$cfg" >"$haproxy_log" 2>&1 &
        HAPROXY_PID=$!
        STARTED_PIDS+=("$HAPROXY_PID")
        deadline=$((SECONDS + START_TIMEOUT))
        up=0
        while ((SECONDS < deadline)); do
            kill -0 "$HAPROXY_PID" 2>/dev/null || break
            if listening "$FRONT_PORT"; then
                # Still alive a moment later: the listener is haproxy's, not
                # a squatter's that made haproxy fail to bind.
                sleep 0.1
                kill -0 "$HAPROXY_PID" 2>/dev/null && up=1
                break
            fi
            sleep 0.05
        done
        ((up)) && return 0
        if ! kill -0 "$HAPROXY_PID" 2>/dev/null &&
            grep -qi 'cannot bind\|address already in use' "$haproxy_log"; then
            log "port $FRONT_PORT was taken before haproxy bound it; trying another"
            stop_server "$HAPROXY_PID" 1 || true
            HAPROXY_PID=""
            continue
        fi
        HAPROXY_ERROR="haproxy did not listen on 127.0.0.1:$FRONT_PORT within ${START_TIMEOUT}s"
        return 1
    done
    HAPROXY_ERROR="haproxy could not bind a free port in 3 attempts"
    return 1
}
