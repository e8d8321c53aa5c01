"""Boot Debian's kernel (linux-image-amd64) with a busybox initramfs under
`v12n vm run`: it must reach userspace, see --cpus processors, read a file
the host put in the initramfs, load the virtio modules, find the disk
through the ACPI DSDT (LNRO0005) and read the pattern the host wrote on
it, then power off (a zero byte to the debug-exit port via /dev/port).  `make check-linux` runs this file alone.

Skipped where KVM is PVM (kvm_pvm): there an unmodified kernel runs under
KVM's instruction emulator (about 2 M instructions/s, no cmpxchg16b or
xsave) and does not get through early boot in reasonable time."""

import glob
import gzip
import io
import os
import shutil
import subprocess

import pytest

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
echo "v12n-linux: up, cpus=$(grep -c ^processor /proc/cpuinfo)"
cat /hello.txt
for m in virtio_ring virtio virtio_mmio virtio_blk; do insmod /lib/modules/$m.ko; done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done
echo "disk: $(head -c 27 /dev/vda)"
printf '\\0' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
sleep 10
"""


def _kernel():
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    return kernels[-1] if kernels else None


def _skip_reason():
    if os.path.exists("/sys/module/kvm_pvm"):
        return ("/dev/kvm is PVM (kvm_pvm): an unmodified Linux runs under KVM's instruction "
                "emulator and does not finish booting; needs hardware-assisted KVM (vmx/svm)")
    if _kernel() is None:
        return "no /boot/vmlinuz-* (install linux-image-amd64: scripts/install-deps.sh)"
    if not os.path.exists("/bin/busybox") or shutil.which("cpio") is None:
        return "busybox-static and cpio are needed for the initramfs"
    return None


def _initramfs(tmp_path):
    root = tmp_path / "root"
    for d in ["bin", "proc", "dev"]:
        (root / d).mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    (root / "init").write_text(INIT)
    (root / "init").chmod(0o755)
    (root / "hello.txt").write_text("the host wrote this file\n")
    release = os.path.basename(_kernel())[len("vmlinuz-"):]
    (root / "lib" / "modules").mkdir(parents=True)
    for mod in ["drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko",
                "drivers/virtio/virtio_mmio.ko", "drivers/block/virtio_blk.ko"]:
        shutil.copy(os.path.join("/usr/lib/modules", release, "kernel", mod), root / "lib" / "modules")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                          capture_output=True, check=True).stdout
    out = tmp_path / "initramfs.cpio.gz"
    out.write_bytes(gzip.compress(cpio))
    return str(out)


def test_linux_boots_to_userspace_and_powers_off(vm_run, tmp_path):
    reason = _skip_reason()
    if reason:
        print("skipped: " + reason)
        pytest.skip(reason)
    initramfs = _initramfs(tmp_path)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"v12n host wrote this sector".ljust(1 << 20, b"\0"))
    r = vm_run("--kernel", _kernel(), "--initrd", initramfs, "--cpus", "2", "--memory", "512M",
               "--disk", str(disk), "--cmdline", "console=ttyS0 panic=-1", timeout=300)
    assert "v12n-linux: up, cpus=2" in r.stdout, r.stdout[-3000:] + r.stderr
    assert "the host wrote this file" in r.stdout
    assert "disk: v12n host wrote this sector" in r.stdout
    assert r.returncode == 0, r.stderr
