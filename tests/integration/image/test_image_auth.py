"""Credentials (`v12n login`'s file) and registry authentication: Basic
against docker-registry's htpasswd, and the Bearer token flow."""

import base64
import json
import os
import stat

from registry_servers import PASSWORD, USER


def login(probe, authfile, registry, user, password):
    return probe.run(["login", "--auth", authfile, registry, user, password])


def push_to_auth_registry(pusher, auth_registry, name):
    layout = pusher.layout()
    img = layout.image([{"a": os.urandom(20_000)}, {"b": os.urandom(200)}])
    layout.tag(img, "v1")
    ref = pusher.push(layout, "v1", auth_registry, name, creds=(USER, PASSWORD))
    return layout, img, ref


# ---- the credentials file -----------------------------------------------------------


def test_login_writes_a_private_docker_style_file(probe, workdir):
    path = os.path.join(workdir, "login-test", "sub", "auth.json")
    r = login(probe, path, "127.0.0.1:5000", "bob", "pa:ss")
    assert r.rc == 0, r
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as f:
        doc = json.load(f)
    assert doc == {"auths": {"127.0.0.1:5000": {"auth": base64.b64encode(b"bob:pa:ss").decode()}}}
    assert os.listdir(os.path.dirname(path)) == ["auth.json"]  # no temporary left


def test_login_keeps_other_entries_and_members(probe, workdir):
    path = os.path.join(workdir, "login-keep.json")
    with open(path, "w") as f:
        json.dump({"auths": {"https://index.docker.io/v1/": {"auth": "eDp5"}}, "credsStore": "x"}, f)
    os.chmod(path, 0o600)
    assert login(probe, path, "127.0.0.1:5000", "bob", "pw").rc == 0
    assert login(probe, path, "docker.io", "hub", "pw2").rc == 0  # replaces the Hub alias
    with open(path) as f:
        doc = json.load(f)
    assert doc["credsStore"] == "x"
    assert set(doc["auths"]) == {"127.0.0.1:5000", "docker.io"}
    assert doc["auths"]["docker.io"]["auth"] == base64.b64encode(b"hub:pw2").decode()
    assert probe.run(["logout", "--auth", path, "127.0.0.1:5000"]).rc == 0
    r = probe.run(["logout", "--auth", path, "127.0.0.1:5000"])
    assert r.rc == 1 and r.error == "not logged in to 127.0.0.1:5000"
    with open(path) as f:
        assert set(json.load(f)["auths"]) == {"docker.io"}


def test_a_credentials_file_others_can_read_is_refused(probe, workdir):
    path = os.path.join(workdir, "open-auth.json")
    assert login(probe, path, "127.0.0.1:5000", "bob", "pw").rc == 0
    os.chmod(path, 0o644)
    r = probe.pull("127.0.0.1:5000/x:y", "--auth", path)
    assert r.rc == 1
    assert r.error == ("credentials %s: mode 0644 lets others read the passwords; run chmod 600 %s"
                       % (path, path))
    r = login(probe, path, "127.0.0.1:5000", "bob", "pw")
    assert r.rc == 1 and "mode 0644" in r.error


def test_user_names_with_a_colon_are_refused(probe, workdir):
    r = login(probe, os.path.join(workdir, "colon.json"), "127.0.0.1:5000", "a:b", "pw")
    assert r.rc == 1
    assert r.error == "credentials for 127.0.0.1:5000: the user name may not be empty or contain ':'"


# ---- Basic (docker-registry htpasswd) ---------------------------------------------------


def test_basic_auth_needs_credentials(auth_registry, pusher, probe, unique, workdir):
    _, img, ref = push_to_auth_registry(pusher, auth_registry, unique)
    r = probe.pull(ref, "--insecure")
    assert r.rc == 1
    assert r.error == "pull %s: unauthorized (401): check v12n login" % ref

    authfile = os.path.join(workdir, "basic-%s.json" % unique.replace("/", "-"))
    assert login(probe, authfile, auth_registry.host, USER, "wrong").rc == 0
    r = probe.pull(ref, "--insecure", "--auth", authfile)
    assert r.rc == 1
    assert r.error == "pull %s: unauthorized (401): check v12n login" % ref

    assert login(probe, authfile, auth_registry.host, USER, PASSWORD).rc == 0
    r = probe.pull(ref, "--insecure", "--auth", authfile)
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    assert len(r.lines("blob")) == 3


# ---- Bearer tokens ------------------------------------------------------------------------


def bearer_setup(pusher, factory, **kw):
    layout = pusher.layout()
    img = layout.image([{"l%d" % i: os.urandom(30_000)} for i in range(4)])
    layout.tag(img, "v1")
    reg = factory(layout, "team/app", **kw)
    return layout, img, reg, "%s/team/app:v1" % reg.host


def test_anonymous_bearer_token_is_fetched_once_and_reused(pusher, bearer_registry_factory, probe):
    layout, img, reg, ref = bearer_setup(pusher, bearer_registry_factory)
    r = probe.pull(ref, "--insecure")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    for d in [img.config] + img.layers:
        assert r.blob(d.digest) == layout.read(d.digest)
    assert len(reg.token_requests) == 1
    query, authorization = reg.token_requests[0]
    assert query == {"service": [reg.SERVICE], "scope": ["repository:team/app:pull"]}
    assert authorization is None  # anonymous: nothing to send
    # one 401 to learn the challenge, then everything carried the token
    registry_calls = [q for q in reg.requests if q[1].startswith("/v2/team/app/")]
    unauthenticated = [q for q in registry_calls if not (q[2] or "").startswith("Bearer ")]
    assert len(unauthenticated) == 1, registry_calls
    assert len(registry_calls) == 1 + 1 + 5  # 401, manifest, config + 4 layers


def test_bearer_token_with_credentials(pusher, bearer_registry_factory, probe, workdir):
    layout, img, reg, ref = bearer_setup(pusher, bearer_registry_factory, users={"carol": "pw"})
    r = probe.pull(ref, "--insecure")
    assert r.rc == 1
    assert r.error == ("pull %s: token server %s: unauthorized (401): check v12n login"
                       % (ref, reg.realm)), r

    authfile = os.path.join(workdir, "bearer-auth.json")
    assert login(probe, authfile, reg.host, "carol", "pw").rc == 0
    r = probe.pull(ref, "--insecure", "--auth", authfile)
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    sent = reg.token_requests[-1][1]
    assert sent == "Basic " + base64.b64encode(b"carol:pw").decode()


def test_bearer_access_token_and_a_challenge_without_scope(pusher, bearer_registry_factory, probe):
    _, img, reg, ref = bearer_setup(pusher, bearer_registry_factory, token_key="access_token",
                                    scope_in_challenge=False)
    r = probe.pull(ref, "--insecure")
    assert r.rc == 0, r
    assert r.digest("manifest") == img.digest
    assert reg.token_requests[0][0]["scope"] == ["repository:team/app:pull"]


def test_bearer_unknown_repository_after_the_token(pusher, bearer_registry_factory, probe):
    _, _, reg, _ = bearer_setup(pusher, bearer_registry_factory)
    ref = "%s/team/app:nope" % reg.host
    r = probe.pull(ref, "--insecure")
    assert r.rc == 1
    assert r.error == "pull %s: manifest unknown (404)" % ref


def test_an_expired_token_is_renewed_once(pusher, bearer_registry_factory, probe):
    layout, img, reg, ref = bearer_setup(pusher, bearer_registry_factory, token_uses=3)
    r = probe.pull(ref, "--insecure", "--parallel", "1")
    assert r.rc == 0, r
    for d in [img.config] + img.layers:
        assert r.blob(d.digest) == layout.read(d.digest)
    # manifest + config + 4 layers = 6 uses: the first token served 3
    assert len(reg.token_requests) == 2


def test_a_token_the_registry_refuses_is_not_retried_forever(pusher, bearer_registry_factory,
                                                            probe):
    _, _, reg, ref = bearer_setup(pusher, bearer_registry_factory, token_uses=0)
    r = probe.pull(ref, "--insecure")
    assert r.rc == 1
    assert r.error == "pull %s: unauthorized (401): check v12n login" % ref
    assert len(reg.token_requests) == 1
    assert len([q for q in reg.requests if q[1] == "/v2/team/app/manifests/v1"]) == 2
