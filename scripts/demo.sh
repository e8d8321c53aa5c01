#!/bin/sh
# `make demo`: a real container from the embedded default rootfs (Debian's
# static busybox), run by v12n's own OCI runtime.
set -eu
v12n=$(realpath "$1")
work=$(mktemp -d /tmp/v12n-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/mkbundle.sh" "$work/bundle" "$v12n"
/usr/bin/python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["args"] = ["sh", "-c",
    "echo \"hello from $(hostname), a v12n container: pid $$, user $(id -un)\"; "
    "echo \"kernel $(uname -r); $(wc -l < /proc/mounts) mounts; $(ls /dev | wc -w) entries in /dev\"; "
    "grep -E '^(CapEff|NoNewPrivs|Seccomp)' /proc/self/status"]
json.dump(config, open(path, "w"), indent=2)
PY
echo "demo: v12n oci run --bundle $work/bundle demo"
"$v12n" oci --root "$work/state" run --bundle "$work/bundle" "demo-$$"
