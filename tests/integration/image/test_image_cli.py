"""The image commands of the v12n CLI (pull, images, rmi, tag, image
inspect, login/logout, image builtin) against the real registries of
conftest.py, each test with its own store (--root) and HOME."""

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import registry_layout
from conftest import PASSWORD, REPO, USER


def _v12n():
    v = os.environ.get("V12N")
    if v:
        v = os.path.abspath(v)
        alt = os.path.join(os.path.dirname(v), "src", os.path.basename(v))
        return v if os.access(v, os.X_OK) else alt
    return os.path.join(REPO, "build", "src", "v12n")


V12N = _v12n()
pytestmark = pytest.mark.skipif(not os.access(V12N, os.X_OK), reason="%s not built" % V12N)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def __repr__(self):
        return "<v12n rc=%s\nstdout:\n%s\nstderr:\n%s>" % (self.rc, self.out[-3000:], self.err[-3000:])


class Cli:
    def __init__(self, tmp):
        self.root = os.path.join(tmp, "root")
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home)
        self.env = dict(os.environ, HOME=self.home, V12N_STORE_NO_SYNC="1")
        for k in ("V12N_AUTHFILE", "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
            self.env.pop(k, None)

    def popen(self, *args, env=None):
        return subprocess.Popen([V12N, "--root", self.root] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=dict(self.env, **(env or {})))

    def __call__(self, *args, stdin=None, env=None, timeout=90):
        proc = subprocess.run([V12N, "--root", self.root] + list(args), capture_output=True,
                              input=stdin, timeout=timeout, env=dict(self.env, **(env or {})))
        r = Result(proc)
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert mark not in r.err, r
        return r

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, r
        return r

    def inspect(self, ref):
        return json.loads(self.ok("image", "inspect", ref).out)[0]

    def names(self):
        rows = [json.loads(l) for l in self.ok("images", "--format", "json").out.splitlines()]
        return sorted("%s:%s" % (r["Repository"], r["Tag"]) for r in rows)

    def temps(self):
        d = os.path.join(self.root, "tmp")
        return os.listdir(d) if os.path.isdir(d) else []


@pytest.fixture
def cli():
    tmp = tempfile.mkdtemp(prefix="v12n-image-cli-", dir="/tmp")
    yield Cli(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def two_layer_image(layout, arch="amd64"):
    return layout.image([
        {"etc/hostname": os.urandom(32), "bin/tool": os.urandom(300_000)},
        {"srv/data": os.urandom(2000)},
    ], arch=arch)


def push(pusher, registry, unique, arch="amd64"):
    layout = pusher.layout()
    img = two_layer_image(layout, arch)
    layout.tag(img, "v1")
    return pusher.push(layout, "v1", registry, unique), img


def ids(img):
    return [l.digest[7:19] for l in img.layers]


def test_pull_over_http_then_again_is_up_to_date(cli, registry, pusher, unique):
    ref, img = push(pusher, registry, unique)
    r = cli.ok("pull", "--insecure", ref)
    lines = r.out.splitlines()
    assert lines[0] == "v1: Pulling from " + unique
    for short in ids(img):
        assert short + ": Pull complete" in lines
    assert "Digest: " + img.digest in lines
    assert "Status: Downloaded newer image for " + ref in lines
    assert lines[-1] == ref
    info = cli.inspect(ref)
    assert info["Id"] == img.config.digest
    assert info["RepoTags"] == [ref]
    assert info["RepoDigests"] == ["%s/%s@%s" % (registry.host, unique, img.digest)]
    assert info["RootFS"]["Layers"] == json.loads(registry_layout_config(pusher, img))["rootfs"]["diff_ids"]
    assert info["Config"]["Cmd"] == ["/bin/sh"]
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Size"] > 300_000
    # the layers are unpacked in the store
    for d in info["RootFS"]["Layers"]:
        assert os.path.isdir(os.path.join(cli.root, "layers", d[7:], "diff"))

    r = cli.ok("pull", "--insecure", ref)
    for short in ids(img):
        assert short + ": Already exists" in r.out.splitlines()
    assert "Status: Image is up to date for " + ref in r.out
    assert cli.ok("pull", "-q", "--insecure", ref).out == ref + "\n"
    assert cli.temps() == []


def registry_layout_config(pusher, img):
    # the config as pushed: read back from the layout the descriptor came from
    for d in os.listdir(pusher.workdir):
        p = os.path.join(pusher.workdir, d, "blobs", "sha256", img.config.digest[7:])
        if os.path.exists(p):
            with open(p) as f:
                return f.read()
    raise AssertionError("config not found")


def test_pull_over_https_needs_the_ca(cli, tls_registry, pusher, pki, unique):
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    ref = pusher.push(layout, "v1", tls_registry, unique)
    r = cli("pull", ref)
    assert r.rc == 1, r
    assert r.err.startswith("v12n: pull %s: " % ref) and "--tls-ca" in r.err, r
    assert len(r.err.splitlines()) == 1
    assert cli.names() == []
    cli.ok("pull", "--tls-ca", pki["ca"], ref)
    assert cli.names() == [ref]


def test_login_then_pull_then_logout(cli, auth_registry, pusher, unique):
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    ref = pusher.push(layout, "v1", auth_registry, unique, creds=(USER, PASSWORD))
    r = cli("pull", "--insecure", ref)
    assert r.rc == 1 and "unauthorized (401)" in r.err, r

    authfile = os.path.join(cli.home, ".config", "v12n", "auth.json")
    r = cli.ok("login", "-u", USER, "--password-stdin", auth_registry.host,
               stdin=(PASSWORD + "\n").encode())
    assert r.out == "Login Succeeded\n"
    assert stat.S_IMODE(os.stat(authfile).st_mode) == 0o600
    assert auth_registry.host in json.load(open(authfile))["auths"]
    cli.ok("pull", "--insecure", ref)
    assert cli.names() == [ref]

    assert "Removing login credentials" in cli.ok("logout", auth_registry.host).out
    cli.ok("rmi", ref)
    r = cli("pull", "--insecure", ref)
    assert r.rc == 1 and "unauthorized (401)" in r.err, r

    # --authfile elsewhere, wrong password: refused by the registry
    other = os.path.join(cli.home, "other.json")
    cli.ok("login", "--authfile", other, "-u", USER, "-p", "wrong", auth_registry.host)
    r = cli("pull", "--insecure", "--authfile", other, ref)
    assert r.rc == 1 and "401" in r.err, r
    cli.ok("login", "--authfile", other, "-u", USER, "-p", PASSWORD, auth_registry.host)
    cli.ok("pull", "--insecure", "--authfile", other, ref)


def test_multi_platform_index_and_platform_flag(cli, registry, pusher, unique):
    layout = pusher.layout()
    amd = two_layer_image(layout, "amd64")
    arm = two_layer_image(layout, "arm64")
    index = layout.index([amd, arm])
    layout.tag(index, "multi")
    ref = pusher.push(layout, "multi", registry, unique, all_images=True)
    cli.ok("pull", "--insecure", "--platform", "linux/arm64", ref)
    assert cli.inspect(ref)["Architecture"] == "arm64"
    assert cli.inspect(ref)["Id"] == arm.config.digest
    cli.ok("pull", "--insecure", ref)
    assert cli.inspect(ref)["Id"] == amd.config.digest
    # the arm64 image lost its name: listed dangling
    rows = [json.loads(l) for l in cli.ok("images", "--format", "json").out.splitlines()]
    assert sorted((r["Repository"], r["ID"]) for r in rows) == sorted(
        [(ref.rsplit(":", 1)[0], amd.config.digest[7:19]), ("<none>", arm.config.digest[7:19])])
    r = cli("pull", "--insecure", "--platform", "linux/s390x", ref)
    assert r.rc == 1 and "no image for linux/s390x" in r.err, r


def test_images_tag_rmi_inspect(cli, registry, pusher, unique):
    ref, img = push(pusher, registry, unique)
    cli.ok("pull", "--insecure", ref)
    cli.ok("tag", ref, "mine:1")
    cli.ok("tag", img.config.digest[7:19], "localhost/other:2")
    assert cli.names() == sorted([ref, "mine:1", "localhost/other:2"])
    table = cli.ok("images").out.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert len(table) == 4
    assert any(l.split()[:3] == ["mine", "1", img.config.digest[7:19]] for l in table)
    assert cli.ok("images", "-q").out == img.config.digest[7:19] + "\n"
    assert len(cli.ok("images", "mine").out.splitlines()) == 2
    assert sorted(cli.inspect("mine:1")["RepoTags"]) == sorted([ref, "mine:1", "localhost/other:2"])

    # a name of an image with others: untagged only
    r = cli.ok("rmi", "mine:1")
    assert r.out == "Untagged: mine:1\n"
    # an id with several names needs -f
    r = cli("rmi", img.config.digest[7:19])
    assert r.rc == 1 and "must be forced" in r.err, r
    r = cli.ok("image", "rm", "-f", img.config.digest[7:19])
    assert "Deleted: " + img.config.digest in r.out
    assert cli.names() == []
    # gc took the blobs and layers with it
    assert os.listdir(os.path.join(cli.root, "layers")) == []
    assert os.listdir(os.path.join(cli.root, "blobs", "sha256")) == []

    r = cli("rmi", "nope", "Bad:Ref:")
    assert r.rc == 1
    assert r.err.splitlines() == ["v12n: no such image: nope", "v12n: no such image: Bad:Ref:"], r
    r = cli("image", "inspect", "nope")
    assert r.rc == 1 and "no such image: nope" in r.err and json.loads(r.out) == []
    r = cli("tag", "nope", "x:1")
    assert r.rc == 1 and "no such image" in r.err


def test_builtin_busybox(cli):
    r = cli.ok("image", "builtin", "busybox")
    image_id = r.out.split()[0]
    assert r.out.split()[1] == "docker.io/library/busybox:latest"
    info = cli.inspect("busybox")
    assert info["Id"] == image_id
    assert info["Config"]["Cmd"] == ["sh"]
    assert any(e.startswith("PATH=") for e in info["Config"]["Env"])
    assert len(info["RootFS"]["Layers"]) == 1
    diff = os.path.join(cli.root, "layers", info["RootFS"]["Layers"][0][7:], "diff")
    assert os.stat(os.path.join(diff, "bin", "sh")).st_ino == os.stat(os.path.join(diff, "bin", "busybox")).st_ino
    assert stat.S_IMODE(os.stat(os.path.join(diff, "tmp")).st_mode) == 0o1777
    assert "root:x:0:0:" in open(os.path.join(diff, "etc", "passwd")).read()
    out = subprocess.run(["chroot", diff, "/bin/sh", "-c", "echo hello; ls /bin/ls"],
                         capture_output=True, timeout=30)
    assert out.stdout == b"hello\n/bin/ls\n", out
    # the same busybox gives the same image
    assert cli.ok("image", "builtin", "busybox", "localhost/bb:1").out.split()[0] == image_id
    assert cli.names() == ["busybox:latest", "localhost/bb:1"]


def test_pull_busybox_offline_falls_back_to_the_builtin_image(cli):
    # a proxy that refuses connections: no registry is reachable
    offline = {"https_proxy": "http://127.0.0.1:1", "HTTPS_PROXY": "http://127.0.0.1:1"}
    r = cli("pull", "busybox", env=offline)
    assert r.rc == 0, r
    assert r.err.startswith("v12n: notice: no registry reachable") and len(r.err.splitlines()) == 1
    assert r.out == "docker.io/library/busybox:latest\n"
    assert cli.names() == ["busybox:latest"]
    # any other image fails, with the reason
    r = cli("pull", "alpine", env=offline)
    assert r.rc == 1 and r.err.startswith("v12n: pull docker.io/library/alpine:latest: "), r


def test_busybox_is_not_replaced_on_401_or_404(cli, registry, proxy):
    # the fallback is for unreachable registries only: a 404 stays an error
    r = cli("pull", "--insecure", proxy.host + "/library/busybox")
    assert r.rc == 1 and "404" in r.err, r


def test_bad_input(cli, registry, proxy, pusher, unique):
    r = cli("pull", "Bad//Ref")
    assert r.rc == 1 and r.err.startswith('v12n: invalid reference "Bad//Ref"'), r
    r = cli("pull", "--insecure", registry.host + "/nothing/here:v1")
    assert r.rc == 1 and "404" in r.err and len(r.err.splitlines()) == 1, r
    r = cli("pull")
    assert r.rc == 1
    # a corrupted layer: refused, nothing listed, no temporaries left
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique)
    proxy.add(r"/blobs/" + img.layers[0].digest, "flip")
    r = cli("pull", "--insecure", "%s/%s:v1" % (proxy.host, unique))
    assert r.rc == 1 and "digest mismatch" in r.err, r
    assert cli.names() == []
    assert cli.temps() == []
    assert not os.path.exists(os.path.join(cli.root, "blobs", "sha256", img.layers[0].digest[7:]))


def test_killed_pull_leaves_nothing_listed(cli, registry, proxy, pusher, unique):
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique)
    ref = "%s/%s:v1" % (proxy.host, unique)
    rule = proxy.add(r"/blobs/" + img.layers[0].digest, "delay", delay=30)
    p = cli.popen("pull", "--insecure", ref)
    deadline = time.monotonic() + 30
    while rule.hits == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rule.hits == 1
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.stdout.close()
    p.stderr.close()
    assert cli.names() == []
    proxy.rules.clear()
    cli.ok("pull", "--insecure", ref)
    assert cli.names() == [ref]
    assert cli.temps() == []
