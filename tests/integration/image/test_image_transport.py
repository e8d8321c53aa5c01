"""The client's transport: HTTPS with a private CA, --insecure, and a
registry having a bad day (a FaultProxy in front of the real one): retries
and their limits, resumed downloads, tampered and oversized content."""

import hashlib
import json
import os
import time

from registry_servers import free_port


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(pusher, registry, name, sizes=(50_000, 300_000), tag="v1"):
    layout = pusher.layout()
    img = layout.image([{"f%d" % i: os.urandom(n)} for i, n in enumerate(sizes)])
    layout.tag(img, tag)
    pusher.push(layout, tag, registry, name)
    return layout, img


def via(proxy, name, tag="v1"):
    return "%s/%s:%s" % (proxy.host, name, tag)


FAST = ("--insecure", "--backoff-ms", "50")


# ---- TLS ------------------------------------------------------------------


def test_https_with_the_private_ca_verifies(tls_registry, pki, pusher, probe, unique):
    layout, img = push_image(pusher, tls_registry, unique)
    ref = "%s/%s:v1" % (tls_registry.host, unique)
    r = probe.pull(ref, "--tls-ca", pki["ca"])
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    assert r.blob(img.layers[1].digest) == layout.read(img.layers[1].digest)


def test_https_with_an_unknown_ca_fails_at_once(tls_registry, pki, pusher, probe, unique):
    push_image(pusher, tls_registry, unique)
    ref = "%s/%s:v1" % (tls_registry.host, unique)
    for extra in ([], ["--tls-ca", pki["other_ca"]]):
        start = time.monotonic()
        r = probe.pull(ref, *extra)
        assert r.rc == 1, r
        assert r.error.startswith("pull %s: GET https://%s/v2/" % (ref, tls_registry.host)), r
        assert "certificate" in r.error and r.error.endswith("(a private CA? use --tls-ca FILE)"), r
        assert time.monotonic() - start < 3  # not retried


def test_tls_ca_file_must_hold_a_certificate(probe, workdir):
    bogus = os.path.join(workdir, "not-a-cert.pem")
    with open(bogus, "w") as f:
        f.write("hello\n")
    r = probe.pull("127.0.0.1:1/x:y", "--tls-ca", bogus)
    assert r.rc == 1
    assert r.error == "--tls-ca %s: no PEM certificate in it" % bogus
    r = probe.pull("127.0.0.1:1/x:y", "--tls-ca", bogus + ".missing")
    assert r.rc == 1 and r.error.startswith("--tls-ca %s.missing" % bogus), r


def test_insecure_accepts_unverified_https_and_plain_http(tls_registry, registry, pusher, probe,
                                                          unique):
    _, img = push_image(pusher, tls_registry, unique)
    r = probe.pull("%s/%s:v1" % (tls_registry.host, unique), "--insecure")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    _, img = push_image(pusher, registry, unique)
    r = probe.pull("%s/%s:v1" % (registry.host, unique), "--insecure")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest


def test_plain_http_needs_insecure(registry, pusher, probe, unique):
    push_image(pusher, registry, unique)
    ref = "%s/%s:v1" % (registry.host, unique)
    r = probe.pull(ref)
    assert r.rc == 1
    assert r.error.startswith("pull %s: GET https://" % ref), r
    assert r.error.endswith("(a plain-HTTP registry? use --insecure)"), r


# ---- retries -------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(registry, proxy, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique)
    proxy.add(r"/manifests/v1$", "status", status=503, times=2)
    proxy.add(r"/blobs/" + img.layers[0].digest, "status", status=502, times=1)
    r = probe.pull(via(proxy, unique), *FAST)
    assert r.rc == 0, r
    assert proxy.count(r"/manifests/v1$") == 3
    assert proxy.count(r"/blobs/" + img.layers[0].digest) == 2
    assert r.blob(img.layers[0].digest) == layout.read(img.layers[0].digest)


def test_5xx_gives_up_after_the_tries(registry, proxy, pusher, probe, unique):
    push_image(pusher, registry, unique)
    proxy.add(r"/manifests/v1$", "status", status=500)
    ref = via(proxy, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1
    assert r.error == "pull %s: server error (500) after 3 tries" % ref
    assert proxy.count(r"/manifests/v1$") == 3
    r = probe.pull(ref, *FAST, "--tries", "5")
    assert r.error == "pull %s: server error (500) after 5 tries" % ref
    assert proxy.count(r"/manifests/v1$") == 3 + 5


def test_429_waits_retry_after_and_gives_up(registry, proxy, pusher, probe, unique):
    push_image(pusher, registry, unique)
    proxy.add(r"/manifests/v1$", "status", status=429, headers={"Retry-After": "1"})
    ref = via(proxy, unique)
    start = time.monotonic()
    r = probe.pull(ref, "--insecure")
    took = time.monotonic() - start
    assert r.rc == 1
    assert r.error == "pull %s: too many requests (429) after 3 tries" % ref
    assert proxy.count(r"/manifests/v1$") == 3
    assert 2.0 <= took < 10, took  # two waits of Retry-After: 1


def test_429_retry_after_is_capped(registry, proxy, pusher, probe, unique):
    _, img = push_image(pusher, registry, unique)
    proxy.add(r"/manifests/v1$", "status", status=429, headers={"Retry-After": "3600"}, times=1)
    start = time.monotonic()
    r = probe.pull(via(proxy, unique), "--insecure", "--retry-after-max", "1")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    assert 1.0 <= time.monotonic() - start < 10


def test_401_403_404_are_never_retried(registry, proxy, pusher, probe, unique):
    push_image(pusher, registry, unique)
    ref = via(proxy, unique)
    cases = [
        (401, {"WWW-Authenticate": 'Basic realm="r"'}, "unauthorized (401): check v12n login"),
        (403, {}, "denied (403): check v12n login"),
        (404, {}, "manifest unknown (404)"),
    ]
    for status, headers, message in cases:
        rule = proxy.add(r"/manifests/v1$", "status", status=status, headers=headers, times=1)
        r = probe.pull(ref, *FAST)
        assert r.rc == 1, r
        assert r.error == "pull %s: %s" % (ref, message)
        assert rule.hits == 1
    assert proxy.count(r"/manifests/v1$") == 3


def test_connection_refused_is_retried_then_reported(probe):
    port = free_port()
    ref = "127.0.0.1:%d/x:latest" % port
    start = time.monotonic()
    r = probe.pull(ref, *FAST)
    assert r.rc == 1
    assert r.error.startswith("pull %s: GET https://127.0.0.1:%d/v2/x/manifests/latest: " % (ref, port)), r
    assert "after 3 tries" in r.error and r.error.endswith("Connection refused"), r
    assert time.monotonic() - start < 5


def test_a_cut_download_resumes_with_range(registry, proxy, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique, sizes=(600_000,))
    layer = img.layers[0]
    proxy.add(r"/blobs/" + layer.digest, "cut", cut=100_000, times=1)
    r = probe.pull(via(proxy, unique), *FAST, "--progress")
    assert r.rc == 0, r
    assert r.blob(layer.digest) == layout.read(layer.digest)
    reqs = proxy.matching(r"/blobs/" + layer.digest)
    assert len(reqs) == 2
    assert "Range" not in reqs[0][2]
    assert reqs[1][2].get("Range") == "bytes=100000-", reqs[1][2]


def test_a_cut_download_restarts_when_range_is_ignored(registry, proxy, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique, sizes=(600_000, 400_000))
    for layer in img.layers:
        proxy.add(r"/blobs/" + layer.digest, "cut", cut=150_000, times=1)
    proxy.add(r"/blobs/", "norange")
    for sink in ("fd", "callback"):
        r = probe.pull(via(proxy, unique), *FAST, "--sink", sink, "--progress")
        assert r.rc == 0, (sink, r)
        for layer in img.layers:
            assert r.blob(layer.digest) == layout.read(layer.digest), sink
            dones = [int(p[1]) for p in r.lines("progress") if p[0] == layer.digest]
            assert 0 in dones[1:], dones  # went back to zero for the restart
        # the next pull finds no cut
        for rule in proxy.rules:
            if rule.kind == "cut":
                rule.hits = 0


def test_a_stalled_transfer_is_abandoned_and_retried(registry, proxy, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique, sizes=(10_000,))
    layer = img.layers[0]
    proxy.add(r"/blobs/" + layer.digest, "delay", delay=4, times=1)
    start = time.monotonic()
    r = probe.pull(via(proxy, unique), *FAST, "--stall", "1")
    assert r.rc == 0, r
    assert r.blob(layer.digest) == layout.read(layer.digest)
    assert proxy.count(r"/blobs/" + layer.digest) == 2
    assert time.monotonic() - start < 4


# ---- content that is not what it claims ------------------------------------------------


def test_corrupted_blob_in_the_registry_is_refused_and_discarded(registry, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique)
    bad = img.layers[1]
    path = registry.blob_path(bad.digest)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        data[len(data) // 2] ^= 0xFF
        f.seek(0)
        f.write(data)
    ref = "%s/%s:v1" % (registry.host, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1, r
    assert r.error == "pull %s: blob %s: digest mismatch (got %s)" % (ref, bad.digest, sha(bytes(data)))
    assert not r.blob_exists(bad.digest)
    # the good blobs completed and were kept
    assert r.blob(img.layers[0].digest) == layout.read(img.layers[0].digest)
    assert r.blob(img.config.digest) == layout.read(img.config.digest)


def test_a_blob_larger_than_declared_is_refused(registry, proxy, pusher, probe, unique):
    # docker-registry serves the size it recorded at push time, whatever the
    # file holds: the proxy plays the server that sends too much
    layout, img = push_image(pusher, registry, unique)
    big = img.layers[0]
    proxy.add(r"/blobs/" + big.digest, "body", body=layout.read(big.digest) + b"extra bytes")
    ref = via(proxy, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1, r
    assert r.error == ("pull %s: blob %s: the server sends %d bytes, more than the %d declared"
                       % (ref, big.digest, big.size + 11, big.size)), r
    assert not r.blob_exists(big.digest)
    assert proxy.count(r"/blobs/" + big.digest) == 1


def test_a_truncated_blob_in_the_registry_is_retried_then_refused(registry, pusher, probe,
                                                                   unique):
    # the registry announces the recorded size and closes the connection
    # short: a transient failure, resumed, and in the end reported
    _, img = push_image(pusher, registry, unique)
    small = img.layers[0]
    with open(registry.blob_path(small.digest), "r+b") as f:
        f.truncate(small.size - 10)
    ref = "%s/%s:v1" % (registry.host, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1, r
    assert r.error.startswith("pull %s: blob %s: GET http://" % (ref, small.digest)), r
    assert r.error.endswith("10 bytes remaining to read after 3 tries"), r
    assert not r.blob_exists(small.digest)


def test_a_complete_answer_shorter_than_declared_is_refused(registry, proxy, pusher, probe,
                                                            unique):
    layout, img = push_image(pusher, registry, unique)
    small = img.layers[0]
    proxy.add(r"/blobs/" + small.digest, "body", body=layout.read(small.digest)[:-10])
    ref = via(proxy, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1, r
    assert r.error == "pull %s: blob %s: %d bytes, %d declared" % (ref, small.digest,
                                                                   small.size - 10, small.size), r


def test_tampered_manifest_fetched_by_digest_is_refused(registry, proxy, pusher, probe, unique):
    layout, img = push_image(pusher, registry, unique)
    other = json.loads(layout.read(img.digest))
    other["annotations"] = {"tampered": "yes"}
    forged = json.dumps(other).encode()
    proxy.add(r"/manifests/sha256:", "body", body=forged)
    ref = "%s/%s@%s" % (proxy.host, unique, img.digest)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1
    assert r.error == "pull %s: digest mismatch (got %s)" % (ref, sha(forged)), r


def test_docker_content_digest_header_is_not_trusted(registry, proxy, pusher, probe, unique):
    _, img = push_image(pusher, registry, unique)
    lie = sha(b"lie")
    proxy.add(r"/manifests/", "header", headers={"Docker-Content-Digest": lie})
    r = probe.pull(via(proxy, unique), *FAST, "--manifest-only")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest


def test_a_manifest_over_4_mib_is_refused(registry, proxy, pusher, probe, unique):
    push_image(pusher, registry, unique)
    huge = json.dumps({"schemaVersion": 2, "pad": "x" * (4 << 20)}).encode()
    proxy.add(r"/manifests/v1$", "body", body=huge)
    ref = via(proxy, unique)
    r = probe.pull(ref, *FAST)
    assert r.rc == 1
    assert r.error == "pull %s: manifest larger than 4 MiB" % ref, r
    assert proxy.count(r"/manifests/v1$") == 1
