#!/bin/sh
# `v12n vm run` side by side with QEMU (`-M microvm -enable-kvm`) on the
# same PVH test guest (build/tests/guests/pvh.elf), in one run:
#
#   bench/vm.sh [--runs N] [V12N_BINARY]
#
# For each VMM: time from process start to the guest's first serial byte
# (the guest's entry writes to the UART a few dozen instructions after its
# first one, so this is also "time to first instruction" within noise),
# time to exit (guest powers off through the debug-exit port), and the
# VMM's own resident memory while the guest runs, excluding guest RAM (the
# RSS of every mapping but the guest-RAM one, from /proc/PID/smaps).
# Medians are printed; nothing asserts on them.  On a PVM host the guest
# runs under KVM's instruction emulator: absolute times reflect that.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=20
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
v12n=${1:-$repo/build/src/v12n}
guest=$(dirname "$(dirname "$v12n")")/tests/guests/pvh.elf
[ -f "$guest" ] || { echo "bench/vm.sh: no test guest at $guest (build first)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench/vm.sh: qemu-system-x86_64 not installed" >&2; exit 1; }

exec /usr/bin/python3 - "$v12n" "$guest" "$runs" <<'PY'
import os, statistics, subprocess, sys, time

v12n, guest, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
MEM_MIB = 128
# QEMU's -cpu host asks for MSRs a PVM host refuses; drop arch-capabilities.
qemu_cpu = "host,-arch-capabilities"
vmms = {
    "v12n": lambda cmd: [v12n, "vm", "run", "--kernel", guest, "--memory", "%dM" % MEM_MIB,
                         "--cmdline", cmd],
    "qemu microvm": lambda cmd: ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", qemu_cpu,
                                 "-m", "%dM" % MEM_MIB, "-nodefaults", "-no-user-config", "-nographic",
                                 "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                                 "-kernel", guest, "-append", cmd],
}

def one_boot(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.read(1)
    t1 = time.perf_counter()
    p.stdout.read()
    p.wait()
    return (t1 - t0) * 1e3, (time.perf_counter() - t0) * 1e3

def vmm_rss_kib(argv):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.read(1)
    time.sleep(0.3)
    total = guest_ram = 0
    size = rss = 0
    with open("/proc/%d/smaps" % p.pid) as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
                total += rss
                if size == MEM_MIB * 1024:
                    guest_ram += rss
    p.kill()
    p.wait()
    return total - guest_ram

print("VMM             first byte ms   exit ms   VMM RSS KiB (w/o guest RAM)   runs=%d" % runs)
for name, argv in vmms.items():
    one_boot(argv("hello"))  # warm the page cache
    firsts, exits = zip(*(one_boot(argv("hello")) for _ in range(runs)))
    rss = statistics.median(vmm_rss_kib(argv("spin")) for _ in range(3))
    print("%-15s %13.1f %9.1f %29d" % (name, statistics.median(firsts), statistics.median(exits), rss))
PY
