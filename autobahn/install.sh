#!/usr/bin/env bash
# Install the Autobahn|Testsuite (wstest) into autobahn/.venv.
#
# Target: a fresh Debian 12 (bookworm) machine, run as root.
# wstest 0.8.x is Python 2.7 software; bookworm has no python2.7, so it is
# taken from Debian's bullseye suite (pinned low so bullseye never upgrades
# anything else), then a py2.7 virtualenv is built with virtualenv 20.21.1
# (the last release able to create Python 2 environments).
#
# Idempotent: a second run is a fast no-op. Set FORCE=1 to rebuild the venv.
set -euo pipefail
export PYTHONWARNINGS=ignore  # silence cryptography's "Python 2 is no longer supported"

START=$(date +%s)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY2=/usr/bin/python2.7
# The constraint file pins autobahntestsuite and every transitive dependency
# to the last versions that still work on Python 2.7.
CONSTRAINTS="$HERE/requirements-py27.txt"

log() { printf '[install] %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - START ))s"; }

venv_ok() {
    [ -x "$VENV/bin/wstest" ] && [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import autobahntestsuite, autobahn, twisted' 2>/dev/null
}

if [ "${FORCE:-0}" != 1 ] && venv_ok; then
    log "wstest already installed in $VENV ($("$VENV/bin/python" -c 'import autobahntestsuite; print(autobahntestsuite.__version__)')); nothing to do ($(elapsed))"
    exit 0
fi

if [ "$(id -u)" != 0 ] && [ ! -x "$PY2" ]; then
    echo "install.sh: must run as root to install python2.7 via apt" >&2
    exit 1
fi

# ---------------------------------------------------------------- python2.7
if [ ! -x "$PY2" ] || ! dpkg -s python2.7-dev >/dev/null 2>&1; then
    BULLSEYE_SRC=/etc/apt/sources.list.d/bullseye-python2.sources
    if [ ! -f "$BULLSEYE_SRC" ]; then
        # Find the system's Debian deb822 sources file: the first *.sources
        # whose first stanza's URIs point at a Debian archive (…/debian),
        # preferring debian.sources. No mirror host is hard-coded.
        SRC=""
        for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            [ "$f" = "$BULLSEYE_SRC" ] && continue
            if awk 'BEGIN{IGNORECASE=1} /^[[:space:]]*$/{exit} /^URIs:/{print}' "$f" |
                grep -Eq '/debian/?([[:space:]]|$)'; then
                SRC=$f
                break
            fi
        done
        if [ -z "$SRC" ]; then
            echo "install.sh: no Debian deb822 sources file found in /etc/apt/sources.list.d" >&2
            exit 1
        fi
        log "adding bullseye suite based on the first stanza of $SRC"
        # First stanza only (up to the first blank line), Suites -> bullseye.
        awk '/^[[:space:]]*$/ { if (seen) exit; next }
             { seen = 1 }
             /^Suites:/ { print "Suites: bullseye"; next }
             { print }' "$SRC" >"$BULLSEYE_SRC.tmp"
        grep -q '^Suites: bullseye$' "$BULLSEYE_SRC.tmp" ||
            { echo "install.sh: first stanza of $SRC has no Suites: line" >&2; exit 1; }
        mv "$BULLSEYE_SRC.tmp" "$BULLSEYE_SRC"
    fi
    # Low priority: bullseye packages are only candidates for packages that
    # bookworm does not have at all (python2.7 and its few old libraries).
    cat >/etc/apt/preferences.d/bullseye-python2 <<'EOF'
# Added by rfc6455 autobahn/install.sh: python2.7 for the Autobahn testsuite.
# Never let bullseye upgrade or replace anything that bookworm provides.
Package: *
Pin: release n=bullseye
Pin-Priority: 100
EOF
    log "apt-get update"
    apt-get update -qq
    # "pkg/bullseye" takes only the named packages from bullseye; their
    # dependencies keep the normal candidates (bookworm wherever it has one).
    # (`-t bullseye` would raise ALL of bullseye to priority 990 for this
    # transaction and pull e.g. an old mailcap from bullseye as well.)
    log "apt-get install python2.7 python2.7-dev (from bullseye)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        python2.7/bullseye python2.7-dev/bullseye
fi
# A C compiler is needed for the few py2 packages that only ship sources.
if ! command -v gcc >/dev/null 2>&1; then
    log "apt-get install gcc (bookworm)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev
fi
log "python2.7: $("$PY2" --version 2>&1)"

# ---------------------------------------------------------------- virtualenv
# Whatever python3 is first on PATH (pyenv shim, /usr/bin/python3, ...).
PY3=$(command -v python3)
if ! "$PY3" -c 'import virtualenv, sys; sys.exit(virtualenv.__version__ != "20.21.1")' 2>/dev/null; then
    log "installing virtualenv==20.21.1 for $PY3"
    # Debian's own python3 is "externally managed" (PEP 668); pyenv's is not.
    "$PY3" -m pip install -q virtualenv==20.21.1 ||
        "$PY3" -m pip install -q --break-system-packages virtualenv==20.21.1
fi
rm -rf "$VENV"
# Absolute interpreter path: a bare "python2.7" could resolve to a pyenv shim.
log "creating $VENV with $PY2"
"$PY3" -m virtualenv -q -p "$PY2" "$VENV"

log "pip install autobahntestsuite (constraints: $(basename "$CONSTRAINTS"))"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-python-version-warning \
    -c "$CONSTRAINTS" autobahntestsuite
if ! venv_ok; then
    echo "install.sh: wstest import check failed" >&2
    exit 1
fi
log "installed: $("$VENV/bin/python" - <<'EOF'
import autobahntestsuite, autobahn, twisted
print("autobahntestsuite %s, autobahn %s, twisted %s" % (
    autobahntestsuite.__version__, autobahn.__version__, twisted.__version__))
EOF
)"
log "done in $(elapsed)"
