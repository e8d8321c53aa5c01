"""The lifecycle once more with the ASan+UBSan build (V12N_ASAN, passed by
`make check-integration`): every command must succeed with no sanitizer
report on stderr.  Skipped when V12N_ASAN is not set (e.g. under runc)."""

import json
import os

import pytest

from helpers import Runtime

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def _asan_argv():
    path = os.environ.get("V12N_ASAN")
    if not path:
        return None
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        # the Makefile's $(ASAN_BUILD)/v12n while meson builds $(ASAN_BUILD)/src/v12n
        path = os.path.join(os.path.dirname(path), "src", os.path.basename(path))
    link = os.path.join(os.path.dirname(path), "v12n-runc")
    if os.access(link, os.X_OK):
        return [link]
    if os.access(path, os.X_OK):
        return [path, "oci"]
    return None


ASAN_ARGV = _asan_argv()
pytestmark = pytest.mark.skipif(ASAN_ARGV is None, reason="V12N_ASAN is not set or not built")


@pytest.fixture
def asan(ct):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:exitcode=99"
    ct.rt = Runtime(ASAN_ARGV, ct.rt.root, "v12n", env=env)
    return ct


def clean(r):
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, r
    assert r.rc != 99, r
    return r


def test_asan_lifecycle(asan):
    rt = asan.rt
    b = asan.make_bundle(args=["sh", "-c", "echo hi; sleep 1000"])
    clean(rt.create(b))
    clean(rt.cmd("state", b.id))
    clean(rt.ok("start", b.id))
    clean(rt.ok("ps", "--format", "json", b.id))
    clean(rt.ok("exec", b.id, "true"))
    clean(rt.ok("pause", b.id))
    clean(rt.ok("resume", b.id))
    clean(rt.ok("update", "--resources", "-", b.id, input=json.dumps({"pids": {"limit": 50}})))
    clean(rt.ok("list", "--format", "json"))
    clean(rt.ok("kill", b.id, "KILL"))
    rt.wait_status(b.id, "stopped")
    clean(rt.ok("delete", b.id))


def test_asan_run_exit_code(asan):
    r = clean(asan.sh("exit 3"))
    assert r.rc == 3, r


def test_asan_error_paths(asan):
    rt = asan.rt
    clean(rt.fail("state", "no-such-id"))
    b = asan.make_bundle(args=["true"])
    with open(b.config_path, "w") as f:
        f.write("{broken")
    clean(rt.fail("create", "--bundle", b.path, b.id))
    clean(rt.ok("features"))
    d = asan.host_dir("spec")
    clean(rt.ok("spec", cwd=d))
