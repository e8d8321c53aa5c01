"""Regression tests for the classic runtime escapes."""

import errno
import hashlib
import os
import stat

import pytest

import helpers


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _runtime_binary(ct):
    return os.path.realpath(ct.rt.argv[0])


# ------------------------------------------------ CVE-2019-5736 (/proc/self/exe)


def test_init_exe_cannot_be_opened_for_writing(ct):
    # Same inode as the host binary is fine (runc reaches it through a
    # detached read-only bind mount); being writable through /proc is not.
    b, _ = ct.created(args=["true"])
    pid = ct.rt.state(b.id)["pid"]
    with pytest.raises(OSError) as e:
        fd = os.open("/proc/%d/exe" % pid, os.O_WRONLY)
        os.close(fd)
    assert e.value.errno in (errno.ETXTBSY, errno.EPERM, errno.EACCES, errno.EROFS)


def test_init_exe_kept_open_is_not_writable_after_start(ct):
    """The attack: keep a handle on the init's executable, wait until nothing
    executes it any more (the init has exec'd the user's program), then open
    it for writing.  A runtime that ran its own host binary as the init lets
    this through; a sealed memfd or read-only copy does not."""
    before = _sha256(_runtime_binary(ct))
    b, _ = ct.created(args=["sleep", "1000"])
    pid = ct.rt.state(b.id)["pid"]
    handle = os.open("/proc/%d/exe" % pid, os.O_PATH)
    try:
        ct.rt.start(b.id)
        helpers.wait_for(lambda: _cmdline(pid)[:1] == [b"sleep"], what="init to exec sleep")
        try:
            fd = os.open("/proc/self/fd/%d" % handle, os.O_WRONLY)
        except OSError as e:
            assert e.errno in (errno.ETXTBSY, errno.EPERM, errno.EACCES, errno.EROFS), e
        else:
            os.close(fd)
            pytest.fail("the runtime binary the init ran is writable after start")
    finally:
        os.close(handle)
    ct.rt.ok("delete", "--force", b.id)
    assert _sha256(_runtime_binary(ct)) == before


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def test_container_running_proc_self_exe_cannot_touch_host_binary(ct):
    """The container asks for /proc/self/exe as its program: whatever runs,
    the host runtime binary must be untouched."""
    before = _sha256(_runtime_binary(ct))
    b = ct.make_bundle(args=["/proc/self/exe", "--help"])
    ct.rt.run(b, timeout=30)
    b2, _ = ct.started(args=["sleep", "1000"])
    ct.rt.cmd("exec", b2.id, "sh", "-c",
              "for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; true")
    ct.rt.ok("delete", "--force", b2.id)
    assert _sha256(_runtime_binary(ct)) == before


@pytest.fixture
def ro_install(ct):
    """v12n's binary reached through a read-only bind mount, as in the
    documented read-only install (docs/design.md): the runtime then skips its
    re-exec, and the container still cannot write the binary."""
    if ct.rt.is_runc:
        pytest.skip("v12n's read-only install")
    dst = os.path.join(ct.host_dir("ro-install"), os.path.basename(ct.rt.argv[0]))
    open(dst, "w").close()
    assert helpers.run(["mount", "--bind", _runtime_binary(ct), dst]).rc == 0
    try:
        assert helpers.run(["mount", "-o", "remount,bind,ro", dst]).rc == 0
        installed = ct.rt.argv[0]
        ct.rt.argv[0] = dst
        yield dst
        ct.rt.argv[0] = installed
    finally:
        # lazily: a container the test left may still run the binary
        helpers.run(["umount", "-l", dst])


def test_writable_binary_is_reexecuted(ct):
    """The guard itself: from a writable mount the init does not run the
    host binary but a read-only copy of it."""
    b, _ = ct.created(args=["true"])
    pid = ct.rt.state(b.id)["pid"]
    assert os.readlink("/proc/%d/exe" % pid) != _runtime_binary(ct)


def test_read_only_install_runs_in_place_and_stays_unwritable(ct, ro_install):
    before = _sha256(ro_install)
    b, _ = ct.created(args=["sleep", "1000"])
    pid = ct.rt.state(b.id)["pid"]
    # No re-exec: the init is the installed binary, through the read-only mount.
    assert os.readlink("/proc/%d/exe" % pid) == ro_install
    with pytest.raises(OSError) as e:
        os.close(os.open("/proc/%d/exe" % pid, os.O_WRONLY))
    assert e.value.errno in (errno.ETXTBSY, errno.EROFS)  # busy while the init runs it
    handle = os.open("/proc/%d/exe" % pid, os.O_PATH)
    try:
        ct.rt.start(b.id)
        helpers.wait_for(lambda: _cmdline(pid)[:1] == [b"sleep"], what="init to exec sleep")
        # Nothing executes it any more: only the read-only mount protects it.
        with pytest.raises(OSError) as e:
            os.close(os.open("/proc/self/fd/%d" % handle, os.O_WRONLY))
        assert e.value.errno == errno.EROFS
        ct.rt.cmd("exec", b.id, "sh", "-c",
                  "for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; true")
    finally:
        os.close(handle)
    ct.rt.ok("delete", "--force", b.id)
    assert _sha256(ro_install) == before


# --------------------------------------- CVE-2021-30465: symlinked destinations


def test_mount_destination_symlink_stays_in_rootfs(ct):
    victim = ct.host_dir("victim")
    with open(os.path.join(victim, "canary"), "w") as f:
        f.write("canary")
    source = ct.host_dir("source")

    def cfg(c):
        c["mounts"].append({"destination": "/data", "type": "bind", "source": source,
                            "options": ["rbind", "rw"]})

    b = ct.make_bundle(cfg, ["sh", "-c", "echo pwned > /data/written; ls /data"])
    os.symlink("/../../../../../../.." + victim, os.path.join(b.rootfs, "data"))
    r = ct.rt.run(b)
    # refusing is fine; following the link out of the rootfs is not
    assert sorted(os.listdir(victim)) == ["canary"], r
    assert helpers.read_file(os.path.join(victim, "canary")) == "canary"
    assert helpers.mounts_under(victim) == []
    if r.rc == 0:
        # the mount landed inside the rootfs, where the link points from inside
        assert os.listdir(source) == ["written"], r


def test_tmpfs_destination_symlink_stays_in_rootfs(ct):
    victim = ct.host_dir("victim")
    with open(os.path.join(victim, "canary"), "w") as f:
        f.write("canary")

    def cfg(c):
        c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m"]})

    b = ct.make_bundle(cfg, ["sh", "-c", "echo pwned > /scratch/written; grep -c ' %s ' /proc/mounts" % victim])
    os.symlink("/../../../../../../.." + victim, os.path.join(b.rootfs, "scratch"))
    r = ct.rt.run(b)
    assert sorted(os.listdir(victim)) == ["canary"], r
    assert helpers.mounts_under(victim) == []
    if r.rc == 0:
        # from inside, the tmpfs is at <rootfs>/<victim path>
        assert r.out.strip() == "1", r


def test_dev_null_symlink_does_not_clobber_host_file(ct):
    victim = ct.path("precious")
    with open(victim, "w") as f:
        f.write("precious data")
    os.chmod(victim, 0o640)
    before = os.stat(victim)

    def cfg(c):
        # no tmpfs on /dev: the runtime populates the rootfs's own /dev
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]

    b = ct.make_bundle(cfg, ["sh", "-c", "echo pwned > /dev/null; echo pwned > /dev/zero; true"])
    os.symlink(victim, os.path.join(b.rootfs, "dev", "null"))
    os.symlink(victim, os.path.join(b.rootfs, "dev", "zero"))
    ct.rt.run(b)
    after = os.stat(victim)
    assert stat.S_ISREG(after.st_mode)
    assert helpers.read_file(victim) == "precious data"
    assert (after.st_mode, after.st_uid, after.st_gid, after.st_ino) == \
        (before.st_mode, before.st_uid, before.st_gid, before.st_ino)
    assert helpers.mounts_under(victim) == []


def test_bind_source_symlink_is_resolved_on_host(ct):
    """The other side: a source symlink on the host is the admin's choice and
    is followed (runc semantics)."""
    real = ct.host_dir("real-src")
    with open(os.path.join(real, "f"), "w") as f:
        f.write("via-link\n")
    link = ct.path("link-src")
    os.symlink(real, link)

    def cfg(c):
        c["mounts"].append({"destination": "/src", "type": "bind", "source": link,
                            "options": ["rbind", "ro"]})

    r = ct.sh("cat /src/f", cfg)
    assert r.out == "via-link\n", r


# ------------------------------------------ CVE-2024-21626: leaked host fds


def test_init_has_only_stdio_fds(ct):
    r = ct.sh("ls /proc/1/fd; true")
    assert r.rc == 0, r
    assert sorted(r.out.split(), key=int) == ["0", "1", "2"]


def test_exec_process_has_only_stdio_fds(ct):
    b, _ = ct.started(args=["sleep", "1000"])
    r = ct.rt.ok("exec", b.id, "sh", "-c", "ls /proc/$$/fd; true")
    assert sorted(r.out.split(), key=int) == ["0", "1", "2"]


def test_preserved_fds_are_the_only_extra(ct):
    b = ct.make_bundle(args=["sh", "-c", "ls /proc/1/fd; true"])
    argv = ["sh", "-c", 'exec 3</dev/null 4</dev/null; exec "$@"', "sh"] + ct.rt.global_args() + [
        "run", "--preserve-fds", "2", "--bundle", b.path, b.id]
    r = helpers.run(argv)
    assert r.rc == 0, r
    assert sorted(r.out.split(), key=int) == ["0", "1", "2", "3", "4"]


WALK_UP = ('here=$(stat -c %d:%i .); root=$(stat -c %d:%i /); n=0; '
           'while [ "$(stat -c %d:%i .)" != "$(stat -c %d:%i ..)" ] && [ $n -lt 64 ]; do cd ..; n=$((n+1)); done; '
           'echo "top=$(stat -c %d:%i .) root=$root"')


@pytest.mark.parametrize("fd", range(3, 11))
def test_cwd_through_leaked_fd_is_refused_or_inside(ct, fd):
    def cfg(c):
        c["process"]["cwd"] = "/proc/self/fd/%d" % fd

    r = ct.sh(WALK_UP, cfg)
    if r.rc != 0:
        assert r.err.strip(), r  # refused, with a message
        return
    line = [x for x in r.out.splitlines() if x.startswith("top=")][0]
    top, root = line.split()
    assert top[len("top="):] == root[len("root="):], \
        "cwd %d leads out of the container: %s" % (fd, r.out)


@pytest.mark.parametrize("fd", [5, 7, 8])
def test_exec_cwd_through_leaked_fd_is_refused_or_inside(ct, fd):
    b, _ = ct.started(args=["sleep", "1000"])
    r = ct.rt.cmd("exec", "--cwd", "/proc/self/fd/%d" % fd, b.id, "sh", "-c", WALK_UP)
    if r.rc != 0:
        return
    line = [x for x in r.out.splitlines() if x.startswith("top=")][0]
    top, root = line.split()
    assert top[len("top="):] == root[len("root="):], r.out


def test_container_cannot_see_host_root(ct):
    marker = "/tmp/v12n-host-marker-%d" % os.getpid()
    with open(marker, "w") as f:
        f.write("host")
    try:
        r = ct.sh("cat %s && echo LEAK; ls /" % marker)
        assert r.rc == 0, r
        assert "LEAK" not in r.out and "bin" in r.out.split(), r
    finally:
        os.unlink(marker)
