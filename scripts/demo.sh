#!/bin/sh
# `make demo`: what this host offers, then real containers from the embedded
# default image (built locally from Debian's static busybox, no registry
# needed): one through the engine (`v12n run`), one through the OCI runtime
# alone (`v12n oci run` on a bundle).  Everything lives in a temporary store.
set -eu
v12n=$(realpath "$1")
work=$(mktemp -d /tmp/v12n-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export V12N_ENGINE_RUN_DIR="$work/run"

echo "== v12n info"
"$v12n" info

echo
echo "== v12n image builtin busybox   (the embedded default image)"
"$v12n" --root "$work/store" image builtin busybox
"$v12n" --root "$work/store" images

echo
echo "== v12n run --rm busybox ...     (the engine: image -> overlay rootfs -> container)"
"$v12n" --root "$work/store" run --rm --hostname demo busybox sh -c \
    "echo \"hello from \$(hostname), a v12n container: pid \$\$, user \$(id -un)\"; \
     echo \"kernel \$(uname -r); \$(wc -l < /proc/mounts) mounts; \$(ls /dev | wc -w) entries in /dev\"; \
     grep -E '^(CapEff|NoNewPrivs|Seccomp:)' /proc/self/status"

echo
echo "== v12n oci run                  (the OCI runtime alone, on a bundle)"
"$(dirname "$0")/mkbundle.sh" "$work/bundle" "$v12n"
/usr/bin/python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["args"] = ["sh", "-c", "echo \"hello from $(hostname), run by v12n oci\""]
json.dump(config, open(path, "w"), indent=2)
PY
"$v12n" oci --root "$work/state" run --bundle "$work/bundle" "demo-$$"
