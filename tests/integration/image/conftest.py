"""Fixtures for the registry client tests: real docker-registry instances on
127.0.0.1 (plain HTTP, HTTPS with a CA made here, htpasswd Basic auth),
images built as OCI layouts and pushed with skopeo, and the registry_probe
driver (tests/image/registry_probe.c) that runs the client.

The probe: V12N_REGISTRY_PROBE=/path, else the build that V12N points into
(V12N=build-asan/src/v12n -> build-asan/tests/image/registry_probe), else
build/tests/image/registry_probe.  Every server is stopped at the end.
"""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

import registry_layout
from registry_servers import PASSWORD, REPO, USER, BearerRegistry, DockerRegistry, FaultProxy, make_pki


def _find_probe():
    explicit = os.environ.get("V12N_REGISTRY_PROBE")
    if explicit:
        return os.path.abspath(explicit), True
    v12n = os.environ.get("V12N")
    if v12n:
        build = os.path.dirname(os.path.dirname(os.path.abspath(v12n)))
        cand = os.path.join(build, "tests", "image", "registry_probe")
        if os.access(cand, os.X_OK):
            return cand, False
    return os.path.join(REPO, "build", "tests", "image", "registry_probe"), False


PROBE, PROBE_EXPLICIT = _find_probe()


def pytest_report_header(config):
    return "registry client driver: %s" % PROBE


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    missing = []
    if not os.access(PROBE, os.X_OK):
        if PROBE_EXPLICIT:
            raise SystemExit("V12N_REGISTRY_PROBE=%s is not executable" % PROBE)
        missing.append("%s not built (ninja -C build)" % PROBE)
    for tool in (DockerRegistry.BINARY, shutil.which("skopeo") or "/usr/bin/skopeo",
                 shutil.which("openssl") or "/usr/bin/openssl"):
        if not os.access(tool, os.X_OK):
            missing.append("%s missing (make deps)" % tool)
    if not missing:
        return
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.skip(reason="; ".join(missing)))


class ProbeResult:
    def __init__(self, proc, outdir):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")
        self.outdir = outdir

    def lines(self, kind):
        return [l.split()[1:] for l in self.out.splitlines() if l.split()[:1] == [kind]]

    def digest(self, kind):
        found = self.lines(kind)
        return found[0][0] if found else None

    def blob(self, digest):
        with open(os.path.join(self.outdir, "blobs", digest.split(":")[1]), "rb") as f:
            return f.read()

    def blob_exists(self, digest):
        return os.path.exists(os.path.join(self.outdir, "blobs", digest.split(":")[1]))

    def file(self, name):
        with open(os.path.join(self.outdir, name), "rb") as f:
            return f.read()

    @property
    def error(self):
        lines = [l for l in self.err.splitlines() if l.startswith("error: ")]
        return lines[-1][len("error: "):] if lines else ""

    def __repr__(self):
        return "<probe rc=%s\nstdout:\n%s\nstderr:\n%s>" % (self.rc, self.out[-3000:], self.err[-3000:])


class Probe:
    def __init__(self, workdir):
        self.workdir = workdir

    def pull(self, ref, *opts, timeout=90):
        outdir = tempfile.mkdtemp(prefix="out-", dir=self.workdir)
        return self.run(["pull"] + list(opts) + [ref, outdir], outdir, timeout=timeout)

    def run(self, args, outdir=None, timeout=60):
        proc = subprocess.run([PROBE] + args, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        r = ProbeResult(proc, outdir)
        # under ASan+UBSan (V12N pointing into build-asan) any report fails
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert mark not in r.err, r
        return r


class Pusher:
    """Builds OCI layouts and pushes them with skopeo."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.policy = os.path.join(workdir, "policy.json")
        with open(self.policy, "w") as f:
            f.write('{"default": [{"type": "insecureAcceptAnything"}]}')
        self.authfile = os.path.join(workdir, "skopeo-auth.json")
        with open(self.authfile, "w") as f:
            f.write('{"auths": {}}')

    def layout(self):
        return registry_layout.OciLayout(tempfile.mkdtemp(prefix="layout-", dir=self.workdir))

    def push(self, layout, tag, registry, name, fmt=None, all_images=False, creds=None,
             keep_uncompressed=False):
        argv = ["skopeo", "--policy", self.policy, "copy", "--quiet", "--dest-tls-verify=false",
                "--dest-authfile", self.authfile]
        if keep_uncompressed:
            argv += ["--preserve-digests"]  # skopeo gzips tar layers for registries otherwise
        if fmt:
            argv += ["--format", fmt]
        if all_images:
            argv += ["--all"]
        if creds:
            argv += ["--dest-creds", "%s:%s" % creds]
        dest = "docker://%s/%s:%s" % (registry.host, name, tag)
        argv += ["oci:%s:%s" % (layout.path, tag), dest]
        r = subprocess.run(argv, capture_output=True, timeout=120,
                           env=dict(os.environ, HOME=self.workdir))
        assert r.returncode == 0, "skopeo push failed: %s %s" % (r.stdout, r.stderr)
        return "%s/%s:%s" % (registry.host, name, tag)

    def raw_manifest(self, ref, creds=None):
        argv = ["skopeo", "--policy", self.policy, "inspect", "--raw", "--tls-verify=false",
                "--authfile", self.authfile]
        if creds:
            argv += ["--creds", "%s:%s" % creds]
        r = subprocess.run(argv + ["docker://" + ref], capture_output=True, timeout=60,
                           env=dict(os.environ, HOME=self.workdir))
        assert r.returncode == 0, r.stderr
        return r.stdout


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="v12n-registry-it-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pki(workdir):
    return make_pki(os.path.join(workdir, "pki"))


def _registry(workdir, name, **kw):
    d = os.path.join(workdir, name)
    os.makedirs(d)
    return DockerRegistry(d, **kw)


@pytest.fixture(scope="session")
def registry(workdir):
    """A plain-HTTP docker-registry."""
    r = _registry(workdir, "registry-http")
    yield r
    r.stop()


@pytest.fixture(scope="session")
def tls_registry(workdir, pki):
    """docker-registry over HTTPS with a certificate from the test CA."""
    r = _registry(workdir, "registry-https", tls=pki)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def auth_registry(workdir):
    """docker-registry with htpasswd Basic auth (USER / PASSWORD)."""
    r = _registry(workdir, "registry-auth", htpasswd={USER: PASSWORD})
    yield r
    r.stop()


@pytest.fixture
def proxy(registry):
    """A FaultProxy in front of the plain-HTTP registry, one per test."""
    p = FaultProxy(registry)
    yield p
    p.stop()


@pytest.fixture
def bearer_registry_factory():
    made = []

    def make(layout, repo, **kw):
        b = BearerRegistry(layout.path, repo, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture(scope="session")
def pusher(workdir):
    return Pusher(workdir)


@pytest.fixture
def probe(workdir):
    d = tempfile.mkdtemp(prefix="probe-", dir=workdir)
    yield Probe(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def unique():
    """A fresh repository name: tests that damage a blob use their own."""
    return "t/" + uuid.uuid4().hex[:12]
