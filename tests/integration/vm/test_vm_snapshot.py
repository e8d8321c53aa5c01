"""`vm snapshot` on a qcow2 linked clone: offline through qemu-img (data
written after the snapshot is gone after revert), online through savevm;
`vm set` changes the definition."""

import json
import os
import shutil
import subprocess

import pytest

from vm_fixtures import boot_files, qemu_img, qemu_system, store  # noqa: F401


def qemu_io(disk, command):
    if shutil.which("qemu-io") is None:
        pytest.skip("no qemu-io (Debian package qemu-utils)")
    p = subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, disk], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_linked_clone_snapshot_revert_drops_later_writes(store, boot_files, tmp_path):
    base = str(tmp_path / "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"], check=True)
    name = store.create_kernel_vm(boot_files, None, "--disk", "base=" + base)
    disk = json.loads(store.ok("vm", "inspect", name).stdout)["disks"][0]["path"]
    store.ok("vm", "snapshot", "create", name, "clean")
    assert store.ok("vm", "snapshot", "list", name).stdout.split() == ["clean"]
    qemu_io(disk, "write -P 0xab 0 64k")  # "a file the guest wrote"
    assert "pattern verification failed" not in qemu_io(disk, "read -P 0xab 0 64k")
    store.ok("vm", "snapshot", "revert", name, "clean")
    assert "pattern verification failed" not in qemu_io(disk, "read -P 0 0 64k")
    assert "pattern verification failed" not in qemu_io(base, "read -P 0 0 64k")  # base untouched
    store.ok("vm", "snapshot", "delete", name, "clean")
    assert store.ok("vm", "snapshot", "list", name).stdout == ""


def test_running_snapshot_and_bad_names(store, boot_files, tmp_path):
    name = store.create_kernel_vm(boot_files, None, "--disk", "16M")
    store.ok("vm", "start", name)
    store.wait_marker(name)
    store.ok("vm", "snapshot", "create", name, "live", timeout=180)
    assert store.ok("vm", "snapshot", "list", name).stdout.split() == ["live"]
    store.ok("vm", "snapshot", "revert", name, "live", timeout=180)
    assert store.state(name) == "running"
    p = store.run("vm", "snapshot", "create", name, "a;quit")
    assert p.returncode == 1 and "snapshot \"a;quit\"" in p.stderr
    assert store.state(name) == "running"  # the name did not reach the monitor
    store.ok("vm", "destroy", name)
    raw = str(tmp_path / "r.raw")
    open(raw, "wb").close()
    other = store.create_kernel_vm(boot_files, None, "--disk", raw + ",raw")
    p = store.run("vm", "snapshot", "create", other, "s")
    assert p.returncode == 1 and "snapshots need qcow2" in p.stderr


def test_set_changes_the_definition(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    store.ok("vm", "set", name, "--cpus", "2", "--memory", "384M", "--cmdline", "console=ttyS0")
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert (info["cpus"], info["memory_mib"], info["cmdline"]) == (2, 384, "console=ttyS0")
    p = store.run("vm", "set", name, "--boot", "cdrom")
    assert p.returncode == 1 and "boot cdrom needs --cdrom" in p.stderr
    p = store.run("vm", "set", name, "--kernel", "/nonexistent")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1
    assert json.loads(store.ok("vm", "inspect", name).stdout)["kernel"] == info["kernel"]


def test_disk_info_and_resize(store, boot_files):
    name = store.create_kernel_vm(boot_files, None, "--disk", "16M")
    info = json.loads(store.ok("vm", "disk", "info", name).stdout)
    assert info[0]["format"] == "qcow2" and info[0]["virtual-size"] == 16 << 20
    store.ok("vm", "disk", "resize", name, "0", "32M")
    info = json.loads(store.ok("vm", "disk", "info", name).stdout)
    assert info[0]["virtual-size"] == 32 << 20
    p = store.run("vm", "disk", "resize", name, "0", "8M")
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1  # no shrinking
    p = store.run("vm", "disk", "resize", name, "3", "64M")
    assert p.returncode == 1 and "no disk 3" in p.stderr
    store.ok("vm", "start", name)
    running = json.loads(store.ok("vm", "disk", "info", name).stdout)  # locked: asks QEMU
    assert running[0]["virtual-size"] == 32 << 20
    p = store.run("vm", "disk", "resize", name, "0", "64M")
    assert p.returncode == 1 and "shut off" in p.stderr
    store.ok("vm", "destroy", name)
