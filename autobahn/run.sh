#!/usr/bin/env bash
# Run the Autobahn|Testsuite against the rfc6455 testees and check the
# results against expected.json.
#
#   autobahn/run.sh [server|client|all] [AGENT]
#
# server: wstest -m fuzzingclient drives our echo server on 127.0.0.1:9002
# client: our client connects to wstest -m fuzzingserver on 127.0.0.1:9003
#
# Environment (all optional):
#   AGENT            agent name in the reports (default rfc6455; 2nd arg wins)
#   TESTEE_FLAGS     extra flags for both testees, e.g. "--tokio"
#   SERVER_FLAGS     extra flags for the server testee only, after TESTEE_FLAGS, e.g.
#                    "--axum" (the echo behind an axum Router; a server-only mode)
#   CLIENT_FLAGS     extra flags for the client testee only, after TESTEE_FLAGS
#   SERVER_CMD       server testee command, run as: $SERVER_CMD 127.0.0.1:9002 $TESTEE_FLAGS $SERVER_FLAGS
#   CLIENT_CMD       client testee command, run as: $CLIENT_CMD ws://127.0.0.1:9003 $AGENT $TESTEE_FLAGS $CLIENT_FLAGS
#                    (default: the release builds of examples/autobahn_{server,client}.rs;
#                    cargo build is skipped when both are overridden or SKIP_BUILD=1)
#   CASES            comma-separated case patterns to run instead of the spec's, e.g. "1.*,2.*"
#   EXCLUDE_CASES    comma-separated case patterns to exclude, e.g. "12.*,13.*"
#   SERVER_SPEC      fuzzingclient spec (default autobahn/fuzzingclient.json)
#   CLIENT_SPEC      fuzzingserver spec (default autobahn/fuzzingserver.json)
#   SERVER_TIMEOUT   hard limit in seconds for the server role's wstest run (default 1800)
#   CLIENT_TIMEOUT   hard limit in seconds for the client role's testee run (default 1800)
#   EXPECTED         expectation file (default autobahn/expected.json)
#   SEQUENTIAL=1     with `all`, run the roles one after the other (default: both
#                    at once, each with its own wstest, ports and reports)
#
# Logs (gitignored): autobahn/wstest-{server,client}.log (wstest's own output,
# read it when a case says "did not finish within N seconds"),
# autobahn/testee-{server,client}.log. Reports: autobahn/reports/{server,client}/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ROLE="${1:-all}"
AGENT="${2:-${AGENT:-rfc6455}}"
TESTEE_FLAGS="${TESTEE_FLAGS:-}"
SERVER_FLAGS="${TESTEE_FLAGS:+$TESTEE_FLAGS }${SERVER_FLAGS:-}"
SERVER_FLAGS="${SERVER_FLAGS% }"
CLIENT_FLAGS="${TESTEE_FLAGS:+$TESTEE_FLAGS }${CLIENT_FLAGS:-}"
CLIENT_FLAGS="${CLIENT_FLAGS% }"
SERVER_ADDR=127.0.0.1:9002
CLIENT_URL=ws://127.0.0.1:9003
SERVER_TIMEOUT="${SERVER_TIMEOUT:-1800}"
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-1800}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
PY2="$HERE/.venv/bin/python"
EXPECTED="${EXPECTED:-$HERE/expected.json}"

case "$ROLE" in
    server) ROLES=(server) ;;
    client) ROLES=(client) ;;
    all) ROLES=(server client) ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [server|client|all] [AGENT]" >&2; exit 2 ;;
esac

log() { printf '[autobahn] %s\n' "$*"; }
die() { printf '[autobahn] ERROR: %s\n' "$*" >&2; exit 1; }

# Background processes we started (process-group leaders), killed on exit.
PIDS=()
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() { for p in "${PIDS[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_port HOST PORT PID: until HOST:PORT accepts, failing if PID exits.
wait_port() {
    local deadline=$(( $(date +%s) + READY_TIMEOUT ))
    until port_open "$1" "$2"; do
        kill -0 "$3" 2>/dev/null || return 1
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# --axum is a server testee mode; the client testee would ignore it and
# run its default (blocking) mode under a misleading label.
for r in "${ROLES[@]}"; do
    if [ "$r" = client ] && [[ " $CLIENT_FLAGS " == *" --axum "* ]]; then
        die "--axum is a server-only mode: pass it in SERVER_FLAGS, not TESTEE_FLAGS/CLIENT_FLAGS, or run the server role only"
    fi
done

# ------------------------------------------------------------------ setup
bash "$HERE/install.sh" || die "install.sh failed"
cd "$HERE" || exit 1

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
need_build=0
for r in "${ROLES[@]}"; do
    [ "$r" = server ] && [ -z "${SERVER_CMD:-}" ] && need_build=1
    [ "$r" = client ] && [ -z "${CLIENT_CMD:-}" ] && need_build=1
done
if [ "$need_build" = 1 ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
    # --all-features: the same build as the interop tests', so neither
    # rebuilds the other's.
    log "cargo build --release --all-features --example autobahn_server --example autobahn_client"
    t0=$(date +%s)
    (cd "$ROOT" && cargo build --release --all-features --example autobahn_server --example autobahn_client) ||
        die "cargo build failed"
    log "build took $(( $(date +%s) - t0 ))s"
fi
SERVER_CMD="${SERVER_CMD:-$TARGET_DIR/release/examples/autobahn_server}"
CLIENT_CMD="${CLIENT_CMD:-$TARGET_DIR/release/examples/autobahn_client}"

# make_spec ROLE SRC DEST: the spec actually run, with outdir forced to
# reports/ROLE, the agent name and the CASES / EXCLUDE_CASES overrides applied.
make_spec() {
    python3 - "$@" "$AGENT" "${CASES:-}" "${EXCLUDE_CASES:-}" <<'EOF'
import json, sys
role, src, dest, agent, cases, exclude = sys.argv[1:7]
with open(src) as f:
    spec = json.load(f)
spec["outdir"] = "./reports/" + role
if role == "server":
    for s in spec.get("servers", []):
        s["agent"] = agent
split = lambda v: [p.strip() for p in v.split(",") if p.strip()]
if cases:
    spec["cases"] = split(cases)
if exclude:
    spec["exclude-cases"] = split(exclude)
with open(dest, "w") as f:
    json.dump(spec, f, indent=3)
EOF
}

FAILURES=()
declare -A TOOK

# ------------------------------------------------------------------ server role
run_server() {
    local out="$HERE/reports/server" spec="$HERE/reports/server.spec.json"
    local wlog="$HERE/wstest-server.log" tlog="$HERE/testee-server.log"
    rm -rf "$out"; mkdir -p "$out"
    make_spec server "${SERVER_SPEC:-$HERE/fuzzingclient.json}" "$spec" || die "bad server spec"
    "$PY2" wstest_local.py --list-cases "$spec" >"$out/cases.txt" || die "cannot list cases"
    port_open 127.0.0.1 9002 && die "127.0.0.1:9002 is already in use; stop whatever listens there"

    log "server role: $(wc -l <"$out/cases.txt") cases; testee: $SERVER_CMD $SERVER_ADDR $SERVER_FLAGS"
    local t0; t0=$(date +%s)
    # shellcheck disable=SC2086 # SERVER_CMD / SERVER_FLAGS are word lists
    setsid $SERVER_CMD "$SERVER_ADDR" $SERVER_FLAGS >"$tlog" 2>&1 </dev/null &
    local tpid=$!
    PIDS+=("$tpid")
    if ! wait_port 127.0.0.1 9002 "$tpid"; then
        tail -n 20 "$tlog" >&2
        FAILURES+=("server: testee did not start listening on $SERVER_ADDR (see $tlog)")
        stop_pid "$tpid"
        return
    fi
    log "server role: wstest -m fuzzingclient (log: $wlog, hard timeout ${SERVER_TIMEOUT}s)"
    timeout -k 10 "$SERVER_TIMEOUT" "$PY2" -u wstest_local.py -m fuzzingclient -s "$spec" \
        >"$wlog" 2>&1 </dev/null
    local rc=$?
    TOOK[server]=$(( $(date +%s) - t0 ))
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        FAILURES+=("server: wstest killed after the ${SERVER_TIMEOUT}s hard timeout (see $wlog)")
    elif [ $rc != 0 ]; then
        FAILURES+=("server: wstest exited with code $rc (see $wlog)")
    fi
    if ! kill -0 "$tpid" 2>/dev/null; then
        wait "$tpid"; local trc=$?
        FAILURES+=("server: the testee exited (code $trc) before the run ended (see $tlog)")
    fi
    stop_pid "$tpid"
    log "server role took ${TOOK[server]}s"
}

# ------------------------------------------------------------------ client role
run_client() {
    local out="$HERE/reports/client" spec="$HERE/reports/client.spec.json"
    local wlog="$HERE/wstest-client.log" tlog="$HERE/testee-client.log"
    rm -rf "$out"; mkdir -p "$out"
    make_spec client "${CLIENT_SPEC:-$HERE/fuzzingserver.json}" "$spec" || die "bad client spec"
    "$PY2" wstest_local.py --list-cases "$spec" >"$out/cases.txt" || die "cannot list cases"
    port_open 127.0.0.1 9003 && die "127.0.0.1:9003 is already in use; stop whatever listens there"

    log "client role: $(wc -l <"$out/cases.txt") cases; wstest -m fuzzingserver on $CLIENT_URL (log: $wlog)"
    local t0; t0=$(date +%s)
    # -u 0: no embedded web server. The wrapper binds 127.0.0.1 only.
    setsid timeout -k 10 $(( CLIENT_TIMEOUT + 120 )) \
        "$PY2" -u wstest_local.py -m fuzzingserver -s "$spec" -u 0 >"$wlog" 2>&1 </dev/null &
    local wpid=$!
    PIDS+=("$wpid")
    if ! wait_port 127.0.0.1 9003 "$wpid"; then
        tail -n 20 "$wlog" >&2
        FAILURES+=("client: wstest fuzzingserver did not start listening (see $wlog)")
        stop_pid "$wpid"
        return
    fi
    log "client role: testee: $CLIENT_CMD $CLIENT_URL $AGENT $CLIENT_FLAGS (hard timeout ${CLIENT_TIMEOUT}s)"
    # shellcheck disable=SC2086
    timeout -k 10 "$CLIENT_TIMEOUT" $CLIENT_CMD "$CLIENT_URL" "$AGENT" $CLIENT_FLAGS \
        >"$tlog" 2>&1 </dev/null
    local rc=$?
    TOOK[client]=$(( $(date +%s) - t0 ))
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        FAILURES+=("client: testee killed after the ${CLIENT_TIMEOUT}s hard timeout (see $tlog)")
    elif [ $rc != 0 ]; then
        FAILURES+=("client: testee exited with code $rc (see $tlog)")
    fi
    if [ ! -f "$out/index.json" ] && kill -0 "$wpid" 2>/dev/null; then
        # The testee never reached updateReports (crash/timeout): ask wstest
        # for the report of the cases that did run, so the summary can say
        # exactly which cases are missing.
        log "client role: no report written by the testee; requesting updateReports"
        python3 "$HERE/summarize.py" --update-reports "$CLIENT_URL" "$AGENT" ||
            log "client role: updateReports request failed"
    fi
    stop_pid "$wpid"
    log "client role took ${TOOK[client]}s"
}

if [ "${#ROLES[@]}" -gt 1 ] && [ "${SEQUENTIAL:-0}" != 1 ]; then
    # Both roles at once: each wstest is single-threaded Python and is the
    # bottleneck, so on two cores this halves the wall time. Ports, logs and
    # report folders are per role; failures and times come back in files.
    for r in "${ROLES[@]}"; do
        (
            PIDS=()
            trap cleanup EXIT
            "run_$r"
            printf '%s\n' "${FAILURES[@]}" >"$HERE/reports/$r.failures"
            echo "${TOOK[$r]:-}" >"$HERE/reports/$r.took"
        ) &
        PIDS+=("$!")
    done
    wait
    for r in "${ROLES[@]}"; do
        if [ ! -f "$HERE/reports/$r.failures" ]; then
            FAILURES+=("$r: the role did not report")
            continue
        fi
        while IFS= read -r f; do
            if [ -n "$f" ]; then FAILURES+=("$f"); fi
        done <"$HERE/reports/$r.failures"
        TOOK[$r]=$(cat "$HERE/reports/$r.took" 2>/dev/null)
    done
else
    for r in "${ROLES[@]}"; do
        "run_$r"
    done
fi

echo
python3 "$HERE/summarize.py" --expected "$EXPECTED" --agent "$AGENT" "${ROLES[@]}"
summary_rc=$?

echo
for r in "${ROLES[@]}"; do
    [ -n "${TOOK[$r]:-}" ] && log "$r role: ${TOOK[$r]}s"
done
for f in "${FAILURES[@]}"; do
    log "FAILED: $f"
done
if [ "$summary_rc" != 0 ] || [ "${#FAILURES[@]}" != 0 ]; then
    log "RESULT: FAIL"
    exit 1
fi
log "RESULT: PASS"
