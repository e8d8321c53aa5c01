"""Real container engines driving the runtime: podman and containerd (ctr).
Each is skipped, with the reason, when its binaries are missing."""

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile

import pytest

import helpers

pytestmark = [pytest.mark.client, pytest.mark.slow]

IMAGE = "localhost/v12n-busybox:test"
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]


def _rootfs_tar_bytes(rootfs):
    """The rootfs as an uncompressed tar, deterministic (sorted, mtime 0,
    root-owned) so the digest is stable."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                arc = os.path.relpath(full, rootfs)
                info = tar.gettarinfo(full, arcname=arc)
                info.mtime = 0
                if info.isfile():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def _blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_oci_image_tar(rootfs, dest, ref_name):
    """An OCI image layout (oci-layout, index.json, blobs) in a tar file:
    one uncompressed layer, an image config and a manifest."""
    layer = _rootfs_tar_bytes(rootfs)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [_blob(layer)]},
        "history": [{"created_by": "v12n integration tests"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _blob(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _blob(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": _blob(manifest), "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": ref_name,
                            "org.opencontainers.image.ref.name": ref_name.rsplit(":", 1)[1]},
        }],
    }, sort_keys=True).encode()
    layout = json.dumps({"imageLayoutVersion": "1.0.0"}).encode()

    with tarfile.open(dest, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))

        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        add("oci-layout", layout)
        add("index.json", index)
        for data in (layer, config, manifest):
            add("blobs/sha256/" + _blob(data).split(":")[1], data)


def _libpod_cgroups(parent):
    found = []
    for mnt, _t, _o in helpers.cgroup_mounts():
        base = os.path.join(mnt, parent.strip("/"))
        if os.path.isdir(base):
            found += [os.path.join(base, d) for d in os.listdir(base)
                      if os.path.isdir(os.path.join(base, d)) and d.startswith("libpod-")]
    return found


# ------------------------------------------------------------------ podman


@pytest.fixture
def podman(ct):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    # podman refuses a runroot longer than 50 characters
    base = tempfile.mkdtemp(prefix="v12n-pm-", dir="/tmp")
    cgroup_parent = "/%s/podman-%s" % (helpers.CGROUP_PARENT, os.path.basename(ct.dir)[-8:])
    argv = ["podman", "--runtime", ct.runtime_path,
            "--root", os.path.join(base, "root"), "--runroot", os.path.join(base, "runroot"),
            "--tmpdir", os.path.join(base, "tmp"), "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    tarball = os.path.join(base, "rootfs.tar")
    with open(tarball, "wb") as f:
        f.write(_rootfs_tar_bytes(ct.rootfs_template))
    r = helpers.run(argv + ["import", tarball, IMAGE], timeout=120)
    assert r.rc == 0, r

    def podman_run(*args, timeout=120):
        return helpers.run(argv + ["run", "--rm", "--network", "none", "--cgroup-parent", cgroup_parent]
                           + ULIMITS + list(args), timeout=timeout)

    podman_run.argv = argv
    podman_run.cgroup_parent = cgroup_parent
    yield podman_run
    left = helpers.run(argv + ["ps", "-a", "-q"], timeout=60)
    helpers.run(argv + ["rm", "-a", "-f"], timeout=60)
    helpers.run(argv + ["system", "reset", "-f"], timeout=120)
    for d in helpers.mounts_under(base):
        helpers.run(["umount", "-l", d])
    leaked = _libpod_cgroups(cgroup_parent)
    for d in leaked:
        helpers.remove_cgroup_dir(d)
    for mnt, _t, _o in helpers.cgroup_mounts():
        helpers.remove_cgroup_dir(os.path.join(mnt, cgroup_parent.strip("/")))
    if not helpers.mounts_under(base):
        shutil.rmtree(base, ignore_errors=True)
    assert left.out.strip() == "", "podman containers left: %r" % left
    assert leaked == [], "container cgroups left: %s" % leaked


def test_podman_run_echo(podman):
    r = podman(IMAGE, "echo", "hello")
    assert r.rc == 0, r
    assert r.out == "hello\n"


def test_podman_run_exit_code(podman):
    r = podman(IMAGE, "sh", "-c", "exit 7")
    assert r.rc == 7, r


def test_podman_run_tty(podman):
    r = podman("--tty", IMAGE, "sh", "-c", "tty; echo hello")
    assert r.rc == 0, r
    assert "/dev/pts/" in r.out and "hello" in r.out, r


def test_podman_run_env_user_workdir(podman):
    r = podman("--env", "FOO=bar", "--user", "1000:1000", "--workdir", "/tmp", IMAGE,
               "sh", "-c", 'echo "$FOO $(id -u) $(pwd)"')
    assert r.rc == 0, r
    assert r.out == "bar 1000 /tmp\n"


def test_podman_run_pids_limit(podman):
    r = podman("--pids-limit", "33", IMAGE, "sh", "-c",
               "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    assert r.rc == 0, r
    assert r.out.strip() == "33"


def test_podman_detached_stop(podman):
    argv = podman.argv
    r = helpers.run(argv + ["run", "-d", "--network", "none", "--cgroup-parent", podman.cgroup_parent]
                    + ULIMITS + [IMAGE, "sleep", "1000"], timeout=120)
    assert r.rc == 0, r
    cid = r.out.strip()
    try:
        ex = helpers.run(argv + ["exec", cid, "sh", "-c", "echo in-exec"], timeout=60)
        assert ex.rc == 0 and ex.out == "in-exec\n", ex
        st = helpers.run(argv + ["stop", "-t", "1", cid], timeout=60)
        assert st.rc == 0, st
        rm = helpers.run(argv + ["rm", cid], timeout=60)
        assert rm.rc == 0, rm
    finally:
        helpers.run(argv + ["rm", "-f", cid], timeout=60)


# -------------------------------------------------------------- containerd

CONTAINERD_CONFIG = """version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.tracing",
                    "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""
"""


@pytest.fixture(scope="module")
def containerd(rootfs_template, session_dir):
    for binary in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if not shutil.which(binary):
            pytest.skip("%s is not installed" % binary)
    base = os.path.join(session_dir, "containerd")
    os.makedirs(base)
    sock = os.path.join(base, "c.sock")
    config = os.path.join(base, "config.toml")
    with open(config, "w") as f:
        f.write(CONTAINERD_CONFIG.format(root=os.path.join(base, "root"),
                                         state=os.path.join(base, "state"), sock=sock))
    log = open(os.path.join(base, "containerd.log"), "wb")
    proc = subprocess.Popen(["containerd", "--config", config, "--root", os.path.join(base, "root"),
                             "--state", os.path.join(base, "state"), "--address", sock],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    ctr = ["ctr", "--address", sock]
    try:
        helpers.wait_for(lambda: proc.poll() is not None or
                         helpers.run(ctr + ["version"], timeout=10).rc == 0,
                         timeout=30, what="containerd to answer")
        if proc.poll() is not None:
            pytest.fail("containerd exited: %s" % helpers.read_file(log.name)[-2000:])
        tarball = os.path.join(base, "image.tar")
        ref = "docker.io/library/v12n-busybox:test"
        write_oci_image_tar(rootfs_template, tarball, ref)
        r = helpers.run(ctr + ["images", "import", "--no-unpack", tarball], timeout=120)
        assert r.rc == 0, r
        r = helpers.run(ctr + ["images", "ls", "-q"], timeout=30)
        assert ref in r.out.split(), r
        yield {"ctr": ctr, "ref": ref, "base": base, "log": log.name}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            helpers.kill_group(proc)
        log.close()
        for m in sorted(helpers.mounts_under(base), key=len, reverse=True):
            helpers.run(["umount", "-l", m])


def _ctr_run(ct, containerd, name, *cmd, extra=(), timeout=120):
    cgroup = "/%s/%s" % (helpers.CGROUP_PARENT, name)
    ct.ids.append(name)  # the ct fixture checks its cgroup is gone
    return helpers.run(containerd["ctr"] + ["run", "--rm", "--runc-binary", ct.runtime_path,
                                            "--cgroup", cgroup] + list(extra)
                       + [containerd["ref"], name] + list(cmd), timeout=timeout)


def _ctr_leftovers(containerd):
    c = helpers.run(containerd["ctr"] + ["containers", "ls", "-q"], timeout=30).out.split()
    t = helpers.run(containerd["ctr"] + ["tasks", "ls", "-q"], timeout=30).out.split()
    return c + t


def test_containerd_run_echo(ct, containerd):
    r = _ctr_run(ct, containerd, "v12n-ctr-echo-%d" % os.getpid(), "echo", "hello")
    assert r.rc == 0, r
    assert r.out == "hello\n"
    assert _ctr_leftovers(containerd) == []
    assert helpers.mounts_under(containerd["base"]) == []


def test_containerd_run_exit_code(ct, containerd):
    r = _ctr_run(ct, containerd, "v12n-ctr-exit-%d" % os.getpid(), "sh", "-c", "exit 9")
    assert r.rc == 9, r
    assert _ctr_leftovers(containerd) == []


def test_containerd_run_tty(ct, containerd):
    name = "v12n-ctr-tty-%d" % os.getpid()
    ct.ids.append(name)
    rc, out = helpers.run_on_pty(containerd["ctr"] + [
        "run", "--rm", "--tty", "--runc-binary", ct.runtime_path,
        "--cgroup", "/%s/%s" % (helpers.CGROUP_PARENT, name),
        containerd["ref"], name, "sh", "-c", "tty; echo hello"], timeout=120)
    assert rc == 0, out
    assert "/dev/pts/" in out and "hello" in out, out
    assert _ctr_leftovers(containerd) == []


def test_containerd_detached_task_kill(ct, containerd):
    name = "v12n-ctr-bg-%d" % os.getpid()
    ctr = containerd["ctr"]
    ct.ids.append(name)
    r = helpers.run(ctr + ["run", "-d", "--null-io", "--runc-binary", ct.runtime_path, "--cgroup",
                           "/%s/%s" % (helpers.CGROUP_PARENT, name), containerd["ref"], name,
                           "sleep", "1000"], timeout=120)
    assert r.rc == 0, r
    try:
        ex = helpers.run(ctr + ["tasks", "exec", "--exec-id", "e1", name, "sh", "-c", "echo in-exec"],
                         timeout=60)
        assert ex.rc == 0 and ex.out == "in-exec\n", ex
        ps = helpers.run(ctr + ["tasks", "ps", name], timeout=30)
        assert ps.rc == 0 and len(ps.out.splitlines()) >= 2, ps
        k = helpers.run(ctr + ["tasks", "kill", "-s", "SIGKILL", name], timeout=30)
        assert k.rc == 0, k
        helpers.wait_for(lambda: "STOPPED" in helpers.run(ctr + ["tasks", "ls"], timeout=30).out,
                         what="task stopped")
    finally:
        helpers.run(ctr + ["tasks", "delete", "-f", name], timeout=60)
        helpers.run(ctr + ["containers", "delete", name], timeout=60)
    assert _ctr_leftovers(containerd) == []
