"""torvyn publish / pull / run REF against a real registry (Debian's
docker-registry on a loopback port, tests/oci/registry.py), read back with
skopeo.

    python3 tests/oci/publish_test.py CASE TORVYN COMPONENTS_DIR SOURCE_DIR TMP_DIR

CASE: plain (publish, skopeo inspect/copy, pull, run REF, run with the
registry stopped, a second publish skipping blobs), auth (basic auth read from
REGISTRY_AUTH_FILE; a wrong password is E0704), errors (unknown repository
or tag is E0702; a tampered blob in the registry is E0701 on pull and leaves
nothing of it in the local store), mock (a registry in this script: bearer
token auth, HTTP 500, a closed connection), chunked (--chunk-size: blobs go
up in PATCHes, read back by skopeo, pulled and run), mount (a publish to a
second repository mounts the blobs of the first; a stale record falls back to
an upload), chunk_refused (a registry in this script refusing a chunk with 416
or 500: E0703, nothing half-written; honouring OCI-Chunk-Min-Length). Exit 0
when every check holds, else 1.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import Registry  # noqa: E402

PIPELINE_TYPE = "application/vnd.torvyn.pipeline.v1"
failures = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
        if detail:
            print("      " + detail.replace("\n", "\n      ")[:3000])


class Env:
    def __init__(self, torvyn, components, source, tmp):
        self.torvyn, self.components, self.source, self.tmp = torvyn, components, source, tmp
        self.fan_out = os.path.join(source, "examples", "fan-out")
        with open(os.path.join(source, "tests", "cli", "fan-out.expected")) as f:
            self.expected = f.read()
        self.cache = os.path.join(tmp, "cache")  # the local store: $XDG_CACHE_HOME/torvyn/oci
        self.compiled = os.path.join(tmp, "compiled")
        self.env = dict(os.environ, XDG_CACHE_HOME=self.cache, NO_COLOR="1")
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            self.env.pop(k, None)
        self.env.pop("REGISTRY_AUTH_FILE", None)

    def run(self, *args, env=None):
        started = time.monotonic()
        p = subprocess.run([self.torvyn, *args], capture_output=True, text=True,
                           env=dict(self.env, **(env or {})), timeout=300)
        p.seconds = time.monotonic() - started
        return p

    def run_pipeline(self, target, env=None):
        return self.run("run", target, "--cache-dir", self.compiled, env=env)

    def store(self):
        return os.path.join(self.cache, "torvyn", "oci")

    def store_tags(self):
        try:
            with open(os.path.join(self.store(), "index.json")) as f:
                index = json.load(f)
        except FileNotFoundError:
            return []
        return [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                for m in index["manifests"]]


def show(p):
    return f"rc {p.returncode}\n--- stdout:\n{p.stdout}\n--- stderr:\n{p.stderr}"


def skopeo(*args):
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)


def blob_sizes(reg, repo, tag):
    """{digest: size} of every config and layer of the pipeline repo:tag."""
    _, _, raw = reg.manifest(repo, tag)
    sizes = {}
    for m in json.loads(raw)["manifests"]:
        _, _, doc = reg.manifest(repo, m["digest"])
        doc = json.loads(doc)
        for d in [doc["config"], *doc["layers"]]:
            sizes[d["digest"]] = d["size"]
    return sizes


def requests(reg, method, repo):
    """(path, status) of each `method` request for repo in the registry's access log."""
    pattern = r'"' + method + r" (/v2/" + re.escape(repo) + r'/\S*) HTTP/[\d.]+" (\d+)'
    return [(m.group(1), int(m.group(2))) for m in re.finditer(pattern, reg.log_text())]


def published_counts(p):
    """(pushed, mounted, skipped) from publish's output, or None."""
    m = re.search(r"pushed (\d+) blobs and manifests .*; mounted (\d+) from other repositories; "
                  r"skipped (\d+),", p.stdout)
    return tuple(int(g) for g in m.groups()) if m else None


def case_plain(e):
    with Registry(os.path.join(e.tmp, "registry")) as reg:
        ref = f"{reg.host}/demo/fan-out:1"
        p = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(p.returncode == 0 and "published" in p.stdout, "publish examples/fan-out", show(p))
        print(f"TIME push {p.seconds:.2f} s\n{p.stdout}")
        raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}")
        index = json.loads(raw.stdout) if raw.returncode == 0 else {}
        check(index.get("artifactType") == PIPELINE_TYPE,
              "skopeo inspect --raw: an OCI index with the Torvyn artifactType", raw.stdout + raw.stderr)

        again = e.run("publish", e.fan_out, ref, "-L", e.components)
        counts = re.search(r"pushed (\d+) blobs and manifests .*; skipped (\d+),", again.stdout)
        check(again.returncode == 0 and counts and counts.group(1) == "1" and int(counts.group(2)) > 1,
              "a second publish skips what the registry has (pushes only the index)", show(again))

        layout = os.path.join(e.tmp, "copied")
        cp = skopeo("copy", "--src-tls-verify=false", "--all", f"docker://{ref}", f"oci:{layout}:copied")
        check(cp.returncode == 0, "skopeo copy docker://REF oci:DIR:TAG", cp.stdout + cp.stderr)
        run = e.run_pipeline(f"oci:{layout}:copied")
        check(run.returncode == 0 and run.stdout == e.expected,
              "torvyn run oci:DIR:TAG runs what skopeo copied", show(run))
        copied_ref = f"{reg.host}/demo/copied:2"
        p = e.run("publish", f"oci:{layout}:copied", copied_ref)
        raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{copied_ref}")
        check(p.returncode == 0 and raw.returncode == 0
              and json.loads(raw.stdout).get("manifests"),
              "torvyn publish oci:DIR:TAG REF pushes a layout as it is", show(p) + raw.stderr)

        # Start from an empty store: publish above filled it.
        shutil.rmtree(e.store(), ignore_errors=True)
        pull = e.run("pull", ref)
        check(pull.returncode == 0 and "digest sha256:" in pull.stdout, "torvyn pull REF", show(pull))
        print(f"TIME pull {pull.seconds:.2f} s\n{pull.stdout}")
        check(ref in e.store_tags(), "the store tags the pipeline with its reference", str(e.store_tags()))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "torvyn run REF", show(run))
        print(f"TIME run REF (pulled) {run.seconds:.2f} s")

        # run REF pulls by itself when the store lacks it.
        shutil.rmtree(e.store(), ignore_errors=True)
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "torvyn run REF pulls what it lacks", show(run))
        print(f"TIME run REF (pulling) {run.seconds:.2f} s")
    run = e.run_pipeline(ref)
    check(run.returncode == 0 and run.stdout == e.expected,
          "torvyn run REF with the registry stopped (from the store)", show(run))
    print(f"TIME run REF (offline, warm) {run.seconds:.2f} s")
    other = e.run_pipeline(f"{reg.host}/demo/never-pulled:1")
    check(other.returncode == 2 and "E0703" in other.stderr,
          "a reference not in the store, the registry stopped: E0703", show(other))


def case_auth(e):
    with Registry(os.path.join(e.tmp, "registry"), auth="basic") as reg:
        ref = f"{reg.host}/demo/fan-out:auth"
        auth = reg.write_auth_file(os.path.join(e.tmp, "auth.json"))
        none = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(none.returncode == 2 and "E0704" in none.stderr and "login" in none.stderr,
              "no credentials: E0704 with a hint to log in", show(none))
        p = e.run("publish", e.fan_out, ref, "-L", e.components, env={"REGISTRY_AUTH_FILE": auth})
        check(p.returncode == 0, "publish with basic auth from REGISTRY_AUTH_FILE", show(p))
        shutil.rmtree(e.store(), ignore_errors=True)
        pull = e.run("pull", ref, env={"REGISTRY_AUTH_FILE": auth})
        check(pull.returncode == 0, "pull with basic auth", show(pull))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "run REF after an authenticated pull", show(run))

        reg.password = "wrong-password"
        wrong = reg.write_auth_file(os.path.join(e.tmp, "wrong.json"))
        bad = e.run("pull", ref, env={"REGISTRY_AUTH_FILE": wrong})
        check(bad.returncode == 2 and "E0704" in bad.stderr and wrong in bad.stderr,
              "a wrong password: E0704 naming the auth file", show(bad))


class MockRegistry(BaseHTTPRequestHandler):
    """Answers what docker-registry will not: a bearer challenge (token from
    /token, then 404), a 500 with the distribution error JSON, a connection
    closed without an answer."""
    token_requests = []

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        errors = lambda code, msg: json.dumps({"errors": [{"code": code, "message": msg}]}).encode()
        host = self.headers.get("Host")
        if self.path.startswith("/token"):
            MockRegistry.token_requests.append(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))
            self.answer(200, json.dumps({"token": "tok123"}).encode())
        elif self.path.startswith("/v2/closed/"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path.startswith("/v2/fail/"):
            self.answer(500, errors("UNKNOWN", "disk on fire"))
        elif self.headers.get("Authorization") != "Bearer tok123":
            challenge = f'Bearer realm="http://{host}/token",service="mock",scope="repository:bearer:pull"'
            self.answer(401, errors("UNAUTHORIZED", "authentication required"),
                        [("WWW-Authenticate", challenge)])
        else:
            self.answer(404, errors("MANIFEST_UNKNOWN", "manifest unknown"))


def case_mock(e):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MockRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        r = e.run("pull", f"{host}/bearer/app:1")
        asked = MockRegistry.token_requests
        check(r.returncode == 2 and "E0702" in r.stderr and asked
              and asked[0].get("service") == ["mock"] and asked[0].get("scope") == ["repository:bearer:pull"],
              "a bearer challenge: token fetched from the realm (service, scope), request retried", show(r) + str(asked))
        r = e.run("pull", f"{host}/fail/app:1")
        check(r.returncode == 2 and "E0703" in r.stderr and "HTTP 500" in r.stderr and "disk on fire" in r.stderr,
              "HTTP 500: E0703 with the registry's message", show(r))
        r = e.run("pull", f"{host}/closed/app:1")
        check(r.returncode == 2 and "E0703" in r.stderr, "a connection closed without an answer: E0703", show(r))
        check(not os.path.exists(os.path.join(e.store(), "blobs", "sha256")) or
              not os.listdir(os.path.join(e.store(), "blobs", "sha256")), "nothing stored by failed pulls")
    finally:
        server.shutdown()


def case_errors(e):
    with Registry(os.path.join(e.tmp, "registry")) as reg:
        ref = f"{reg.host}/demo/fan-out:1"
        p = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(p.returncode == 0, "publish", show(p))
        for missing in (f"{reg.host}/demo/no-such-repo:1", f"{reg.host}/demo/fan-out:no-such-tag"):
            r = e.run("pull", missing)
            check(r.returncode == 2 and "E0702" in r.stderr, f"pull {missing}: E0702", show(r))
        bad = e.run("pull", f"{reg.host}/Demo/UPPER:1")
        check(bad.returncode == 2 and "E0700" in bad.stderr, "an invalid reference: E0700", show(bad))

        plain_config = reg.push_blob("demo/plain", b"{}")
        reg.push_manifest("demo/plain", "1", json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": plain_config, "size": 2},
            "layers": []}).encode())
        r = e.run("pull", f"{reg.host}/demo/plain:1")
        check(r.returncode == 2 and "E0700" in r.stderr and "not a Torvyn pipeline" in r.stderr,
              "a manifest of the wrong media type (an image, not an index): E0700", show(r))

        # Tamper with the biggest blob (a component's Wasm) in the registry's storage.
        _, _, raw = reg.manifest("demo/fan-out", "1")
        sizes = {}
        for m in json.loads(raw)["manifests"]:
            _, _, doc = reg.manifest("demo/fan-out", m["digest"])
            for layer in json.loads(doc)["layers"]:
                sizes[layer["digest"]] = layer["size"]
        def blob_file(digest):
            hexd = digest.split(":")[1]
            return os.path.join(reg.storage, "docker", "registry", "v2", "blobs", "sha256", hexd[:2], hexd, "data")

        # A truncated blob first (then put back).
        for digest in sizes:
            with open(blob_file(digest), "rb") as f:
                whole = f.read()
            with open(blob_file(digest), "wb") as f:
                f.write(whole[: len(whole) // 2])
            shutil.rmtree(e.store(), ignore_errors=True)
            r = e.run("pull", ref)
            with open(blob_file(digest), "wb") as f:
                f.write(whole)
            check(r.returncode != 0 and "E0701" in r.stderr and not os.path.exists(
                os.path.join(e.store(), "blobs", "sha256", digest.split(":")[1])),
                f"a truncated blob {digest[:19]}: an error on pull, nothing stored", show(r))
            break
        victim = max(sizes, key=sizes.get)
        hexd = victim.split(":")[1]
        data = blob_file(victim)
        with open(data, "r+b") as f:
            f.seek(sizes[victim] // 2)
            byte = f.read(1)
            f.seek(sizes[victim] // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        shutil.rmtree(e.store(), ignore_errors=True)
        r = e.run("pull", ref)
        check(r.returncode == 2 and "E0701" in r.stderr, "a tampered blob: E0701 on pull", show(r))
        stored = os.path.join(e.store(), "blobs", "sha256", hexd)
        check(not os.path.exists(stored), "nothing of the tampered blob in the local store")
        check(ref not in e.store_tags(), "no tag for a pipeline that failed to pull", str(e.store_tags()))
        r = e.run_pipeline(ref)
        check(r.returncode == 2 and "E0701" in r.stderr, "run REF of a tampered pipeline: E0701", show(r))


CHUNK = 4096


def case_chunked(e):
    with Registry(os.path.join(e.tmp, "registry")) as reg:
        ref = f"{reg.host}/demo/chunked:1"
        p = e.run("publish", e.fan_out, ref, "-L", e.components, "--chunk-size", str(CHUNK))
        check(p.returncode == 0, f"publish --chunk-size {CHUNK}", show(p))
        print(f"TIME push chunked ({CHUNK} B) {p.seconds:.2f} s")
        sizes = blob_sizes(reg, "demo/chunked", "1")
        large = {d: n for d, n in sizes.items() if n > CHUNK}
        check(len(large) >= 2, "the components' Wasm blobs are larger than a chunk", str(sizes))
        expected = sum(-(-n // CHUNK) for n in large.values())
        patches = requests(reg, "PATCH", "demo/chunked")
        check(len(patches) == expected and all(status == 202 for _, status in patches),
              f"one PATCH per chunk, each answered 202 ({expected} expected)", str(patches))
        puts = [path for path, status in requests(reg, "PUT", "demo/chunked") if "/blobs/uploads/" in path]
        check(len(puts) == len(sizes), "one closing PUT ?digest= per blob", str(puts))

        raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}")
        index = json.loads(raw.stdout) if raw.returncode == 0 else {}
        check(index.get("artifactType") == PIPELINE_TYPE, "skopeo inspect --raw reads the chunked upload",
              raw.stdout + raw.stderr)
        layout = os.path.join(e.tmp, "copied")
        cp = skopeo("copy", "--src-tls-verify=false", "--all", f"docker://{ref}", f"oci:{layout}:copied")
        check(cp.returncode == 0, "skopeo copy of the chunked upload (digests checked)", cp.stdout + cp.stderr)
        run = e.run_pipeline(f"oci:{layout}:copied")
        check(run.returncode == 0 and run.stdout == e.expected, "what skopeo copied runs", show(run))

        shutil.rmtree(e.store(), ignore_errors=True)
        pull = e.run("pull", ref)
        check(pull.returncode == 0, "torvyn pull of the chunked upload", show(pull))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "torvyn run REF of the chunked upload", show(run))

        # The default chunk (8 MiB) is larger than every blob: one request each.
        whole = f"{reg.host}/demo/whole:1"
        p = e.run("publish", e.fan_out, whole, "-L", e.components,
                  env={"XDG_CACHE_HOME": os.path.join(e.tmp, "cache-whole")})
        check(p.returncode == 0 and not requests(reg, "PATCH", "demo/whole"),
              "without --chunk-size, small blobs go up in one request (no PATCH)", show(p))
        print(f"TIME push monolithic {p.seconds:.2f} s")


def case_mount(e):
    with Registry(os.path.join(e.tmp, "registry")) as reg:
        a, b, c = (f"{reg.host}/demo/mount-{x}:1" for x in "abc")
        p = e.run("publish", e.fan_out, a, "-L", e.components)
        check(p.returncode == 0 and published_counts(p) and published_counts(p)[1] == 0,
              "publish to repository A uploads (mounted 0)", show(p))
        sizes = blob_sizes(reg, "demo/mount-a", "1")

        p = e.run("publish", e.fan_out, b, "-L", e.components)
        counts = published_counts(p)
        check(p.returncode == 0 and counts and counts[1] == len(sizes),
              f"publish to repository B mounts every blob from A ({len(sizes)})", show(p))
        mounts = [(path, status) for path, status in requests(reg, "POST", "demo/mount-b") if "mount=" in path]
        check(len(mounts) == len(sizes) and all(status == 201 and re.search(r"from=demo(/|%2F)mount-a", path)
                                                for path, status in mounts),
              "the access log shows POST ?mount=DIGEST&from=demo/mount-a answered 201", str(mounts))
        uploads = [path for path, _ in requests(reg, "PUT", "demo/mount-b") if "/blobs/uploads/" in path]
        check(not uploads, "no blob uploaded to B", str(uploads))

        fresh = {"XDG_CACHE_HOME": os.path.join(e.tmp, "fresh-cache")}
        pull = e.run("pull", b, env=fresh)
        check(pull.returncode == 0, "repository B's pipeline pulls into a fresh store", show(pull))
        run = e.run("run", b, "--cache-dir", os.path.join(e.tmp, "fresh-compiled"), env=fresh)
        check(run.returncode == 0 and run.stdout == e.expected, "and runs", show(run))

        # B loses its blobs: the record still names B, the registry declines
        # the mount (202) and the upload goes on in the session it started.
        for digest in sizes:
            status, _, body = reg.request("DELETE", f"/v2/demo/mount-b/blobs/{digest}")
            check(status == 202, f"DELETE blob {digest[:19]} from B (set-up)", f"{status} {body[:200]!r}")
        p = e.run("publish", e.fan_out, c, "-L", e.components)
        counts = published_counts(p)
        declined = [(path, status) for path, status in requests(reg, "POST", "demo/mount-c") if "mount=" in path]
        check(p.returncode == 0 and counts and counts[1] == 0 and len(declined) == len(sizes)
              and all(status == 202 and re.search(r"from=demo(/|%2F)mount-b", path) for path, status in declined),
              "a mount the registry declines (202) goes on as an upload", show(p) + str(declined))
        fresh = {"XDG_CACHE_HOME": os.path.join(e.tmp, "fresh-cache-c")}
        pull = e.run("pull", c, env=fresh)
        run = e.run("run", c, "--cache-dir", os.path.join(e.tmp, "fresh-compiled"), env=fresh)
        check(pull.returncode == 0 and run.returncode == 0 and run.stdout == e.expected,
              "what was uploaded after a declined mount pulls and runs", show(pull) + show(run))


class ChunkRefusingRegistry(BaseHTTPRequestHandler):
    """Takes whole uploads and manifests; refuses chunks where docker-registry
    would not: repository 'range' takes the first chunk and answers the second
    with 416 (it claims to hold less), 'broken' answers the first with 500,
    'minimum' asks for chunks of at least 1 MB (OCI-Chunk-Min-Length)."""
    patches = []  # (path, Content-Range, Content-Type, body length)

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def repo(self):
        return self.path.split("/")[2]

    def do_HEAD(self):
        self.answer(404)

    def do_POST(self):
        self.body()
        extra = [("OCI-Chunk-Min-Length", "1000000")] if self.repo() == "minimum" else []
        self.answer(202, headers=[("Location", f"/v2/{self.repo()}/app/blobs/uploads/s1?_state=0"), *extra])

    def do_PATCH(self):
        data = self.body()
        ChunkRefusingRegistry.patches.append(
            (self.path, self.headers.get("Content-Range"), self.headers.get("Content-Type"), len(data)))
        if self.repo() == "range" and self.path.endswith("_state=0"):
            self.answer(202, headers=[("Location", f"/v2/range/app/blobs/uploads/s1?_state={len(data)}"),
                                      ("Range", f"0-{len(data) - 1}")])
        elif self.repo() == "range":
            self.answer(416, headers=[("Range", "0-2047")])
        else:
            self.answer(500, json.dumps({"errors": [{"code": "UNKNOWN", "message": "chunk store on fire"}]}).encode())

    def do_PUT(self):
        self.body()
        self.answer(201)


def stored_whole(e):
    """Problems in the local store: temporary files, blobs not hashing to their names."""
    problems = []
    for root, _, files in os.walk(e.store()):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(".tmp"):
                problems.append(f"temporary file {path}")
            elif os.path.basename(root) == "sha256":
                with open(path, "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() != name:
                        problems.append(f"{path} does not hash to its name")
    return problems


def case_chunk_refused(e):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChunkRefusingRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        r = e.run("publish", e.fan_out, f"{host}/range/app:1", "-L", e.components, "--chunk-size", str(CHUNK))
        refused = re.search(r"uploading bytes 4096-\d+ of (sha256:[0-9a-f]{64})", r.stderr)
        check(r.returncode == 2 and "E0703" in r.stderr and "HTTP 416" in r.stderr and "0-2047" in r.stderr
              and refused and "--chunk-size" in r.stderr,
              "a chunk answered 416: E0703 naming the range, what the registry holds, and --chunk-size", show(r))
        seen = ChunkRefusingRegistry.patches
        check(len(seen) == 2 and seen[0][1:] == ("0-4095", "application/octet-stream", CHUNK)
              and seen[1][0].endswith(f"_state={CHUNK}") and seen[1][1].startswith("4096-"),
              "chunks carry Content-Range and Content-Type, and follow each answer's Location", str(seen))
        check(not stored_whole(e), "nothing half-written in the local store", "\n".join(stored_whole(e)))
        try:
            with open(os.path.join(e.store(), "torvyn", "blob-sources.json")) as f:
                records = json.load(f)["blobs"]
        except FileNotFoundError:
            records = []
        check(refused and not any(x["digest"] == refused.group(1) and x["host"] == host for x in records),
              "the refused blob is not recorded as being in that registry", str(records))

        ChunkRefusingRegistry.patches = []
        r = e.run("publish", e.fan_out, f"{host}/broken/app:1", "-L", e.components, "--chunk-size", str(CHUNK))
        check(r.returncode == 2 and "E0703" in r.stderr and "HTTP 500" in r.stderr
              and "chunk store on fire" in r.stderr and "--chunk-size" in r.stderr,
              "a chunk answered 500: E0703 with the registry's message and what to do", show(r))
        check(not stored_whole(e), "nothing half-written in the local store", "\n".join(stored_whole(e)))

        ChunkRefusingRegistry.patches = []
        r = e.run("publish", e.fan_out, f"{host}/minimum/app:1", "-L", e.components, "--chunk-size", str(CHUNK))
        check(r.returncode == 0 and not ChunkRefusingRegistry.patches,
              "OCI-Chunk-Min-Length larger than a blob: the blob goes up in one request",
              show(r) + str(ChunkRefusingRegistry.patches))
    finally:
        server.shutdown()


def main():
    case, torvyn, components, source, tmp = sys.argv[1:6]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    e = Env(os.path.abspath(torvyn), components, source, os.path.abspath(tmp))
    {"plain": case_plain, "auth": case_auth, "errors": case_errors, "mock": case_mock,
     "chunked": case_chunked, "mount": case_mount, "chunk_refused": case_chunk_refused}[case](e)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
