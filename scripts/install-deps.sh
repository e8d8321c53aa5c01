#!/bin/sh
# Install every build and test dependency from Debian's archive (idempotent).
set -eu
PACKAGES="
  build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libcurl4-openssl-dev libarchive-dev nettle-dev
  libzstd-dev openssl docker-registry skopeo umoci
  python3-pytest busybox-static iproute2 util-linux procps
  runc crun podman containerd uidmap hyperfine strace
  qemu-system-x86 qemu-utils seabios linux-image-amd64 cpio
  grub-pc-bin grub-common xorriso mtools
  debootstrap fdisk grub2-common e2fsprogs
"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing:$missing (run as root to install)" >&2
    exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
