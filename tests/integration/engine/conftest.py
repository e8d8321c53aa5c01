"""Fixtures for the container engine tests: a private store (--root) and
run directory per session, with the built-in busybox image in it, and a
check after every test that nothing was left behind."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _binary():
    v = os.environ.get("V12N")
    if v:
        alt = os.path.join(os.path.dirname(v), "src", os.path.basename(v))
        return os.path.abspath(v if os.access(v, os.X_OK) else alt)
    for c in (os.path.join(REPO, "build", "src", "v12n"), os.path.join(REPO, "build", "v12n")):
        if os.access(c, os.X_OK):
            return c
    return os.path.join(REPO, "build", "src", "v12n")


class Engine:
    def __init__(self, binary, root, run_dir):
        self.binary = binary
        self.root = root
        self.run_dir = run_dir
        self.env = dict(os.environ, V12N_ENGINE_RUN_DIR=run_dir, V12N_STORE_NO_SYNC="1")

    def argv(self, *args):
        return [self.binary, "--root", self.root] + [str(a) for a in args]

    def __call__(self, *args, input=None, timeout=60):
        return subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        return r.stdout

    def inspect(self, name):
        return json.loads(self.ok("inspect", name))[0]

    def container_dirs(self):
        d = os.path.join(self.root, "containers")
        return sorted(n for n in os.listdir(d) if len(n) == 64) if os.path.isdir(d) else []

    def runtime_states(self):
        d = os.path.join(self.run_dir, "runtime")
        return sorted(n for n in os.listdir(d) if len(n) == 64) if os.path.isdir(d) else []


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path)]


def cgroups_named(ident):
    found = []
    for top in ("/sys/fs/cgroup",):
        for dirpath, dirnames, _ in os.walk(top):
            if dirpath.count("/") > 6:
                dirnames[:] = []
                continue
            found += [os.path.join(dirpath, d) for d in dirnames if ident in d]
    return found


def processes_with(text):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


@pytest.fixture(scope="session")
def engine_session():
    d = tempfile.mkdtemp(prefix="v12n-engine-", dir="/tmp")
    eng = Engine(_binary(), os.path.join(d, "root"), os.path.join(d, "run"))
    if not os.access(eng.binary, os.X_OK):
        pytest.skip("no v12n binary at %s (build first)" % eng.binary)
    if os.geteuid() != 0:
        pytest.skip("the engine tests run as root")
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("/bin/busybox (busybox-static) is missing")
    eng.ok("image", "builtin", "busybox")
    yield eng
    for c in eng.container_dirs():
        eng("rm", "-f", c)
    if not mounts_under(d):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def engine(engine_session):
    """The engine; every container a test made is gone afterwards, and the
    test fails if removing them left a mount, a cgroup or runtime state."""
    before = set(engine_session.container_dirs())
    yield engine_session
    made = set(engine_session.container_dirs()) - before
    for c in made:
        engine_session("rm", "-f", c)
    assert engine_session.container_dirs() == sorted(before)
    assert not [m for m in mounts_under(engine_session.root) if "/containers/" in m]
    assert engine_session.runtime_states() == []
