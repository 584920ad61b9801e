"""torvyn publish / pull / run REF against a real registry (Debian's
docker-registry on a loopback port, tests/oci/registry.py), read back with
skopeo.

    python3 tests/oci/publish_test.py CASE TORVYN COMPONENTS_DIR SOURCE_DIR TMP_DIR

CASE: plain (publish, skopeo inspect/copy, pull, run REF, run with the
registry stopped, a second publish skipping blobs), auth (basic auth read from
REGISTRY_AUTH_FILE; a wrong password is E0704), errors (unknown repository
or tag is E0702; a tampered blob in the registry is E0701 on pull and leaves
nothing of it in the local store), mock (a registry in this script: bearer
token auth, HTTP 500, a closed connection). Exit 0 when every check holds, else 1.
"""

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


def main():
    case, torvyn, components, source, tmp = sys.argv[1:6]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    e = Env(os.path.abspath(torvyn), components, source, os.path.abspath(tmp))
    {"plain": case_plain, "auth": case_auth, "errors": case_errors, "mock": case_mock}[case](e)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
