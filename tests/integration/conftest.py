"""Fixtures for the OCI runtime integration suite.

The runtime under test:
  V12N_TEST_RUNTIME=/path   run the suite against that binary (e.g. /usr/sbin/runc)
  V12N=/path/to/v12n        otherwise: the `v12n-runc` link next to it, or `v12n oci`
  (neither)                 build/v12n of this work tree
V12N_TEST_FLAVOR=runc|v12n overrides the guess (by file name) of which one it is;
tests marked v12n_only are skipped under runc, tests marked xfail_runc are
expected to fail there.
"""

import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid

import pytest

import helpers
from helpers import Bundle, Runtime

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PER_TEST_LIMIT = 150  # seconds; every command has its own, smaller timeout
VERY_SLOW_LIMIT = 1200  # for tests marked very_slow (the Debian boot under TCG)


def _select_runtime():
    """(argv, flavor, why-not) for the runtime under test."""
    override = os.environ.get("V12N_TEST_RUNTIME")
    if override:
        path = os.path.abspath(override)
        names = {os.path.basename(path), os.path.basename(os.path.realpath(path))}
        flavor = "v12n" if any(n.startswith("v12n") for n in names) else "runc"
        argv = [path]
        missing = None if os.access(path, os.X_OK) else "V12N_TEST_RUNTIME=%s is not executable" % path
    else:
        v12n = os.environ.get("V12N")
        if not v12n:
            # meson puts the executable under build/src/; a top-level
            # build/v12n may exist too
            candidates = [os.path.join(REPO, "build", "v12n"), os.path.join(REPO, "build", "src", "v12n")]
            v12n = next((c for c in candidates if os.access(c, os.X_OK)), candidates[0])
        elif not os.access(v12n, os.X_OK):
            # the Makefile's $(BUILD)/v12n while meson builds $(BUILD)/src/v12n
            alt = os.path.join(os.path.dirname(v12n), "src", os.path.basename(v12n))
            if os.access(alt, os.X_OK):
                v12n = alt
        v12n = os.path.abspath(v12n)
        link = os.path.join(os.path.dirname(v12n), "v12n-runc")
        argv = [link] if os.access(link, os.X_OK) else [v12n, "oci"]
        flavor = "v12n"
        missing = None if os.access(argv[0], os.X_OK) else "no runtime binary at %s (build first)" % argv[0]
        if missing and os.environ.get("V12N"):
            # asked for explicitly: a missing binary is an error, not a skip
            raise SystemExit("v12n integration tests: V12N=%s: %s" % (os.environ["V12N"], missing))
    flavor = os.environ.get("V12N_TEST_FLAVOR", flavor)
    return argv, flavor, missing


RUNTIME_ARGV, FLAVOR, RUNTIME_MISSING = _select_runtime()


def pytest_configure(config):
    for line in (
        "slow: takes seconds (still run by default)",
        "v12n_only: checks v12n-specific behaviour (wording, extensions); skipped under runc",
        "xfail_runc(reason): runc fails this for a known, legitimate reason; strict for v12n",
        "client: drives a real container engine (podman, containerd) through the runtime",
        "very_slow: takes minutes; skipped unless selected by -m very_slow (make check-slow)",
    ):
        config.addinivalue_line("markers", line)


def pytest_report_header(config):
    return "runtime under test: %s (flavor %s)" % (" ".join(RUNTIME_ARGV), FLAVOR)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if RUNTIME_MISSING:
            item.add_marker(pytest.mark.skip(reason=RUNTIME_MISSING))
            continue
        if os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="the integration suite runs as root"))
            continue
        if item.get_closest_marker("very_slow") and "very_slow" not in config.option.markexpr:
            item.add_marker(pytest.mark.skip(reason="takes minutes: run by make check-slow"))
            continue
        if FLAVOR == "runc" and item.get_closest_marker("v12n_only"):
            item.add_marker(pytest.mark.skip(reason="v12n-only behaviour"))
        mark = item.get_closest_marker("xfail_runc")
        if mark and FLAVOR == "runc":
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "runc limitation")
            item.add_marker(pytest.mark.xfail(reason="runc: " + reason, strict=False))


class _TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise _TestTimeout("test exceeded its time limit (%ss, %ss if very_slow)" %
                       (PER_TEST_LIMIT, VERY_SLOW_LIMIT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(VERY_SLOW_LIMIT if item.get_closest_marker("very_slow") else PER_TEST_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------
# session fixtures


@pytest.fixture(scope="session")
def flavor():
    return FLAVOR


@pytest.fixture(scope="session")
def runtime_argv():
    return list(RUNTIME_ARGV)


@pytest.fixture(scope="session")
def session_dir():
    # Not pytest's tmp_path: its parents are 0700, which a container whose
    # root is an unprivileged host uid (user namespace tests) cannot cross.
    d = tempfile.mkdtemp(prefix="v12n-it-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    if not helpers.mounts_under(d):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def runtime_path(runtime_argv, session_dir):
    """One executable that behaves like runc, for clients that take a path
    (podman --runtime, ctr --runc-binary)."""
    if len(runtime_argv) == 1:
        return runtime_argv[0]
    wrapper = os.path.join(session_dir, "v12n-runc")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s \"$@\"\n" % " ".join("'%s'" % a for a in runtime_argv))
    os.chmod(wrapper, 0o755)
    return wrapper


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("/bin/busybox (busybox-static) is missing")
    dest = os.path.join(session_dir, "rootfs-template")
    helpers.build_rootfs(dest)
    return dest


@pytest.fixture(scope="session")
def spec_template(runtime_argv, session_dir):
    """The runtime's own `spec` output."""
    d = os.path.join(session_dir, "spec-template")
    os.mkdir(d)
    r = helpers.run(runtime_argv + ["spec"], cwd=d, timeout=15)
    assert r.rc == 0, r
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session", autouse=True)
def _remove_cgroup_parents():
    yield
    for mnt, _t, _o in helpers.cgroup_mounts():
        parent = os.path.join(mnt, helpers.CGROUP_PARENT)
        try:
            os.rmdir(parent)
        except OSError:
            pass


# --------------------------------------------------------------------------
# per-test context

_ids = itertools.count(1)


class Ctx:
    """A test's private world: a directory, a state root, the runtime bound
    to it, and bundles made from the runtime's spec."""

    def __init__(self, rt, directory, rootfs_template, spec_template, runtime_path):
        self.rt = rt
        self.dir = directory
        self.rootfs_template = rootfs_template
        self.spec_template = spec_template
        self.runtime_path = runtime_path
        self.ids = []
        self._bundles = itertools.count(1)

    def new_id(self):
        cid = "v12n-t%d-%s" % (next(_ids), uuid.uuid4().hex[:8])
        self.ids.append(cid)
        return cid

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def host_dir(self, name, mode=0o755):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        return p

    def make_bundle(self, mutator=None, args=None, cid=None):
        """A fresh bundle: a copy of the busybox rootfs and the runtime's
        `spec` with terminal off, a writable root, cgroupsPath
        /v12n-test/<id>, then args (if given) and mutator(config)."""
        cid = cid or self.new_id()
        path = self.path("bundle%d" % next(self._bundles))
        os.mkdir(path)
        os.chmod(path, 0o755)
        r = helpers.run(["cp", "-a", self.rootfs_template, os.path.join(path, "rootfs")], timeout=60)
        assert r.rc == 0, r
        config = helpers.deepcopy(self.spec_template)
        config["process"]["terminal"] = False
        config["root"] = {"path": "rootfs", "readonly": False}
        config.setdefault("linux", {})["cgroupsPath"] = "/%s/%s" % (helpers.CGROUP_PARENT, cid)
        if args is not None:
            config["process"]["args"] = list(args)
        bundle = Bundle(path, cid, config)
        if mutator:
            mutator(config)
        bundle.write()
        return bundle

    def run_container(self, mutator=None, args=None, timeout=30, extra=()):
        """Make a bundle and `run` it in the foreground; the Result's rc is
        the container's exit code."""
        b = self.make_bundle(mutator, args)
        return self.rt.run(b, *extra, timeout=timeout)

    def sh(self, script, mutator=None, timeout=30):
        return self.run_container(mutator, ["sh", "-c", script], timeout=timeout)

    def started(self, mutator=None, args=None, create_args=()):
        """create + start; returns (bundle, result of create) where
        result.out is the container's stdout so far."""
        b = self.make_bundle(mutator, args)
        r = self.rt.create(b, *create_args)
        self.rt.start(b.id)
        return b, r

    def created(self, mutator=None, args=None, create_args=()):
        b = self.make_bundle(mutator, args)
        r = self.rt.create(b, *create_args)
        return b, r


def _cleanup_and_check(ct):
    """Delete what the test left with the runtime itself, then assert that
    nothing remains: no container listed, no state, no cgroup, no mount."""
    problems = []
    rt = ct.rt
    try:
        leftover = rt.list_ids()
    except Exception as e:  # the list itself failing is a finding
        problems.append("list failed: %s" % e)
        leftover = []
    for cid in set(leftover) | set(ct.ids):
        if cid in leftover or rt.status(cid) is not None:
            r = rt.cmd("delete", "--force", cid, timeout=30)
            if r.rc != 0:
                problems.append("delete --force %s failed: %r" % (cid, r))
    try:
        remaining = rt.list_ids()
    except Exception as e:
        remaining = []
        problems.append("list failed: %s" % e)
    if remaining:
        problems.append("containers still listed after delete --force: %s" % remaining)
    if os.path.isdir(rt.root):
        stale = [e for e in os.listdir(rt.root) if any(cid in e for cid in ct.ids)]
        if stale:
            problems.append("state left in %s: %s" % (rt.root, stale))
    for cid in ct.ids:
        dirs = helpers.cgroup_dirs_of(cid)
        if dirs:
            problems.append("cgroups left for %s: %s" % (cid, dirs))
            for d in dirs:
                helpers.remove_cgroup_dir(d)
    mounts = helpers.mounts_under(ct.dir)
    if mounts:
        problems.append("mounts left under %s: %s" % (ct.dir, mounts))
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], timeout=10, capture_output=True)
    if not helpers.mounts_under(ct.dir):
        shutil.rmtree(ct.dir, ignore_errors=True)
    return problems


@pytest.fixture
def ct(request, session_dir, runtime_argv, flavor, rootfs_template, spec_template, runtime_path):
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")[:80]
    directory = tempfile.mkdtemp(prefix=name + "-", dir=session_dir)
    os.chmod(directory, 0o755)
    state_root = os.path.join(directory, "state")
    os.mkdir(state_root)
    c = Ctx(Runtime(runtime_argv, state_root, flavor), directory, rootfs_template, spec_template,
            runtime_path)
    yield c
    problems = _cleanup_and_check(c)
    expected_to_leak = FLAVOR == "runc" and request.node.get_closest_marker("xfail_runc")
    if problems and not expected_to_leak:
        pytest.fail("left behind after the test:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def rt(ct):
    return ct.rt
