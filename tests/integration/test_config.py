"""config.json fields, each checked from inside the container."""

import os

import pytest

import helpers


def add_ns(c, ns_type, path=None):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != ns_type]
    entry = {"type": ns_type}
    if path:
        entry["path"] = path
    c["linux"]["namespaces"].append(entry)


def drop_ns(c, ns_type):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != ns_type]


def out_ok(r):
    assert r.rc == 0, r
    return r.out


# ---------------------------------------------------------------- namespaces


def test_pid_namespace_init_is_pid_1(ct):
    assert out_ok(ct.sh("echo $$", lambda c: add_ns(c, "pid"))) == "1\n"


def test_pid_namespace_sees_only_container_processes(ct):
    # a glob forks nothing: the shell alone is in the new pid namespace
    out = out_ok(ct.sh("set -- /proc/[0-9]*; echo $@", lambda c: add_ns(c, "pid")))
    assert out == "/proc/1\n"


def test_uts_namespace_hostname(ct):
    def cfg(c):
        add_ns(c, "uts")
        c["hostname"] = "v12n-box"

    assert out_ok(ct.sh("hostname", cfg)) == "v12n-box\n"
    assert os.uname().nodename != "v12n-box"


@pytest.mark.xfail_runc(reason="runc 1.1 ignores domainname (support came in 1.2)")
def test_domainname(ct):
    def cfg(c):
        add_ns(c, "uts")
        c["hostname"] = "box"
        c["domainname"] = "v12n.example"

    assert out_ok(ct.sh("cat /proc/sys/kernel/domainname", cfg)) == "v12n.example\n"


def test_ipc_namespace_is_new(ct):
    out = out_ok(ct.sh("readlink /proc/self/ns/ipc", lambda c: add_ns(c, "ipc")))
    assert out.strip() != os.readlink("/proc/self/ns/ipc")


def test_without_ipc_namespace_shares_host_ipc(ct):
    out = out_ok(ct.sh("readlink /proc/self/ns/ipc", lambda c: drop_ns(c, "ipc")))
    assert out.strip() == os.readlink("/proc/self/ns/ipc")


def test_network_namespace_has_only_lo(ct):
    out = out_ok(ct.sh("tail -n +3 /proc/net/dev | cut -d: -f1", lambda c: add_ns(c, "network")))
    assert out.split() == ["lo"]


def test_mount_namespace_is_new(ct):
    out = out_ok(ct.sh("readlink /proc/self/ns/mnt", lambda c: add_ns(c, "mount")))
    assert out.strip() != os.readlink("/proc/self/ns/mnt")


def test_cgroup_namespace_root(ct):
    out = out_ok(ct.sh("cat /proc/self/cgroup", lambda c: add_ns(c, "cgroup")))
    lines = [line for line in out.splitlines() if line]
    assert lines, out
    for line in lines:
        assert line.split(":", 2)[2] == "/", out


def test_without_cgroup_namespace_path_is_visible(ct):
    b = ct.make_bundle(lambda c: drop_ns(c, "cgroup"), ["cat", "/proc/self/cgroup"])
    out = out_ok(ct.rt.run(b))
    assert "/%s/%s" % (helpers.CGROUP_PARENT, b.id) in out


def _have_time_ns():
    return os.path.exists("/proc/self/ns/time")


@pytest.mark.skipif(not _have_time_ns(), reason="kernel without time namespaces")
@pytest.mark.xfail_runc(reason="runc 1.1 has no time namespace support (added in 1.2)")
def test_time_namespace_offsets(ct):
    year = 365 * 24 * 3600

    def cfg(c):
        add_ns(c, "time")
        c["linux"]["timeOffsets"] = {"monotonic": {"secs": year, "nanosecs": 0},
                                     "boottime": {"secs": year, "nanosecs": 0}}

    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    out = out_ok(ct.sh("cat /proc/uptime; readlink /proc/self/ns/time", cfg))
    uptime = float(out.split()[0])
    assert year - 5 < uptime - host_uptime < year + 30, out
    assert out.split()[-1] != os.readlink("/proc/self/ns/time")


def test_join_network_namespace_by_path(ct):
    a, _ = ct.started(args=["sleep", "1000"])
    pid_a = ct.rt.state(a.id)["pid"]
    netns_a = os.readlink("/proc/%d/ns/net" % pid_a)
    out = out_ok(ct.sh("readlink /proc/self/ns/net",
                       lambda c: add_ns(c, "network", "/proc/%d/ns/net" % pid_a)))
    assert out.strip() == netns_a
    assert netns_a != os.readlink("/proc/self/ns/net")


def test_join_namespace_with_bad_path_fails(ct):
    b = ct.make_bundle(lambda c: add_ns(c, "network", "/proc/self/no-such-ns"), ["true"])
    r = ct.rt.cmd("run", "--bundle", b.path, b.id)
    assert r.rc != 0, r


USERNS_HOST_ID = 100000


def _userns(c):
    add_ns(c, "user")
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": 65536}]


def _run_in_userns(ct, script, mutator=_userns):
    """Like a real engine does, the rootfs belongs to the mapped root."""
    b = ct.make_bundle(mutator, ["sh", "-c", script])
    r = helpers.run(["chown", "-R", "-h", "%d:%d" % (USERNS_HOST_ID, USERNS_HOST_ID), b.rootfs])
    assert r.rc == 0, r
    return ct.rt.run(b)


def test_user_namespace_maps_root(ct):
    out = out_ok(_run_in_userns(ct, "id -u; id -g; cat /proc/self/uid_map"))
    lines = out.splitlines()
    assert lines[:2] == ["0", "0"]
    assert lines[2].split() == ["0", str(USERNS_HOST_ID), "65536"]


def test_user_namespace_file_owned_by_mapped_host_uid(ct):
    shared = ct.host_dir("shared", 0o777)

    def cfg(c):
        _userns(c)
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": shared,
                            "options": ["rbind", "rw"]})

    out_ok(_run_in_userns(ct, "touch /shared/made-inside", cfg))
    st = os.stat(os.path.join(shared, "made-inside"))
    assert (st.st_uid, st.st_gid) == (USERNS_HOST_ID, USERNS_HOST_ID)


def test_user_namespace_root_is_not_host_root(ct):
    secret = ct.path("root-only")
    with open(secret, "w") as f:
        f.write("secret")
    os.chmod(secret, 0o600)
    d = os.path.dirname(secret)

    def cfg(c):
        _userns(c)
        c["mounts"].append({"destination": "/hostdir", "type": "bind", "source": d,
                            "options": ["rbind", "ro"]})

    r = _run_in_userns(ct, "cat /hostdir/root-only", cfg)
    assert r.rc != 0, r
    assert "Permission denied" in r.err, r
    assert "secret" not in r.out


# -------------------------------------------------------------- filesystem


def test_root_readonly(ct):
    def cfg(c):
        c["root"]["readonly"] = True

    r = ct.sh("touch /newfile", cfg)
    assert r.rc != 0, r
    assert "Read-only file system" in r.err
    b_rootfs_file = os.path.join(ct.dir, "bundle1", "rootfs", "newfile")
    assert not os.path.exists(b_rootfs_file)


def test_root_readonly_keeps_tmpfs_writable(ct):
    def cfg(c):
        c["root"]["readonly"] = True
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev"]})

    assert out_ok(ct.sh("touch /tmp/x && echo ok", cfg)) == "ok\n"


def test_bind_mount_readonly(ct):
    src = ct.host_dir("ro-src")
    with open(os.path.join(src, "hello"), "w") as f:
        f.write("from-host\n")

    def cfg(c):
        c["mounts"].append({"destination": "/ro", "type": "bind", "source": src,
                            "options": ["bind", "ro"]})

    r = ct.sh("cat /ro/hello; touch /ro/new", cfg)
    assert r.out == "from-host\n"
    assert r.rc != 0 and "Read-only file system" in r.err, r
    assert not os.path.exists(os.path.join(src, "new"))


def test_bind_mount_readwrite(ct):
    src = ct.host_dir("rw-src")

    def cfg(c):
        c["mounts"].append({"destination": "/rw", "type": "bind", "source": src,
                            "options": ["bind", "rw"]})

    out_ok(ct.sh("echo written > /rw/out", cfg))
    assert helpers.read_file(os.path.join(src, "out")) == "written\n"


def test_bind_mount_of_a_file(ct):
    src = ct.path("single-file")
    with open(src, "w") as f:
        f.write("just-me\n")

    def cfg(c):
        c["mounts"].append({"destination": "/etc/single", "type": "bind", "source": src,
                            "options": ["bind", "ro"]})

    assert out_ok(ct.sh("cat /etc/single", cfg)) == "just-me\n"


def test_tmpfs_size_and_mode(ct):
    def cfg(c):
        c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev", "size=1m", "mode=1770"]})

    r = ct.sh("stat -c %a /scratch; grep ' /scratch ' /proc/mounts; "
              "dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>&1; echo dd=$?", cfg)
    lines = r.out.splitlines()
    assert lines[0] == "1770", r
    assert "size=1024k" in lines[1] and "mode=1770" in lines[1], r
    assert "No space left on device" in r.out and "dd=1" in r.out, r


def test_tmpfs_noexec(ct):
    def cfg(c):
        c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                            "options": ["noexec"]})

    r = ct.sh("cp /bin/busybox /scratch/bb && /scratch/bb true", cfg)
    assert r.rc != 0 and "ermission denied" in r.err, r


class HostMounts:
    """Mounts the test makes on the host, undone at exit."""

    def __init__(self):
        self.points = []

    def mount(self, *argv):
        r = helpers.run(["mount"] + list(argv), timeout=10)
        assert r.rc == 0, r
        self.points.append(argv[-1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.points):
            helpers.run(["umount", "-l", p], timeout=10)


def test_rbind_carries_submounts(ct):
    src = ct.host_dir("rbind-src")
    sub = ct.host_dir("rbind-src/sub")
    with HostMounts() as hm:
        hm.mount("-t", "tmpfs", "tmpfs", sub)
        with open(os.path.join(sub, "in-submount"), "w") as f:
            f.write("x")

        def rbind(c):
            c["mounts"].append({"destination": "/r", "type": "bind", "source": src,
                                "options": ["rbind", "ro"]})

        def bind(c):
            c["mounts"].append({"destination": "/r", "type": "bind", "source": src,
                                "options": ["bind", "ro"]})

        assert out_ok(ct.sh("ls /r/sub", rbind)) == "in-submount\n"
        assert out_ok(ct.sh("ls /r/sub", bind)) == ""


def test_mount_propagation_rslave_sees_later_host_mounts(ct):
    src = ct.host_dir("prop-src")
    later = ct.host_dir("prop-src/later")
    with HostMounts() as hm:
        hm.mount("--bind", src, src)
        hm.mount("--make-shared", src)

        def cfg(c):
            c["mounts"].append({"destination": "/p", "type": "bind", "source": src,
                                "options": ["rbind", "rslave"]})

        b, r = ct.started(cfg, args=["sh", "-c", "echo ready; while [ ! -e /p/later/marker ]; do usleep 20000; done; echo seen"])
        helpers.wait_for(lambda: "ready" in r.out, what="container ready")
        hm.mount("-t", "tmpfs", "tmpfs", later)
        with open(os.path.join(later, "marker"), "w") as f:
            f.write("m")
        helpers.wait_for(lambda: "seen" in r.out, timeout=10, what="host mount to propagate in")
        ct.rt.wait_status(b.id, "stopped")


def test_mount_propagation_rprivate_hides_later_host_mounts(ct):
    src = ct.host_dir("prop-src")
    later = ct.host_dir("prop-src/later")
    with HostMounts() as hm:
        hm.mount("--bind", src, src)
        hm.mount("--make-shared", src)

        def cfg(c):
            c["mounts"].append({"destination": "/p", "type": "bind", "source": src,
                                "options": ["rbind", "rprivate"]})

        b, r = ct.started(cfg, args=["sleep", "1000"])
        ct.rt.wait_status(b.id, "running")
        hm.mount("-t", "tmpfs", "tmpfs", later)
        with open(os.path.join(later, "marker"), "w") as f:
            f.write("m")
        r2 = ct.rt.ok("exec", b.id, "ls", "/p/later")
        assert r2.out == ""


def test_container_mounts_do_not_propagate_to_host(ct):
    src = ct.host_dir("noleak-src")
    with HostMounts() as hm:
        hm.mount("--bind", src, src)
        hm.mount("--make-shared", src)

        def cfg(c):
            c["mounts"].append({"destination": "/p", "type": "bind", "source": src,
                                "options": ["rbind", "rslave"]})
            c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
            c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
            c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")

        r = ct.sh("mkdir -p /p/inner && mount -t tmpfs none /p/inner && echo mounted", cfg)
        assert "mounted" in r.out, r
        assert helpers.mounts_under(os.path.join(src, "inner")) == []


# ------------------------------------------------------------------- devices


def test_linux_devices_adds_char_device(ct):
    def cfg(c):
        c["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                  "fileMode": 0o600, "uid": 0, "gid": 0}]

    out = out_ok(ct.sh("stat -c '%F %a %t %T %u %g' /dev/mynull; echo x > /dev/mynull && echo wrote; "
                       "head -c 3 /dev/mynull | wc -c", cfg))
    lines = out.splitlines()
    assert lines[0] == "character special file 600 1 3 0 0"
    assert lines[1] == "wrote"
    assert lines[2].strip() == "0"


DEFAULT_CHAR_DEVICES = {
    "null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
    "tty": (5, 0),
}


def test_default_dev_content(ct):
    script = ["for d in %s; do stat -c '%%n %%F %%t %%T' /dev/$d; done" % " ".join(DEFAULT_CHAR_DEVICES),
              "for l in fd stdin stdout stderr ptmx; do echo \"$l -> $(readlink /dev/$l)\"; done",
              "[ -d /dev/pts ] && echo pts-dir", "[ -d /dev/shm ] && echo shm-dir",
              "head -c 4 /dev/zero | wc -c", "echo x > /dev/null && echo null-ok",
              "head -c 4 /dev/urandom | wc -c"]
    out = out_ok(ct.sh("; ".join(script)))
    for name, (major, minor) in DEFAULT_CHAR_DEVICES.items():
        assert "/dev/%s character special file %x %x" % (name, major, minor) in out, out
    assert "fd -> /proc/self/fd\n" in out
    assert "stdin -> /proc/self/fd/0\n" in out
    assert "stdout -> /proc/self/fd/1\n" in out
    assert "stderr -> /proc/self/fd/2\n" in out
    assert "ptmx -> pts/ptmx\n" in out
    assert "pts-dir" in out and "shm-dir" in out and "null-ok" in out
    assert out.splitlines()[-1].strip() == "4"


def test_dev_has_no_host_devices(ct):
    out = out_ok(ct.sh("ls /dev"))
    for host_only in ("vda", "kmsg", "mem", "kvm", "loop0"):
        assert host_only not in out.split(), out


# ------------------------------------------------------- masked / readonly


def _maskable_file():
    """/proc/kcore where the kernel has it, else another file of the default
    maskedPaths that this kernel has and that has content."""
    for p in ("/proc/kcore", "/proc/timer_list", "/proc/sched_debug"):
        if os.path.exists(p):
            return p
    pytest.skip("no file of the default maskedPaths exists on this kernel")


def test_masked_file_reads_empty(ct):
    path = _maskable_file()
    assert path in ct.spec_template["linux"]["maskedPaths"]
    assert out_ok(ct.sh("head -c 16 %s | wc -c" % path)).strip() == "0"


def test_unmasked_file_is_readable(ct):
    """The control for the test above: without the mask there is content."""
    path = _maskable_file()

    def cfg(c):
        c["linux"]["maskedPaths"] = []
        caps = c["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k].append("CAP_SYS_RAWIO")  # /proc/kcore needs it

    r = ct.sh("head -c 16 %s | wc -c" % path, cfg)
    assert r.out.strip() == "16", r


def test_masked_directory_is_empty(ct):
    assert "/sys/firmware" in ct.spec_template["linux"]["maskedPaths"]
    if not os.listdir("/sys/firmware"):
        pytest.skip("/sys/firmware is empty on this host")
    assert out_ok(ct.sh("ls /sys/firmware | wc -l")).strip() == "0"
    assert out_ok(ct.sh("ls /sys/firmware | wc -l", lambda c: c["linux"].update(maskedPaths=[]))).strip() != "0"


def test_readonly_path_proc_sys(ct):
    assert "/proc/sys" in ct.spec_template["linux"]["readonlyPaths"]
    r = ct.sh("echo 1 > /proc/sys/net/ipv4/ip_forward")
    assert r.rc != 0, r
    assert "Read-only file system" in r.err


def test_readonly_path_custom(ct):
    d = ct.host_dir("rw-then-ro")

    def cfg(c):
        c["mounts"].append({"destination": "/data", "type": "bind", "source": d,
                            "options": ["rbind", "rw"]})
        c["linux"]["readonlyPaths"].append("/data")

    r = ct.sh("touch /data/x", cfg)
    assert r.rc != 0 and "Read-only file system" in r.err, r


# ---------------------------------------------------------- sysctl, limits


def test_sysctl_in_new_netns(ct):
    host = helpers.read_file("/proc/sys/net/ipv4/ip_forward")
    want = "0" if host.strip() == "1" else "1"

    def cfg(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": want}

    assert out_ok(ct.sh("cat /proc/sys/net/ipv4/ip_forward", cfg)).strip() == want
    assert helpers.read_file("/proc/sys/net/ipv4/ip_forward") == host


def test_sysctl_unknown_key_fails(ct):
    def cfg(c):
        c["linux"]["sysctl"] = {"net.ipv4.no_such_knob": "1"}

    r = ct.sh("true", cfg)
    assert r.rc != 0, r


def _host_nofile_hard():
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_rlimit_nofile(ct):
    hard = min(_host_nofile_hard(), 4096)
    soft = hard // 2

    def cfg(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard, "soft": soft}]

    out = out_ok(ct.sh("ulimit -n; grep 'Max open files' /proc/self/limits", cfg))
    lines = out.splitlines()
    assert lines[0] == str(soft)
    assert lines[1].split()[3:5] == [str(soft), str(hard)]


def test_rlimit_nproc_and_core(ct):
    def cfg(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NPROC", "hard": 1234, "soft": 1000},
                                   {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]

    out = out_ok(ct.sh("grep -E 'Max (processes|core file size)' /proc/self/limits", cfg))
    assert "1000                 1234" in out
    assert "Max core file size        0                    0" in out


def _raise_nofile(c):
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    too_high = max(nr_open, _host_nofile_hard()) + 1
    c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": too_high, "soft": too_high}]


def test_rlimit_above_host_hard_limit_fails(ct):
    b = ct.make_bundle(_raise_nofile, ["true"])
    r = ct.rt.cmd("create", "--bundle", b.path, b.id)
    assert r.rc != 0, r
    assert r.err.strip()
    assert ct.rt.list_ids() == []


@pytest.mark.v12n_only
def test_rlimit_above_host_hard_limit_error_names_it(ct):
    b = ct.make_bundle(_raise_nofile, ["true"])
    r = ct.rt.cmd("create", "--bundle", b.path, b.id)
    assert r.rc != 0, r
    assert "RLIMIT_NOFILE" in r.err, r


# ------------------------------------------------------------ process, user


def _cap_mask(names):
    numbers = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_KILL": 5, "CAP_SETUID": 7,
               "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21}
    m = 0
    for n in names:
        m |= 1 << numbers[n]
    return m


def _status_field(out, key):
    for line in out.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("%s not in %s" % (key, out))


def test_capabilities(ct):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

    def cfg(c):
        c["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                        "inheritable": [], "ambient": []}

    out = out_ok(ct.sh("cat /proc/self/status", cfg))
    want = "%016x" % _cap_mask(caps)
    assert _status_field(out, "CapBnd") == want
    assert _status_field(out, "CapEff") == want
    assert _status_field(out, "CapPrm") == want
    assert _status_field(out, "CapInh") == "0" * 16


def test_capability_missing_is_enforced(ct):
    caps = ["CAP_KILL"]

    def cfg(c):
        c["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}

    r = ct.sh("chown 1000 /tmp && echo chowned", cfg)
    assert r.rc != 0 and "chowned" not in r.out, r


def test_ambient_capabilities_for_non_root(ct):
    caps = ["CAP_NET_BIND_SERVICE"]

    def cfg(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                        "inheritable": caps, "ambient": caps}

    out = out_ok(ct.sh("grep -E '^Cap(Eff|Amb)' /proc/self/status", cfg))
    want = "%016x" % _cap_mask(caps)
    assert _status_field(out, "CapAmb") == want
    assert _status_field(out, "CapEff") == want


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(ct, nnp):
    def cfg(c):
        c["process"]["noNewPrivileges"] = nnp

    out = out_ok(ct.sh("grep NoNewPrivs /proc/self/status", cfg))
    assert out.split() == ["NoNewPrivs:", "1" if nnp else "0"]


SECCOMP_ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_seccomp_errno(ct):
    edquot = 122  # "Disk quota exceeded": nothing else would produce it here

    def cfg(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": SECCOMP_ARCHES,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": edquot}],
        }

    r = ct.sh("mkdir /tmp/blocked; echo rc=$?; touch /tmp/allowed && echo touched", cfg)
    assert "Disk quota exceeded" in r.err, r
    assert "rc=1" in r.out and "touched" in r.out, r
    assert out_ok(ct.sh("grep Seccomp: /proc/self/status", cfg)).split() == ["Seccomp:", "2"]


def test_seccomp_without_no_new_privileges(ct):
    """Engines (podman) set noNewPrivileges false: the filter must then be
    loaded while the runtime still has CAP_SYS_ADMIN, and still apply to a
    process without it."""
    def cfg(c):
        c["process"]["noNewPrivileges"] = False
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": SECCOMP_ARCHES,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122}],
        }

    r = ct.sh("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; mkdir /tmp/blocked", cfg)
    assert r.out.split() == ["NoNewPrivs:", "0", "Seccomp:", "2"], r
    assert "Disk quota exceeded" in r.err, r


def test_seccomp_errno_defaults_to_eperm(ct):
    def cfg(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": SECCOMP_ARCHES,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
        }

    r = ct.sh("mkdir /tmp/blocked", cfg)
    assert r.rc != 0, r
    assert "Operation not permitted" in r.err, r


def test_seccomp_argument_condition(ct):
    sigusr1 = 10

    def cfg(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": SECCOMP_ARCHES,
            "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                          "args": [{"index": 1, "value": sigusr1, "op": "SCMP_CMP_EQ"}]}],
        }

    r = ct.sh("trap 'echo usr2' USR2; trap 'echo usr1' USR1; "
              "kill -USR1 $$; echo usr1-rc=$?; kill -USR2 $$; echo usr2-rc=$?", cfg)
    assert "usr1-rc=1" in r.out, r
    assert "usr2\nusr2-rc=0" in r.out, r
    assert "usr1\n" not in r.out


def test_oom_score_adj(ct):
    def cfg(c):
        c["process"]["oomScoreAdj"] = 123

    assert out_ok(ct.sh("cat /proc/self/oom_score_adj", cfg)) == "123\n"


def test_user_uid_gid_additional_gids(ct):
    def cfg(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 6]}

    out = out_ok(ct.sh("id -u; id -g; id -G; grep Groups: /proc/self/status", cfg))
    lines = out.splitlines()
    assert lines[0] == "1000" and lines[1] == "1000"
    assert set(lines[2].split()) == {"1000", "5", "6"}
    assert set(lines[3].split()[1:]) == {"5", "6"}


def test_user_name_resolves_from_container_passwd(ct):
    def cfg(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}

    assert out_ok(ct.sh("id -un", cfg)) == "user\n"


def test_umask(ct):
    def cfg(c):
        c["process"]["user"]["umask"] = 0o027

    out = out_ok(ct.sh("umask; touch /tmp/f; stat -c %a /tmp/f", cfg))
    assert out.split() == ["0027", "640"]


def test_cwd(ct):
    def cfg(c):
        c["process"]["cwd"] = "/etc"

    assert out_ok(ct.sh("pwd", cfg)) == "/etc\n"


def test_cwd_created_when_missing(ct):
    def cfg(c):
        c["process"]["cwd"] = "/new/work/dir"

    assert out_ok(ct.sh("pwd", cfg)) == "/new/work/dir\n"


def test_env(ct):
    def cfg(c):
        c["process"]["env"] = ["PATH=/bin", "GREETING=hello world", "EMPTY="]

    out = out_ok(ct.sh('echo "$GREETING|$EMPTY|${EMPTY+set}"; env | sort', cfg))
    lines = out.splitlines()
    assert lines[0] == "hello world||set"
    assert "PATH=/bin" in lines


def test_annotations_in_state(ct):
    def cfg(c):
        c["annotations"] = {"org.v12n.a": "1", "org.v12n.b": "two words"}

    b, _ = ct.created(cfg, args=["true"])
    assert ct.rt.state(b.id)["annotations"] == {"org.v12n.a": "1", "org.v12n.b": "two words"}


def test_args_with_spaces_and_no_shell(ct):
    out = out_ok(ct.run_container(args=["echo", "a  b", "", "c"]))
    assert out == "a  b  c\n"


def test_exec_of_missing_binary_fails(ct):
    r = ct.run_container(args=["/no/such/binary"])
    assert r.rc != 0, r
    assert r.err.strip()
