"""Helpers for the OCI runtime integration tests.

Everything here is stdlib only.  Every subprocess gets a timeout and its
output goes to anonymous files, never pipes: a detached container inherits
the runtime's stdout, and a pipe it holds open would make a reader wait for
the container to exit.
"""

import copy
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DEFAULT_TIMEOUT = 30

# A relative cgroup parent for every container the suite makes, so that the
# leak check knows where to look (<hierarchy>/v12n-test/<id>).
CGROUP_PARENT = "v12n-test"


class CommandTimeout(AssertionError):
    pass


class Result:
    """The outcome of one command.  out/err re-read their files on every
    access, so the output of a detached container (which inherited the
    runtime's stdout) can be read later from the Result of `create`."""

    def __init__(self, argv, rc, out_file, err_file):
        self.argv = argv
        self.rc = rc
        self._out_file = out_file
        self._err_file = err_file

    @staticmethod
    def _read(f):
        f.flush()
        f.seek(0)
        return f.read().decode("utf-8", "replace")

    @property
    def out(self):
        return self._read(self._out_file)

    @property
    def err(self):
        return self._read(self._err_file)

    @property
    def output(self):
        return self.out + self.err

    def __repr__(self):
        return "<Result rc=%r argv=%r\n--- stdout ---\n%s\n--- stderr ---\n%s>" % (
            self.rc,
            " ".join(str(a) for a in self.argv),
            self.out[-4000:],
            self.err[-4000:],
        )


def run(argv, timeout=DEFAULT_TIMEOUT, input=None, cwd=None, env=None, stdin=None):
    """Run argv to completion (or kill its process group after timeout and
    fail).  input: bytes/str fed on stdin; stdin: an explicit file object."""
    return spawn(argv, input=input, cwd=cwd, env=env, stdin=stdin).wait(timeout)


class Spawned:
    """A command running in the background; wait() gives its Result."""

    def __init__(self, argv, proc, out_f, err_f):
        self.argv = argv
        self.proc = proc
        self.out_f = out_f
        self.err_f = err_f

    @property
    def pid(self):
        return self.proc.pid

    def wait(self, timeout=DEFAULT_TIMEOUT):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            res = Result(self.argv, None, self.out_f, self.err_f)
            raise CommandTimeout("command timed out after %ss: %r" % (timeout, res))
        return Result(self.argv, rc, self.out_f, self.err_f)

    def kill(self):
        if self.proc.poll() is None:
            kill_group(self.proc)


def spawn(argv, input=None, cwd=None, env=None, stdin=None):
    argv = [str(a) for a in argv]
    out_f = tempfile.TemporaryFile(prefix="v12n-it-out-")
    err_f = tempfile.TemporaryFile(prefix="v12n-it-err-")
    in_f = None
    if input is not None:
        in_f = tempfile.TemporaryFile(prefix="v12n-it-in-")
        in_f.write(input.encode() if isinstance(input, str) else input)
        in_f.seek(0)
        stdin = in_f
    if stdin is None:
        stdin = subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=out_f,
            stderr=err_f,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    finally:
        if in_f is not None:
            in_f.close()
    return Spawned(argv, proc, out_f, err_f)


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except FileNotFoundError:
        return False


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Runtime:
    """The runtime under test, bound to one --root state directory."""

    def __init__(self, argv, root, flavor, env=None):
        self.argv = list(argv)
        self.root = root
        self.flavor = flavor  # "runc" or "v12n"
        self.env = env  # None: inherit ours

    @property
    def is_runc(self):
        return self.flavor == "runc"

    def global_args(self, log=None, log_format=None):
        args = self.argv + ["--root", self.root]
        if log:
            args += ["--log", log]
        if log_format:
            args += ["--log-format", log_format]
        return args

    def cmd(self, *args, log=None, log_format=None, **kw):
        kw.setdefault("env", self.env)
        r = run(self.global_args(log, log_format) + list(args), **kw)
        # Under the ASan+UBSan build a report fails the test even where the
        # command was expected to fail (an error path that leaks is a bug).
        for mark in SANITIZER_MARKS:
            assert mark not in (r.err or ""), r
        return r

    def spawn(self, *args, **kw):
        """A runtime command in the background (e.g. a foreground `run`)."""
        kw.setdefault("env", self.env)
        return spawn(self.global_args() + list(args), **kw)

    def ok(self, *args, **kw):
        r = self.cmd(*args, **kw)
        assert r.rc == 0, r
        return r

    def fail(self, *args, **kw):
        r = self.cmd(*args, **kw)
        assert r.rc not in (0, None), r
        return r

    def state(self, cid):
        r = self.ok("state", cid, timeout=15)
        return json.loads(r.out)

    def status(self, cid):
        """The status string, or None when the runtime knows no such id."""
        r = self.cmd("state", cid, timeout=15)
        if r.rc != 0:
            return None
        return json.loads(r.out)["status"]

    def wait_status(self, cid, status, timeout=10):
        return wait_for(
            lambda: self.status(cid) == status,
            timeout=timeout,
            what="container %s to be %s (now %s)" % (cid, status, self.status(cid)),
        )

    def list_json(self):
        r = self.ok("list", "--format", "json", timeout=15)
        data = json.loads(r.out) if r.out.strip() else None
        return data or []

    def list_ids(self):
        return [c["id"] for c in self.list_json()]

    def create(self, bundle, *extra, cid=None, **kw):
        return self.ok("create", "--bundle", bundle.path, *extra, cid or bundle.id, **kw)

    def start(self, cid, **kw):
        return self.ok("start", cid, **kw)

    def run(self, bundle, *extra, cid=None, **kw):
        """`run` in the foreground; returns the Result (rc = the exit code)."""
        return self.cmd("run", "--bundle", bundle.path, *extra, cid or bundle.id, **kw)


class Bundle:
    def __init__(self, path, cid, config):
        self.path = path
        self.id = cid
        self.config = config

    @property
    def rootfs(self):
        return os.path.join(self.path, self.config["root"]["path"])

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def write(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def update(self, mutator):
        mutator(self.config)
        self.write()


def build_rootfs(dest, busybox="/bin/busybox"):
    """A busybox rootfs: /bin/busybox, one symlink per applet, a passwd and
    group with root and user 1000, and the usual empty mount points."""
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user", "var", "run"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    os.chmod(dest, 0o755)
    shutil.copy2(busybox, os.path.join(dest, "bin", "busybox"))
    os.chmod(os.path.join(dest, "bin", "busybox"), 0o755)
    applets = subprocess.run(
        [busybox, "--list"], check=True, capture_output=True, text=True, timeout=10
    ).stdout.split()
    for applet in applets:
        if applet == "busybox":
            continue  # would replace the binary by a symlink to itself
        link = os.path.join(dest, "bin", applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\n")
    os.chown(os.path.join(dest, "home", "user"), 1000, 1000)


def cgroup_mounts():
    """[(mountpoint, fstype, super_options)] of the cgroup hierarchies we see."""
    res = []
    for mnt in parse_mountinfo():
        if mnt["fstype"] in ("cgroup", "cgroup2"):
            res.append((mnt["mountpoint"], mnt["fstype"], mnt["super_options"]))
    return res


def unescape_mount_path(p):
    return (
        p.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
    )


def parse_mountinfo(path="/proc/self/mountinfo"):
    mounts = []
    with open(path) as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ", 1)
            lf = left.split()
            rf = right.split()
            mounts.append(
                {
                    "id": lf[0],
                    "parent": lf[1],
                    "root": unescape_mount_path(lf[3]),
                    "mountpoint": unescape_mount_path(lf[4]),
                    "options": lf[5],
                    "optional": lf[6:],
                    "fstype": rf[0],
                    "source": rf[1] if len(rf) > 1 else "",
                    "super_options": rf[2] if len(rf) > 2 else "",
                }
            )
    return mounts


def mounts_under(path):
    path = os.path.realpath(path).rstrip("/")
    return [
        m["mountpoint"]
        for m in parse_mountinfo()
        if m["mountpoint"] == path or m["mountpoint"].startswith(path + "/")
    ]


def cgroup_dirs_of(cid):
    """Every cgroup directory named after the container id, in any hierarchy:
    the explicit <hierarchy>/v12n-test/<id> and, to catch a runtime that
    ignored cgroupsPath, any directory of that name a few levels down."""
    found = []
    for mnt, _fstype, _opts in cgroup_mounts():
        explicit = os.path.join(mnt, CGROUP_PARENT, cid)
        if os.path.isdir(explicit):
            found.append(explicit)
        base_depth = mnt.rstrip("/").count("/")
        for dirpath, dirnames, _files in os.walk(mnt):
            depth = dirpath.rstrip("/").count("/") - base_depth
            if depth >= 4:
                dirnames[:] = []
                continue
            for d in dirnames:
                if d == cid or d.endswith("-" + cid + ".scope"):
                    p = os.path.join(dirpath, d)
                    if p not in found:
                        found.append(p)
    return found


def remove_cgroup_dir(path):
    """Kill whatever is in a leaked cgroup, then remove it (children first)."""
    for dirpath, _dirnames, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
        for procs in ("cgroup.procs", "tasks"):
            try:
                with open(os.path.join(dirpath, procs)) as f:
                    for pid in f.read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except (ProcessLookupError, ValueError):
                            pass
                break
            except OSError:
                continue
        freezer = os.path.join(dirpath, "freezer.state")
        if os.path.exists(freezer):
            try:
                with open(freezer, "w") as f:
                    f.write("THAWED")
            except OSError:
                pass
        cfreeze = os.path.join(dirpath, "cgroup.freeze")
        if os.path.exists(cfreeze):
            try:
                with open(cfreeze, "w") as f:
                    f.write("0")
            except OSError:
                pass
    for dirpath, _dirnames, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
        for _ in range(50):
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    break
                time.sleep(0.05)


def cgroup_file(cid, controller, name):
    """Host path of a control file of the container's cgroup: the v1
    hierarchy of that controller if there is one, else the v2 one."""
    candidates = []
    for mnt, fstype, opts in cgroup_mounts():
        if fstype == "cgroup" and controller in opts.split(","):
            candidates.append(os.path.join(mnt, CGROUP_PARENT, cid, name))
    for mnt, fstype, _opts in cgroup_mounts():
        if fstype == "cgroup2":
            candidates.append(os.path.join(mnt, CGROUP_PARENT, cid, name))
    for c in candidates:
        if os.path.exists(c):
            return c
    raise AssertionError("no cgroup file %s/%s for %s among %r" % (controller, name, cid, candidates))


def read_file(path):
    with open(path) as f:
        return f.read()


def recv_fd(listener, timeout=10):
    """Accept one connection on a listening unix socket and receive one fd
    sent with SCM_RIGHTS (what --console-socket does)."""
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(timeout)
        _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
    if not fds:
        raise AssertionError("no fd received on the console socket")
    for extra in fds[1:]:
        os.close(extra)
    return fds[0]


def read_pty_until(master_fd, needle, timeout=10):
    """Read from a pty master until needle appears, EOF/EIO, or timeout."""
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([master_fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(master_fd, 4096)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def run_on_pty(argv, timeout=DEFAULT_TIMEOUT):
    """Run argv with a pty as its stdin/stdout/stderr (for clients that want
    a terminal); returns (rc, everything it wrote)."""
    import select

    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([str(a) for a in argv], stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
    finally:
        os.close(slave)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                kill_group(proc)
                raise CommandTimeout("%r timed out; output so far: %r" % (argv, data))
            r, _, _ = select.select([master], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    chunk = b""
                if not chunk:
                    break
                data += chunk
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(master)
    return rc, data.decode("utf-8", "replace")


def deepcopy(x):
    return copy.deepcopy(x)
