"""Boot from an ISO through SeaBIOS: GRUB on the serial port loads the same
kernel and initramfs, and the guest reaches the marker."""

import json

from vm_fixtures import boot_files, boot_iso, qemu_img, qemu_system, store  # noqa: F401
import initramfs


def test_cdrom_boot_through_seabios(store, boot_iso):
    name = store.name()
    store.ok("vm", "create", name, "--memory", "256M", "--net", "none", "--cdrom", boot_iso)
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["boot"] == "cdrom" and info["kernel"] is None
    store.ok("vm", "start", name)
    log = store.wait_marker(name)
    assert "Booting `v12n'" in log and initramfs.BOOTED in log
    store.ok("vm", "shutdown", "--timeout", "120", name, timeout=180)
    assert store.state(name) == "shut off"
