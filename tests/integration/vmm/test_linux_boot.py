"""Boot Debian's kernel (linux-image-amd64) with a busybox initramfs under
`v12n vm run`: it must reach userspace, see --cpus processors, read a file
the host put in the initramfs and power off (a zero byte to the debug-exit
port through /dev/port).  `make check-linux` runs this file alone.

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


@pytest.fixture
def initramfs(tmp_path):
    root = tmp_path / "root"
    for d in ["bin", "proc", "dev"]:
        (root / d).mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    (root / "init").write_text(INIT)
    (root / "init").chmod(0o755)
    (root / "hello.txt").write_text("the host wrote this file\n")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                          capture_output=True, check=True).stdout
    out = tmp_path / "initramfs.cpio.gz"
    out.write_bytes(gzip.compress(cpio))
    return str(out)


def test_linux_boots_to_userspace_and_powers_off(vm_run, initramfs):
    reason = _skip_reason()
    if reason:
        print("skipped: " + reason)
        pytest.skip(reason)
    r = vm_run("--kernel", _kernel(), "--initrd", initramfs, "--cpus", "2", "--memory", "512M",
               "--cmdline", "console=ttyS0 panic=-1", timeout=300)
    assert "v12n-linux: up, cpus=2" in r.stdout, r.stdout[-3000:] + r.stderr
    assert "the host wrote this file" in r.stdout
    assert r.returncode == 0, r.stderr
