"""The static v12n runs pull, load, save, import and `image builtin` in its
dynamic twin v12n-full (cli/twin.c), and `run` too when the image must be
pulled or built first.  Skipped for a -Dstatic_cli=false build (no twin)."""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from test_image_cli import V12N, Cli, push

TWIN = os.path.join(os.path.dirname(os.path.realpath(V12N)), "v12n-full")
pytestmark = pytest.mark.skipif(not os.access(TWIN, os.X_OK), reason="no v12n-full beside %s" % V12N)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="v12n-twin-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Copied:
    """v12n copied alone into a directory of its own, on cli's store."""

    def __init__(self, tmp, cli):
        self.cli = cli
        self.bin = os.path.join(tmp, "bin", "v12n")
        os.makedirs(os.path.dirname(self.bin))
        shutil.copy2(V12N, self.bin)

    def __call__(self, *args, env=None, timeout=90):
        proc = subprocess.run([self.bin, "--root", self.cli.root] + list(args), capture_output=True,
                              timeout=timeout, env=dict(self.cli.env, **(env or {})),
                              stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _marking_twin(tmp):
    """A v12n-full that leaves a mark, then is the real one."""
    mark = os.path.join(tmp, "twin-ran")
    path = os.path.join(tmp, "twin.sh")
    with open(path, "w") as f:
        f.write('#!/bin/sh\necho "$@" >> %s\nexec %s "$@"\n' % (mark, TWIN))
    os.chmod(path, stat.S_IRWXU)
    return path, mark


def test_pull_runs_in_the_twin(tmp, registry, pusher, unique):
    ref, img = push(pusher, registry, unique)
    twin, mark = _marking_twin(tmp)
    cli = Cli(tmp)
    r = cli.ok("pull", "--insecure", ref, env={"V12N_FULL": twin})
    assert r.out.splitlines()[-1] == ref
    with open(mark) as f:
        assert f.read().split() == ["--root", cli.root, "pull", "--insecure", ref]
    assert cli.inspect(ref)["Id"] == img.config.digest


def test_local_commands_stay_in_the_static_binary(tmp):
    twin, mark = _marking_twin(tmp)
    cli = Cli(tmp)
    cli.ok("image", "builtin", "busybox", env={"V12N_FULL": twin})
    assert os.path.exists(mark)
    os.unlink(mark)
    for args in (["images"], ["image", "inspect", "busybox"], ["tag", "busybox", "other:1"], ["rmi", "other:1"]):
        cli.ok(*args, env={"V12N_FULL": twin})
    assert not os.path.exists(mark)


def test_missing_twin_is_named_with_the_cause(tmp, registry, pusher, unique):
    ref, _ = push(pusher, registry, unique)
    c = Copied(tmp, Cli(tmp))
    rc, out, err = c("pull", "--insecure", ref)
    want = "v12n: pull needs v12n-full: exec %s: No such file or directory\n"
    assert (rc, out, err) == (1, "", want % os.path.join(tmp, "bin", "v12n-full"))
    rc, out, err = c("image", "load", "-i", "/dev/null")
    assert (rc, err) == (1, want.replace("pull", "image load") % os.path.join(tmp, "bin", "v12n-full"))


def test_run_needs_the_twin_only_for_a_missing_image(tmp):
    """`run` of an image in the store runs in the static binary, even with no
    twin; of one not there, in the twin (here: missing, so the error)."""
    cli = Cli(tmp)
    cli.ok("image", "builtin", "busybox")
    c = Copied(tmp, cli)
    run_dir = os.path.join(tmp, "run")
    env = {"V12N_ENGINE_RUN_DIR": run_dir, "V12N_MONITOR": os.path.join(os.path.dirname(V12N), "v12n-monitor")}
    rc, out, err = c("run", "--rm", "busybox", "echo", "static", env=env)
    assert (rc, out) == (0, "static\n"), err
    rc, out, err = c("run", "--rm", "no-such-image", "true", env=env)
    want = "v12n: run needs v12n-full: exec %s: No such file or directory\n"
    assert (rc, out, err) == (125, "", want % os.path.join(tmp, "bin", "v12n-full"))
