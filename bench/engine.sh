#!/bin/bash
# The container engine beside podman, in ONE hyperfine invocation:
#   `v12n run --rm busybox true` vs `podman run --rm --network none` of the
#   same image (the built-in busybox's layer, `podman import`ed), then the
#   total RSS of 50 monitors of containers running `sleep`.
#
#   bench/engine.sh [--runs N] [--monitors N] [V12N_BINARY]
#
# Everything lives under a temporary directory (a private v12n store and
# podman root) that is removed at the end.  Root, hyperfine, podman and
# busybox-static are needed.  Prints figures; asserts nothing.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=30
monitors=50
v12n=$repo/build/src/v12n
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --monitors) monitors=$2; shift 2 ;;
    -*) sed -n '2,12p' "$0" >&2; exit 2 ;;
    *) v12n=$(realpath "$1"); shift ;;
    esac
done

work=$(mktemp -d /tmp/v12n-bench-engine.XXXXXX)
root=$work/root
export V12N_ENGINE_RUN_DIR=$work/run V12N_STORE_NO_SYNC=1
nofile=20000:20000
nproc=4096:4096
# podman raises the limits to its own defaults, which this sandbox forbids: keep ours
podman="podman --root $work/podman --runroot $work/podman-run --storage-driver overlay --cgroup-manager cgroupfs --events-backend none --runtime runc"
cleanup() {
    for c in $("$v12n" --root "$root" ps -aq 2>/dev/null); do
        "$v12n" --root "$root" rm -f "$c" >/dev/null 2>&1 || true
    done
    $podman rm -af >/dev/null 2>&1 || true
    $podman system reset -f >/dev/null 2>&1 || true
    grep -o "$work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$v12n" --root "$root" image builtin busybox >/dev/null
layer=$(ls -d "$root"/layers/*/diff | head -1)
tar -C "$layer" -c . | $podman import -q - localhost/v12n-bench-busybox >/dev/null
# one of each first: the seccomp cache, podman's first-run setup
"$v12n" --root "$root" run --rm busybox true
$podman run --rm --network none --ulimit nofile=$nofile --ulimit nproc=$nproc localhost/v12n-bench-busybox true

echo "== run --rm busybox true ($runs runs each)"
hyperfine -N --runs "$runs" --warmup 3 --export-markdown "$work/run.md" \
    -n "v12n run --rm" "$v12n --root $root run --rm busybox true" \
    -n "podman run --rm --network none" \
    "$podman run --rm --network none --ulimit nofile=$nofile --ulimit nproc=$nproc localhost/v12n-bench-busybox true"
cat "$work/run.md"

echo "== $monitors containers running sleep: the monitors' RSS"
i=0
while [ $i -lt "$monitors" ]; do
    "$v12n" --root "$root" run -d busybox sleep 100000 >/dev/null
    i=$((i + 1))
done
total=0
for rec in "$root"/containers/*/record.json; do
    pid=$(sed -n 's/.*"monitor_pid":\([0-9]*\).*/\1/p' "$rec")
    kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    total=$((total + kb))
done
echo "monitors: $monitors, total RSS: $total KiB ($((total / 1024)) MiB), per monitor: $((total / monitors)) KiB"
