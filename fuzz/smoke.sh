#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for FUZZ_SECONDS (default 60)
# from its seed corpus; fails on any crash, timeout or out-of-memory.
#
#   bash fuzz/smoke.sh                 # 60 s per target
#   FUZZ_SECONDS=300 bash fuzz/smoke.sh
#   FUZZ_TARGETS="recv_server deflate" bash fuzz/smoke.sh
#
# Needs a nightly toolchain (libFuzzer and the sanitizers need it). Without
# one it prints "SKIPPED: no nightly toolchain" and exits 0, unless
# FUZZ_REQUIRED=1. cargo-fuzz is installed (pinned, --locked) when missing.
#
# New inputs go to fuzz/corpus/<target>/ (ignored by git except the seed-*
# files); crashes to fuzz/artifacts/<target>/.

set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# A single input taking this long is a hang.
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-25}

cd "$(dirname "$0")"

if ! cargo +nightly --version >/dev/null 2>&1; then
    if [ "${FUZZ_REQUIRED:-0}" = 1 ]; then
        echo "FAILED: no nightly toolchain, and FUZZ_REQUIRED=1" >&2
        exit 1
    fi
    echo "SKIPPED: no nightly toolchain (rustup toolchain install nightly to fuzz)"
    exit 0
fi

installed=$(cargo fuzz --version 2>/dev/null || true)
if [ "$installed" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION (found: ${installed:-none})"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

now() { date +%s; }
started=$(now)

echo "== building all fuzz targets"
t0=$(now)
cargo +nightly fuzz build
build_seconds=$(( $(now) - t0 ))
echo "   build took ${build_seconds}s"

targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
summary=()
failed=()
for target in $targets; do
    echo "== $target for ${FUZZ_SECONDS}s"
    mkdir -p "corpus/$target"
    log=$(mktemp)
    t0=$(now)
    status=0
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    seconds=$(( $(now) - t0 ))
    final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        # Show what went wrong: the panic or sanitizer report, and the input.
        grep -E -A 12 "panicked at|ERROR: |SUMMARY|Test unit written|Reproduce with" "$log" | head -n 60 || true
        failed+=("$target")
        summary+=("$(printf '%-20s FAILED (exit %s) after %ss' "$target" "$status" "$seconds")")
    else
        echo "   ${final:-no final line}"
        summary+=("$(printf '%-20s ok  %4ss  %10s execs  %s' "$target" "$seconds" "${execs:-?}" \
            "$(echo "$final" | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)")")
    fi
    echo "   $target took ${seconds}s"
    rm -f "$log"
done

echo
echo "== fuzz smoke summary (build ${build_seconds}s, total $(( $(now) - started ))s)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/; reproduce with" \
        "cargo +nightly fuzz run <target> <artifact>)" >&2
    exit 1
fi
echo "all fuzz targets ran for ${FUZZ_SECONDS}s without a crash"
