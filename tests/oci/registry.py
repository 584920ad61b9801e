"""A real OCI registry for the tests: Debian's docker-registry (distribution
2.8) on a free loopback port, its storage in a temporary directory.

    with Registry(tmp) as reg:                  # anonymous, plain HTTP
        push_to(f"{reg.host}/demo:1")
    with Registry(tmp, auth="basic") as reg:    # htpasswd (bcrypt), 401 without
        reg.write_auth_file(os.path.join(tmp, "auth.json"))
    with Registry(tmp, tls=True) as reg:        # HTTPS; reg.ca: the test CA's PEM
        env["SSL_CERT_FILE"] = reg.ca
    with Registry(tmp, auth="token") as reg:    # bearer tokens from token_server.py

TLS: a throwaway CA and a server certificate for 127.0.0.1 and localhost,
made with the openssl command line. Token auth: the registry trusts tokens
(RS256 JWTs) signed by a certificate of another throwaway CA, issued by
token_server.py (started here, on a loopback port, for the user below).

The server runs under `timeout`, so it ends by itself after `lifetime`
seconds even if the test dies; on leaving the block it is stopped by its pid.
Standard library only; scripts/setup.sh installs the programs used here
(docker-registry, htpasswd from apache2-utils, skopeo; cosign and oras with
`go install`) and tools() fails, saying so, when one is missing.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
SETUP_HINT = "run scripts/setup.sh"


class MissingTool(RuntimeError):
    pass


def go_bin_dir():
    """Where scripts/setup.sh puts cosign and oras ($TORVYN_TOOLS_DIR/go-bin)."""
    tools = os.environ.get("TORVYN_TOOLS_DIR")
    if not tools:
        cache = os.environ.get("TORVYN_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torvyn")
        tools = os.path.join(cache, "tools")
    return os.path.join(tools, "go-bin")


def tools():
    """{'skopeo': path, 'cosign': path, 'oras': path}; raises MissingTool,
    naming what is missing and how to get it (never a silent skip)."""
    found, missing = {}, []
    skopeo = shutil.which("skopeo")
    if skopeo:
        found["skopeo"] = skopeo
    else:
        missing.append("skopeo (Debian package skopeo)")
    for name in ("cosign", "oras"):
        path = os.path.join(go_bin_dir(), name)
        if os.access(path, os.X_OK):
            found[name] = path
        else:
            missing.append(f"{name} ({path}, built with go install)")
    if missing:
        raise MissingTool("missing: " + "; ".join(missing) + f": {SETUP_HINT}")
    return found


def openssl(*args, cwd):
    exe = shutil.which("openssl")
    if not exe:
        raise MissingTool(f"openssl is missing (Debian package openssl): {SETUP_HINT}")
    p = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {p.stderr.strip()}")


def make_ca(folder, name):
    """A self-signed CA: (key path, certificate path) in folder."""
    os.makedirs(folder, exist_ok=True)
    key, pem = os.path.join(folder, f"{name}.key"), os.path.join(folder, f"{name}.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem,
            "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    return key, pem


def make_cert(ca, folder, name, extensions):
    """A certificate ca (key, pem) signs, with the given extension lines:
    (key path, certificate path)."""
    key, pem = os.path.join(folder, f"{name}.key"), os.path.join(folder, f"{name}.pem")
    csr, ext = os.path.join(folder, f"{name}.csr"), os.path.join(folder, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("\n".join(["basicConstraints=critical,CA:FALSE", *extensions]) + "\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", f"/CN={name}", cwd=folder)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-days", "2",
            "-set_serial", "0x" + os.urandom(8).hex(), "-extfile", ext, "-out", pem, cwd=folder)
    return key, pem


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc):
    """Ends the process group `proc` leads (timeout and its server: the group
    made for them), by its pid."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Registry:
    """docker-registry serving tmp/storage at 127.0.0.1:<free port>.

    auth: None (anonymous), 'basic' (htpasswd) or 'token' (bearer tokens from
    token_server.py), for user/password below. tls: HTTPS with a certificate
    of a throwaway CA (its PEM file: ca).
    Attributes: host ('127.0.0.1:PORT'), url ('http[s]://host'), user,
    password, ca, storage (the registry's root directory), log (its log file),
    pid; with token auth: token_url (the realm), token_log, service, issuer,
    reader and reader_password (a user granted pull only).
    """

    def __init__(self, tmp, auth=None, lifetime=600, user="torvyn", password="s3cret-pass",
                 tls=False):
        if auth not in (None, "basic", "token"):
            raise ValueError(f"auth must be None, 'basic' or 'token', not {auth!r}")
        self.tmp = os.path.abspath(tmp)
        self.auth = auth
        self.tls = tls
        self.ca = None
        self.token_server = None
        self.service, self.issuer = "torvyn-test-registry", "torvyn-test-token-issuer"
        # With token auth, a second user who may only pull.
        self.reader, self.reader_password = "reader", "read-only-pass"
        self.lifetime = lifetime
        self.user = user if auth else None
        self.password = password if auth else None
        self.storage = os.path.join(self.tmp, "storage")
        self.log = os.path.join(self.tmp, "registry.log")
        self.config = os.path.join(self.tmp, "config.yml")
        self.proc = None
        self.host = None

    # -- set-up ---------------------------------------------------------------
    def _write_config(self, port):
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: 127.0.0.1:{port}",
            "  secret: torvyn-tests-only",
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if self.auth == "basic":
            htpasswd = shutil.which("htpasswd")
            if not htpasswd:
                raise MissingTool(f"htpasswd is missing (Debian package apache2-utils): {SETUP_HINT}")
            line = subprocess.run([htpasswd, "-Bbn", self.user, self.password], check=True,
                                  capture_output=True, text=True).stdout.strip()
            path = os.path.join(self.tmp, "htpasswd")
            with open(path, "w") as f:
                f.write(line + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: torvyn-test", f"    path: {path}"]
        elif self.auth == "token":
            lines += ["auth:", "  token:", f"    realm: {self.token_url}",
                      f"    service: {self.service}", f"    issuer: {self.issuer}",
                      f"    rootcertbundle: {self.token_roots}"]
        if self.tls:
            lines[lines.index("http:") + 1:lines.index("http:") + 1] = [
                "  tls:", f"    certificate: {self.cert}", f"    key: {self.key}"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _make_tls(self):
        folder = os.path.join(self.tmp, "tls")
        ca = make_ca(folder, "torvyn-test-ca")
        self.ca = ca[1]
        self.key, self.cert = make_cert(ca, folder, "registry", [
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth"])

    def _start_token_server(self):
        """token_server.py on a loopback port it picks and writes to a file."""
        folder = os.path.join(self.tmp, "token")
        ca = make_ca(folder, "torvyn-token-ca")
        self.token_roots = ca[1]
        key, pem = make_cert(ca, folder, "token-signer", ["keyUsage=critical,digitalSignature"])
        config = os.path.join(folder, "config.json")
        with open(config, "w") as f:
            json.dump({"key": key, "chain": [pem], "issuer": self.issuer, "service": self.service,
                       "users": {self.user: self.password, self.reader: self.reader_password},
                       "read_only": [self.reader], "ttl": 300}, f)
        os.chmod(config, 0o600)
        port_file = os.path.join(folder, "port")
        self.token_log = os.path.join(self.tmp, "token.log")
        log = open(self.token_log, "ab")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "token_server.py")
        self.token_server = subprocess.Popen(
            ["timeout", "--kill-after=5", str(self.lifetime), sys.executable, script, config, port_file],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.token_server.poll() is None:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.token_url = f"http://127.0.0.1:{f.read().strip()}/token"
                return
            time.sleep(0.05)
        stop_group(self.token_server)
        with open(self.token_log, errors="replace") as f:
            raise RuntimeError(f"token_server.py did not start; its log:\n{f.read()[-4000:]}")

    def _context(self):
        return ssl.create_default_context(cafile=self.ca) if self.tls else None

    def _answers(self):
        """True once GET /v2/ answers as it should (200; 401 with auth)."""
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=2, context=self._context()) as r:
                return r.status == 200 and self.auth is None
        except urllib.error.HTTPError as e:
            return e.code == 401 and self.auth is not None
        except OSError:
            return False

    def start(self, timeout=30):
        if not os.access(REGISTRY_BIN, os.X_OK):
            raise MissingTool(f"{REGISTRY_BIN} is missing (Debian package docker-registry): {SETUP_HINT}")
        os.makedirs(self.storage, exist_ok=True)
        if self.tls and not self.ca:
            self._make_tls()
        if self.auth == "token" and not self.token_server:
            self._start_token_server()
        for attempt in range(3):  # a free port can be taken between the probe and the bind
            port = free_port()
            self.host = f"127.0.0.1:{port}"
            self.url = f"{'https' if self.tls else 'http'}://{self.host}"
            self._write_config(port)
            log = open(self.log, "ab")
            # timeout bounds the server's life even if this process dies; its
            # own group, so stop() ends exactly it and nothing else.
            self.proc = subprocess.Popen(
                ["timeout", "--kill-after=5", str(self.lifetime), REGISTRY_BIN, "serve", self.config],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._answers():
                    return self
                time.sleep(0.1)
            self.stop()
            text = self.log_text()
            if "address already in use" not in text:
                break
        raise RuntimeError(f"docker-registry did not answer at {self.url}/v2/ within {timeout} s;"
                           f" its log ({self.log}):\n{self.log_text()[-4000:]}")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        stop_group(self.proc)

    def __exit__(self, *exc):
        self.stop()
        stop_group(self.token_server)
        return False

    def __enter__(self):
        return self.start()

    # -- helpers --------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def basic_auth(self):
        """The value of an Authorization header, or None without auth."""
        if not self.auth:
            return None
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def write_auth_file(self, path, user=None, password=None):
        """A containers/docker auth.json for this registry:
        {"auths": {host: {"auth": base64(user:password)}}} (empty without auth);
        this registry's user unless another is given."""
        auths = {}
        if self.auth:
            pair = f"{user or self.user}:{password or self.password}"
            auths[self.host] = {"auth": base64.b64encode(pair.encode()).decode()}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"auths": auths}, f, indent=2)
        os.chmod(path, 0o600)
        return path

    def request(self, method, path, body=None, headers=None, credentials=True):
        """(status, headers, body) of one HTTP request to the registry, with
        this registry's credentials unless credentials=False or the headers
        carry an Authorization of their own; errors are answers, not exceptions."""
        headers = dict(headers or {})
        own = "Authorization" in headers
        if self.auth == "basic" and credentials and not own:
            headers["Authorization"] = self.basic_auth()
        answer = self._send(method, f"{self.url}{path}", body, headers)
        challenge = next((v for k, v in answer[1].items() if k.lower() == "www-authenticate"), "")
        if answer[0] == 401 and self.auth == "token" and credentials and not own \
                and challenge.startswith("Bearer "):
            headers["Authorization"] = "Bearer " + self.token(challenge)
            answer = self._send(method, f"{self.url}{path}", body, headers)
        return answer

    def token(self, challenge):
        """A token from the realm a Bearer challenge names, for its scope."""
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({k: params[k] for k in ("service", "scope") if k in params})
        status, _, body = self._send("GET", f"{params['realm']}?{query}", None,
                                     {"Authorization": self.basic_auth()})
        if status != 200:
            raise RuntimeError(f"token for {challenge}: HTTP {status}: {body[:300]!r}")
        return json.loads(body)["token"]

    def _send(self, method, url, body, headers):
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self._context()) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def manifest(self, repo, ref, accept=None):
        """(media type, digest, raw bytes) of a manifest by tag or digest."""
        accept = accept or ", ".join([
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json"])
        status, headers, body = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept})
        if status != 200:
            raise RuntimeError(f"GET manifest {repo}:{ref}: HTTP {status}: {body[:300]!r}")
        return headers.get("Content-Type"), headers.get("Docker-Content-Digest"), body

    def blob(self, repo, digest):
        status, _, body = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        if status != 200:
            raise RuntimeError(f"GET blob {repo}@{digest}: HTTP {status}: {body[:300]!r}")
        return body

    def tags(self, repo):
        status, _, body = self.request("GET", f"/v2/{repo}/tags/list")
        if status != 200:
            raise RuntimeError(f"GET tags {repo}: HTTP {status}: {body[:300]!r}")
        return json.loads(body).get("tags") or []

    def push_blob(self, repo, data):
        """Uploads data (POST then PUT ?digest=, the two-step monolithic
        upload of the distribution API); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        if status != 202:
            raise RuntimeError(f"POST upload {repo}: HTTP {status}: {body[:300]!r}")
        location = headers.get("Location")
        url = urllib.parse.urlsplit(urllib.parse.urljoin(f"{self.url}/", location))
        query = (url.query + "&" if url.query else "") + urllib.parse.urlencode({"digest": digest})
        status, _, body = self.request("PUT", f"{url.path}?{query}", body=data,
                                       headers={"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RuntimeError(f"PUT blob {repo}@{digest}: HTTP {status}: {body[:300]!r}")
        return digest

    def push_manifest(self, repo, ref, data, media_type="application/vnd.oci.image.manifest.v1+json"):
        """PUT a manifest under a tag or digest; returns the registry's digest."""
        status, headers, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=data,
                                             headers={"Content-Type": media_type})
        if status != 201:
            raise RuntimeError(f"PUT manifest {repo}:{ref}: HTTP {status}: {body[:300]!r}")
        return headers.get("Docker-Content-Digest")
