"""What the runtime maps at start: only libc.  libcurl and libarchive are
loaded on first use by the image code (src/lib/shim), and jansson,
libseccomp, libcap and nettle are linked in (docs/performance.md)."""
import os
import subprocess

import pytest


def _v12n_binary():
    path = os.environ.get("V12N")
    if not path or os.environ.get("V12N_TEST_RUNTIME"):
        pytest.skip("checks v12n's own binary (V12N)")
    return path


def _needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def test_binary_needs_no_optional_library():
    needed = _needed(_v12n_binary())
    assert any(n.startswith("libc.so") for n in needed), needed
    for lib in ("libcurl", "libarchive", "libcrypto", "libssl", "libjansson", "libseccomp", "libcap",
                "libnettle"):
        assert not [n for n in needed if n.startswith(lib)], (lib, needed)


def test_runtime_does_not_map_image_libraries(ct):
    """A container's runtime, stopped in `create`, has none of them mapped."""
    _v12n_binary()
    b, _ = ct.created(args=["sleep", "30"])
    pid = ct.rt.state(b.id)["pid"]
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    for lib in ("libcurl", "libarchive", "libcrypto"):
        assert lib not in maps, lib
