#!/usr/bin/env bash
# Probe: does headless Chromium open wss:// over HTTP/2 with RFC 8441
# extended CONNECT?
#
#   bash tests/browser/h2/run.sh
#
# Installs what is missing (Debian's chromium with apt-get; the pinned
# playwright-core from package-lock.json into tests/browser/h2/node_modules),
# makes a self-signed certificate for localhost and 127.0.0.1 with openssl in
# a temporary folder, starts two probe_server.mjs (one sending
# SETTINGS_ENABLE_CONNECT_PROTOCOL=1, a control one not), runs probe.mjs,
# and stops the servers. The probe phase is killed after PROBE_TIMEOUT
# (60 s). Exits 0 when Chromium used extended CONNECT where expected (see
# probe.mjs), 1 otherwise. KEEP=1 keeps the temporary folder (server logs,
# certificate, and Chromium net-logs) and prints its path.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LOG_NAME=h2-probe
# shellcheck source=../../lib.sh
source "$ROOT/tests/lib.sh"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

APT_TIMEOUT="${BROWSER_APT_TIMEOUT:-1200}"
NPM_TIMEOUT="${BROWSER_NPM_TIMEOUT:-300}"
PROBE_TIMEOUT="${PROBE_TIMEOUT:-60}"
START_TIMEOUT=15

# --- dependencies ------------------------------------------------------------

command -v timeout >/dev/null 2>&1 || missing "timeout (coreutils)"
command -v openssl >/dev/null 2>&1 || missing "openssl"
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
if ! (cd "$HERE" && node -e 'import("playwright-core").then(() => process.exit(0), () => process.exit(1))'); then
    log "installing playwright-core from package-lock.json (npm ci)"
    (cd "$HERE" && bounded "$NPM_TIMEOUT" npm ci --no-audit --no-fund --loglevel=error >&2) ||
        missing "npm ci in $HERE failed"
fi

# --- certificate -------------------------------------------------------------

WORK="$(mktemp -d)"
cleanup() {
    stop_servers
    if [[ "${KEEP:-}" == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Self-signed, P-256, SAN for both names, valid for two days.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.err" ||
    { cat "$WORK/openssl.err" >&2; die "openssl could not make the certificate"; }
# What --ignore-certificate-errors-spki-list wants: base64(SHA-256(SPKI DER)).
SPKI_HASH="$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout |
    openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)"
log "certificate SPKI sha256 $SPKI_HASH"

# --- servers -----------------------------------------------------------------

URL_SED='s|^probe_server: listening on \(https://127\.0\.0\.1:[0-9]*/\)$|\1|p'
# `timeout` too, so that a server cannot outlive a killed run by much.
SERVER_LIFE=$((PROBE_TIMEOUT + 30))
start_server "$WORK/server.log" - "$URL_SED" "$START_TIMEOUT" \
    env TLS_CERT="$WORK/cert.pem" TLS_KEY="$WORK/key.pem" \
    timeout "$SERVER_LIFE" node "$HERE/probe_server.mjs" 0 ||
    die "probe_server.mjs did not start"
PORT="${SERVER_URL#https://127.0.0.1:}" && PORT="${PORT%/}"
MAIN_PID=$SERVER_PID
start_server "$WORK/control.log" - "$URL_SED" "$START_TIMEOUT" \
    env TLS_CERT="$WORK/cert.pem" TLS_KEY="$WORK/key.pem" NO_CONNECT_PROTOCOL=1 \
    timeout "$SERVER_LIFE" node "$HERE/probe_server.mjs" 0 ||
    die "the control probe_server.mjs did not start"
CONTROL_PORT="${SERVER_URL#https://127.0.0.1:}" && CONTROL_PORT="${CONTROL_PORT%/}"
log "probe server on port $PORT (pid $MAIN_PID), control (no SETTINGS_ENABLE_CONNECT_PROTOCOL) on $CONTROL_PORT"

# --- probe -------------------------------------------------------------------

mkdir -p "$WORK/netlog"
set +e
(cd "$HERE" && PROBE_PORT="$PORT" SERVER_LOG="$WORK/server.log" \
    CONTROL_PORT="$CONTROL_PORT" CONTROL_LOG="$WORK/control.log" \
    SPKI_HASH="$SPKI_HASH" CHROMIUM="$CHROMIUM" NETLOG_DIR="$WORK/netlog" \
    bounded "$PROBE_TIMEOUT" node "$HERE/probe.mjs")
status=$?
set -e

if ((status != 0)) || [[ "${VERBOSE:-}" == 1 ]]; then
    log "server log:"
    sed 's/^/  server| /' "$WORK/server.log" >&2
    log "control server log:"
    sed 's/^/  control| /' "$WORK/control.log" >&2
fi
if ((status == 124)); then
    die "probe.mjs timed out after ${PROBE_TIMEOUT}s"
elif ((status != 0)); then
    die "probe.mjs exited with status $status"
fi
log "ok: Chromium used RFC 8441 extended CONNECT"
