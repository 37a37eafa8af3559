#!/usr/bin/env bash
# Cluster test: two chat instances (examples/chat --redis) sharing their
# rooms through Redis pub/sub, behind haproxy, and a failover.
#
#   bash tests/cluster/run.sh
#
# 1. installs redis-server and haproxy with apt-get when missing (root, or
#    password-less sudo), and the pinned Node `ws` (package-lock.json, npm ci
#    into tests/cluster/node_modules);
# 2. builds the chat: cargo build --release --all-features --example chat;
# 3. starts, all on 127.0.0.1: redis-server on a free port (no persistence),
#    chat instances A and B on port 0 (they print their URL), each with
#    --redis redis://127.0.0.1:PORT, and haproxy in TCP mode in front of
#    both (haproxy.cfg.in: round robin, GET /healthz checks every 200 ms);
# 4. runs check.mjs: phase 1, 3 clients straight on A and 3 on B in one
#    room, 50 lines each, everyone gets all 300 exactly once and in order;
#    phase 2, a Redis outage: at check.mjs's request (over two FIFOs) this
#    script kills redis-server, check.mjs checks that both instances report
#    it and keep their rooms working locally, then this script starts
#    redis-server again on the same port and check.mjs checks that the
#    room spans both instances again and that nothing said during the
#    outage arrives late; phase 3, A gets SIGKILL and its 3 clients must be
#    back in the room through haproxy within 15 s (README.md has the
#    details);
# 5. stops everything (EXIT trap, on success and on failure) and exits 0
#    only if every check passed. On a failure, or with CLUSTER_VERBOSE=1,
#    it prints the servers' logs first.
#
# Every wait is bounded. Timeouts (seconds): CLUSTER_APT_TIMEOUT (600),
# CLUSTER_NPM_TIMEOUT (300), CLUSTER_BUILD_TIMEOUT (1800),
# CLUSTER_TEST_TIMEOUT (90, check.mjs). CLUSTER_CHAT=PATH tests that chat
# binary instead of building one. With CI set a dependency that cannot
# be had is a failure; without it the run is a loud skip (exit 0).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG_NAME=cluster
# shellcheck source=../lib.sh
source "$ROOT/tests/lib.sh"

APT_TIMEOUT="${CLUSTER_APT_TIMEOUT:-600}"
NPM_TIMEOUT="${CLUSTER_NPM_TIMEOUT:-300}"
BUILD_TIMEOUT="${CLUSTER_BUILD_TIMEOUT:-1800}"
TEST_TIMEOUT="${CLUSTER_TEST_TIMEOUT:-90}"
START_TIMEOUT=20 # seconds for each server to listen

T0=$EPOCHREALTIME

# --- dependencies ------------------------------------------------------------

require_timeout_and_cargo

# find_tool NAME: sets TOOL to NAME's path (PATH, then /usr/sbin, where
# Debian puts haproxy), or returns 1.
find_tool() {
    TOOL="$(command -v "$1" 2>/dev/null || true)"
    [[ -n "$TOOL" ]] || { [[ -x "/usr/sbin/$1" ]] && TOOL="/usr/sbin/$1"; }
    [[ -n "$TOOL" ]]
}

PACKAGES=()
find_tool redis-server || PACKAGES+=(redis-server)
find_tool haproxy || PACKAGES+=(haproxy)
if ((${#PACKAGES[@]})); then
    command -v apt-get >/dev/null 2>&1 || missing "${PACKAGES[*]} (no apt-get to install them with)"
    if [[ "$(id -u)" == 0 ]]; then
        AS_ROOT=(env)
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT=(sudo -n env)
    else
        missing "${PACKAGES[*]} (apt-get install ${PACKAGES[*]} needs root or password-less sudo)"
    fi
    # Lock::Timeout: wait for another apt-get instead of failing at once.
    APT=("${AS_ROOT[@]}" DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
    unknown=0
    for package in "${PACKAGES[@]}"; do
        apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]' || unknown=1
    done
    if ((unknown)); then
        step "apt-get update (apt does not know ${PACKAGES[*]} yet)"
        bounded "$APT_TIMEOUT" "${APT[@]}" update -q >&2 || missing "${PACKAGES[*]}: apt-get update failed"
    fi
    step "installing ${PACKAGES[*]} (apt-get install)"
    bounded "$APT_TIMEOUT" "${APT[@]}" install -y -q --no-install-recommends "${PACKAGES[@]}" >&2 ||
        missing "${PACKAGES[*]}: apt-get install failed"
fi
find_tool redis-server || missing "redis-server (apt-get install redis-server)"
REDIS="$TOOL"
find_tool haproxy || missing "haproxy (apt-get install haproxy)"
HAPROXY="$TOOL"
step "$("$REDIS" --version | head -n 1)"
step "$("$HAPROXY" -v | head -n 1)"

require_node
step "installing ws from $HERE/package-lock.json (npm ci)"
(cd "$HERE" && bounded "$NPM_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) ||
    missing "npm ci in $HERE failed"
(cd "$HERE" && node -e 'import("ws").then(() => process.exit(0), () => process.exit(1))') ||
    missing "ws is not importable from $HERE/node_modules"

# --- build the chat ----------------------------------------------------------

# CLUSTER_CHAT=PATH: test that chat binary instead of building one.
if [[ -n "${CLUSTER_CHAT:-}" ]]; then
    CHAT="$CLUSTER_CHAT"
    [[ -x "$CHAT" ]] || die "CLUSTER_CHAT=$CHAT is not an executable"
    step "testing $CHAT (CLUSTER_CHAT; not built here)"
else
    # --all-features, as the interop and Autobahn release builds: CI then
    # compiles the crate once for all of them.
    BUILD=(cargo build --release --all-features --example chat)
    step "building: ${BUILD[*]}"
    T_BUILD=$EPOCHREALTIME
    BUILD_JSON="$(cd "$ROOT" && bounded "$BUILD_TIMEOUT" "${BUILD[@]}" \
        --message-format=json-render-diagnostics)" || die "${BUILD[*]}"
    CHAT="$(cargo_executable chat <<<"$BUILD_JSON")"
    [[ -x "$CHAT" ]] || die "cannot find the built chat binary"
    step "built $CHAT in $(since "$T_BUILD") s"
fi
T_RUN=$EPOCHREALTIME

# --- the servers -------------------------------------------------------------

WORK="$(mktemp -d)"
REDIS_LOG="$WORK/redis.log"
REDIS_LOG_2="$WORK/redis-restarted.log" # phase 2 starts it again
A_OUT="$WORK/a.out" A_LOG="$WORK/a.log"
B_OUT="$WORK/b.out" B_LOG="$WORK/b.log"
HAPROXY_CFG="$WORK/haproxy.cfg"
HAPROXY_LOG="$WORK/haproxy.log"
HAPROXY_SOCKET="$WORK/haproxy.sock"

show_logs() {
    local file label
    for file in "$REDIS_LOG:redis" "$REDIS_LOG_2:redis-2" "$A_LOG:A" "$B_LOG:B" "$HAPROXY_LOG:haproxy"; do
        label=${file##*:}
        file=${file%:*}
        [[ -s "$file" ]] || continue
        log "$label output (last 60 lines):"
        tail -n 60 "$file" | sed "s/^/  $label| /" >&2
    done
}

# fail MESSAGE: like die, and the EXIT trap repeats MESSAGE as the last line
# (after the servers' logs).
FAILURE=""
fail() {
    FAILURE=$*
    die "$@"
}

cleanup() {
    local status=$?
    # Stopped while check.mjs ran: stderr is /dev/null there (see below).
    if [[ -n "${STDERR:-}" ]]; then exec 2>&"$STDERR"; fi
    if ((status != 0)) || [[ "${CLUSTER_VERBOSE:-0}" != 0 ]]; then
        show_logs
    fi
    stop_servers
    rm -rf "$WORK"
    step "stopped redis, haproxy and the chat instances"
    if ((status != 0)); then
        log "FAILED: ${FAILURE:-exit status $status}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port on 127.0.0.1 for the servers that cannot print the port they
# got (redis-server's port 0 means "no TCP"; haproxy binds what its config
# says): bound and released here, then the server binds it. Another process
# may take it in between; the server then fails to start and another port
# is tried.
free_port() {
    node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# start_redis PORT LOG SECONDS: redis-server on 127.0.0.1:PORT, no
# persistence, output to LOG; waits at most SECONDS for it to be ready.
# Sets REDIS_PID.
start_redis() {
    start_server "$2" - "s|.*Ready to accept connections.*|redis://127.0.0.1:$1|p" "$3" \
        "$REDIS" --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --protected-mode yes || return 1
    REDIS_PID=$SERVER_PID
}

REDIS_PORT=""
for attempt in 1 2 3; do
    port="$(free_port)"
    step "starting redis-server on 127.0.0.1:$port (attempt $attempt)"
    if start_redis "$port" "$REDIS_LOG" "$START_TIMEOUT"; then
        REDIS_PORT=$port
        break
    fi
done
[[ -n "$REDIS_PORT" ]] || fail "redis-server did not start in 3 attempts"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
step "redis-server listening at $REDIS_URL (pid $REDIS_PID)"

CHAT_URL_SED='s|^chat: open \(http://127\.0\.0\.1:[0-9]*/\) in a browser$|\1|p'
start_server "$A_OUT" "$A_LOG" "$CHAT_URL_SED" "$START_TIMEOUT" "$CHAT" 127.0.0.1:0 --redis "$REDIS_URL" ||
    fail "chat instance A did not start"
A_PID=$SERVER_PID A_URL=$SERVER_URL
start_server "$B_OUT" "$B_LOG" "$CHAT_URL_SED" "$START_TIMEOUT" "$CHAT" 127.0.0.1:0 --redis "$REDIS_URL" ||
    fail "chat instance B did not start"
B_PID=$SERVER_PID B_URL=$SERVER_URL
step "chat A at $A_URL (pid $A_PID), chat B at $B_URL (pid $B_PID)"
port_of() { local p=${1##*:}; echo "${p%%/*}"; }

# haproxy.cfg.in with the front on PORT, the two instances behind it.
render_haproxy_cfg() {
    sed -e "s|@FRONT_PORT@|$1|g" -e "s|@A_PORT@|$(port_of "$A_URL")|g" \
        -e "s|@B_PORT@|$(port_of "$B_URL")|g" -e "s|@STATS_SOCKET@|$HAPROXY_SOCKET|g" \
        "$HERE/haproxy.cfg.in"
}
start_haproxy render_haproxy_cfg "$HAPROXY_CFG" "$HAPROXY_LOG" || fail "$HAPROXY_ERROR"
FRONT_URL="http://127.0.0.1:$FRONT_PORT/"
step "haproxy at $FRONT_URL (pid $HAPROXY_PID), servers up in $(since "$T_RUN") s"

# --- the checks --------------------------------------------------------------

# check.mjs's output: to the terminal, and to check.out for its summary.
exec {CHECK_OUT}> >(tee "$WORK/check.out")
TEE_PID=$!

# check.mjs's control channel (phase 2): it writes a request line to the
# FIFO $CONTROL, this shell does it and answers with one line, `ok ...` or
# `error ...`, on the FIFO $CONTROL_REPLY. Held open read-write here, so
# that neither side's open blocks.
CONTROL="$WORK/control" CONTROL_REPLY="$WORK/control-reply"
mkfifo "$CONTROL" "$CONTROL_REPLY"
exec {CONTROL_FD}<>"$CONTROL" {REPLY_FD}<>"$CONTROL_REPLY"
REDIS_STOPPED=0 # by a redis-stop, and not started again

# redis-stop: SIGKILL to redis-server, and wait (bounded) for it to end.
control_redis_stop() {
    local pid=$REDIS_PID status=0
    kill -KILL "$pid" 2>/dev/null || { ANSWER="error redis-server (pid $pid) was not running"; return; }
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { ANSWER="error redis-server (pid $pid) still runs 5 s after SIGKILL"; return; }
    wait "$pid" 2>/dev/null || status=$?
    stop_server "$pid" 1 || true # forgets it
    REDIS_STOPPED=1
    ANSWER="ok redis-server (pid $pid) killed: exit status $status"
}

# redis-start: redis-server again, on the same port (its clients reconnect
# to the URL they have), at most 5 s to be ready.
control_redis_start() {
    ((REDIS_STOPPED)) || { ANSWER="error redis-server (pid $REDIS_PID) was not stopped"; return; }
    # Without this shell's pipes: the check's output would never end, nor
    # its control channel.
    if start_redis "$REDIS_PORT" "$REDIS_LOG_2" 5 {CHECK_OUT}>&- {CONTROL_FD}>&- {REPLY_FD}>&- {STDERR}>&-; then
        REDIS_STOPPED=0
        ANSWER="ok redis-server started again at $REDIS_URL (pid $REDIS_PID)"
    else
        ANSWER="error redis-server did not start again on port $REDIS_PORT in 5 s (its output is above)"
    fi
}

step "running check.mjs"
T_CHECK=$EPOCHREALTIME
# In the background, so that this shell can answer its requests meanwhile:
# `timeout` itself (what `bounded` runs), so that $! is its PID and a
# SIGTERM from the EXIT trap reaches node.
CLUSTER_A_URL="$A_URL" CLUSTER_B_URL="$B_URL" CLUSTER_FRONT_URL="$FRONT_URL" \
    CLUSTER_A_PID="$A_PID" CLUSTER_HAPROXY_SOCKET="$HAPROXY_SOCKET" \
    CLUSTER_A_LOG="$A_LOG" CLUSTER_B_LOG="$B_LOG" \
    CLUSTER_CONTROL="$CONTROL" CLUSTER_CONTROL_REPLY="$CONTROL_REPLY" \
    timeout --foreground -k 10 "$TEST_TIMEOUT" node "$HERE/check.mjs" >&"$CHECK_OUT" 2>&1 \
    {CHECK_OUT}>&- {CONTROL_FD}>&- {REPLY_FD}>&- &
CHECK_PID=$!
STARTED_PIDS+=("$CHECK_PID")
# Until check.mjs ends (within TEST_TIMEOUT): answer its requests. The
# group's 2>/dev/null silences only bash's "Killed" notice for A (the
# SIGKILL is check.mjs's) and redis-server's (phase 2); what a restart
# prints goes to $STDERR.
STATUS=0
exec {STDERR}>&2
# Ctrl-C or SIGTERM ends the loop, and then the script (with the usual
# status): bash 5.2.15 crashed (SIGSEGV) in the EXIT trap when the trap's
# `exit` ran in the middle of this loop.
STOP=0
trap 'STOP=130' INT
trap 'STOP=143' TERM
{
    partial=""
    while ((!STOP)) && kill -0 "$CHECK_PID"; do
        if ! IFS= read -r -t 0.2 -u "$CONTROL_FD" line; then
            partial+=$line # a timeout keeps what it read of a line
            continue
        fi
        request=$partial$line partial=""
        case $request in
            redis-stop) control_redis_stop ;; # its "Killed" notice too
            redis-start) control_redis_start 2>&"$STDERR" ;;
            *) ANSWER="error unknown request: $request" ;;
        esac
        printf '%s\n' "$ANSWER" >&"$REPLY_FD"
    done
    ((STOP)) || wait "$CHECK_PID" || STATUS=$?
} 2>/dev/null
exec {STDERR}>&-
STDERR=""
trap 'exit 130' INT
trap 'exit 143' TERM
((!STOP)) || exit "$STOP"
stop_server "$CHECK_PID" 1 || true # forgets it
exec {CHECK_OUT}>&- {CONTROL_FD}>&- {REPLY_FD}>&-
# tee ends when the last writer closes the pipe: now, unless some server
# holds it (a bug here); bounded anyway.
for _ in $(seq 1 50); do
    kill -0 "$TEE_PID" 2>/dev/null || break
    sleep 0.1
done
PROBLEMS=()
if kill -0 "$TEE_PID" 2>/dev/null; then
    PROBLEMS+=("check.mjs's output pipe still open 5 s after it ended")
    kill "$TEE_PID" 2>/dev/null || true
fi
step "check.mjs exited with status $STATUS after $(since "$T_CHECK") s"
SUMMARY="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/check.out" | tail -n 1 || true)"

if ((STATUS == 124)); then
    PROBLEMS+=("check.mjs timed out after ${TEST_TIMEOUT}s")
elif ((STATUS != 0)); then
    PROBLEMS+=("check.mjs: ${SUMMARY:-no summary} (status $STATUS)")
elif [[ -z "$SUMMARY" ]]; then
    PROBLEMS+=("check.mjs printed no summary")
fi
# check.mjs sent A SIGKILL (unless it stopped early): reap it.
if ! kill -0 "$A_PID" 2>/dev/null; then
    a_status=0
    wait "$A_PID" 2>/dev/null || a_status=$?
    if ((a_status == 137)); then
        step "chat A was ended by check.mjs's SIGKILL (status 137)"
    else
        PROBLEMS+=("chat A exited with status $a_status, not by the SIGKILL (137)")
    fi
    stop_server "$A_PID" 1 || true # forgets it
fi
kill -0 "$B_PID" 2>/dev/null || PROBLEMS+=("chat B died during the run")
if ((REDIS_STOPPED)); then
    PROBLEMS+=("redis-server was not started again (check.mjs ended after phase 2 stopped it)")
else
    kill -0 "$REDIS_PID" 2>/dev/null || PROBLEMS+=("redis-server died during the run")
fi
kill -0 "$HAPROXY_PID" 2>/dev/null || PROBLEMS+=("haproxy died during the run")

RUN_SECONDS="$(since "$T_RUN")"
if ((${#PROBLEMS[@]})); then
    all="$(printf '%s; ' "${PROBLEMS[@]}")"
    fail "${all%; } (${RUN_SECONDS} s without the build)"
fi
step "PASSED ($SUMMARY): cluster test in $RUN_SECONDS s (without the build), $(since "$T0") s in all"
