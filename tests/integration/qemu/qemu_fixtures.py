"""Fixtures for the QEMU library (imported by the test modules: a conftest.py
here would shadow the image tests' `from conftest import ...`): the qemu_probe driver (tests/qemu), a
Debian kernel from /boot and a busybox initramfs built here.  Tests that
need QEMU or a kernel are skipped, with the reason, where they are missing
(scripts/install-deps.sh installs them)."""

import glob
import os
import re
import shutil
import tempfile

import pytest

import initramfs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _find_probe():
    explicit = os.environ.get("V12N_QEMU_PROBE")
    if explicit:
        return os.path.abspath(explicit)
    v12n = os.environ.get("V12N")
    if v12n:
        build = os.path.dirname(os.path.dirname(os.path.abspath(v12n)))
        cand = os.path.join(build, "tests", "qemu", "qemu_probe")
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", "tests", "qemu", "qemu_probe")


@pytest.fixture(scope="session")
def probe():
    path = _find_probe()
    if not os.access(path, os.X_OK):
        pytest.skip("no qemu_probe at %s (build first)" % path)
    return path


@pytest.fixture(scope="session")
def qemu_img():
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (Debian package qemu-utils)")


@pytest.fixture(scope="session")
def qemu_system():
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="v12n-qemu-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def boot_files(qemu_system):
    """(kernel, initramfs) for a TCG boot; the newest /boot/vmlinuz-*."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        pytest.skip("no /boot/vmlinuz-* (Debian package linux-image-amd64)")
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("no busybox (Debian package busybox-static)")
    kernel = kernels[-1]
    release = re.sub(r"^vmlinuz-", "", os.path.basename(kernel))
    modules = [m for m in (initramfs.module_path(release, "drivers/input/evdev.ko"),
                           initramfs.module_path(release, "drivers/acpi/button.ko")) if m]
    d = tempfile.mkdtemp(prefix="v12n-initramfs-")
    path = os.path.join(d, "initramfs.cpio")
    initramfs.build(path, busybox, modules)
    yield kernel, path
    shutil.rmtree(d, ignore_errors=True)
