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
from registry_servers import PASSWORD, REPO, USER


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
    # --root=DIR is the same store
    r = subprocess.run([V12N, "--root=" + cli.root, "images", "-q"], capture_output=True, env=cli.env)
    assert r.stdout.decode() == image_id[7:19] + "\n"


def test_pull_busybox_offline_falls_back_to_the_builtin_image(cli):
    # a proxy that refuses connections: no registry is reachable
    offline = {"https_proxy": "http://127.0.0.1:1", "HTTPS_PROXY": "http://127.0.0.1:1"}
    r = cli("pull", "busybox", env=offline)
    assert r.rc == 0, r
    assert r.err.startswith("v12n: notice: no registry reachable") and len(r.err.splitlines()) == 1
    assert r.out == "Using default tag: latest\ndocker.io/library/busybox:latest\n"
    assert cli.names() == ["busybox:latest"]
    # any other image fails, with the reason
    r = cli("pull", "alpine", env=offline)
    assert r.rc == 1 and r.err.startswith("v12n: pull docker.io/library/alpine:latest: "), r


def test_busybox_is_not_replaced_when_a_registry_answers(cli, registry, auth_registry):
    # the fallback is for docker.io's busybox when no registry can be
    # reached; an answer stays an error.  The local registries stand in for
    # docker.io as proxies: with --insecure the client, refused the CONNECT,
    # asks them over plain HTTP.
    for reg, status in ((registry, "manifest unknown (404)"), (auth_registry, "unauthorized (401)")):
        proxy = {"https_proxy": "http://" + reg.host, "http_proxy": "http://" + reg.host}
        r = cli("pull", "--insecure", "busybox", env=proxy)
        assert r.rc == 1, r
        assert r.err == "v12n: pull docker.io/library/busybox:latest: %s\n" % status \
            or (status.startswith("unauth") and "401" in r.err and "notice" not in r.err), r
    r = cli("pull", "--insecure", registry.host + "/library/busybox")
    assert r.rc == 1 and "404" in r.err and "notice" not in r.err, r
    assert cli.names() == []


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


def skopeo(pusher, *args):
    r = subprocess.run(["skopeo", "--policy", pusher.policy] + list(args), capture_output=True,
                       timeout=120, env=dict(os.environ, HOME=pusher.workdir))
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_rmi_load_round_trip(cli, registry, pusher, unique, fmt):
    ref, img = push(pusher, registry, unique)
    cli.ok("pull", "--insecure", ref)
    cli.ok("tag", ref, "localhost/copy:2")
    before = cli.inspect(ref)
    archive = os.path.join(cli.home, "images.tar")
    cli.ok("save", "--format", fmt, "-o", archive, ref, "localhost/copy:2")
    # other tools read it
    if fmt == "docker-archive":
        info = json.loads(skopeo(pusher, "inspect", "docker-archive:%s:%s" % (archive, ref)))
    else:
        info = json.loads(skopeo(pusher, "inspect", "oci-archive:%s:v1" % archive))
    assert len(info["Layers"]) == 2
    cli.ok("rmi", "-f", img.config.digest)
    assert cli.names() == []
    r = cli.ok("load", "-i", archive)
    assert sorted(r.out.splitlines()) == sorted(["Loaded image: " + ref, "Loaded image: localhost/copy:2"])
    after = cli.inspect(ref)
    for key in ("Id", "RootFS", "Config", "Architecture", "Os", "Size"):
        assert after[key] == before[key], key
    assert sorted(after["RepoTags"]) == sorted([ref, "localhost/copy:2"])
    for d in after["RootFS"]["Layers"]:
        assert os.path.isdir(os.path.join(cli.root, "layers", d[7:], "diff"))
    if fmt == "oci-archive":  # blobs as pulled: the same manifest
        assert sorted(after["RepoDigests"]) == sorted(before["RepoDigests"])
    # from stdin as well
    cli.ok("rmi", "-f", img.config.digest)
    with open(archive, "rb") as f:
        cli.ok("load", stdin=f.read())
    assert cli.inspect("localhost/copy:2")["Id"] == img.config.digest
    assert cli.temps() == []


def test_load_an_archive_skopeo_wrote(cli, pusher):
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    archive = os.path.join(cli.home, "sk.tar")
    skopeo(pusher, "copy", "--quiet", "oci:%s:v1" % layout.path,
           "docker-archive:%s:localhost/sk:1" % archive)
    assert cli.ok("load", "-i", archive).out == "Loaded image: localhost/sk:1\n"
    info = cli.inspect("localhost/sk:1")
    assert len(info["RootFS"]["Layers"]) == 2
    assert info["Config"]["Cmd"] == ["/bin/sh"]


def test_load_refuses_bad_archives(cli):
    junk = os.path.join(cli.home, "junk.tar")
    with open(junk, "wb") as f:
        f.write(os.urandom(4096))
    r = cli("load", "-i", junk)
    assert r.rc == 1 and r.err.startswith("v12n: load: ") and len(r.err.splitlines()) == 1, r
    # a member under blobs/sha256/ whose content is not its name
    d = os.path.join(cli.home, "lie")
    os.makedirs(os.path.join(d, "blobs", "sha256"))
    with open(os.path.join(d, "blobs", "sha256", "0" * 64), "wb") as f:
        f.write(b"not what the name says")
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump([{"Config": "blobs/sha256/" + "0" * 64, "RepoTags": ["x:1"], "Layers": []}], f)
    lie = os.path.join(cli.home, "lie.tar")
    subprocess.run(["tar", "cf", lie, "-C", d, "."], check=True)
    r = cli("load", "-i", lie)
    assert r.rc == 1 and "digest mismatch" in r.err, r
    # a manifest.json naming a layer the archive lacks
    os.unlink(os.path.join(d, "blobs", "sha256", "0" * 64))
    cfg = json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}}).encode()
    import hashlib
    h = hashlib.sha256(cfg).hexdigest()
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(cfg)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump([{"Config": "blobs/sha256/" + h, "RepoTags": ["x:1"], "Layers": ["nope/layer.tar"]}], f)
    subprocess.run(["tar", "cf", lie, "-C", d, "."], check=True)
    r = cli("load", "-i", lie)
    assert r.rc == 1 and "not in the archive" in r.err, r
    assert cli.names() == []
    assert cli.temps() == []
    # what the failed load stored is collected
    assert os.listdir(os.path.join(cli.root, "blobs", "sha256")) == []


def test_import_a_rootfs_tarball(cli):
    src = os.path.join(cli.home, "rootfs")
    os.makedirs(os.path.join(src, "etc"))
    with open(os.path.join(src, "etc", "motd"), "w") as f:
        f.write("imported\n")
    os.symlink("motd", os.path.join(src, "etc", "link"))
    tgz = os.path.join(cli.home, "rootfs.tgz")
    subprocess.run(["tar", "czf", tgz, "-C", src, "."], check=True)
    image_id = cli.ok("import", tgz, "localhost/imported:1").out.strip()
    info = cli.inspect("localhost/imported:1")
    assert info["Id"] == image_id and len(info["RootFS"]["Layers"]) == 1
    diff = os.path.join(cli.root, "layers", info["RootFS"]["Layers"][0][7:], "diff")
    assert open(os.path.join(diff, "etc", "motd")).read() == "imported\n"
    assert os.readlink(os.path.join(diff, "etc", "link")) == "motd"
    # the layer's diff_id is the uncompressed tar's digest
    import gzip, hashlib
    assert info["RootFS"]["Layers"][0] == "sha256:" + hashlib.sha256(gzip.open(tgz).read()).hexdigest()
    # from stdin, no name (another message: another config): a dangling image
    with open(tgz, "rb") as f:
        cli.ok("import", "-m", "second", "-", stdin=f.read())
    rows = [json.loads(l) for l in cli.ok("images", "--format", "json").out.splitlines()]
    assert sorted(r["Repository"] for r in rows) == ["<none>", "localhost/imported"]
    # a tarball that escapes is refused, nothing listed
    evil = os.path.join(cli.home, "evil.tar")
    import tarfile, io
    with tarfile.open(evil, "w") as t:
        info_ = tarfile.TarInfo("../escape")
        info_.size = 1
        t.addfile(info_, io.BytesIO(b"x"))
    r = cli("import", evil, "localhost/evil:1")
    assert r.rc == 1 and r.err.startswith("v12n: import: "), r
    assert "localhost/evil" not in cli.ok("images").out
    r = cli("import", os.path.join(cli.home, "missing.tar"))
    assert r.rc == 1 and "missing.tar" in r.err


def test_rmi_of_an_image_a_container_uses(cli):
    image_id = cli.ok("image", "builtin", "busybox").out.split()[0]
    # what the engine's store_image_pin() writes: one empty file per owner
    pins = os.path.join(cli.root, "pins", image_id[7:])
    os.makedirs(pins, exist_ok=True)
    open(os.path.join(pins, "container web"), "w").close()
    r = cli("rmi", "busybox")
    assert r.rc == 1, r
    assert r.err == "v12n: conflict: unable to remove image busybox (must force): container web is using it\n"
    r = cli.ok("rmi", "-f", "busybox")
    assert r.out == "Untagged: busybox:latest\n"
    # kept, dangling, with its layer
    assert cli.ok("images", "-q").out == image_id[7:19] + "\n"
    layer = cli.inspect(image_id)["RootFS"]["Layers"][0]
    assert os.path.isdir(os.path.join(cli.root, "layers", layer[7:]))
    os.unlink(os.path.join(pins, "container web"))
    assert "Deleted: " + image_id in cli.ok("rmi", image_id).out
    assert os.listdir(os.path.join(cli.root, "layers")) == []
    assert not os.path.exists(pins)


def test_rmi_drops_the_pin_of_a_container_that_is_gone(cli):
    image_id = cli.ok("image", "builtin", "busybox").out.split()[0]
    pins = os.path.join(cli.root, "pins", image_id[7:])
    os.makedirs(pins, exist_ok=True)
    # a container id with no container directory: its monitor was killed
    # between the unpin and the removal, or a power loss undid the unpin
    open(os.path.join(pins, "container " + "ab" * 32), "w").close()
    alive = "cd" * 32
    os.makedirs(os.path.join(cli.root, "containers", alive))
    open(os.path.join(pins, "container " + alive), "w").close()
    r = cli("rmi", "busybox")
    assert r.rc == 1 and "container %s is using it" % alive in r.err, r
    assert os.listdir(pins) == ["container " + alive]
    os.rmdir(os.path.join(cli.root, "containers", alive))
    assert "Deleted: " + image_id in cli.ok("rmi", "busybox").out
    assert not os.path.exists(pins)


def test_pull_on_a_terminal_draws_progress_bars(cli, registry, pusher, unique):
    import pty
    ref, img = push(pusher, registry, unique)
    master, slave = pty.openpty()
    p = subprocess.Popen([V12N, "--root", cli.root, "pull", "--insecure", ref], stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave, env=cli.env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=60) == 0, out
    text = out.decode()
    assert "\x1b[" in text  # redrawn in place
    big = img.layers[0]
    assert "%s: Downloading [" % big.digest[7:19] in text
    assert "Pull complete" in text and "Status: Downloaded newer image for " + ref in text


def test_concurrent_pulls_of_one_image(cli, registry, pusher, unique):
    ref, img = push(pusher, registry, unique)
    procs = [cli.popen("pull", "-q", "--insecure", ref) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0, err
        assert out.decode() == ref + "\n"
    assert cli.names() == [ref]
    assert cli.temps() == []
    assert len(os.listdir(os.path.join(cli.root, "layers"))) == 2


def test_pull_docker_schema2_by_digest(cli, registry, pusher, unique):
    layout = pusher.layout()
    img = two_layer_image(layout)
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique, fmt="v2s2")
    raw = pusher.raw_manifest("%s/%s:v1" % (registry.host, unique))
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    import hashlib
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    ref = "%s/%s@%s" % (registry.host, unique, digest)
    r = cli.ok("pull", "--insecure", ref)
    assert "Digest: " + digest in r.out and r.out.splitlines()[-1] == ref
    rows = [json.loads(l) for l in cli.ok("images", "--format", "json").out.splitlines()]
    assert [(x["Repository"], x["Tag"], x["Digest"]) for x in rows] == [
        ("%s/%s" % (registry.host, unique), "<none>", digest)]
    info = cli.inspect(ref)
    assert info["RepoTags"] == [] and info["RepoDigests"] == [ref]
    assert info["Id"] == img.config.digest
    # a digest that is not the manifest's is refused
    bad = "%s/%s@sha256:%s" % (registry.host, unique, "0" * 64)
    r = cli("pull", "--insecure", bad)
    assert r.rc == 1 and len(r.err.splitlines()) == 1, r
