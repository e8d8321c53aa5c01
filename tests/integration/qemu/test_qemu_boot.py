"""Boot Debian's kernel with a busybox initramfs under TCG, on a command
line built by the library, and drive the guest through the QMP client:
query-status, system_powerdown -> POWERDOWN and SHUTDOWN events, quit."""

import json
import os
import subprocess
import time

import pytest

from qemu_fixtures import boot_files, probe, qemu_img, qemu_system, workdir  # noqa: F401 (fixtures)

import initramfs

BOOT_LIMIT = 240  # seconds: a safety net against a hung guest, not a speed check


def probe_json(probe, *args, **kw):
    p = subprocess.run([probe, *args], capture_output=True, text=True, timeout=120, **kw)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def build_argv(probe, workdir, **cfg):
    path = os.path.join(workdir, "vm.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return probe_json(probe, "argv", path)[0]


def wait_for(path, marker, proc):
    """The serial log up to the marker; fails if QEMU dies first."""
    deadline = time.monotonic() + BOOT_LIMIT
    while time.monotonic() < deadline:
        text = open(path, errors="replace").read() if os.path.exists(path) else ""
        if marker in text:
            return text
        if proc.poll() is not None:
            pytest.fail("QEMU exited (%s) before %s:\n%s\n%s" %
                        (proc.returncode, marker, text[-2000:], proc.stderr.read()))
        time.sleep(0.2)
    pytest.fail("no %s on the serial console:\n%s" % (marker, text[-3000:]))


@pytest.fixture
def vm(probe, workdir, boot_files):
    kernel, initrd = boot_files
    paths = {k: os.path.join(workdir, k) for k in ("serial.log", "qmp.sock", "qemu.pid")}
    argv = build_argv(probe, workdir, name="boot,test", accel="tcg", cpus=1, memory="256M",
                      kernel=kernel, initrd=initrd,
                      append="console=ttyS0 panic=-1 quiet", serial="file",
                      serial_path=paths["serial.log"], qmp=paths["qmp.sock"],
                      pidfile=paths["qemu.pid"], no_shutdown=True)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield proc, paths
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_boot_powerdown_and_quit(probe, vm):
    proc, paths = vm
    log = wait_for(paths["serial.log"], initramfs.WAITING, proc)
    assert initramfs.BOOTED in log
    out = probe_json(probe, "qmp", paths["qmp.sock"], "query-status", "query-name")
    assert out[0]["version"]
    assert out[1]["return"]["status"] == "running"
    assert out[2]["return"]["name"] == "boot,test"  # the comma survived escaping
    with open(paths["qemu.pid"]) as f:
        assert int(f.read()) == proc.pid
    # a guest without a power button driver would never shut down: check ours has one
    assert log.split(initramfs.WAITING, 1)[1].split()[0] != "0", log
    out = probe_json(probe, "qmp", paths["qmp.sock"], "system_powerdown", "event:POWERDOWN",
                     "event:SHUTDOWN", "query-status", "quit")
    assert out[2]["event"]["event"] == "POWERDOWN"
    shutdown = out[3]["event"]
    assert shutdown["event"] == "SHUTDOWN" and shutdown["data"]["guest"] is True
    assert out[4]["return"]["status"] == "shutdown"  # -no-shutdown kept QEMU up
    assert proc.wait(timeout=60) == 0
    assert initramfs.PRESSED in open(paths["serial.log"], errors="replace").read()


def test_qmp_errors_name_command_and_class(probe, vm):
    proc, paths = vm
    p = subprocess.run([probe, "qmp", paths["qmp.sock"], "no-such-command"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "qmp no-such-command: CommandNotFound: " in p.stderr
    p = subprocess.run([probe, "qmp", paths["qmp.sock"], 'human-monitor-command={"x": 1}'],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "qmp human-monitor-command: GenericError: " in p.stderr
    probe_json(probe, "qmp", paths["qmp.sock"], "quit")
    assert proc.wait(timeout=60) == 0


def test_bad_config_is_refused_before_qemu_runs(probe, workdir):
    path = os.path.join(workdir, "vm.json")
    with open(path, "w") as f:
        json.dump({"name": "m", "machine": "microvm", "cpus": 1, "memory": "64M"}, f)
    p = subprocess.run([probe, "argv", path], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("qemu_probe: vm m: microvm has no firmware boot: needs a kernel")


def read_socket_until(path, marker):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(BOOT_LIMIT)
    s.connect(path)
    data = b""
    try:
        while marker.encode() not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data.decode(errors="replace")


def test_daemonized_with_serial_socket(probe, workdir, boot_files):
    kernel, initrd = boot_files
    paths = {k: os.path.join(workdir, k) for k in ("serial.sock", "qmp.sock", "qemu.pid")}
    argv = build_argv(probe, workdir, name="daemon", cpus=1, memory="256M", kernel=kernel,
                      initrd=initrd, append="console=ttyS0 panic=-1 quiet", serial="socket",
                      serial_path=paths["serial.sock"], qmp=paths["qmp.sock"],
                      pidfile=paths["qemu.pid"], daemonize=True)
    # the parent returns once QEMU is set up; the daemon lives on
    subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=120)
    with open(paths["qemu.pid"]) as f:
        pid = int(f.read())
    try:
        text = read_socket_until(paths["serial.sock"], initramfs.WAITING)
        assert initramfs.BOOTED in text, text[-2000:]
        out = probe_json(probe, "qmp", paths["qmp.sock"], "query-status", "quit")
        assert out[1]["return"]["status"] == "running"
        deadline = time.monotonic() + 60
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists("/proc/%d" % pid)
    finally:
        if os.path.exists("/proc/%d" % pid):
            os.kill(pid, 9)
