"""Fixtures for the VMM tests: the v12n binary ($V12N, else build/src/v12n)
and the test guests built next to it (build/tests/guests)."""

import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _binary():
    return os.path.abspath(os.environ.get("V12N") or os.path.join(REPO, "build", "src", "v12n"))


@pytest.fixture(scope="session")
def v12n():
    path = _binary()
    if not os.access(path, os.X_OK):
        pytest.skip("no v12n binary at %s (build first)" % path)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("no usable /dev/kvm")
    return path


@pytest.fixture(scope="session")
def guests(v12n):
    d = os.path.join(os.path.dirname(os.path.dirname(v12n)), "tests", "guests")
    if not os.path.exists(os.path.join(d, "pvh.elf")):
        pytest.skip("test guests not built in %s" % d)
    return d


@pytest.fixture
def vm_run(v12n):
    """Run `v12n vm run ARGS`; returns the CompletedProcess (text)."""

    def run(*args, input=None, timeout=60):
        return subprocess.run(
            [v12n, "vm", "run", *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
