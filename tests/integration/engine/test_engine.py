"""The container engine end to end: run and its exit codes, detached
containers with logs, wait and stop, cleanup after --rm and rm -f, the run
options, an interactive pty session with detach and attach, exec, ps, cp,
rename, prune, and the CVE-2019-5736 protection of engine containers."""

import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from engine_leftovers import cgroups_named, mounts_under, processes_with


def wait_until(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# ---------------------------------------------------------------- exit codes


def test_run_true_exits_0_and_prints_output(engine):
    r = engine("run", "--rm", "busybox", "echo", "hello world")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello world\n", "")


def test_run_returns_the_container_exit_code_and_splits_streams(engine):
    r = engine("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_command_not_found_is_127(engine):
    assert engine("run", "--rm", "busybox", "/no/such/program").returncode == 127


def test_command_not_executable_is_126(engine):
    assert engine("run", "--rm", "busybox", "/etc/passwd").returncode == 126


def test_bad_option_is_125_with_one_line(engine):
    r = engine("run", "--no-such-option", "busybox", "true")
    assert r.returncode == 125
    assert r.stderr.startswith("v12n: ") and r.stderr.count("\n") == 1


def test_unknown_image_is_125(engine):
    r = engine("run", "--rm", "127.0.0.1:1/nothing/here:1", "true")
    assert r.returncode == 125
    assert r.stderr.startswith("v12n: ")
    assert engine.container_dirs() == []


def test_duplicate_name_is_refused(engine):
    engine.ok("run", "--name", "twice", "busybox", "true")
    r = engine("run", "--name", "twice", "busybox", "true")
    assert r.returncode == 125 and "already in use" in r.stderr


def test_concurrent_runs_with_one_name_one_wins(engine):
    procs = [subprocess.Popen(engine.argv("run", "--name", "race", "busybox", "true"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=engine.env) for _ in range(6)]
    codes = [p.wait(timeout=60) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert sorted(codes) == [0] + [125] * 5
    assert len(engine.container_dirs()) == 1


# ------------------------------------------------------ detached containers


def test_detached_logs_wait_and_stop(engine):
    cid = engine.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                    "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; sleep 1000").strip()
    assert len(cid) == 64
    wait_until(lambda: "three" in engine.ok("logs", "ticker"), what="logs")
    r = engine("logs", "ticker")
    assert (r.stdout, r.stderr) == ("one\nthree\n", "two\n")
    assert engine.ok("logs", "--tail", "1", "ticker") == "three\n"
    stamped = engine.ok("logs", "-t", "ticker").splitlines()[0]
    assert stamped.endswith(" one") and stamped[:4].isdigit() and "T" in stamped
    info = engine.inspect("ticker")
    assert info["State"] == "running" and info["Pid"] > 0
    # sh as pid 1 ignores SIGTERM: stop falls back to SIGKILL
    engine.ok("stop", "-t", "1", cid[:12])
    info = engine.inspect("ticker")
    assert (info["State"], info["ExitCode"]) == ("exited", 137)
    assert not os.path.exists("/proc/%d" % info["Pid"]) or info["Pid"] == 0


def test_wait_prints_exit_code(engine):
    engine.ok("run", "-d", "--name", "waiter", "busybox", "sh", "-c", "sleep 0.3; exit 5")
    assert engine.ok("wait", "waiter") == "5\n"
    # an exited container: the record answers
    assert engine.ok("wait", "waiter") == "5\n"


def test_logs_follow_ends_when_container_exits(engine):
    engine.ok("run", "-d", "--name", "follow", "busybox", "sh", "-c",
              "for i in 1 2 3; do echo line$i; sleep 0.1; done")
    out = engine.ok("logs", "-f", "follow", timeout=20)
    assert out == "line1\nline2\nline3\n"


def test_start_again_and_restart(engine):
    engine.ok("run", "--name", "again", "busybox", "sh", "-c", "echo ran")
    assert engine.ok("start", "-a", "again") == "ran\n"
    assert engine.ok("logs", "again") == "ran\nran\n"
    engine.ok("run", "-d", "--name", "rs", "busybox", "sleep", "1000")
    pid = engine.inspect("rs")["Pid"]
    engine.ok("restart", "-t", "1", "rs")
    info = engine.inspect("rs")
    assert info["State"] == "running" and info["Pid"] != pid


def test_signals_to_the_cli_reach_the_container(engine):
    p = subprocess.Popen(engine.argv("run", "--rm", "busybox", "sh", "-c",
                                     'trap "echo got TERM; exit 5" TERM; echo ready; '
                                     'while true; do sleep 0.1; done'),
                         stdout=subprocess.PIPE, text=True, env=engine.env)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 5
    assert p.stdout.read() == "got TERM\n"


def test_kill_with_signal(engine):
    engine.ok("run", "-d", "--name", "victim", "busybox", "sleep", "1000")
    engine.ok("kill", "-s", "KILL", "victim")
    assert engine.ok("wait", "victim") == "137\n"


# ----------------------------------------------------------------- cleanup


def _assert_gone(engine, cid, pid, monitor_pid):
    assert cid not in engine.container_dirs()
    assert cid not in engine.runtime_states()
    assert not [m for m in mounts_under(engine.root) if cid in m]
    assert cgroups_named(cid) == []
    for p in (pid, monitor_pid):
        if p:
            wait_until(lambda: not os.path.exists("/proc/%d" % p), 5, "process %d to go" % p)


def test_rm_flag_leaves_nothing(engine):
    r = engine("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "exit 4")
    assert r.returncode == 4
    assert "gone" not in engine.ok("ps", "-a")
    assert engine.container_dirs() == []
    assert not mounts_under(os.path.join(engine.root, "containers"))
    assert engine.runtime_states() == []


def test_containers_pin_their_image_with_one_file_each(engine):
    image_id = json.loads(engine.ok("image", "inspect", "busybox"))[0]["Id"]
    pins = os.path.join(engine.root, "pins", image_id[7:])
    index = os.path.join(engine.root, "images.json")
    before = os.stat(index).st_ino
    cid = engine.ok("run", "-d", "busybox", "sleep", "1000").strip()
    assert os.listdir(pins) == ["container " + cid]
    r = engine("rmi", "busybox")
    assert r.returncode == 1 and "container %s is using it" % cid in r.stderr, r
    engine.ok("rm", "-f", cid)
    assert os.listdir(pins) == []
    assert engine("run", "--rm", "busybox", "true").returncode == 0
    assert os.listdir(pins) == []
    assert os.stat(index).st_ino == before  # images.json was never rewritten


def test_only_rm_containers_have_a_volatile_upper(engine):
    def options(cid):
        point = os.path.join(engine.root, "containers", cid, "rootfs")
        lines = [l for l in open("/proc/self/mountinfo") if l.split()[4] == point]
        assert len(lines) == 1, lines
        return lines[0]
    gone = engine.ok("run", "-d", "--rm", "busybox", "sleep", "1000").strip()
    kept = engine.ok("run", "-d", "busybox", "sleep", "1000").strip()
    assert "volatile" in options(gone)  # no sync of the host filesystem at its unmount
    assert "volatile" not in options(kept)
    engine.ok("rm", "-f", gone, kept)


def test_rm_flag_deletes_hidden_leftovers_after_the_exit_code(engine):
    # what a monitor killed between hiding and deleting a directory leaves
    stale = os.path.join(engine.root, "containers", ".removing-" + "0" * 64)
    os.makedirs(os.path.join(stale, "upper", "etc"))
    with open(os.path.join(stale, "upper", "etc", "f"), "w") as f:
        f.write("x")
    assert engine.ok("ps", "-a").count("\n") == 1
    assert engine("run", "--rm", "busybox", "true").returncode == 0
    containers = os.path.join(engine.root, "containers")
    wait_until(lambda: not [n for n in os.listdir(containers) if n.startswith(".removing-")],
               10, "the hidden directories' deletion")
    assert engine.container_dirs() == []


def test_run_longer_than_the_monitors_grace_keeps_output_and_exit_code(engine):
    # past 250 ms the monitor becomes v12n-monitor with the client attached
    r = engine("run", "--rm", "busybox", "sh", "-c", "echo before; sleep 0.6; echo after; exit 6")
    assert r.returncode == 6
    assert r.stdout == "before\nafter\n"
    assert engine.container_dirs() == []


def test_rm_force_of_running_container_leaves_nothing(engine):
    cid = engine.ok("run", "-d", "busybox", "sleep", "1000").strip()
    info = engine.inspect(cid)
    r = engine("rm", cid)
    assert r.returncode != 0 and "running" in r.stderr
    engine.ok("rm", "-f", cid)
    _assert_gone(engine, cid, info["Pid"], 0)


def test_a_killed_monitor_is_reported_and_cleaned_up(engine):
    engine.ok("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
    info = engine.inspect("orphan")
    rec = os.path.join(engine.root, "containers", info["Id"], "record.json")
    with open(rec) as f:
        monitor = json.load(f)["monitor_pid"]
    os.kill(monitor, signal.SIGKILL)
    wait_until(lambda: not os.path.exists("/proc/%d" % monitor), 5, "the monitor to die")
    assert engine.inspect("orphan")["State"] == "exited"
    # start cleans the runtime's leftovers and runs it again
    engine.ok("start", "orphan")
    assert engine.inspect("orphan")["State"] == "running"
    wait_until(lambda: not os.path.exists("/proc/%d" % info["Pid"]), 5, "the old init to go")
    engine.ok("rm", "-f", "orphan")
    _assert_gone(engine, info["Id"], info["Pid"], 0)


def test_detached_rm_removes_itself(engine):
    cid = engine.ok("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.2").strip()
    wait_until(lambda: cid not in engine.container_dirs(), 10, "--rm removal")
    _assert_gone(engine, cid, 0, 0)


def test_rm_unpins_image(engine):
    engine.ok("run", "--name", "pinner", "busybox", "true")
    r = engine("rmi", "busybox")
    assert r.returncode != 0 and "container" in r.stderr
    engine.ok("rm", "pinner")
    images = json.loads(engine.ok("image", "inspect", "busybox"))
    assert not images[0].get("Pins") and not images[0].get("pins")


# ----------------------------------------------------------------- options


def test_env_workdir_user_hostname(engine):
    out = engine.ok("run", "--rm", "-e", "GREETING=hi there", "-w", "/tmp", "-u", "1000:1001",
                    "--hostname", "box", "busybox", "sh", "-c",
                    'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)"')
    assert out == "hi there|/tmp|1000:1001|box\n"


def test_volumes_read_write_and_read_only(engine, tmp_path):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "given").write_text("from host\n")
    out = engine.ok("run", "--rm", "-v", "%s:/data" % rw, "-v", "%s:/in:ro" % ro, "busybox",
                    "sh", "-c", "echo made > /data/made; cat /in/given; "
                    "echo x > /in/nope 2>/dev/null && echo writable || echo refused")
    assert out == "from host\nrefused\n"
    assert (rw / "made").read_text() == "made\n"


def test_read_only_rootfs(engine):
    r = engine("run", "--rm", "--read-only", "busybox", "sh", "-c", "echo x > /file")
    assert r.returncode != 0 and "Read-only" in r.stderr


def test_writes_stay_in_the_container(engine):
    engine.ok("run", "--name", "writer", "busybox", "sh", "-c", "echo kept > /kept")
    engine.ok("run", "--rm", "busybox", "sh", "-c", "test ! -e /kept")
    assert engine.ok("start", "-a", "writer") == ""
    out = engine.ok("run", "--rm", "busybox", "cat", "/etc/hostname")
    assert len(out.strip()) == 12


# --------------------------------------------------------- interactive pty


def _read_until(fd, text, timeout=15):
    buf = b""
    end = time.monotonic() + timeout
    while text.encode() not in buf:
        left = end - time.monotonic()
        assert left > 0, "never saw %r in %r" % (text, buf)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    assert text.encode() in buf, "never saw %r in %r" % (text, buf)
    return buf


def _spawn_in_pty(engine, *args):
    master, slave = pty.openpty()
    p = subprocess.Popen(engine.argv(*args), stdin=slave, stdout=slave, stderr=slave,
                         env=engine.env, start_new_session=True)
    os.close(slave)
    return p, master


def test_interactive_session_detach_and_attach(engine):
    p, master = _spawn_in_pty(engine, "run", "-it", "--name", "shell", "busybox", "sh")
    try:
        os.write(master, b"echo sum=$((40+2))\n")
        _read_until(master, "sum=42")
        os.write(master, b"stty size\n")
        _read_until(master, "\n")
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        assert p.wait(timeout=15) == 0
    finally:
        os.close(master)
    assert engine.inspect("shell")["State"] == "running"
    p, master = _spawn_in_pty(engine, "attach", "shell")
    try:
        os.write(master, b"echo again=$((2*3))\n")
        _read_until(master, "again=6")
        os.write(master, b"exit 7\n")
        assert p.wait(timeout=15) == 7
    finally:
        os.close(master)
    assert engine.inspect("shell")["ExitCode"] == 7


def test_interactive_without_tty_pipes_stdin(engine):
    r = engine("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert (r.returncode, r.stdout) == (0, "SHOUT\n")


# -------------------------------------------------------------------- exec


def test_exec_into_running_container(engine):
    engine.ok("run", "-d", "--name", "host", "busybox", "sleep", "1000")
    assert engine.ok("exec", "-e", "X=1", "-w", "/etc", "-u", "2:3", "host", "sh", "-c",
                     'echo "$X $(pwd) $(id -u):$(id -g)"') == "1 /etc 2:3\n"
    assert engine.ok("exec", "-u", "nobody", "host", "id", "-un") == "nobody\n"
    assert engine("exec", "-u", "nosuchuser", "host", "true").returncode == 125
    assert engine("exec", "host", "sh", "-c", "exit 9").returncode == 9
    assert engine("exec", "host", "/nope").returncode in (126, 127)
    top = engine.ok("top", "host")
    assert "sleep 1000" in top


def test_monitor_is_the_small_static_one(engine):
    """Once the container runs, its monitor is v12n-monitor, not the full
    v12n (50 of them must fit in 50 MiB)."""
    engine.ok("run", "-d", "--name", "watched", "busybox", "sleep", "1000")
    rec = os.path.join(engine.root, "containers", engine.inspect("watched")["Id"], "record.json")
    with open(rec) as f:
        monitor = json.load(f)["monitor_pid"]
    exe = os.path.basename(os.readlink("/proc/%d/exe" % monitor))
    assert exe == "v12n-monitor"
    with open("/proc/%d/status" % monitor) as f:
        rss = int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    sanitized = "build-asan" in engine.binary
    assert sanitized or rss < 1024, "monitor RSS %d KiB" % rss
    # it still serves: logs, exec, stop
    assert engine.ok("exec", "watched", "echo", "alive") == "alive\n"
    engine.ok("stop", "-t", "1", "watched")
    assert engine.inspect("watched")["State"] == "exited"


def test_exec_into_stopped_container_is_125(engine):
    engine.ok("run", "--name", "stopped", "busybox", "true")
    assert engine("exec", "stopped", "true").returncode == 125


# ------------------------------------------------- ps, rename, prune, cp


def test_ps_and_json_format(engine):
    cid = engine.ok("run", "-d", "--name", "listed", "busybox", "sleep", "1000").strip()
    engine.ok("run", "--name", "done", "busybox", "true")
    running = engine.ok("ps")
    assert "listed" in running and "done" not in running and cid[:12] in running
    assert "done" in engine.ok("ps", "-a")
    assert engine.ok("ps", "-q").split() == [cid[:12]]
    rows = [json.loads(l) for l in engine.ok("ps", "-a", "--format", "json").splitlines()]
    byname = {r["Name"]: r for r in rows}
    assert byname["listed"]["State"] == "running" and byname["listed"]["Id"] == cid
    assert byname["done"]["State"] == "exited" and byname["done"]["ExitCode"] == 0


def test_lookup_by_prefix_and_names(engine):
    cid = engine.ok("run", "--name", "named", "busybox", "true").strip() or \
        engine.inspect("named")["Id"]
    assert engine.inspect(cid[:6])["Name"] == "named"
    assert engine("inspect", "no-such-container").returncode != 0
    generated = engine.inspect(engine.ok("run", "-d", "busybox", "true").strip())["Name"]
    assert "_" in generated


def test_rename(engine):
    engine.ok("run", "--name", "old", "busybox", "true")
    engine.ok("run", "--name", "other", "busybox", "true")
    assert engine("rename", "old", "other").returncode != 0
    engine.ok("rename", "old", "new")
    assert engine.inspect("new")["Name"] == "new"
    assert engine("inspect", "old").returncode != 0


def test_prune_removes_only_stopped(engine):
    engine.ok("run", "--name", "p1", "busybox", "true")
    engine.ok("run", "-d", "--name", "p2", "busybox", "sleep", "1000")
    out = engine.ok("container", "prune")
    assert engine.inspect("p2")["State"] == "running"
    assert engine("inspect", "p1").returncode != 0
    assert "Deleted" in out


def test_cp_both_ways(engine, tmp_path):
    engine.ok("run", "-d", "--name", "files", "busybox", "sleep", "1000")
    src = tmp_path / "in.txt"
    src.write_text("to the container\n")
    engine.ok("cp", str(src), "files:/tmp/")
    assert engine.ok("exec", "files", "cat", "/tmp/in.txt") == "to the container\n"
    engine.ok("exec", "files", "sh", "-c", "mkdir -p /out/sub; echo back > /out/sub/f")
    engine.ok("cp", "files:/out", str(tmp_path / "got"))
    assert (tmp_path / "got" / "sub" / "f").read_text() == "back\n"


def test_cp_does_not_follow_symlinks_out_of_the_rootfs(engine, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("host only\n")
    engine.ok("run", "--name", "linky", "busybox", "ln", "-s", str(secret), "/escape")
    dest = tmp_path / "copy"
    r = engine("cp", "linky:/escape", str(dest))
    # resolved inside the rootfs, where that path does not exist
    assert r.returncode != 0 and not dest.exists()
    engine.ok("cp", str(tmp_path / "secret"), "linky:/escape-dir-target")
    assert secret.read_text() == "host only\n"


# ------------------------------------------------------ CVE-2019-5736


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_engine_containers_cannot_overwrite_the_host_binary(engine):
    before = _sha256(engine.binary)
    engine.ok("run", "-d", "--name", "evil", "busybox", "sleep", "1000")
    engine("exec", "evil", "sh", "-c",
           "for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; true")
    engine("run", "--rm", "busybox", "sh", "-c",
           "for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; true")
    assert _sha256(engine.binary) == before
    # the monitor itself does not run the host binary
    mon = [p for p in processes_with(engine.root) if p != os.getpid()]
    for pid in mon:
        try:
            st = os.stat("/proc/%d/exe" % pid)
        except OSError:
            continue
        host = os.stat(engine.binary)
        if (st.st_dev, st.st_ino) == (host.st_dev, host.st_ino):
            # same file only through a read-only bind mount
            with pytest.raises(OSError):
                os.open("/proc/%d/exe" % pid, os.O_WRONLY)
