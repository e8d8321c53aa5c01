"""`v12n vm create --engine kvm`: defined VMs run by v12n's own VMM in
managed mode (docs/vmm.md), managed like the QEMU ones: start detaches,
list/inspect/console/destroy go through the same pidfile and QMP socket.
The guests are the freestanding PVH test guests (tests/guests): a Linux
guest does not finish booting under this host's PVM in test time."""

import json
import os
import socket
import subprocess
import time

import pytest

from vm_fixtures import RUN_ROOT, one_error_line, qemu_img, store  # noqa: F401

LIMIT = 60  # seconds: a safety net against a hung guest, not a speed check


@pytest.fixture
def guests(store):
    d = os.path.join(os.path.dirname(os.path.dirname(store.binary)), "tests", "guests")
    if not os.path.exists(os.path.join(d, "pvh.elf")):
        pytest.skip("test guests not built in %s" % d)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("no usable /dev/kvm")
    return d


def wait_for(pred, what):
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    pytest.fail("timed out waiting for %s" % what)


def alive(pid):
    """pid runs (a zombie waiting for its reaper does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def run_files(name):
    d = os.path.join(RUN_ROOT, name)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def create(store, guests, mode):
    name = store.name()
    store.ok("vm", "create", name, "--engine", "kvm", "--memory", "64M", "--kernel",
             os.path.join(guests, "pvh.elf"), "--cmdline", mode)
    return name


def test_start_list_inspect_destroy_start_again(store, guests):
    name = create(store, guests, "idle")
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["engine"] == "kvm" and info["net"] == "none"  # no user networking here
    p = store.ok("vm", "start", name)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "engine kvm: v12n's own VMM" in lines[0], p.stderr
    wait_for(lambda: "idle: ready" in store.log(name), "the guest's marker")
    rows = json.loads(store.ok("list", "--all", "--format", "json").stdout)
    row = {r["name"]: r for r in rows}[name]
    assert row["kind"] == "vm" and row["state"] == "running" and int(row["id"]) == store.pid(name)
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["state"] == "running" and info["qemu_status"] == "running"
    one_error_line(store.run("vm", "start", name), "already running")
    pid = store.pid(name)
    store.ok("vm", "destroy", name)
    assert not alive(pid)
    assert store.state(name) == "shut off"
    assert run_files(name) == ["console.log", "owner"]  # no pidfile, no sockets
    assert "v12n:" not in store.log(name)  # a quit asked for is not reported as news
    store.ok("vm", "start", name)
    wait_for(lambda: "idle: ready" in store.log(name), "the marker after restart")
    assert store.log(name).count("v12n test guest") == 1  # a new boot, a new log
    assert store.state(name) == "running"
    p = store.ok("vm", "shutdown", "--timeout", "1", name)
    assert "forced off" in p.stderr  # the idle guest ignores the power button
    assert store.state(name) == "shut off"


def test_shutdown_presses_the_acpi_power_button(store, guests):
    # the guest routes the GED's GSI through the IOAPIC, waits for it and powers off (S5)
    name = create(store, guests, "powerbtn")
    store.ok("vm", "start", name)
    wait_for(lambda: "powerbtn: ready" in store.log(name), "the guest's marker")
    p = store.ok("vm", "shutdown", "--timeout", str(LIMIT), name, timeout=LIMIT + 30)
    assert p.stderr == ""  # not forced
    assert "powerbtn: pressed" in store.log(name)
    assert store.state(name) == "shut off"
    assert run_files(name) == ["console.log", "owner"]
    one_error_line(store.run("vm", "reboot", name), "not running")


def test_console_input_and_guest_poweroff(store, guests):
    name = create(store, guests, "echo")
    store.ok("vm", "start", name)
    wait_for(lambda: "echo: ready" in store.log(name), "the echo guest")
    c = subprocess.Popen([store.binary, "--root", store.root, "vm", "console", name],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: store.log(name) and os.path.exists(os.path.join(RUN_ROOT, name)),
             "the console")
    time.sleep(0.2)  # let the console connect: input before it is lost, as on a serial line
    c.stdin.write(b"over the socket\n")
    c.stdin.flush()
    # the guest echoes the line and powers off: the console ends with the VM
    out, _ = c.communicate(timeout=LIMIT)
    assert c.returncode == 0
    assert b"over the socket" in out  # "echo: got " was written before it connected
    assert "echo: got over the socket" in store.log(name)
    wait_for(lambda: store.state(name) == "shut off", "the VMM to exit")
    assert run_files(name) == ["console.log", "owner"]


def test_one_console_client_at_a_time(store, guests):
    name = create(store, guests, "idle")
    store.ok("vm", "start", name)
    sock = os.path.join(RUN_ROOT, name, "serial.sock")
    first = socket.socket(socket.AF_UNIX)
    first.connect(sock)
    second = socket.socket(socket.AF_UNIX)
    second.connect(sock)
    second.settimeout(LIMIT)
    assert second.recv(16) == b""  # closed: the first client has the console
    first.close()
    store.ok("vm", "destroy", name)


def test_qmp_server_answers_like_qemu(store, guests):
    name = create(store, guests, "idle")
    store.ok("vm", "start", name)
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(RUN_ROOT, name, "qmp.sock"))
    s.settimeout(LIMIT)
    f = s.makefile("rw")
    assert "QMP" in json.loads(f.readline())

    def ask(text):
        f.write(text + "\n")
        f.flush()
        return json.loads(f.readline())

    assert ask('{"execute": "qmp_capabilities", "id": 7}') == {"return": {}, "id": 7}
    assert ask('{"execute": "query-status"}')["return"]["status"] == "running"
    assert ask('{"execute": "nope"}')["error"]["class"] == "CommandNotFound"
    assert ask('{"execute": "system_reset"}')["error"]["class"] == "GenericError"
    assert ask('not json')["error"]["class"] == "GenericError"
    assert ask('[1, 2]')["error"]["class"] == "GenericError"
    assert ask('{"execute": 5}')["error"]["class"] == "GenericError"
    f.write("x" * 5000)  # no newline within the line limit: the server hangs up
    f.flush()
    try:
        assert f.readline() == ""
    except ConnectionResetError:
        pass  # closed with the rest unread: as good a hang-up
    s.close()
    assert store.state(name) == "running"  # a broken client does not hurt the VM
    store.ok("vm", "destroy", name)


def test_sigterm_stops_the_vm_cleanly(store, guests):
    name = create(store, guests, "idle")
    store.ok("vm", "start", name)
    pid = store.pid(name)
    os.kill(pid, 15)
    wait_for(lambda: not alive(pid), "the VMM to exit")
    assert store.state(name) == "shut off"  # not "crashed": it removed its pidfile
    assert run_files(name) == ["console.log", "owner"]


def test_startup_error_is_reported_by_start(store, guests, tmp_path):
    bad = tmp_path / "kernel"
    bad.write_bytes(b"not a kernel at all" * 10)
    name = store.name()
    store.ok("vm", "create", name, "--engine", "kvm", "--kernel", str(bad))
    one_error_line(store.run("vm", "start", name), "v12n's own VMM", str(bad))
    assert store.state(name) == "shut off"
    assert "qemu.pid" not in run_files(name)


def test_bad_definitions_create_nothing(store, guests, tmp_path):
    kernel = os.path.join(guests, "pvh.elf")
    qcow = str(tmp_path / "d.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow, "16M"], check=True)
    name = store.name()
    cases = [
        (["--engine", "kvm"], ["engine kvm", "--kernel"]),
        (["--engine", "kvm", "--kernel", kernel, "--disk", qcow], ["qcow2", "raw"]),
        (["--engine", "kvm", "--kernel", kernel, "--disk", "16M"], ["qcow2", "raw"]),
        (["--engine", "kvm", "--kernel", kernel, "--net", "user"], ["--net user", "engine kvm"]),
        (["--engine", "kvm", "--kernel", kernel, "--display", "vnc"], ["display"]),
    ]
    for args, needles in cases:
        one_error_line(store.run("vm", "create", name, *args), *needles)
    assert store.vms() == []
    # the same checks when a definition is changed to engine kvm
    raw = str(tmp_path / "d.raw")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    store.ok("vm", "create", name, "--kernel", kernel, "--disk", raw, "--net", "user")
    one_error_line(store.run("vm", "set", name, "--engine", "kvm"), "--net user")
    store.ok("vm", "set", name, "--engine", "kvm", "--net", "none")
    info = json.loads(store.ok("vm", "inspect", name).stdout)
    assert info["engine"] == "kvm" and info["disks"][0]["format"] == "raw"
