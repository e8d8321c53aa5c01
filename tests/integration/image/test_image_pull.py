"""Pulling from a real docker-registry over plain HTTP: manifests, indexes,
platforms, Docker schema 2, blobs and their digests, parallel downloads."""

import hashlib
import json
import os
import time

import registry_layout


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def three_layer_image(layout, arch="amd64", variant=None):
    return layout.image([
        {"etc/hostname": os.urandom(64)},
        {"usr/lib/big.bin": os.urandom(400_000)},
        {"srv/a.txt": b"a" * 5000, "srv/b.txt": os.urandom(2000)},
    ], arch=arch, variant=variant)


def assert_blobs(r, layout, desc):
    for d in [desc.config] + desc.layers:
        data = r.blob(d.digest)
        assert data == layout.read(d.digest)
        assert sha(data) == d.digest


def test_pull_by_tag_fetches_manifest_config_and_every_layer(registry, pusher, probe, unique):
    layout = pusher.layout()
    img = three_layer_image(layout)
    layout.tag(img, "v1")
    ref = pusher.push(layout, "v1", registry, unique)
    r = probe.pull(ref, "--insecure")
    assert r.rc == 0, r
    assert r.lines("index") == []
    assert r.digest("manifest") == img.digest
    assert r.lines("manifest")[0][1] == registry_layout.MT_MANIFEST
    assert r.file("manifest.json") == layout.read(img.digest)
    assert r.digest("config") == img.config.digest
    assert [(l[0], int(l[1])) for l in r.lines("layer")] == [(d.digest, d.size) for d in img.layers]
    assert sorted(b[0] for b in r.lines("blob")) == sorted(d.digest for d in [img.config] + img.layers)
    assert_blobs(r, layout, img)


def test_pull_by_digest_and_by_tag_and_digest(registry, pusher, probe, unique):
    layout = pusher.layout()
    img = three_layer_image(layout)
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique)
    for ref in ("%s/%s@%s" % (registry.host, unique, img.digest),
                "%s/%s:v1@%s" % (registry.host, unique, img.digest)):
        r = probe.pull(ref, "--insecure", "--manifest-only")
        assert r.rc == 0, r
        assert r.digest("manifest") == img.digest


def test_unknown_digest_tag_and_repository_are_404(registry, pusher, probe, unique):
    layout = pusher.layout()
    img = three_layer_image(layout)
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique)
    missing = sha(b"not pushed")
    cases = {
        "%s/%s@%s" % (registry.host, unique, missing): "manifest unknown (404)",
        "%s/%s:nope" % (registry.host, unique): "manifest unknown (404)",
        "%s/never/pushed:latest" % registry.host: "unknown (404)",
    }
    for ref, cause in cases.items():
        r = probe.pull(ref, "--insecure")
        assert r.rc == 1, r
        assert r.error.startswith("pull %s: " % ref) and r.error.endswith(cause), r
        assert r.err.count("error:") == 1


def test_malformed_reference_is_one_clear_error(probe):
    r = probe.pull("127.0.0.1:5000/Upper/case:tag")
    assert r.rc == 1
    assert r.error == 'invalid reference "127.0.0.1:5000/Upper/case:tag": repository name must be lowercase'


def test_multi_platform_index_selects_the_platform(registry, pusher, probe, unique):
    layout = pusher.layout()
    amd = three_layer_image(layout, "amd64")
    arm64 = layout.image([{"arm64": os.urandom(100)}], arch="arm64", variant="v8")
    armv6 = layout.image([{"armv6": os.urandom(100)}], arch="arm", variant="v6")
    idx = layout.index([amd, arm64, armv6])
    layout.tag(idx, "multi")
    ref = pusher.push(layout, "multi", registry, unique, all_images=True)

    r = probe.pull(ref, "--insecure")  # linux/amd64 by default
    assert r.rc == 0, r
    assert r.digest("index") == idx.digest
    assert r.file("index.json") == layout.read(idx.digest)
    assert r.digest("manifest") == amd.digest
    assert_blobs(r, layout, amd)

    for platform, want in (("linux/arm64", arm64), ("linux/aarch64", arm64),
                           ("linux/arm64/v8", arm64), ("linux/arm/v7", armv6),
                           ("linux/arm/v6", armv6)):
        r = probe.pull(ref, "--insecure", "--platform", platform)
        assert r.rc == 0, (platform, r)
        assert r.digest("manifest") == want.digest, platform
    assert_blobs(r, layout, armv6)

    r = probe.pull(ref, "--insecure", "--platform", "linux/s390x")
    assert r.rc == 1
    assert r.error == ("pull %s: no image for linux/s390x (the index has linux/amd64, linux/arm64, "
                       "linux/arm/v6)" % ref), r

    r = probe.pull(ref, "--insecure", "--platform", "linux")
    assert r.rc == 1 and "expected os/arch[/variant]" in r.error, r


def test_docker_schema2_manifest_and_manifest_list(registry, pusher, probe, unique):
    layout = pusher.layout()
    amd = three_layer_image(layout, "amd64")
    arm = layout.image([{"x": os.urandom(1000)}], arch="arm64")
    layout.tag(amd, "single")
    layout.tag(layout.index([amd, arm]), "multi")
    single = pusher.push(layout, "single", registry, unique, fmt="v2s2")
    multi = pusher.push(layout, "multi", registry, unique + "-list", fmt="v2s2", all_images=True)

    r = probe.pull(single, "--insecure")
    assert r.rc == 0, r
    assert r.lines("manifest")[0][1] == "application/vnd.docker.distribution.manifest.v2+json"
    assert all(l[2] == "application/vnd.docker.image.rootfs.diff.tar.gzip" for l in r.lines("layer"))
    assert r.digest("manifest") == sha(pusher.raw_manifest(single))

    r = probe.pull(multi, "--insecure", "--platform", "linux/arm64")
    assert r.rc == 0, r
    assert r.lines("index")[0][1] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert r.digest("index") == sha(pusher.raw_manifest(multi))
    listing = json.loads(r.file("index.json"))
    arm_entry = [m for m in listing["manifests"] if m["platform"]["architecture"] == "arm64"][0]
    assert r.digest("manifest") == arm_entry["digest"]
    # every blob file hashes to its name: the client verified what it kept
    for name in os.listdir(os.path.join(r.outdir, "blobs")):
        with open(os.path.join(r.outdir, "blobs", name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == name


def test_uncompressed_layers_and_callback_sink(registry, pusher, probe, unique):
    layout = pusher.layout()
    img = layout.image([{"a": os.urandom(70_000)}, {"b": os.urandom(10)}], compress=False)
    layout.tag(img, "plain")
    ref = pusher.push(layout, "plain", registry, unique, keep_uncompressed=True)
    r = probe.pull(ref, "--insecure", "--sink", "callback")
    assert r.rc == 0, r
    assert all(l[2] == registry_layout.MT_LAYER_TAR for l in r.lines("layer"))
    assert_blobs(r, layout, img)


def test_progress_reports_every_blob_to_completion(registry, pusher, probe, unique):
    layout = pusher.layout()
    img = layout.image([{"big": os.urandom(1_500_000)}, {"small": b"s"}])
    layout.tag(img, "v1")
    ref = pusher.push(layout, "v1", registry, unique)
    r = probe.pull(ref, "--insecure", "--progress")
    assert r.rc == 0, r
    by_blob = {}
    for digest, done, total in r.lines("progress"):
        by_blob.setdefault(digest, []).append((int(done), int(total)))
    expected = {d.digest: d.size for d in [img.config] + img.layers}
    assert set(by_blob) == set(expected)
    for digest, reports in by_blob.items():
        dones = [d for d, _ in reports]
        assert all(t == expected[digest] for _, t in reports)
        assert dones == sorted(dones) and dones[0] == 0 and dones[-1] == expected[digest]
    # the 1.5 MB layer reports along the way, not only at the end
    big = img.layers[0]
    assert len(by_blob[big.digest]) >= 4


def test_blobs_download_in_parallel_up_to_the_limit(registry, proxy, pusher, probe, unique):
    layout = pusher.layout()
    img = layout.image([{"f%d" % i: os.urandom(20_000)} for i in range(7)])
    layout.tag(img, "v1")
    pusher.push(layout, "v1", registry, unique)
    proxy.add(r"/blobs/", "delay", delay=0.25)
    ref = "%s/%s:v1" % (proxy.host, unique)
    start = time.monotonic()
    r = probe.pull(ref, "--insecure", "--parallel", "3")
    took = time.monotonic() - start
    assert r.rc == 0, r
    assert_blobs(r, layout, img)
    assert proxy.max_active_blobs == 3
    # 8 blobs, 0.25 s each, 3 at a time: 3 rounds, not 8
    assert took < 8 * 0.25, took

    proxy.max_active_blobs = 0
    r = probe.pull(ref, "--insecure", "--parallel", "1")
    assert r.rc == 0, r
    assert proxy.max_active_blobs == 1
