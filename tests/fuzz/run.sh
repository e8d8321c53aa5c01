#!/bin/bash
# Run every libFuzzer target built in BUILD_DIR for SECONDS seconds each.
#   tests/fuzz/run.sh BUILD_DIR SECONDS
# A target fuzz_<name> starts from the seeds in tests/fuzz/seeds/fuzz_<name>/
# (copied into BUILD_DIR/fuzz/corpus/fuzz_<name>, which then keeps growing
# across runs) and uses tests/fuzz/fuzz_<name>.dict when present.  Crash
# inputs land in BUILD_DIR/fuzz/artifacts/fuzz_<name>/.  Exits non-zero if
# any target crashes, leaks, times out or none was built.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)

shopt -s nullglob
targets=()
for exe in "$build"/tests/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] && targets+=("$exe")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz: no targets in $build/tests/fuzz (configure with -Dfuzz=true)" >&2
    exit 1
fi

failed=()
for exe in "${targets[@]}"; do
    name=$(basename "$exe")
    corpus="$build/fuzz/corpus/$name"
    artifacts="$build/fuzz/artifacts/$name"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$here/seeds/$name" ]; then
        cp -n "$here/seeds/$name"/* "$corpus"/ 2>/dev/null || true
    fi
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$artifacts/")
    if [ -f "$here/$name.dict" ]; then
        args+=(-dict="$here/$name.dict")
    fi
    echo "fuzz: $name for ${seconds}s"
    log="$build/fuzz/$name.log"
    if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
        "$exe" "${args[@]}" "$corpus" >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $name /" || true
    else
        echo "fuzz: $name FAILED; last lines of $log:" >&2
        tail -n 40 "$log" >&2
        failed+=("$name")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: ${#failed[@]} failed, ${#targets[@]} run: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} passed, 0 failed"
