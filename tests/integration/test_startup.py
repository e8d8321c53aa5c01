"""What the runtime maps at start.  The normal build's v12n is a static PIE
(glibc included) and maps no shared library at all; its dynamic twin
v12n-full beside it runs the commands that need libcurl/libarchive
(docs/design.md "Optional libraries").  The sanitizer build is one dynamic
binary that maps only libc at start, loading libcurl and libarchive on first
use (src/lib/shim).  jansson, libseccomp, libcap and nettle are linked in."""
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


def _is_static(path):
    out = subprocess.run(["readelf", "-l", path], capture_output=True, text=True, check=True).stdout
    return "INTERP" not in out


def _twin(path):
    return os.path.join(os.path.dirname(os.path.realpath(path)), "v12n-full")


def test_binary_needs_no_optional_library():
    path = _v12n_binary()
    needed = _needed(path)
    if _is_static(path):
        assert needed == [], needed
        path = _twin(path)
        needed = _needed(path)
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


def test_static_build_has_its_twin_and_ldd_agrees():
    """The build with a twin is the static one: v12n has no interpreter and
    no NEEDED entry (ldd says so too), v12n-full is dynamic."""
    path = _v12n_binary()
    if not os.path.exists(_twin(path)):
        pytest.skip("%s: no v12n-full beside it (a -Dstatic_cli=false build)" % path)
    assert _is_static(path)
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True)
    assert "statically linked" in ldd.stdout + ldd.stderr or "not a dynamic" in ldd.stdout + ldd.stderr
    assert not _is_static(_twin(path))


def test_static_runtime_maps_no_shared_library(ct):
    """A container's runtime, stopped in `create`: only v12n itself (by the
    CVE-2019-5736 re-exec, a memfd or a detached bind), no .so at all."""
    path = _v12n_binary()
    if not _is_static(path):
        pytest.skip("%s is the dynamic build" % path)
    b, _ = ct.created(args=["sleep", "30"])
    pid = ct.rt.state(b.id)["pid"]
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    files = {line.split(None, 5)[5] for line in maps.splitlines() if len(line.split(None, 5)) == 6}
    assert files, maps
    assert not [f for f in files if ".so" in f or "ld-linux" in f], files
