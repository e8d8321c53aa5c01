#!/bin/bash
# VMs run by QEMU:
#   start to the init marker on the serial console through `v12n vm start`
#   vs the same qemu-system-x86_64 command line run by hand (taken from the
#   VM's /proc/PID/cmdline), both under TCG with Debian's kernel and the
#   busybox initramfs of tests/integration/qemu: interleaved rounds in a
#   random order, the marker found by the same poll loop in both serial
#   logs, the ratio per round (bench/vm_start_race.py says how);
#   then `v12n list --all` with N defined VMs and N exited containers.
#
#   bench/vm-qemu.sh [--rounds N] [--objects N] [V12N_BINARY]
#
# Everything lives under a temporary store that is removed at the end.
# Root, hyperfine, qemu-system-x86, busybox-static are needed.  Prints
# figures; asserts nothing.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=12
objects=100
v12n=$repo/build/src/v12n
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    -*) sed -n '2,15p' "$0" >&2; exit 2 ;;
    *) v12n=$(realpath "$1"); shift ;;
    esac
done

work=$(mktemp -d /tmp/v12n-bench-vm.XXXXXX)
root=$work/root
name=bench-$$
V() { "$v12n" --root "$root" "$@"; }
cleanup() {
    for vm in $(ls "$root/vms" 2>/dev/null); do
        V vm destroy "$vm" >/dev/null 2>&1 || true
        V vm undefine "$vm" >/dev/null 2>&1 || true
    done
    V container prune -f >/dev/null 2>&1 || true
    [ -f "$work/raw.pid" ] && kill -9 "$(cat "$work/raw.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

kernel=$(ls /boot/vmlinuz-* | tail -1)
PYTHONPATH=$repo/tests/integration/qemu /usr/bin/python3 -c "
import initramfs, shutil
initramfs.build('$work/initrd', shutil.which('busybox') or '/bin/busybox', [])"
V vm create "$name" --memory 256M --net none --kernel "$kernel" --initrd "$work/initrd" \
    --cmdline "console=ttyS0 panic=-1 quiet" >/dev/null

# the raw command: what v12n runs, with its own pidfile, sockets and log
V vm start "$name" 2>/dev/null
pid=$(cat "/run/v12n/vms/$name/qemu.pid")
mapfile -d '' argv < "/proc/$pid/cmdline"
V vm destroy "$name"
raw=()
for a in "${argv[@]}"; do
    a=${a//\/run\/v12n\/vms\/$name\/qemu.pid/$work\/raw.pid}
    a=${a//\/run\/v12n\/vms\/$name\/qmp.sock/$work\/raw-qmp.sock}
    a=${a//\/run\/v12n\/vms\/$name\/serial.sock/$work\/raw-serial.sock}
    a=${a//\/run\/v12n\/vms\/$name\/console.log/$work\/raw.log}
    raw+=("$a")
done
/usr/bin/python3 - "$work/race.json" "$rounds" "$v12n" "$root" "$name" "$work" "${raw[@]}" <<'PY'
import json, sys
out, rounds, v12n, root, name, work, *raw = sys.argv[1:]
json.dump({"rounds": int(rounds), "marker": "V12N-WAITING-POWER-BUTTON", "ways": {
    "v12n": {"start": [v12n, "--root", root, "vm", "start", name],
             "stop": [v12n, "--root", root, "vm", "destroy", name],
             "log": f"/run/v12n/vms/{name}/console.log"},
    "raw": {"start": raw, "pidfile": f"{work}/raw.pid", "log": f"{work}/raw.log"}}},
    open(out, "w"))
PY
/usr/bin/python3 "$repo/bench/vm_start_race.py" "$work/race.json"

for i in $(seq 1 "$objects"); do
    V vm create "vm$i" --memory 64M --kernel "$kernel" >/dev/null
done
if V image builtin busybox >/dev/null 2>&1; then
    for i in $(seq 1 "$objects"); do V run --name "c$i" busybox true >/dev/null; done
fi
hyperfine --runs 20 --warmup 2 -n "v12n list --all ($objects VMs, $objects containers)" \
    "$v12n --root $root list --all"
