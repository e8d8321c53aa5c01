"""Pure cgroup v2: every runtime call runs in a private mount namespace where
/sys/fs/cgroup is the cgroup2 hierarchy alone (on a hybrid host that is the
same hierarchy the host has at /sys/fs/cgroup/unified)."""

import os
import shutil

import pytest

import helpers
from helpers import Runtime

V2_WRAPPER = 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"'


def _host_v2_mount():
    for mnt, fstype, _opts in helpers.cgroup_mounts():
        if fstype == "cgroup2":
            return mnt
    return None


def _why_not():
    if not shutil.which("unshare"):
        return "unshare(1) is missing"
    with open("/proc/filesystems") as f:
        if "cgroup2" not in f.read():
            return "kernel without cgroup2"
    if not _host_v2_mount():
        return "no cgroup2 hierarchy mounted on the host to check the result against"
    r = helpers.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", V2_WRAPPER, "sh", "true"],
                    timeout=10)
    if r.rc != 0:
        return "cannot mount cgroup2 in a private mount namespace: %s" % r.err.strip()
    return None


WHY_NOT = _why_not()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")


class V2Runtime(Runtime):
    def global_args(self, log=None, log_format=None):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", V2_WRAPPER, "sh"] + \
            super().global_args(log, log_format)


@pytest.fixture
def v2(ct):
    ct.rt = V2Runtime(ct.rt.argv, ct.rt.root, ct.rt.flavor)
    return ct


def _host_dir(cid):
    return os.path.join(_host_v2_mount(), helpers.CGROUP_PARENT, cid)


def test_container_lands_in_v2_hierarchy(v2):
    def no_cgroupns(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]

    b, r = v2.started(no_cgroupns, args=["sh", "-c", "cat /proc/self/cgroup; echo ready; exec sleep 1000"])
    helpers.wait_for(lambda: "ready" in r.out, what="container ready")
    pid = v2.rt.state(b.id)["pid"]
    # inside: the process sees a single unified hierarchy line
    v2_line = "0::/%s/%s" % (helpers.CGROUP_PARENT, b.id)
    assert v2_line in r.out.splitlines(), r.out
    # host: the cgroup directory exists and holds the init
    d = _host_dir(b.id)
    assert os.path.isdir(d)
    assert str(pid) in helpers.read_file(os.path.join(d, "cgroup.procs")).split()
    v2.rt.ok("delete", "--force", b.id)
    assert not os.path.exists(d)


def test_v2_run_foreground_exit_code(v2):
    r = v2.sh("exit 5")
    assert r.rc == 5, r


def test_v2_pause_uses_cgroup_freeze(v2):
    b, _ = v2.started(args=["sleep", "1000"])
    freeze = os.path.join(_host_dir(b.id), "cgroup.freeze")
    v2.rt.ok("pause", b.id)
    assert v2.rt.status(b.id) == "paused"
    assert helpers.read_file(freeze).strip() == "1"
    v2.rt.ok("resume", b.id)
    assert v2.rt.status(b.id) == "running"
    assert helpers.read_file(freeze).strip() == "0"


def test_v2_device_rules_enforced(v2):
    def cfg(c):
        for k in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][k].append("CAP_MKNOD")

    r = v2.sh("mknod /tmp/kmsg c 1 11 && echo made; head -c1 /tmp/kmsg; "
              "head -c1 /dev/zero | wc -c", cfg)
    assert "made" in r.out, r
    assert "Operation not permitted" in r.err, r
    assert r.out.split()[-1] == "1"


def test_v2_kill_all(v2):
    b, r = v2.started(args=["sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait"])
    helpers.wait_for(lambda: "ready" in r.out, what="container ready")
    procs = os.path.join(_host_dir(b.id), "cgroup.procs")
    helpers.wait_for(lambda: len(helpers.read_file(procs).split()) == 3, what="3 processes")
    v2.rt.ok("kill", "--all", b.id, "KILL")
    v2.rt.wait_status(b.id, "stopped")


def _traced(v2, trace):
    """The runtime under strace; LeakSanitizer (ASan build) cannot run under ptrace."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return V2Runtime(["strace", "-f", "-qq", "-o", trace, "-e", "trace=clone3,openat",
                      "-e", "signal=none"] + v2.rt.argv, v2.rt.root, v2.rt.flavor, env=env)


def test_v2_init_is_born_in_its_cgroup(v2):
    """On pure v2 the init is cloned into its cgroup (clone3 with
    CLONE_INTO_CGROUP), so nothing writes cgroup.procs: no migration."""
    if v2.rt.is_runc:
        pytest.skip("v12n's clone into the cgroup")
    if not shutil.which("strace"):
        pytest.skip("strace is missing (make deps)")
    trace = v2.path("strace.out")
    traced = _traced(v2, trace)
    b = v2.make_bundle(args=["true"])
    r = traced.run(b, timeout=30)
    assert r.rc == 0, r
    lines = helpers.read_file(trace).splitlines()
    assert [l for l in lines if "clone3(" in l and "CLONE_INTO_CGROUP" in l and "= -1" not in l], lines
    writes = [l for l in lines if "cgroup.procs" in l and ("O_WRONLY" in l or "O_RDWR" in l)]
    assert writes == [], writes


def test_v2_exec_is_born_in_the_cgroup(v2):
    """exec too: the process starts in the container's cgroup, unmoved."""
    if v2.rt.is_runc:
        pytest.skip("v12n's clone into the cgroup")
    if not shutil.which("strace"):
        pytest.skip("strace is missing (make deps)")
    b, r = v2.started(args=["sleep", "1000"])
    trace = v2.path("strace-exec.out")
    traced = _traced(v2, trace)
    r = traced.cmd("exec", b.id, "cat", "/proc/self/cgroup", timeout=30)
    assert r.rc == 0, r
    assert "0::/" in r.out.splitlines(), r.out  # the root of the container's cgroup namespace
    lines = helpers.read_file(trace).splitlines()
    assert [l for l in lines if "clone3(" in l and "CLONE_INTO_CGROUP" in l and "= -1" not in l], lines
    writes = [l for l in lines if "cgroup.procs" in l and ("O_WRONLY" in l or "O_RDWR" in l)]
    assert writes == [], writes
    v2.rt.ok("delete", "--force", b.id)
