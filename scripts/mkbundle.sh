#!/bin/sh
# Make an OCI bundle whose rootfs is Debian's static busybox:
#   scripts/mkbundle.sh DIR [RUNTIME]
# DIR/rootfs gets busybox and its applets; DIR/config.json is RUNTIME's
# default spec (v12n oci spec), made non-interactive.
set -eu
dir=$1
runtime=${2:-v12n}
case $runtime in */*) runtime=$(realpath "$runtime") ;; esac
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkbundle: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
         "$dir/rootfs/tmp" "$dir/rootfs/etc" "$dir/rootfs/root"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' > "$dir/rootfs/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"
rm -f "$dir/config.json"
(cd "$dir" && "$runtime" oci spec)
# Not a terminal: the demo and benchmarks run without one.
sed -i 's/"terminal": true/"terminal": false/' "$dir/config.json"
