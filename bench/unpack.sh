#!/bin/bash
# Layer unpack throughput: v12n's unpacker (as `pull` runs it: into the store,
# diff_id verified) against `tar -xzf` of the same ~200 MB gzip layer.
#
#   bench/unpack.sh [BUILD_DIR] [RUNS]
#
# Environment:
#   BENCH_DIR   where to unpack (default /var/tmp: the same disk as
#               /var/lib/v12n); BENCH_DIR=/dev/shm measures CPU alone
#   BENCH_LAYER reuse this .tar.gz instead of generating one
#
# The layer is generated once (deterministic: Python's seeded PRNG for the
# text, /dev/urandom-like incompressible bytes from the same PRNG): 20,000
# small text files in 200 directories, 200 incompressible binaries, two big
# text files; about 320 MB unpacked, 200 MB gzipped.
#
# Runs alternate (v12n, tar, v12n durable, tar+sync, ...) and nothing is
# deleted until the end: on ext4 without a journal, inode allocation right
# after a mass delete is much slower (recently_deleted()), which would
# penalise whichever ran second.  Figures are medians.
#   v12n        store_layer_unpack, STORE_NO_SYNC        vs  tar -xzf
#   v12n+sync   the store's default (syncfs before the   vs  tar -xzf && sync -f
#               rename: durable against power loss)
set -euo pipefail

build=${1:-build}
runs=${2:-3}
driver="$build/tests/unit/test_unpack"
if [ ! -x "$driver" ]; then
    echo "unpack bench: $driver not found (build first: ninja -C $build)" >&2
    exit 1
fi
base=${BENCH_DIR:-/var/tmp}
work=$(mktemp -d "$base/v12n-bench-unpack.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

layer=${BENCH_LAYER:-$work/layer.tar.gz}
if [ -z "${BENCH_LAYER:-}" ]; then
    echo "unpack bench: generating the layer in $work" >&2
    mkdir "$work/tree"
    /usr/bin/python3 - "$work/tree" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(12)
words = [bytes(rnd.choice(b'abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(2, 9)))
         for _ in range(5000)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += b' '.join(rnd.choice(words) for _ in range(12)) + b'\n'
    return bytes(out[:n])
for d in range(200):
    dp = os.path.join(root, 'usr', 'share', 'd%03d' % d, 'sub')
    os.makedirs(dp)
    for f in range(100):
        with open(os.path.join(dp, 'f%03d.txt' % f), 'wb') as fh:
            fh.write(text(rnd.choice([200, 1500, 4000, 12000, 30000])))
    with open(os.path.join(dp, 'blob.bin'), 'wb') as fh:
        fh.write(rnd.randbytes(rnd.randint(300_000, 600_000)))
for i in range(2):
    with open(os.path.join(root, 'usr', 'big%d.txt' % i), 'wb') as fh:
        fh.write(text(20_000_000))
EOF
    tar -C "$work/tree" -czf "$layer" .
    rm -rf "$work/tree"
fi
diff_id="sha256:$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)"
compressed=$(stat -c %s "$layer")
uncompressed=$(gzip -dc "$layer" | wc -c)
cat "$layer" >/dev/null # in the page cache for everyone

now() { date +%s.%N; }
declare -A times
run() { # name command...
    local name=$1
    shift
    local t0 t1
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    times[$name]+="$(echo "$t1 - $t0" | bc) "
}

for i in $(seq 1 "$runs"); do
    run v12n "$driver" --bench "$work/store-$i" "$layer" "$diff_id" nosync
    mkdir "$work/tar-$i"
    run tar tar -C "$work/tar-$i" -xzf "$layer"
    run v12n+sync "$driver" --bench "$work/store-sync-$i" "$layer" "$diff_id"
    mkdir "$work/tarsync-$i"
    run tar+sync sh -c "tar -C '$work/tarsync-$i' -xzf '$layer' && sync -f '$work/tarsync-$i'"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(echo "scale=1; $compressed / 1000000" | bc)
umb=$(echo "scale=1; $uncompressed / 1000000" | bc)
echo "layer: $mb MB gzip, $umb MB tar; $runs runs each, alternating, in $base"
printf '%-10s %10s %14s %14s\n' "" "median s" "MB/s (gzip)" "MB/s (tar)"
declare -A med
for name in v12n tar v12n+sync tar+sync; do
    med[$name]=$(echo "${times[$name]}" | median)
    printf '%-10s %10.3f %14.1f %14.1f\n' "$name" "${med[$name]}" \
        "$(echo "$mb / ${med[$name]}" | bc -l)" "$(echo "$umb / ${med[$name]}" | bc -l)"
done
printf 'throughput ratio v12n/tar:           %.2f (target >= 0.90)\n' \
    "$(echo "${med[tar]} / ${med[v12n]}" | bc -l)"
printf 'throughput ratio v12n+sync/tar+sync: %.2f\n' \
    "$(echo "${med[tar+sync]} / ${med[v12n+sync]}" | bc -l)"
