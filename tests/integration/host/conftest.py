"""Fixtures for `v12n info`: the v12n binary under test (V12N, else the
build of this work tree)."""

import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(scope="session")
def v12n():
    path = os.environ.get("V12N") or os.path.join(REPO, "build", "src", "v12n")
    if not os.access(path, os.X_OK):
        alt = os.path.join(os.path.dirname(path), "src", os.path.basename(path))
        path = alt if os.access(alt, os.X_OK) else path
    if not os.access(path, os.X_OK):
        pytest.skip("no v12n binary at %s (build first)" % path)
    return path
