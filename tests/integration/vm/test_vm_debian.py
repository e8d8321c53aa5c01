"""The slow test (`make check-slow`): a debootstrapped Debian 12 on a qcow2
disk boots under `v12n vm` (QEMU TCG, SeaBIOS, GRUB on the MBR) to a login
prompt on the serial console, then powers itself off on the ACPI button
(systemd-logind).  The disk is built once and cached (debian_disk.py); the
VM boots a linked clone of it, so the cached image never changes."""

import os
import time

import pytest

from vm_fixtures import qemu_img, qemu_system, store  # noqa: F401 (fixtures)
import debian_disk

pytestmark = pytest.mark.very_slow

LOGIN_LIMIT = 900  # seconds: a safety net against a hung guest, not a speed check
LOGIN = debian_disk.HOSTNAME + " login:"


@pytest.fixture(scope="module")
def debian_image(qemu_img, qemu_system, pytestconfig):  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("building the Debian disk needs root (loop devices, mount, chroot)")
    missing = debian_disk.missing_tools()
    if missing:
        pytest.skip("to build the Debian disk, install: %s" % " ".join(missing))
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def log(line):  # the build time, shown even under pytest's capture
        with capture.global_and_fixture_disabled():
            print("\n" + line)

    return debian_disk.get_image(log)


def wait_login(store, name):
    deadline = time.monotonic() + LOGIN_LIMIT
    while time.monotonic() < deadline:
        text = store.log(name)
        if LOGIN in text:
            return text
        if store.state(name) != "running":
            pytest.fail("vm %s is %s before the login prompt:\n%s" %
                        (name, store.state(name), text[-3000:]))
        time.sleep(1)
    pytest.fail("no login prompt on vm %s's console:\n%s" % (name, store.log(name)[-3000:]))


def test_debian_boots_to_login_and_powers_off(store, debian_image):
    name = store.name()
    store.ok("vm", "create", name, "--disk", "base=" + debian_image, "--boot", "disk",
             "--memory", "1G", "--net", "none")
    store.ok("vm", "start", name)
    log = wait_login(store, name)
    assert "Booting `Debian 12'" in log  # GRUB's menu entry, from the disk's MBR
    assert "Debian GNU/Linux 12" in log  # the getty's issue banner
    p = store.ok("vm", "shutdown", "--timeout", "300", name, timeout=360)
    assert "forced off" not in p.stderr, p.stderr  # the guest powered itself off
    assert "reboot: Power down" in store.log(name)
    assert store.state(name) == "shut off"
    store.ok("vm", "undefine", "--remove-disks", name)
    assert name not in store.vms()
    assert os.path.exists(debian_image)  # the base of a linked clone is never removed
