"""Servers for the registry client tests, all on 127.0.0.1, stdlib only.

DockerRegistry   Debian's docker-registry (the real distribution registry),
                 plain HTTP, HTTPS or with htpasswd Basic auth.
FaultProxy       an HTTP proxy in front of a DockerRegistry that injects
                 what a real registry only does on a bad day: 5xx, 429 with
                 Retry-After, connections cut mid-body, tampered bytes,
                 slow answers; it records every request it forwards.
BearerRegistry   a small registry serving an OCI layout behind the
                 anonymous/credentialed Bearer token flow (docker-registry's
                 token auth needs a JWT-signing token server; the flow
                 itself is what is tested here).
make_pki         a CA and a server certificate for 127.0.0.1 with openssl.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import subprocess
import threading
import time
import urllib.parse
import warnings

# Shared by the fixtures and the tests (a test importing from `conftest` would get
# whichever conftest.py pytest loaded last).
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
USER, PASSWORD = "alice", "s3cret:with colon"

LOOPBACK = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _die_with_parent():
    """preexec_fn: a registry outlives no killed test run (PR_SET_PDEATHSIG)."""
    import ctypes
    import signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def run(argv, timeout=60, **kw):
    r = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode,
                                                        r.stdout.decode(), r.stderr.decode()))
    return r


# --------------------------------------------------------------------------
# certificates


def make_pki(directory):
    """CA + server certificate (subjectAltName IP:127.0.0.1), EC P-256 keys."""
    os.makedirs(directory, exist_ok=True)
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509"] + ec + ["-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2",
         "-subj", "/CN=v12n test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req"] + ec + ["-keyout", p("server.key"), "-out", p("server.csr"),
         "-subj", "/CN=127.0.0.1"])
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n")
    run(["openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
         "-CAcreateserial", "-out", p("server.crt"), "-days", "2", "-extfile", p("server.ext")])
    # a second, unrelated CA: trusting it must not make the server trusted
    run(["openssl", "req", "-x509"] + ec + ["-keyout", p("other.key"), "-out", p("other.crt"),
         "-days", "2", "-subj", "/CN=unrelated CA"])
    return {"ca": p("ca.crt"), "cert": p("server.crt"), "key": p("server.key"),
            "other_ca": p("other.crt")}


def bcrypt_hash(password):
    """docker-registry's htpasswd backend accepts bcrypt only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 4))
    if not h or not h.startswith("$2"):
        raise RuntimeError("this Python's crypt has no bcrypt")
    return h


# --------------------------------------------------------------------------
# the real registry


class DockerRegistry:
    """/usr/bin/docker-registry serve CONFIG on 127.0.0.1:<free port>."""

    BINARY = "/usr/bin/docker-registry"

    def __init__(self, directory, tls=None, htpasswd=None):
        self.dir = directory
        self.root = os.path.join(directory, "data")
        self.port = free_port()
        self.host = "%s:%d" % (LOOPBACK, self.port)
        self.tls = tls
        self.scheme = "https" if tls else "http"
        os.makedirs(self.root, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:", "  level: error", "  accesslog:", "    disabled: true",
            "storage:", "  filesystem:", "    rootdirectory: %s" % self.root,
            "  delete:", "    enabled: true",
            "  cache:", "    blobdescriptor: inmemory",
            "http:", "  addr: %s" % self.host,
        ]
        if tls:
            lines += ["  tls:", "    certificate: %s" % tls["cert"], "    key: %s" % tls["key"]]
        if htpasswd:
            path = os.path.join(directory, "htpasswd")
            with open(path, "w") as f:
                for user, password in htpasswd.items():
                    f.write("%s:%s\n" % (user, bcrypt_hash(password)))
            lines += ["auth:", "  htpasswd:", "    realm: v12n-test", "    path: %s" % path]
        self.config = os.path.join(directory, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(directory, "registry.log"), "wb")
        self.proc = subprocess.Popen([self.BINARY, "serve", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except Exception:
            self.stop()
            raise

    def _wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited %s: %s" % (self.proc.returncode,
                                                                       self.read_log()))
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not listen on %s" % self.host)

    def read_log(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.root, "docker", "registry", "v2", "blobs", "sha256", hexd[:2],
                            hexd, "data")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


# --------------------------------------------------------------------------
# in-process HTTP servers


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a client that hung up (the stall and cut tests do it on purpose)
        # is not worth a traceback; anything else is a bug in the fake
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Base:
    """An HTTP server in a thread; handler(self, req) answers each request."""

    def __init__(self):
        self.port = free_port()
        self.host = "%s:%d" % (LOOPBACK, self.port)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                owner.handle(self)

            def do_HEAD(self):
                owner.handle(self)

        self.server = _Server((LOOPBACK, self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    @staticmethod
    def reply(req, status, body=b"", headers=None):
        req.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            req.send_header(k, v)
        req.end_headers()
        if req.command != "HEAD" and body:
            req.wfile.write(body)

    @staticmethod
    def registry_error(req, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        _Base.reply(req, status, body, h)


class Rule:
    """What FaultProxy does to matching requests.

    kind: "status" (answer status with headers/body instead of forwarding),
          "cut" (forward, but close the connection after `cut` body bytes),
          "flip" (forward with one body byte changed),
          "body" (forward with the body replaced by `body`),
          "header" (forward with extra/replaced response headers),
          "delay" (forward after `delay` seconds),
          "norange" (forward without the Range header: a server that
          ignores Range).
    times: how many matching requests it applies to (None: all)."""

    def __init__(self, pattern, kind, status=None, headers=None, body=b"", cut=0, delay=0.0,
                 times=None):
        self.pattern = re.compile(pattern)
        self.kind = kind
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.cut = cut
        self.delay = delay
        self.times = times
        self.hits = 0

    def take(self, path):
        if not self.pattern.search(path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


class FaultProxy(_Base):
    """Forwards to a plain-HTTP upstream registry, applying Rules."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}

    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = []
        self.requests = []  # (method, path, headers dict)
        self.lock = threading.Lock()
        self.max_active_blobs = 0
        self._blobs_now = 0
        super().__init__()

    def add(self, *a, **kw):
        rule = Rule(*a, **kw)
        with self.lock:
            self.rules.append(rule)
        return rule

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.lock:
            return sum(1 for r in self.requests if rx.search(r[1]))

    def matching(self, pattern):
        rx = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests if rx.search(r[1])]

    def _rules_for(self, path):
        with self.lock:
            return [r for r in self.rules if r.take(path)]

    def _forward(self, req, drop_range=False):
        conn = http.client.HTTPConnection(LOOPBACK, self.upstream.port, timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in self.HOP}
        if drop_range:
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        conn.request(req.command, req.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in self.HOP]
        conn.close()
        return resp.status, out, body

    def handle(self, req):
        is_blob = "/blobs/" in req.path
        with self.lock:
            self.requests.append((req.command, req.path, dict(req.headers)))
            if is_blob:
                self._blobs_now += 1
                self.max_active_blobs = max(self.max_active_blobs, self._blobs_now)
        try:
            self._handle(req)
        finally:
            if is_blob:
                with self.lock:
                    self._blobs_now -= 1

    def _handle(self, req):
        rules = self._rules_for(req.path)
        for r in rules:
            if r.kind == "delay":
                time.sleep(r.delay)
            if r.kind == "status":
                self.reply(req, r.status, r.body, r.headers)
                return
        status, headers, body = self._forward(req, any(r.kind == "norange" for r in rules))
        cut = None
        for r in rules:
            if r.kind == "flip" and body:
                body = body[:-1] + bytes([body[-1] ^ 0x01])
            elif r.kind == "body":
                body = r.body
                headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
            elif r.kind == "header":
                headers = [(k, v) for k, v in headers if k not in r.headers] + list(r.headers.items())
            elif r.kind == "cut":
                cut = r.cut
        req.send_response(status)
        for k, v in headers:
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command == "HEAD":
            return
        if cut is None:
            req.wfile.write(body)
            return
        req.wfile.write(body[:cut])
        req.wfile.flush()
        req.close_connection = True
        try:
            req.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class BearerRegistry(_Base):
    """Serves the manifests and blobs of an OCI layout behind the Bearer
    flow: 401 + WWW-Authenticate: Bearer realm=..,service=..,scope=..; the
    token endpoint answers {"token": ..} (or {"access_token": ..}) and, when
    users is set, only to Basic credentials it knows."""

    SERVICE = "v12n-test-registry"

    def __init__(self, layout_dir, repo, users=None, token_key="token", scope_in_challenge=True,
                 token_uses=None):
        """token_uses: a token stops working after that many requests (an
        expiring token); 0: the registry accepts no token at all."""
        self.token_uses = token_uses
        self.uses = {}
        self.layout_dir = layout_dir
        self.repo = repo
        self.users = users
        self.token_key = token_key
        self.scope_in_challenge = scope_in_challenge
        self.token_requests = []  # (query dict, authorization header)
        self.requests = []
        self.issued = set()
        self.lock = threading.Lock()
        super().__init__()
        self.realm = "http://%s/token" % self.host

    def _tags(self):
        with open(os.path.join(self.layout_dir, "index.json")) as f:
            index = json.load(f)
        return {m["annotations"]["org.opencontainers.image.ref.name"]: m
                for m in index["manifests"] if "annotations" in m}

    def _blob(self, digest):
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        path = os.path.join(self.layout_dir, "blobs", "sha256", digest.split(":", 1)[1])
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def _challenge(self, req):
        params = 'realm="%s",service="%s"' % (self.realm, self.SERVICE)
        if self.scope_in_challenge:
            params += ',scope="repository:%s:pull"' % self.repo
        self.registry_error(req, 401, "UNAUTHORIZED", "authentication required",
                            {"WWW-Authenticate": "Bearer " + params})

    def _token(self, req, query):
        auth = req.headers.get("Authorization")
        with self.lock:
            self.token_requests.append((query, auth))
        if self.users is not None:
            ok = False
            if auth and auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                ok = self.users.get(user) == password
            if not ok:
                self.registry_error(req, 401, "UNAUTHORIZED", "bad credentials",
                                    {"WWW-Authenticate": 'Basic realm="token"'})
                return
        if query.get("service") != [self.SERVICE] or query.get("scope") != [
                "repository:%s:pull" % self.repo]:
            self.registry_error(req, 400, "DENIED", "bad service or scope: %s" % query)
            return
        token = hashlib.sha256(os.urandom(16)).hexdigest()
        with self.lock:
            self.issued.add(token)
        body = json.dumps({self.token_key: token, "expires_in": 300}).encode()
        self.reply(req, 200, body, {"Content-Type": "application/json"})

    def handle(self, req):
        url = urllib.parse.urlsplit(req.path)
        with self.lock:
            self.requests.append((req.command, url.path, req.headers.get("Authorization")))
        if url.path == "/token":
            self._token(req, urllib.parse.parse_qs(url.query))
            return
        auth = req.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        with self.lock:
            valid = token in self.issued
            if valid and self.token_uses is not None:
                self.uses[token] = self.uses.get(token, 0) + 1
                valid = self.uses[token] <= self.token_uses
        if not valid:
            self._challenge(req)
            return
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", url.path)
        if not m or m.group(1) != self.repo:
            self.registry_error(req, 404, "NAME_UNKNOWN", "repository name not known to registry")
            return
        kind, ref = m.group(2), m.group(3)
        if kind == "manifests" and not ref.startswith("sha256:"):
            desc = self._tags().get(ref)
            ref = desc["digest"] if desc else ""
            ctype = desc["mediaType"] if desc else ""
        data = self._blob(ref)
        if data is None:
            code = "MANIFEST_UNKNOWN" if kind == "manifests" else "BLOB_UNKNOWN"
            self.registry_error(req, 404, code, "unknown")
            return
        if kind == "manifests":
            ctype = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
        else:
            ctype = "application/octet-stream"
        self.reply(req, 200, data, {"Content-Type": ctype, "Docker-Content-Digest": ref})
