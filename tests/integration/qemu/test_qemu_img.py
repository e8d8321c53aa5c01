"""qemu-img through the library: a qcow2 overlay on a backing file, info,
resize, internal snapshots, and errors that name the image."""

import json
import os
import subprocess

import pytest

from qemu_fixtures import boot_files, probe, qemu_img, qemu_system, workdir  # noqa: F401 (fixtures)


def run(probe, *args, env=None):
    return subprocess.run([probe, *args], capture_output=True, text=True, timeout=120, env=env)


def ok(probe, *args):
    p = run(probe, *args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def info(probe, path):
    return json.loads(ok(probe, "img", "info", path))


def test_backing_file_snapshot_round_trip(probe, qemu_img, workdir):
    base = os.path.join(workdir, "base.raw")
    top = os.path.join(workdir, "top.qcow2")
    ok(probe, "img", "create", base, "raw", "64M")
    assert os.path.getsize(base) == 64 << 20
    ok(probe, "img", "create", top, "qcow2", "0", base, "raw")
    i = info(probe, top)
    assert i["format"] == "qcow2"
    assert i["virtual-size"] == 64 << 20  # taken from the backing file
    assert i["backing-filename"] == base
    assert i["backing-filename-format"] == "raw"

    ok(probe, "img", "resize", top, "128M")
    assert info(probe, top)["virtual-size"] == 128 << 20

    assert json.loads(ok(probe, "img", "snapshots", top)) == []
    ok(probe, "img", "snapshot", top, "create", "clean")
    ok(probe, "img", "snapshot", top, "create", "second")
    assert json.loads(ok(probe, "img", "snapshots", top)) == ["clean", "second"]
    ok(probe, "img", "snapshot", top, "apply", "clean")
    ok(probe, "img", "snapshot", top, "delete", "second")
    assert json.loads(ok(probe, "img", "snapshots", top)) == ["clean"]

    p = run(probe, "img", "snapshot", top, "apply", "missing")
    assert p.returncode == 1
    assert p.stderr.startswith("qemu_probe: image %s: qemu-img snapshot: " % top)


def test_errors_name_the_image(probe, qemu_img, workdir):
    missing = os.path.join(workdir, "nope.qcow2")
    p = run(probe, "img", "info", missing)
    assert p.returncode == 1
    assert p.stderr.startswith("qemu_probe: image %s: qemu-img info: " % missing)
    assert "No such file or directory" in p.stderr
    raw = os.path.join(workdir, "a.raw")
    p = run(probe, "img", "create", raw, "raw", "1M", "/x", "raw")
    assert p.returncode == 1
    assert "image %s: only qcow2 can have a backing file" % raw in p.stderr
    p = run(probe, "img", "create", raw, "vmdk", "1M")
    assert "format must be qcow2 or raw" in p.stderr
    p = run(probe, "img", "create", raw, "raw", "1.5G")
    assert "size: size \"1.5G\": use a smaller unit, not a fraction" in p.stderr
    assert not os.path.exists(raw)


def test_missing_qemu_names_the_debian_package(probe, workdir):
    env = dict(os.environ, PATH=os.path.join(workdir, "empty"))
    p = run(probe, "img", "info", os.path.join(workdir, "x.qcow2"), env=env)
    assert p.returncode == 1
    assert "qemu-img not found: QEMU is not installed (Debian package qemu-utils)" in p.stderr


def test_missing_qemu_system_names_the_debian_package(probe, workdir):
    path = os.path.join(workdir, "vm.json")
    with open(path, "w") as f:
        json.dump({"name": "web", "cpus": 1, "memory": "64M"}, f)
    env = dict(os.environ, PATH=os.path.join(workdir, "empty"))
    p = run(probe, "argv", path, env=env)
    assert p.returncode == 1
    assert p.stderr.startswith("qemu_probe: vm web: qemu-system-x86_64 not found: QEMU is not "
                               "installed (Debian package qemu-system-x86)")
