"""linux.resources: the limits are set in the container's cgroup and hold."""

import json

import pytest

import helpers

MiB = 1024 * 1024
# The hog marks itself the OOM killer's first choice: the kernel otherwise
# picks by size at the moment of the OOM, and has been seen (rarely) to take
# the container's init first while the hog's pipe was still filling.
HOG = 'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'


def _memory(limit):
    def cfg(c):
        c["linux"].setdefault("resources", {})["memory"] = {"limit": limit}

    return cfg


def _no_swap():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("SwapTotal:"):
                return int(line.split()[1]) == 0
    return True


pytestmark_swap = pytest.mark.skipif(not _no_swap(), reason="swap would absorb the memory hog")


@pytestmark_swap
@pytest.mark.slow
def test_memory_limit_oom_kills_only_the_hog(ct):
    r = ct.sh('sh -c \'%s\'; echo "hog-rc=$?"; echo init-alive' % HOG, _memory(32 * MiB), timeout=60)
    assert r.rc == 0, r
    assert "survived" not in r.out
    assert "hog-rc=137" in r.out, r
    assert "init-alive" in r.out


@pytestmark_swap
@pytest.mark.slow
def test_memory_limit_oom_kill_of_init_gives_137(ct):
    r = ct.sh(HOG, _memory(32 * MiB), timeout=60)
    assert r.rc == 137, r
    assert "survived" not in r.out


def test_memory_limit_file(ct):
    b, _ = ct.started(_memory(48 * MiB), args=["sleep", "1000"])
    try:
        path = helpers.cgroup_file(b.id, "memory", "memory.limit_in_bytes")
    except AssertionError:
        path = helpers.cgroup_file(b.id, "memory", "memory.max")
    assert int(helpers.read_file(path)) == 48 * MiB


@pytest.mark.slow
def test_pids_limit_stops_fork_bomb(ct):
    def cfg(c):
        c["linux"].setdefault("resources", {})["pids"] = {"limit": 20}

    # 50 attempts in a child shell (ash gives up at the first refused fork;
    # the init survives it), then count the processes with a glob, which
    # needs no fork, and stay alive with exec.
    script = ("sh -c 'i=0; while [ $i -lt 50 ]; do i=$((i+1)); sleep 30 & done' 2>/dev/null; "
              "set -- /proc/[0-9]*; echo \"alive=$#\"; exec sleep 30")
    b, r = ct.started(cfg, args=["sh", "-c", script])
    out = helpers.wait_for(lambda: "alive=" in r.out and r.out, timeout=20, what="fork loop")
    alive = int(out.split("alive=")[1].split()[0])
    assert 2 <= alive <= 20, out
    procs = helpers.read_file(helpers.cgroup_file(b.id, "pids", "cgroup.procs")).split()
    assert len(procs) <= 20
    events = helpers.read_file(helpers.cgroup_file(b.id, "pids", "pids.events"))
    assert int(events.split()[1]) > 0, events  # "max N": forks refused


def test_pids_limit_file(ct):
    def cfg(c):
        c["linux"].setdefault("resources", {})["pids"] = {"limit": 42}

    b, _ = ct.created(cfg, args=["true"])
    assert helpers.read_file(helpers.cgroup_file(b.id, "pids", "pids.max")).strip() == "42"


def _cpu_cfg(c):
    c["linux"].setdefault("resources", {})["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}


def test_cpu_shares_and_quota(ct):
    b, _ = ct.created(_cpu_cfg, args=["true"])
    try:
        shares = helpers.cgroup_file(b.id, "cpu", "cpu.shares")
    except AssertionError:
        # cgroup v2: shares become a weight, quota/period one cpu.max line
        weight = helpers.read_file(helpers.cgroup_file(b.id, "cpu", "cpu.weight")).strip()
        assert weight == str(1 + ((512 - 2) * 9999) // 262142)
        assert helpers.read_file(helpers.cgroup_file(b.id, "cpu", "cpu.max")).split() == ["50000", "100000"]
        return
    assert helpers.read_file(shares).strip() == "512"
    assert helpers.read_file(helpers.cgroup_file(b.id, "cpu", "cpu.cfs_quota_us")).strip() == "50000"
    assert helpers.read_file(helpers.cgroup_file(b.id, "cpu", "cpu.cfs_period_us")).strip() == "100000"


def test_cpuset_cpus(ct):
    def cfg(c):
        c["linux"].setdefault("resources", {})["cpu"] = {"cpus": "0"}

    out = ct.sh("grep Cpus_allowed_list /proc/self/status", cfg)
    assert out.rc == 0, out
    assert out.out.split() == ["Cpus_allowed_list:", "0"]


def _deny_zero(c):
    devices = c["linux"].setdefault("resources", {}).setdefault("devices", [])
    devices.append({"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"})


@pytest.mark.xfail_runc(reason="runc 1.1 appends its default allow rules (which include c 1:5) "
                               "after the config's device rules")
def test_devices_cgroup_denies_dev_zero(ct):
    r = ct.sh("head -c1 /dev/zero | wc -c; head -c1 /dev/urandom | wc -c", _deny_zero)
    assert "Operation not permitted" in r.err, r
    assert r.out.split() == ["0", "1"]


def test_devices_cgroup_denies_unlisted_device(ct):
    # a device node made inside the container for a device the cgroup
    # does not allow (c 1:11, /dev/kmsg) cannot be opened
    def cfg(c):
        for k in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][k].append("CAP_MKNOD")

    r = ct.sh("mknod /tmp/kmsg c 1 11 && echo made; head -c1 /tmp/kmsg; echo rc=$?", cfg)
    assert "made" in r.out, r
    assert "Operation not permitted" in r.err, r


def test_update_memory_limit(ct):
    b, _ = ct.started(_memory(64 * MiB), args=["sleep", "1000"])
    ct.rt.ok("update", "--resources", "-", b.id, input=json.dumps({"memory": {"limit": 40 * MiB}}))
    try:
        path = helpers.cgroup_file(b.id, "memory", "memory.limit_in_bytes")
    except AssertionError:
        path = helpers.cgroup_file(b.id, "memory", "memory.max")
    assert int(helpers.read_file(path)) == 40 * MiB


def test_update_of_unknown_container_fails(ct):
    r = ct.rt.cmd("update", "--resources", "-", "no-such-container", input='{"pids":{"limit":5}}')
    assert r.rc != 0, r


def test_init_is_in_container_cgroup(ct):
    b, _ = ct.started(args=["sleep", "1000"])
    pid = ct.rt.state(b.id)["pid"]
    procs = helpers.read_file(helpers.cgroup_file(b.id, "pids", "cgroup.procs")).split()
    assert str(pid) in procs
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    assert all(line.endswith("/%s/%s" % (helpers.CGROUP_PARENT, b.id)) for line in lines), lines
