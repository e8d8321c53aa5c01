"""VM definitions: bad input is one clear line and leaves nothing; disks
are created, cloned and removed with the VM."""

import json
import os
import subprocess

import pytest

from vm_fixtures import RUN_ROOT, boot_files, one_error_line, qemu_img, qemu_system, store  # noqa: F401


def test_bad_input_leaves_nothing(store, boot_files):
    kernel, _ = boot_files
    name = store.create_kernel_vm(boot_files)
    before = store.vms()
    with open(os.path.join(store.root, "vms", name, "vm.json")) as f:
        definition = f.read()
    cases = [
        (["vm", "create", name, "--kernel", kernel], ["vm %s: the name is in use" % name]),
        (["vm", "create", "x" + name, "--kernel", "/nonexistent/vmlinuz"],
         ["kernel /nonexistent/vmlinuz", "No such file"]),
        (["vm", "create", "x" + name, "--disk", "1.5G"], ["1.5G"]),
        (["vm", "create", "x" + name, "--disk", "12Q"], ["12Q"]),
        (["vm", "create", "x" + name, "--memory", "lots"], ["lots"]),
        (["vm", "create", "../evil", "--kernel", kernel], ["a name is letters"]),
        (["vm", "create", "x" + name, "--boot", "cdrom"], ["boot cdrom needs --cdrom"]),
        (["vm", "create", "x" + name, "--disk", "64M", "--cdrom", "/nonexistent.iso"],
         ["cdrom /nonexistent.iso"]),
        (["vm", "create", "x" + name, "--disk", "base=/nonexistent.qcow2"],
         ["base image /nonexistent.qcow2"]),
        (["vm", "start", "x" + name], ["vm x%s: no such VM" % name]),
        (["vm", "frobnicate", name], ["unknown command"]),
    ]
    for args, needles in cases:
        one_error_line(store.run(*args), *needles)
    # the disk of a failed create is gone with it (the error comes after the disk)
    one_error_line(store.run("vm", "create", "x" + name, "--disk", "64M", "--disk",
                             "/nonexistent.img"), "disk /nonexistent.img")
    assert store.vms() == before  # no half-created VM, no temporary directory
    with open(os.path.join(store.root, "vms", name, "vm.json")) as f:
        assert f.read() == definition


def test_linked_clone_and_undefine_remove_disks(store, boot_files, tmp_path):
    base = str(tmp_path / "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "32M"], check=True)
    raw = str(tmp_path / "data.raw")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    name = store.create_kernel_vm(boot_files, None, "--disk", "base=" + base, "--disk",
                                  raw + ",raw", "--disk", "16M")
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    disks = info["disks"]
    assert [d["format"] for d in disks] == ["qcow2", "raw", "qcow2"]
    assert disks[0]["base"] == base and disks[0]["owned"] and not disks[1]["owned"]
    img = json.loads(subprocess.run(["qemu-img", "info", "--output=json", disks[0]["path"]],
                                    capture_output=True, text=True, check=True).stdout)
    assert img["backing-filename"] == base and img["virtual-size"] == 32 << 20
    # the clone boots (its disk attached) and stops
    store.ok("vm", "start", name)
    store.wait_marker(name)
    one_error_line(store.run("vm", "undefine", name), "running")
    store.ok("vm", "destroy", name)
    store.ok("vm", "undefine", "--remove-disks", name)
    assert store.vms() == []
    assert not os.path.exists(raw)  # --remove-disks: the disks it used too
    assert os.path.exists(base)  # never the base of a clone
    assert not os.path.exists(os.path.join(RUN_ROOT, name))


def test_undefine_keeps_foreign_disks_by_default(store, boot_files, tmp_path):
    raw = str(tmp_path / "keep.raw")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    name = store.create_kernel_vm(boot_files, None, "--disk", raw)
    store.ok("vm", "undefine", name)
    assert store.vms() == [] and os.path.exists(raw)


def test_qemu_missing_names_the_package(store, boot_files):
    name = store.create_kernel_vm(boot_files)
    p = subprocess.run([store.binary, "--root", store.root, "vm", "start", name],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PATH="/nonexistent"))
    one_error_line(p, "qemu-system-x86_64", "qemu-system-x86")
    assert store.state(name) == "shut off"
    p = subprocess.run([store.binary, "--root", store.root, "vm", "create", "x" + name,
                        "--disk", "64M"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PATH="/nonexistent"))
    one_error_line(p, "qemu-img", "qemu-utils")
    assert store.vms() == [name]
