"""The runtime's commands, with runc's CLI semantics."""

import calendar
import json
import os
import signal
import socket
import time

import pytest

import helpers

SLEEP = ["sleep", "1000"]


def test_spec_writes_valid_json_with_oci_version(ct):
    d = ct.host_dir("spec")
    r = ct.rt.ok("spec", cwd=d)
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    assert isinstance(config.get("ociVersion"), str) and config["ociVersion"].startswith("1."), config
    assert config["process"]["args"], config
    assert config["root"]["path"] == "rootfs"
    assert r.rc == 0


def test_spec_refuses_to_overwrite_config(ct):
    d = ct.host_dir("spec")
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write("keep me")
    ct.rt.fail("spec", cwd=d)
    assert helpers.read_file(os.path.join(d, "config.json")) == "keep me"


def test_create_gives_created_state_with_live_pid(ct):
    b, _ = ct.created(args=SLEEP)
    st = ct.rt.state(b.id)
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert helpers.pid_alive(st["pid"])


def test_start_runs_then_stops_when_process_exits(ct):
    b, r = ct.created(args=["sh", "-c", "sleep 0.5; echo done"])
    ct.rt.start(b.id)
    assert ct.rt.status(b.id) == "running"
    ct.rt.wait_status(b.id, "stopped", timeout=10)
    assert r.out.strip() == "done"


def test_start_twice_fails(ct):
    b, _ = ct.started(args=SLEEP)
    ct.rt.fail("start", b.id)
    assert ct.rt.status(b.id) == "running"


def test_state_fields(ct):
    def cfg(c):
        c["annotations"] = {"org.v12n.test": "yes"}

    before = time.time()
    b, _ = ct.created(cfg, args=SLEEP)
    st = ct.rt.state(b.id)
    assert st["ociVersion"].startswith("1.")
    assert st["id"] == b.id
    assert st["status"] == "created"
    assert st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert st["annotations"] == {"org.v12n.test": "yes"}
    # runc extras that clients (podman, containerd) read
    assert os.path.realpath(st["rootfs"]) == os.path.realpath(b.rootfs)
    created = st["created"]
    assert created.endswith("Z") and "T" in created, created
    # RFC 3339 with fraction: compare the seconds part only
    secs = calendar.timegm(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S"))
    assert before - 2 <= secs <= time.time() + 2


def test_state_of_unknown_container_fails(ct):
    r = ct.rt.fail("state", "no-such-container")
    assert r.err.strip()


TRAP = 'trap "echo got-$SIG; exit 0" %s; echo ready; while :; do sleep 0.05; done'


def _trapping(ct, sig):
    b, r = ct.started(args=["sh", "-c", TRAP.replace("$SIG", sig) % sig])
    helpers.wait_for(lambda: "ready" in r.out, what="container ready")
    return b, r


def test_kill_by_name_term(ct):
    b, r = _trapping(ct, "TERM")
    ct.rt.ok("kill", b.id, "TERM")
    ct.rt.wait_status(b.id, "stopped")
    assert "got-TERM" in r.out


def test_kill_by_name_with_sig_prefix(ct):
    b, r = _trapping(ct, "USR2")
    ct.rt.ok("kill", b.id, "SIGUSR2")
    ct.rt.wait_status(b.id, "stopped")
    assert "got-USR2" in r.out


def test_kill_sigkill(ct):
    b, _ = ct.started(args=SLEEP)
    pid = ct.rt.state(b.id)["pid"]
    ct.rt.ok("kill", b.id, "SIGKILL")
    ct.rt.wait_status(b.id, "stopped")
    assert not helpers.pid_alive(pid)


def test_kill_by_number(ct):
    b, r = _trapping(ct, "USR1")
    ct.rt.ok("kill", b.id, str(int(signal.SIGUSR1)))
    ct.rt.wait_status(b.id, "stopped")
    assert "got-USR1" in r.out


def test_kill_default_signal_is_term(ct):
    b, r = _trapping(ct, "TERM")
    ct.rt.ok("kill", b.id)
    ct.rt.wait_status(b.id, "stopped")
    assert "got-TERM" in r.out


def test_kill_all(ct):
    b, r = ct.started(args=["sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait"])
    helpers.wait_for(lambda: "ready" in r.out, what="container ready")
    pids = helpers.wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(
        json.loads(ct.rt.ok("ps", "--format", "json", b.id).out)), what="3 processes")
    ct.rt.ok("kill", "--all", b.id, "KILL")
    ct.rt.wait_status(b.id, "stopped")
    helpers.wait_for(lambda: not any(helpers.pid_alive(p) for p in pids), what="all processes gone")


def test_delete_stopped(ct):
    b, _ = ct.started(args=["true"])
    ct.rt.wait_status(b.id, "stopped")
    ct.rt.ok("delete", b.id)
    assert ct.rt.status(b.id) is None
    assert b.id not in ct.rt.list_ids()
    assert helpers.cgroup_dirs_of(b.id) == []


def test_delete_running_without_force_fails(ct):
    b, _ = ct.started(args=SLEEP)
    ct.rt.fail("delete", b.id)
    assert ct.rt.status(b.id) == "running"


def test_delete_force_running(ct):
    b, _ = ct.started(args=SLEEP)
    pid = ct.rt.state(b.id)["pid"]
    ct.rt.ok("delete", "--force", b.id)
    assert ct.rt.status(b.id) is None
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="init gone")
    assert helpers.cgroup_dirs_of(b.id) == []


def test_delete_force_created(ct):
    b, _ = ct.created(args=SLEEP)
    pid = ct.rt.state(b.id)["pid"]
    ct.rt.ok("delete", "--force", b.id)
    assert ct.rt.status(b.id) is None
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="init gone")
    assert helpers.cgroup_dirs_of(b.id) == []


def test_delete_created_without_force(ct):
    # runc deletes a created container without --force (kills the waiting init)
    b, _ = ct.created(args=SLEEP)
    pid = ct.rt.state(b.id)["pid"]
    ct.rt.ok("delete", b.id)
    assert ct.rt.status(b.id) is None
    helpers.wait_for(lambda: not helpers.pid_alive(pid), what="init gone")


def test_run_foreground_propagates_exit_code(ct):
    r = ct.sh("echo out; echo err >&2; exit 3")
    assert r.rc == 3, r
    assert r.out == "out\n"
    assert "err" in r.err


def test_run_foreground_zero_exit_and_deletes(ct):
    b = ct.make_bundle(args=["true"])
    r = ct.rt.run(b)
    assert r.rc == 0, r
    assert ct.rt.status(b.id) is None


def test_run_foreground_exit_code_of_killed_process(ct):
    b = ct.make_bundle(args=SLEEP)
    fg = ct.rt.spawn("run", "--bundle", b.path, b.id)
    try:
        ct.rt.wait_status(b.id, "running")
        ct.rt.ok("kill", b.id, "KILL")
        r = fg.wait(20)
    finally:
        fg.kill()
    assert r.rc == 128 + 9, r


def test_run_detach(ct):
    b = ct.make_bundle(args=["sh", "-c", "echo detached; sleep 1000"])
    t0 = time.monotonic()
    r = ct.rt.cmd("run", "--detach", "--bundle", b.path, b.id)
    assert r.rc == 0, r
    assert time.monotonic() - t0 < 10
    assert ct.rt.status(b.id) == "running"
    helpers.wait_for(lambda: "detached" in r.out, what="container output")


def test_exec_with_args(ct):
    b, _ = ct.started(args=SLEEP)
    r = ct.rt.ok("exec", b.id, "sh", "-c", "echo exec-$((1+2)); exit 0")
    assert r.out == "exec-3\n"


def test_exec_exit_code(ct):
    b, _ = ct.started(args=SLEEP)
    r = ct.rt.cmd("exec", b.id, "sh", "-c", "exit 7")
    assert r.rc == 7, r


def test_exec_joins_container_namespaces(ct):
    b, _ = ct.started(args=SLEEP)
    pid = ct.rt.state(b.id)["pid"]
    r = ct.rt.ok("exec", b.id, "sh", "-c", "for n in pid mnt net; do readlink /proc/self/ns/$n; done")
    want = [os.readlink("/proc/%d/ns/%s" % (pid, ns)) for ns in ("pid", "mnt", "net")]
    assert r.out.split() == want


def test_exec_process_file(ct):
    b, _ = ct.started(args=SLEEP)
    proc = dict(ct.spec_template["process"])
    proc.update(
        {
            "terminal": False,
            "args": ["sh", "-c", 'echo "$GREETING from $(pwd) as $(id -u)"'],
            "env": ["PATH=/bin", "GREETING=hello"],
            "cwd": "/tmp",
            "user": {"uid": 1000, "gid": 1000},
        }
    )
    pfile = ct.path("process.json")
    with open(pfile, "w") as f:
        json.dump(proc, f)
    r = ct.rt.ok("exec", "--process", pfile, b.id)
    assert r.out == "hello from /tmp as 1000\n"


def test_exec_env(ct):
    b, _ = ct.started(args=SLEEP)
    r = ct.rt.ok("exec", "--env", "FOO=bar", "--env", "BAZ=q u x", b.id, "sh", "-c", 'echo "$FOO|$BAZ"')
    assert r.out == "bar|q u x\n"


def test_exec_env_keeps_container_env(ct):
    def cfg(c):
        c["process"]["env"].append("FROM_CONFIG=1")

    b, _ = ct.started(cfg, args=SLEEP)
    r = ct.rt.ok("exec", "--env", "EXTRA=2", b.id, "sh", "-c", 'echo "$FROM_CONFIG$EXTRA"')
    assert r.out == "12\n"


def test_exec_cwd(ct):
    b, _ = ct.started(args=SLEEP)
    r = ct.rt.ok("exec", "--cwd", "/etc", b.id, "pwd")
    assert r.out == "/etc\n"


def test_exec_user(ct):
    b, _ = ct.started(args=SLEEP)
    r = ct.rt.ok("exec", "--user", "1000:1000", b.id, "id", "-u")
    assert r.out == "1000\n"


def test_exec_tty_via_console_socket(ct):
    # runc semantics: --console-socket needs --detach (a foreground exec
    # --tty proxies the pty to its own stdio instead)
    b, _ = ct.started(args=SLEEP)
    sock_path = ct.path("exec-console.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(sock_path)
        listener.listen(1)
        ex = ct.rt.spawn("exec", "--detach", "--tty", "--console-socket", sock_path, b.id,
                         "sh", "-c", "tty; echo exec-hi; sleep 0.3")
        try:
            master = helpers.recv_fd(listener)
            try:
                r = ex.wait(20)
                assert r.rc == 0, r
                text = helpers.read_pty_until(master, "exec-hi")
            finally:
                os.close(master)
        finally:
            ex.kill()
    assert "/dev/pts/" in text, text
    assert "exec-hi" in text


def test_exec_detach_pid_file(ct):
    b, _ = ct.started(args=SLEEP)
    pid_file = ct.path("exec.pid")
    ct.rt.ok("exec", "--detach", "--pid-file", pid_file, b.id, "sleep", "999")
    pid = int(helpers.read_file(pid_file).strip())
    assert helpers.pid_alive(pid)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"999"]
    init = ct.rt.state(b.id)["pid"]
    assert os.readlink("/proc/%d/ns/pid" % pid) == os.readlink("/proc/%d/ns/pid" % init)


def test_exec_in_stopped_container_fails(ct):
    b, _ = ct.started(args=["true"])
    ct.rt.wait_status(b.id, "stopped")
    ct.rt.fail("exec", b.id, "true")


def test_list_text(ct):
    b1, _ = ct.created(args=SLEEP)
    b2, _ = ct.started(args=SLEEP)
    out = ct.rt.ok("list").out.splitlines()
    assert out[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {line.split()[0]: line.split() for line in out[1:] if line.strip()}
    assert rows[b1.id][2] == "created"
    assert rows[b2.id][2] == "running"
    assert int(rows[b2.id][1]) == ct.rt.state(b2.id)["pid"]


def test_list_quiet(ct):
    b, _ = ct.created(args=SLEEP)
    assert ct.rt.ok("list", "-q").out.split() == [b.id]


def test_list_json(ct):
    b1, _ = ct.created(args=SLEEP)
    b2, _ = ct.started(args=SLEEP)
    entries = {c["id"]: c for c in json.loads(ct.rt.ok("list", "--format", "json").out)}
    assert set(entries) == {b1.id, b2.id}
    assert entries[b1.id]["status"] == "created"
    assert entries[b2.id]["status"] == "running"
    assert entries[b2.id]["pid"] == ct.rt.state(b2.id)["pid"]
    assert os.path.realpath(entries[b2.id]["bundle"]) == os.path.realpath(b2.path)


def test_list_empty_root(ct):
    assert ct.rt.list_json() == []


def test_ps_json_gives_pids(ct):
    b, r = ct.started(args=["sh", "-c", "sleep 1000 & echo ready; wait"])
    helpers.wait_for(lambda: "ready" in r.out, what="container ready")
    init = ct.rt.state(b.id)["pid"]

    def two():
        pids = json.loads(ct.rt.ok("ps", "--format", "json", b.id).out)
        return pids if len(pids) == 2 else None

    pids = helpers.wait_for(two, what="two processes")
    assert init in pids
    other = [p for p in pids if p != init][0]
    with open("/proc/%d/cmdline" % other, "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"


def test_ps_table(ct):
    b, _ = ct.started(args=SLEEP)
    out = ct.rt.ok("ps", b.id).out
    assert "PID" in out.splitlines()[0]
    assert "sleep" in out


COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; usleep 20000; done"


def _read_count(b):
    def get():
        try:
            return int(helpers.read_file(os.path.join(b.rootfs, "tmp", "count")))
        except (OSError, ValueError):
            return None

    return helpers.wait_for(get, what="counter")


def test_pause_resume_state(ct):
    b, _ = ct.started(args=SLEEP)
    ct.rt.ok("pause", b.id)
    assert ct.rt.status(b.id) == "paused"
    ct.rt.ok("resume", b.id)
    assert ct.rt.status(b.id) == "running"


def test_paused_container_makes_no_progress(ct):
    b, _ = ct.started(args=["sh", "-c", COUNTER])
    first = _read_count(b)
    helpers.wait_for(lambda: _read_count(b) > first, what="counter to move")
    ct.rt.ok("pause", b.id)
    frozen = _read_count(b)
    time.sleep(0.5)
    assert _read_count(b) == frozen
    ct.rt.ok("resume", b.id)
    helpers.wait_for(lambda: _read_count(b) > frozen + 2, what="counter to move after resume")


def test_pause_of_stopped_container_fails(ct):
    b, _ = ct.started(args=["true"])
    ct.rt.wait_status(b.id, "stopped")
    ct.rt.fail("pause", b.id)
    assert ct.rt.status(b.id) == "stopped"


def test_delete_force_paused(ct):
    b, _ = ct.started(args=SLEEP)
    ct.rt.ok("pause", b.id)
    ct.rt.ok("delete", "--force", b.id)
    assert ct.rt.status(b.id) is None


def _pids_max(cid):
    return helpers.read_file(helpers.cgroup_file(cid, "pids", "pids.max")).strip()


def test_update_resources_file_changes_pids_limit(ct):
    b, _ = ct.started(args=SLEEP)
    res = ct.path("resources.json")
    with open(res, "w") as f:
        json.dump({"pids": {"limit": 77}}, f)
    ct.rt.ok("update", "--resources", res, b.id)
    assert _pids_max(b.id) == "77"


def test_update_resources_from_stdin(ct):
    b, _ = ct.started(args=SLEEP)
    ct.rt.ok("update", "--resources", "-", b.id, input=json.dumps({"pids": {"limit": 55}}))
    assert _pids_max(b.id) == "55"


def test_update_pids_limit_visible_inside(ct):
    def cfg(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
        c["linux"]["namespaces"].append({"type": "cgroup"})

    b, _ = ct.started(cfg, args=SLEEP)
    ct.rt.ok("update", "--resources", "-", b.id, input=json.dumps({"pids": {"limit": 33}}))
    r = ct.rt.ok("exec", b.id, "sh", "-c",
                 "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    assert r.out.strip() == "33"


def test_features(ct):
    r = ct.rt.ok("features")
    f = json.loads(r.out)
    assert f["ociVersionMin"].startswith("1.0")
    assert f["ociVersionMax"].startswith("1.")
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    assert {"bind", "rbind", "ro", "nosuid", "nodev", "noexec"} <= set(f["mountOptions"])
    assert set(f["linux"]["namespaces"]) >= {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["cgroup"]["v1"] is True or f["linux"]["cgroup"]["v2"] is True
    assert f["linux"]["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]


@pytest.mark.xfail_runc(reason="runc 1.1 has no time namespace support (added in 1.2)")
def test_features_lists_time_namespace(ct):
    f = json.loads(ct.rt.ok("features").out)
    assert "time" in f["linux"]["namespaces"]


def test_create_pid_file(ct):
    b = ct.make_bundle(args=SLEEP)
    pid_file = ct.path("init.pid")
    ct.rt.create(b, "--pid-file", pid_file)
    assert int(helpers.read_file(pid_file).strip()) == ct.rt.state(b.id)["pid"]


def test_run_detach_pid_file(ct):
    b = ct.make_bundle(args=SLEEP)
    pid_file = ct.path("run.pid")
    ct.rt.ok("run", "--detach", "--pid-file", pid_file, "--bundle", b.path, b.id)
    assert int(helpers.read_file(pid_file).strip()) == ct.rt.state(b.id)["pid"]


def test_preserve_fds(ct):
    secret = ct.path("fd3.txt")
    with open(secret, "w") as f:
        f.write("through-fd-3\n")
    b = ct.make_bundle(args=["sh", "-c", "cat <&3; ls /proc/self/fd/3 >/dev/null && echo has-3"])
    # the shell puts the file on fd 3 of the runtime, which passes it on
    argv = ["sh", "-c", 'exec 3<"$0"; exec "$@"', secret] + ct.rt.global_args() + [
        "create", "--preserve-fds", "1", "--bundle", b.path, b.id]
    r = helpers.run(argv)
    assert r.rc == 0, r
    ct.rt.start(b.id)
    ct.rt.wait_status(b.id, "stopped")
    assert r.out == "through-fd-3\nhas-3\n"


def test_no_pivot(ct):
    b = ct.make_bundle(args=["sh", "-c", "echo no-pivot; ls /"])
    r = ct.rt.run(b, "--no-pivot")
    assert r.rc == 0, r
    lines = r.out.split()
    assert lines[0] == "no-pivot"
    assert "bin" in lines and "etc" in lines
    assert os.path.basename(b.path) not in lines


def test_log_json_on_error(ct):
    log = ct.path("runtime.log")
    b = ct.make_bundle(args=["/no/such/binary"])
    r = ct.rt.cmd("run", "--bundle", b.path, b.id, log=log, log_format="json")
    assert r.rc != 0
    lines = [line for line in helpers.read_file(log).splitlines() if line.strip()]
    assert lines, "log file is empty"
    records = [json.loads(line) for line in lines]  # every line is a JSON object
    assert all(isinstance(rec, dict) for rec in records)
    errors = [rec for rec in records if rec.get("level") == "error"]
    assert errors, records
    assert any("msg" in rec and rec["msg"] for rec in errors)
