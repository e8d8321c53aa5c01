"""`v12n vm run` on the freestanding test guests (tests/guests): each boot
path, serial output and input, every way a guest can end, SMP, bad input."""

import os

import pytest

BOOT_FILES = [
    ("pvh.elf", "v12n test guest: pvh"),  # ELF with a PVH note: 32-bit entry
    ("vmlinux64.elf", "v12n test guest: 64-bit"),  # ELF without: long-mode entry
    ("bzimage64", "v12n test guest: 64-bit"),  # bzImage 64-bit boot protocol
]


@pytest.mark.parametrize("image,banner", BOOT_FILES)
def test_boots_prints_and_powers_off(vm_run, guests, image, banner):
    r = vm_run("--kernel", os.path.join(guests, image), "--cmdline", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == banner + "\nhello from the guest\n"
    assert r.stderr == ""


def test_guest_exit_code(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "exit=7")
    assert r.returncode == 7
    assert "guest exit" in r.stderr


def test_guest_exit_code_is_capped(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "exit=200")
    assert r.returncode == 63


@pytest.mark.parametrize("image", ["pvh.elf", "bzimage64"])
def test_reset_through_i8042(vm_run, guests, image):
    r = vm_run("--kernel", os.path.join(guests, image), "--cmdline", "reset")
    assert r.returncode == 64
    assert r.stderr.strip() == "v12n: vm: reset"


@pytest.mark.parametrize("image", ["pvh.elf", "vmlinux64.elf"])
def test_triple_fault(vm_run, guests, image):
    r = vm_run("--kernel", os.path.join(guests, image), "--cmdline", "triple")
    assert r.returncode == 65
    assert r.stderr.strip() == "v12n: vm: triple fault"


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_cpus_seen_and_started(vm_run, guests, cpus):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cpus", str(cpus), "--cmdline", "smp")
    assert r.returncode == 0, r.stderr
    assert "smp: mptable cpus=%d\n" % cpus in r.stdout
    assert "smp: online=%d\n" % cpus in r.stdout


def test_serial_input_reaches_the_guest(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "echo", input="ping\n")
    assert r.returncode == 0, r.stderr
    assert "echo: got ping\n" in r.stdout


def test_ctrl_a_x_quits(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "spin", input="\x01x")
    assert r.returncode == 66
    assert "quit" in r.stderr


def test_memory_sizes(vm_run, guests):
    for mem in ["16M", "1G", "3500M"]:  # 3500M straddles the MMIO hole at 3 GiB
        r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--memory", mem, "--cmdline", "hello")
        assert r.returncode == 0, (mem, r.stderr)


def _one_line_error(r):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("v12n: "), r.stderr
    return lines[0]


def test_no_kernel(vm_run):
    assert "--kernel FILE is required" in _one_line_error(vm_run())


def test_missing_kernel(vm_run, tmp_path):
    msg = _one_line_error(vm_run("--kernel", str(tmp_path / "nope")))
    assert "No such file or directory" in msg


def test_file_that_is_no_kernel(vm_run, tmp_path):
    f = tmp_path / "junk"
    f.write_bytes(b"this is not a kernel\n" * 100)
    msg = _one_line_error(vm_run("--kernel", str(f)))
    assert "neither an ELF vmlinux nor a bzImage" in msg


def test_truncated_elf(vm_run, guests, tmp_path):
    f = tmp_path / "short.elf"
    f.write_bytes(open(os.path.join(guests, "pvh.elf"), "rb").read()[:200])
    _one_line_error(vm_run("--kernel", str(f)))


def test_more_memory_than_the_host(vm_run, guests):
    msg = _one_line_error(vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--memory", "100000G"))
    assert "the host has" in msg


@pytest.mark.parametrize("flag,value", [("--cpus", "0"), ("--cpus", "x"), ("--memory", "lots")])
def test_bad_flags(vm_run, guests, flag, value):
    _one_line_error(vm_run("--kernel", os.path.join(guests, "pvh.elf"), flag, value))


def test_initrd_and_cmdline_reach_the_guest_memory(vm_run, guests, tmp_path):
    initrd = tmp_path / "initrd"
    initrd.write_bytes(os.urandom(1 << 20))
    r = vm_run("--kernel", os.path.join(guests, "bzimage64"), "--initrd", str(initrd), "--cmdline", "hello")
    assert r.returncode == 0, r.stderr


def test_vcpu_and_loop_threads_run_under_seccomp(v12n, guests):
    import subprocess
    import time

    p = subprocess.Popen([v12n, "vm", "run", "--kernel", os.path.join(guests, "pvh.elf"), "--cpus", "2",
                          "--cmdline", "spin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.stdout.read(1)  # the guest runs
        modes = []
        for _ in range(100):  # the second vCPU's thread may still be starting
            modes = {}
            for tid in os.listdir("/proc/%d/task" % p.pid):
                with open("/proc/%d/task/%s/status" % (p.pid, tid)) as f:
                    st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
                modes[st["Name"]] = st["Seccomp"]
            if modes.get("vcpu0") == "2" and modes.get("vcpu1") == "2" and modes.get("vmm-loop") == "2":
                break
            time.sleep(0.05)
        assert modes.get("vcpu0") == "2" and modes.get("vcpu1") == "2", modes
        assert modes.get("vmm-loop") == "2", modes
        p.stdin.write(b"\x01x")
        p.stdin.flush()
        assert p.wait(timeout=30) == 66
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("image", ["pvh.elf", "bzimage64"])
def test_acpi_madt_and_poweroff_through_the_fadt(vm_run, guests, image):
    r = vm_run("--kernel", os.path.join(guests, image), "--cpus", "3", "--cmdline", "acpi")
    assert "acpi: madt cpus=3\n" in r.stdout, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr  # S5 through the sleep-control port


def test_cmos_rtc_has_the_host_year(vm_run, guests):
    import time

    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "rtc")
    assert r.returncode == 0, r.stderr
    assert "rtc: year=%d\n" % time.gmtime().tm_year in r.stdout


def test_cpuid_kvm_signature_kvmclock_and_pvm_hiding(vm_run, guests):
    r = vm_run("--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "cpuid")
    assert r.returncode == 0, r.stderr
    assert "hypervisor=1" in r.stdout and "signature=KVMKVMKVM" in r.stdout, r.stdout
    assert "kvmclock=1" in r.stdout
    if os.path.exists("/sys/module/kvm_pvm"):
        assert "cx16=0" in r.stdout  # the PVM emulator cannot run cmpxchg16b


@pytest.mark.parametrize("how", ["ctrl-a-x", "sigterm"])
def test_terminal_is_raw_while_running_and_restored(v12n, guests, how):
    # On a terminal the VMM switches it to raw mode and restores it however
    # it ends: Ctrl-a x, or SIGTERM (which only the unconfined main thread
    # takes: the seccomp-confined threads block it).
    import pty
    import signal
    import subprocess
    import termios

    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([v12n, "vm", "run", "--kernel", os.path.join(guests, "pvh.elf"), "--cmdline", "spin"],
                             stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            p.stdout.read(1)  # the guest runs, so the terminal is raw by now
            lflag = termios.tcgetattr(slave)[3]
            assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
            if how == "ctrl-a-x":
                os.write(master, b"\x01x")
                assert p.wait(timeout=30) == 66
            else:
                p.send_signal(signal.SIGTERM)
                assert p.wait(timeout=30) == -signal.SIGTERM
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
