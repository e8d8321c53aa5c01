"""`v12n vm run` with virtio devices, driven by the freestanding virtio
guest programs (tests/guests/virtio) booted as real guests."""

import os
import socket
import subprocess

import pytest

HOST_PATTERN = b"v12n host wrote this sector"
GUEST_PATTERN = b"v12n guest wrote this sector"


def test_blk_reads_the_host_pattern_and_writes_back(vm_run, guests, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(HOST_PATTERN.ljust(512, b"\0") + b"\0" * (1 << 20))
    r = vm_run("--kernel", os.path.join(guests, "virtio-blk.elf"), "--disk", str(disk))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "virtio-blk: ok\n" in r.stdout
    assert disk.read_bytes()[512 : 512 + len(GUEST_PATTERN)] == GUEST_PATTERN


def test_blk_read_only_refuses_the_write(vm_run, guests, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(HOST_PATTERN.ljust(512, b"\0") + b"\0" * 4096)
    before = disk.read_bytes()
    r = vm_run("--kernel", os.path.join(guests, "virtio-blk.elf"), "--disk", "%s,ro" % disk)
    assert r.returncode == 1
    assert "virtio-blk: write failed" in r.stdout
    assert disk.read_bytes() == before


def test_rng(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "virtio-rng.elf"), "--rng")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "virtio-rng: ok" in r.stdout


def test_missing_device_is_seen_by_the_guest(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "virtio-rng.elf"))
    assert r.returncode == 1
    assert "virtio-rng: no device" in r.stdout


@pytest.fixture
def tap():
    name = "v12nvm%d" % (os.getpid() % 100000)
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"], check=True)
    try:
        subprocess.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % name], check=False)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def test_net_frames_through_a_tap(v12n, guests, tap):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
    s.bind((tap, 0x88B5))
    s.settimeout(30)
    mac = "02:00:00:00:00:07"
    p = subprocess.Popen(
        [v12n, "vm", "run", "--kernel", os.path.join(guests, "virtio-net.elf"), "--net",
         "tap=%s,mac=%s" % (tap, mac)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        frame = s.recv(2048)
        assert frame[:6] == b"\xff" * 6
        assert frame[6:12] == bytes.fromhex(mac.replace(":", ""))
        assert frame[14:29] == b"ping from guest"
        answer = frame[6:12] + b"\x02\x00\x00\x00\x00\x99" + b"\x88\xb5" + b"pong from host!"
        s.send(answer.ljust(60, b"\0"))
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        s.close()
    assert p.returncode == 0, out + err
    assert "virtio-net: ok pong from host!" in out


def test_tap_that_does_not_exist(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "virtio-net.elf"), "--net", "tap=v12nnosuchtap")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "v12nnosuchtap" in lines[0], r.stderr
    assert not os.path.exists("/sys/class/net/v12nnosuchtap")  # not created by TUNSETIFF


def test_missing_disk(vm_run, guests, tmp_path):
    r = vm_run("--kernel", os.path.join(guests, "virtio-blk.elf"), "--disk", str(tmp_path / "nope"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "No such file" in lines[0], r.stderr


def test_bad_console_option(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--console", "vga")
    assert r.returncode == 1 and r.stderr.startswith("v12n: ")


def test_virtio_console_leaves_the_serial_port_working(vm_run, guests):
    # The guest only knows the serial port: with the terminal on a virtio
    # console instead, serial output still reaches stdout and the VM ends.
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--console", "virtio", "--cmdline", "hello",
               input="")
    assert r.returncode == 0, r.stderr
    assert "hello from the guest" in r.stdout


def test_virtio_console_output_and_input(vm_run, guests):
    # Guest output through the transmit queue; terminal input through the
    # VMM's one reader (Ctrl-a Ctrl-a becomes one Ctrl-a) into the receive queue.
    r = vm_run("--kernel", os.path.join(guests, "virtio-console.elf"), "--console", "virtio",
               input="hi\x01\x01there\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "virtio-console: ready\n" in r.stdout
    assert "virtio-console: got hi\x01there\n" in r.stdout


def test_ctrl_a_x_quits_with_the_virtio_console(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--console", "virtio", "--cmdline", "spin",
               input="abc\x01x")
    assert r.returncode == 66, r.stdout + r.stderr
    assert "quit from the console" in r.stderr


def _seccomp_modes(pid):
    """{tid: (name, Seccomp mode)} of every thread of pid."""
    modes = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            continue
        modes[int(tid)] = (st["Name"], st["Seccomp"])
    return modes


def test_every_vmm_thread_runs_under_seccomp_with_every_device(v12n, guests, tap, tmp_path):
    # vCPUs and the event loop (virtio queue work, TAP and terminal input)
    # are confined while the guest runs; only the main thread is not: it
    # waits for them to end, then tears down (docs/vmm.md).
    import time

    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 4096)
    p = subprocess.Popen(
        [v12n, "vm", "run", "--kernel", os.path.join(guests, "pvh.elf"), "--cpus", "2", "--cmdline", "spin",
         "--disk", str(disk), "--net", "tap=" + tap, "--rng", "--console", "virtio"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdout.read(1)  # the guest runs
        modes = {}
        for _ in range(100):  # the threads may still be starting
            modes = _seccomp_modes(p.pid)
            names = {name for name, _ in modes.values()}
            others = [m for tid, (_, m) in modes.items() if tid != p.pid]
            if {"vcpu0", "vcpu1", "vmm-loop"} <= names and all(m == "2" for m in others):
                break
            time.sleep(0.05)
        names = {name for name, _ in modes.values()}
        assert {"vcpu0", "vcpu1", "vmm-loop"} <= names, modes
        assert all(m == "2" for tid, (_, m) in modes.items() if tid != p.pid), modes
        p.stdin.write(b"\x01x")
        p.stdin.flush()
        assert p.wait(timeout=30) == 66
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
