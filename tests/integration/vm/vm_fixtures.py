"""Fixtures for the `v12n vm` tests (a module, not a conftest.py: see
tests/integration/qemu/qemu_fixtures.py): the v12n binary, a private store
root, and VM names unique to the test, since every store shares the run
directory /run/v12n/vms.  Teardown destroys and undefines whatever the test
defined, so nothing is left behind."""

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))

from qemu_fixtures import boot_files, qemu_img, qemu_system  # noqa: E402,F401 (fixtures)
import initramfs  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
RUN_ROOT = "/run/v12n/vms"
BOOT_LIMIT = 240  # seconds: a safety net against a hung guest, not a speed check
APPEND = "console=ttyS0 panic=-1 quiet"
_names = itertools.count()


def v12n_binary():
    v12n = os.environ.get("V12N") or os.path.join(REPO, "build", "src", "v12n")
    if not os.access(v12n, os.X_OK):
        alt = os.path.join(os.path.dirname(v12n), "src", os.path.basename(v12n))
        v12n = alt if os.access(alt, os.X_OK) else v12n
    return os.path.abspath(v12n)


class Store:
    def __init__(self, root):
        self.root = root
        self.binary = v12n_binary()

    def run(self, *args, timeout=120):
        return subprocess.run([self.binary, "--root", self.root, *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def ok(self, *args, **kw):
        p = self.run(*args, **kw)
        assert p.returncode == 0, "v12n %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
        return p

    def name(self):
        return "t%d-%d" % (os.getpid(), next(_names))

    def state(self, name):
        rows = json.loads(self.ok("list", "--all", "--format", "json").stdout)
        return {r["name"]: r for r in rows}[name]["state"]

    def vms(self):
        d = os.path.join(self.root, "vms")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def log(self, name):
        path = os.path.join(RUN_ROOT, name, "console.log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""

    def wait_marker(self, name, marker=initramfs.WAITING, count=1):
        """The console log once it holds marker count times (a reboot prints it again)."""
        deadline = time.monotonic() + BOOT_LIMIT
        while time.monotonic() < deadline:
            text = self.log(name)
            if text.count(marker) >= count:
                return text
            if self.state(name) != "running":
                pytest.fail("vm %s is %s before %s:\n%s" % (name, self.state(name), marker,
                                                            text[-2000:]))
            time.sleep(0.2)
        pytest.fail("no %s on vm %s's console:\n%s" % (marker, name, self.log(name)[-3000:]))

    def pid(self, name):
        with open(os.path.join(RUN_ROOT, name, "qemu.pid")) as f:
            return int(f.read())

    def create_kernel_vm(self, boot_files, name=None, *extra):
        kernel, initrd = boot_files
        name = name or self.name()
        self.ok("vm", "create", name, "--memory", "256M", "--net", "none", "--kernel", kernel,
                "--initrd", initrd, "--cmdline", APPEND, *extra)
        return name

    def owns_run_dir(self, name):
        try:
            with open(os.path.join(RUN_ROOT, name, "owner")) as f:
                return f.read() == os.path.realpath(os.path.join(self.root, "vms", name))
        except OSError:
            return False

    def cleanup(self):
        for name in self.vms():
            if name.startswith("."):
                continue
            ours = self.owns_run_dir(name)
            self.run("vm", "destroy", name)
            self.run("vm", "undefine", "--remove-disks", name)
            if not ours:
                continue  # another store's VM of this name (or none): not ours to kill
            run = os.path.join(RUN_ROOT, name)
            pidfile = os.path.join(run, "qemu.pid")
            if os.path.exists(pidfile):  # a VM the CLI failed to stop: do not leak QEMU
                subprocess.run(["pkill", "-KILL", "-F", pidfile])
            shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def store(qemu_img):
    s = Store(tempfile.mkdtemp(prefix="v12n-vm-"))
    yield s
    s.cleanup()


GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry v12n {
  linux /boot/vmlinuz %s
  initrd /boot/initrd
}
""" % APPEND


@pytest.fixture(scope="session")
def boot_iso(boot_files):
    """A BIOS-bootable ISO (GRUB on the serial port) holding the same kernel
    and initramfs."""
    if shutil.which("grub-mkrescue") is None or shutil.which("xorriso") is None:
        pytest.skip("no grub-mkrescue/xorriso (Debian packages grub-pc-bin, xorriso, mtools)")
    kernel, initrd = boot_files
    d = tempfile.mkdtemp(prefix="v12n-iso-")
    tree = os.path.join(d, "iso")
    os.makedirs(os.path.join(tree, "boot", "grub"))
    shutil.copy(kernel, os.path.join(tree, "boot", "vmlinuz"))
    shutil.copy(initrd, os.path.join(tree, "boot", "initrd"))
    with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_CFG)
    iso = os.path.join(d, "boot.iso")
    p = subprocess.run(["grub-mkrescue", "-o", iso, tree], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    yield iso
    shutil.rmtree(d, ignore_errors=True)


def one_error_line(p, *needles):
    """The CLI failed with exit status 1 and exactly one `v12n: ...` line naming each needle."""
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("v12n: "), p.stderr
    for n in needles:
        assert n in lines[0], lines[0]
