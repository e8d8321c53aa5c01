"""`v12n vm` with QEMU under TCG: Debian's kernel and a busybox initramfs
booted directly, started daemonized, watched through pidfile + QMP."""

import json
import os
import signal
import subprocess
import time

import pytest

from vm_fixtures import RUN_ROOT, boot_files, qemu_img, qemu_system, store  # noqa: F401
import initramfs


def test_boot_console_log_and_acpi_shutdown(store, boot_files):
    name = store.create_kernel_vm(boot_files, None, "--disk", "64M")
    assert store.state(name) == "shut off"
    p = store.ok("vm", "start", name)
    assert "TCG" in p.stderr or "KVM is hardware-assisted" in p.stderr
    assert len(p.stderr.splitlines()) == 1  # the engine choice, said once
    log = store.wait_marker(name)
    assert initramfs.BOOTED in log
    rows = json.loads(store.ok("list", "--format", "json").stdout)
    row = {r["name"]: r for r in rows}[name]
    assert row["kind"] == "vm" and row["state"] == "running" and int(row["id"]) == store.pid(name)
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["qemu_status"] == "running" and info["disks"][0]["format"] == "qcow2"
    store.ok("vm", "shutdown", "--timeout", "120", name, timeout=180)
    assert initramfs.PRESSED in store.log(name)  # the guest powered itself off
    assert store.state(name) == "shut off"
    # not running: only with --all
    assert name not in store.ok("list").stdout
    assert name in store.ok("list", "--all").stdout


def test_killed_qemu_reads_crashed_and_starts_again(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    store.ok("vm", "start", name)
    store.wait_marker(name)
    pid = store.pid(name)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.state(name) == "crashed"
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["state"] == "crashed" and initramfs.WAITING in info["last_log"]
    store.ok("vm", "start", name)
    store.wait_marker(name)
    assert store.pid(name) != pid
    store.ok("vm", "destroy", name)
    assert store.state(name) == "shut off"


def test_two_vms_on_one_disk_refused(store, boot_files):
    first = store.create_kernel_vm(boot_files, None, "--disk", "64M")
    disk = os.path.join(store.root, "vms", first, "disk0.qcow2")
    second = store.create_kernel_vm(boot_files, None, "--disk", disk)
    store.ok("vm", "start", first)
    p = store.run("vm", "start", second)
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["v12n: vm %s: disk %s is in use by running vm %s" %
                                     (second, disk, first)]
    assert store.state(second) == "shut off"
    assert not os.path.exists(os.path.join(RUN_ROOT, second, "qemu.pid"))
    store.ok("vm", "destroy", first)
    store.ok("vm", "start", second)  # free again once the first is off
    store.ok("vm", "destroy", second)


def test_console_follows_a_reboot(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    store.ok("vm", "start", name)
    store.wait_marker(name)
    console = subprocess.Popen([store.binary, "--root", store.root, "vm", "console", name],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # connected before the reset
        store.ok("vm", "reboot", name)
        store.wait_marker(name, initramfs.WAITING, count=2)
        # destroying the VM closes the socket: the console returns
        store.ok("vm", "destroy", name)
        out, err = console.communicate(timeout=60)
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
    assert console.returncode == 0, err
    assert initramfs.BOOTED.encode() in out


def test_console_detaches_on_ctrl_bracket(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    store.ok("vm", "start", name)
    p = subprocess.run([store.binary, "--root", store.root, "vm", "console", name],
                       input=b"\x1d", capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert store.state(name) == "running"  # detaching leaves the VM alone
    store.ok("vm", "destroy", name)


def test_same_name_in_two_stores(store, boot_files, tmp_path):
    from vm_fixtures import Store
    name = store.create_kernel_vm(boot_files)
    other = Store(str(tmp_path / "other-root"))
    try:
        other.create_kernel_vm(boot_files, name)
        store.ok("vm", "start", name)
        assert other.state(name) == "shut off"  # not the other store's QEMU
        p = other.run("vm", "start", name)
        assert p.returncode == 1 and "from another store is running" in p.stderr
        p = other.run("vm", "destroy", name)
        assert p.returncode == 1 and "not running" in p.stderr
        other.ok("vm", "undefine", name)  # leaves the running VM's files alone
        assert store.state(name) == "running"
        assert os.path.exists(os.path.join(RUN_ROOT, name, "qmp.sock"))
        store.ok("vm", "destroy", name)
    finally:
        other.cleanup()


def test_vnc_display_on_localhost(store, boot_files):
    import re
    import socket
    ports = []
    for _ in range(2):  # two at once: each gets a free display
        name = store.create_kernel_vm(boot_files, None, "--display", "vnc")
        p = store.ok("vm", "start", name)
        m = re.search(r"VNC display at 127\.0\.0\.1:(\d+)", p.stderr)
        assert m, p.stderr
        ports.append(int(m.group(1)))
        with socket.create_connection(("127.0.0.1", ports[-1]), timeout=10) as s:
            assert s.recv(12).startswith(b"RFB ")  # a VNC server's greeting
    assert ports[0] != ports[1]


def test_shutdown_forces_off_a_guest_that_ignores_the_button(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    store.ok("vm", "start", name)
    # at once: the kernel is still booting, nothing listens to the power button
    p = store.ok("vm", "shutdown", "--timeout", "0", name)
    assert "forced off" in p.stderr
    assert store.state(name) == "shut off"
    assert initramfs.PRESSED not in store.log(name)
