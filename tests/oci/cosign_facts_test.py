"""What cosign (v2.6.5, key mode, no transparency log) stores in a registry,
and what it accepts: the facts Torvyn's signer and verifier are built on
(docs/cosign-interop.md). Also checks that oras and skopeo read and write
Wasm OCI artifacts at the test registry.

    python3 tests/oci/cosign_facts_test.py TMP_DIR

Runs against Debian's docker-registry on a loopback port with basic auth
(tests/oci/registry.py), every tool reading the same auth file. Nothing
leaves the machine: HTTP(S)_PROXY point at a closed loopback port (Go never
proxies loopback addresses), so a stray call to a public Sigstore service
fails at once instead of going out. Exit 0 when every fact holds, else 1.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import MissingTool, Registry, tools  # noqa: E402

WASM_CONFIG = "application/vnd.wasm.config.v0+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
PASSWORD = "torvyn-test-key-pass"
# The smallest valid component: magic, version 0x0d, layer 1 (the component
# model's preamble), no sections.
COMPONENT = b"\0asm\x0d\x00\x01\x00"

passed = 0


class Failed(Exception):
    pass


def check(cond, what, detail=""):
    global passed
    if not cond:
        raise Failed(f"{what}{': ' + str(detail) if detail != '' else ''}")
    passed += 1
    print(f"  ok  {what}")


def fact(label, value):
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=False)
    print(f"  FACT {label}: {value}")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Env:
    def __init__(self, tmp, reg, paths):
        self.tmp, self.reg, self.paths = tmp, reg, paths
        self.auth = reg.write_auth_file(os.path.join(tmp, "auth.json"))
        docker = os.path.join(tmp, "docker")
        reg.write_auth_file(os.path.join(docker, "config.json"))  # cosign reads $DOCKER_CONFIG
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("COSIGN_") and not k.startswith("SIGSTORE_")
               and k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
        dead = "http://127.0.0.1:9"
        env.update(DOCKER_CONFIG=docker, REGISTRY_AUTH_FILE=self.auth, TUF_ROOT=os.path.join(tmp, "tuf"),
                   HTTPS_PROXY=dead, HTTP_PROXY=dead, https_proxy=dead, http_proxy=dead,
                   COSIGN_PASSWORD=PASSWORD, HOME=os.path.join(tmp, "home"))
        os.makedirs(env["HOME"], exist_ok=True)
        self.env = env

    def run(self, *args, ok=True, cwd=None, env=None, timeout=120):
        args = [self.paths.get(args[0], args[0]), *args[1:]]
        t0 = time.monotonic()
        p = subprocess.run(args, capture_output=True, text=True, cwd=cwd or self.tmp,
                           env=dict(self.env, **(env or {})), timeout=timeout, stdin=subprocess.DEVNULL)
        dt = time.monotonic() - t0
        shown = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args))
        print(f"  $ {shown}   -> {p.returncode} ({dt:.2f} s)")
        if ok is not None and (p.returncode == 0) != ok:
            raise Failed(f"{'failed' if ok else 'succeeded, but should not have'}: {shown}\n"
                         f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
        return p


def openssl(*args, data=None):
    p = subprocess.run(["openssl", *args], input=data, capture_output=True)
    if p.returncode != 0:
        raise Failed(f"openssl {' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p.stdout


def pem_body(path):
    with open(path) as f:
        lines = f.read().strip().splitlines()
    return lines[0], lines[-1], base64.b64decode("".join(lines[1:-1]))


# -- oras and skopeo ------------------------------------------------------------
def push_with_oras(e):
    print("oras: push a Wasm component as an OCI artifact")
    art = os.path.join(e.tmp, "artifact")
    os.makedirs(art, exist_ok=True)
    with open(os.path.join(art, "x.wasm"), "wb") as f:
        f.write(COMPONENT)
    layer = sha256(COMPONENT)
    config = {"created": "2026-01-01T00:00:00Z", "architecture": "wasm", "os": "wasip2",
              "layerDigests": [layer], "component": {"exports": [], "imports": []}}
    with open(os.path.join(art, "config.json"), "w") as f:
        json.dump(config, f, separators=(",", ":"))
    host = e.reg.host
    e.run("oras", "push", "--plain-http", "--registry-config", e.auth, f"{host}/demo:1",
          "--config", f"config.json:{WASM_CONFIG}", "x.wasm:application/wasm", cwd=art)
    mt, digest, raw = e.reg.manifest("demo", "1")
    m = json.loads(raw)
    fact("oras --config config.json:" + WASM_CONFIG + " manifest", m)
    check(mt == OCI_MANIFEST and m["mediaType"] == OCI_MANIFEST, "oras pushed an OCI image manifest", mt)
    check(m["config"]["mediaType"] == WASM_CONFIG, "its config has the Wasm config media type")
    check("artifactType" not in m, "no artifactType when the config says what it is")
    check([(x["mediaType"], x["digest"]) for x in m["layers"]] == [("application/wasm", layer)],
          "one application/wasm layer, the component")
    check(m["layers"][0].get("annotations", {}).get("org.opencontainers.image.title") == "x.wasm",
          "oras names the layer (org.opencontainers.image.title)")
    check("org.opencontainers.image.created" in m.get("annotations", {}),
          "oras stamps org.opencontainers.image.created (not deterministic)")

    # --artifact-type instead of a config: not the CNCF Wasm layout.
    e.run("oras", "push", "--plain-http", "--registry-config", e.auth, f"{host}/demo:artifact-type",
          "--artifact-type", WASM_CONFIG, "x.wasm:application/wasm", cwd=art)
    _, _, raw2 = e.reg.manifest("demo", "artifact-type")
    m2 = json.loads(raw2)
    fact("oras --artifact-type manifest config", m2["config"])
    check(m2.get("artifactType") == WASM_CONFIG and m2["config"]["mediaType"] == OCI_EMPTY
          and m2["config"].get("data") == "e30=",
          "--artifact-type gives artifactType + the empty config ({} inline): not the Wasm layout")
    return digest, raw


def skopeo_reads(e, digest, raw):
    print("skopeo: read the artifact and copy it to an OCI layout")
    host = e.reg.host
    p = e.run("skopeo", "inspect", "--raw", "--tls-verify=false", "--authfile", e.auth, f"docker://{host}/demo:1")
    check(p.stdout.encode() == raw and sha256(p.stdout.encode()) == digest,
          "skopeo inspect --raw gives the manifest's exact bytes", digest)
    p = e.run("skopeo", "inspect", "--tls-verify=false", "--authfile", e.auth, f"docker://{host}/demo:1", ok=False)
    fact("skopeo inspect (not --raw) on a Wasm artifact", p.stderr.strip().splitlines()[-1])
    check("unsupported image-specific operation" in p.stderr, "plain skopeo inspect refuses non-image artifacts")
    layout = os.path.join(e.tmp, "layout")
    e.run("skopeo", "copy", "--src-tls-verify=false", "--src-authfile", e.auth,
          f"docker://{host}/demo:1", f"oci:{layout}:demo-1")
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    fact("skopeo copy -> oci: index.json", index)
    entry = index["manifests"][0]
    check(entry["digest"] == digest and entry["annotations"]["org.opencontainers.image.ref.name"] == "demo-1",
          "the layout's index points at the same manifest digest, tagged by ref.name")
    blobs = os.path.join(layout, "blobs", "sha256")
    for name in os.listdir(blobs):
        with open(os.path.join(blobs, name), "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == name, f"layout blob {name[:12]} matches its name")
    check(len(os.listdir(blobs)) == 3, "manifest, config and layer: three blobs")
    # and back: an OCI layout pushed by skopeo (what `torvyn pack` will write)
    e.run("skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", e.auth,
          f"oci:{layout}:demo-1", f"docker://{host}/copied:1")
    check(e.reg.manifest("copied", "1")[1] == digest, "skopeo copy oci: -> registry keeps the digest")


# -- cosign -----------------------------------------------------------------------
def keys(e):
    print("cosign: key formats")
    e.run("cosign", "generate-key-pair")
    first, last, body = pem_body(os.path.join(e.tmp, "cosign.key"))
    fact("cosign.key PEM type", first)
    check(first == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", "cosign.key is an ENCRYPTED SIGSTORE PRIVATE KEY")
    enc = json.loads(body)
    fact("cosign.key body (base64 JSON)", {"kdf": {k: v for k, v in enc["kdf"].items() if k != "salt"},
                                          "cipher": enc["cipher"]["name"],
                                          "ciphertext_bytes": len(base64.b64decode(enc["ciphertext"]))})
    check(enc["kdf"]["name"] == "scrypt" and enc["cipher"]["name"] == "nacl/secretbox",
          "its body is JSON: scrypt KDF, nacl/secretbox cipher")
    first, _, der = pem_body(os.path.join(e.tmp, "cosign.pub"))
    check(first == "-----BEGIN PUBLIC KEY-----", "cosign.pub is a PEM PUBLIC KEY (PKIX)")
    text = openssl("pkey", "-pubin", "-in", os.path.join(e.tmp, "cosign.pub"), "-noout", "-text").decode()
    check("prime256v1" in text or "P-256" in text, "cosign generate-key-pair makes ECDSA P-256", text[:80])

    # A plain PKCS#8 PEM EC key, as openssl (or Torvyn) writes it.
    plain = openssl("pkcs8", "-topk8", "-nocrypt", data=openssl("ecparam", "-genkey", "-name", "prime256v1"))
    with open(os.path.join(e.tmp, "plain.key"), "wb") as f:
        f.write(plain)
    with open(os.path.join(e.tmp, "plain.pub"), "wb") as f:
        f.write(openssl("pkey", "-in", os.path.join(e.tmp, "plain.key"), "-pubout"))
    return plain


def sign_and_verify(e, digest):
    print("cosign: sign by digest, key mode, no tlog; verify offline")
    host = e.reg.host
    ref = f"{host}/demo@{digest}"
    e.run("cosign", "sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-insecure-registry", "-y", ref)
    p = e.run("cosign", "triangulate", "--allow-insecure-registry", ref)
    sig_tag = "sha256-" + digest.split(":")[1] + ".sig"
    check(p.stdout.strip() == f"{host}/demo:{sig_tag}", "cosign triangulate names REPO:sha256-<hex>.sig", p.stdout)
    check(sig_tag in e.reg.tags("demo"), "the signature is a tag in the artifact's own repository")

    p = e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", ref)
    fact("cosign verify stdout", p.stdout.strip())
    check("The signatures were verified against the specified public key" in p.stderr,
          "cosign verify --key --insecure-ignore-tlog accepts it")
    fact("cosign verify stderr, no --trusted-root", " | ".join(l[:140] for l in p.stderr.splitlines() if l.startswith("WARNING")))
    root = os.path.join(e.tmp, "empty_trusted_root.json")
    with open(root, "w") as f:
        json.dump({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}, f)
    p = e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry",
              "--trusted-root", root, f"{host}/demo:1")
    check("TUF" not in p.stderr, "with --trusted-root (an empty root) cosign does not try TUF at all")
    p = e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", ref)
    check(p.returncode == 0, "127.0.0.1 needs no --allow-insecure-registry (loopback is plain HTTP already)")
    p = e.run("cosign", "verify", "--key", "cosign.pub", "--allow-insecure-registry", ref, ok=False)
    fact("without --insecure-ignore-tlog", p.stderr.strip().splitlines()[-1][:200])
    check("rekor" in p.stderr.lower(), "without --insecure-ignore-tlog cosign wants Rekor (its keys, its log): fails offline")
    p = e.run("cosign", "verify", "--key", "cosign.pub", "--offline", "--allow-insecure-registry", ref, ok=False)
    fact("--offline instead of --insecure-ignore-tlog", p.stderr.strip().splitlines()[-1][:200])
    check(p.returncode != 0, "--offline is not a substitute: without a tlog entry it still fails")
    p = e.run("cosign", "verify", "--key", "plain.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", ref,
              ok=False)
    check("no matching signatures" in p.stderr and p.returncode == 12,
          "another key's public key is refused: 'no matching signatures', exit 12")
    p = e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", f"{host}/demo:artifact-type", ok=False)
    check("no signatures found" in p.stderr and p.returncode == 10,
          "an unsigned artifact (no .sig tag): 'no signatures found', exit 10")
    return ref, sig_tag


def stored_signature(e, digest, sig_tag):
    print("what cosign stored under the .sig tag")
    host = e.reg.host
    mt, sig_digest, raw = e.reg.manifest("demo", sig_tag)
    m = json.loads(raw)
    fact("signature manifest", m)
    check(mt == OCI_MANIFEST and m["mediaType"] == OCI_MANIFEST and m["schemaVersion"] == 2,
          "an OCI image manifest (served as such)")
    check(m["config"]["mediaType"] == OCI_CONFIG, "config media type " + OCI_CONFIG)
    check("subject" not in m and "artifactType" not in m and "annotations" not in m,
          "no subject, artifactType or manifest annotations (legacy tag scheme)")
    check(len(m["layers"]) == 1, "one layer per signature")
    layer = m["layers"][0]
    check(layer["mediaType"] == SIMPLESIGNING, "layer media type " + SIMPLESIGNING)
    check(list(layer["annotations"]) == [SIG_ANNOTATION], "its only annotation: " + SIG_ANNOTATION)

    config = e.reg.blob("demo", m["config"]["digest"])
    fact("config blob", config.decode())
    cj = json.loads(config)
    check(cj["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]},
          "config: rootfs.diff_ids = [the payload layer's digest]")
    check(cj["architecture"] == "" and cj["os"] == "" and cj["created"] == "0001-01-01T00:00:00Z",
          "config: empty architecture/os, zero created time (deterministic)")

    payload = e.reg.blob("demo", layer["digest"])
    fact("payload blob (exact bytes)", payload.decode())
    pj = json.loads(payload)
    check(pj == {"critical": {"identity": {"docker-reference": f"{host}/demo"},
                              "image": {"docker-manifest-digest": digest},
                              "type": "cosign container image signature"},
                 "optional": None},
          "payload: critical.identity.docker-reference = REPO (no tag), critical.image.docker-manifest-digest"
          " = the artifact's manifest digest, type, optional null")
    check(payload == json.dumps(pj, separators=(",", ":")).encode(), "payload is compact JSON, no newline")

    sig_b64 = layer["annotations"][SIG_ANNOTATION]
    sig = base64.b64decode(sig_b64, validate=True)
    fact("signature annotation", f"{sig_b64} ({len(sig)} bytes)")
    check(sig[0] == 0x30, "the signature is an ASN.1 DER SEQUENCE (ECDSA r, s), base64 (standard, padded)")
    files = {n: os.path.join(e.tmp, n) for n in ("payload.json", "sig.der")}
    with open(files["payload.json"], "wb") as f:
        f.write(payload)
    with open(files["sig.der"], "wb") as f:
        f.write(sig)
    out = openssl("dgst", "-sha256", "-verify", os.path.join(e.tmp, "cosign.pub"), "-signature",
                  files["sig.der"], files["payload.json"]).decode().strip()
    check(out == "Verified OK", "openssl: ECDSA-SHA256 over the payload blob's bytes, with cosign.pub", out)
    return sig_digest


def docker_media_types(e):
    print("cosign with COSIGN_DOCKER_MEDIA_TYPES=1 (what a verifier may also meet)")
    _, digest, _ = e.reg.manifest("copied", "1")
    ref = f"{e.reg.host}/copied@{digest}"
    e.run("cosign", "sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-insecure-registry", "-y", ref,
          env={"COSIGN_DOCKER_MEDIA_TYPES": "1"})
    mt, _, raw = e.reg.manifest("copied", "sha256-" + digest.split(":")[1] + ".sig")
    m = json.loads(raw)
    fact("docker-typed signature manifest", {"mediaType": m["mediaType"], "config": m["config"]["mediaType"],
                                            "layers": [x["mediaType"] for x in m["layers"]]})
    check(mt == m["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
          and m["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
          and [x["mediaType"] for x in m["layers"]] == [SIMPLESIGNING],
          "Docker schema 2 manifest and config types; the layer is simple signing all the same")
    e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", ref)


def second_signature(e, digest, ref, sig_tag, plain):
    print("plain PKCS#8 keys; a second signature with annotations")
    p = e.run("cosign", "sign", "--key", "plain.key", "--tlog-upload=false", "--allow-insecure-registry", "-y", ref,
              ok=False)
    fact("cosign sign --key <plain PKCS#8 PEM>", p.stderr.strip().splitlines()[-1])
    check("unsupported pem type: PRIVATE KEY" in p.stderr, "cosign sign --key refuses a plain PKCS#8 PEM key")
    e.run("cosign", "import-key-pair", "--key", "plain.key", "--output-key-prefix", "imported", "-y")
    with open(os.path.join(e.tmp, "imported.pub"), "rb") as a, open(os.path.join(e.tmp, "plain.pub"), "rb") as b:
        check(a.read() == b.read(), "cosign import-key-pair wraps it; the .pub is openssl's -pubout PEM, byte for byte")
    e.run("cosign", "sign", "--key", "imported.key", "--tlog-upload=false", "--allow-insecure-registry", "-y",
          "-a", "dev.torvyn/pipeline=hello", "-a", "version=1", ref)
    _, _, raw = e.reg.manifest("demo", sig_tag)
    m = json.loads(raw)
    check(len(m["layers"]) == 2, "a second signature appends a layer to the same .sig manifest")
    payload = e.reg.blob("demo", m["layers"][1]["digest"])
    fact("payload with -a", payload.decode())
    check(json.loads(payload)["optional"] == {"dev.torvyn/pipeline": "hello", "version": "1"},
          "-a key=value lands in payload.optional (strings)")
    for pub in ("cosign.pub", "plain.pub"):
        e.run("cosign", "verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", ref)
    check(True, "either key verifies (cosign accepts if any layer verifies)")
    e.run("cosign", "verify", "--key", "plain.pub", "--insecure-ignore-tlog", "--allow-insecure-registry",
          "-a", "dev.torvyn/pipeline=hello", ref)
    e.run("cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-insecure-registry",
          "-a", "dev.torvyn/pipeline=hello", ref, ok=False)
    check(True, "verify -a k=v requires the annotation in a verified payload's optional")


# -- a signature made without cosign (what Torvyn will do) ---------------------------
def handmade(e):
    print("a signature made by hand (openssl + plain HTTP), verified by cosign")
    reg, host = e.reg, e.reg.host
    layer = reg.push_blob("other", COMPONENT + b"\x00")  # a different artifact: not a valid module, no matter
    config = json.dumps({"architecture": "wasm", "os": "wasip2", "layerDigests": [layer]}).encode()
    cdig = reg.push_blob("other", config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": WASM_CONFIG, "digest": cdig, "size": len(config)},
                           "layers": [{"mediaType": "application/wasm", "digest": layer,
                                       "size": len(COMPONENT) + 1}]}).encode()
    digest = reg.push_manifest("other", "1", manifest)
    check(digest == sha256(manifest), "the registry keeps our manifest bytes (digest of what we sent)")
    ref = f"{host}/other@{digest}"
    tag = "sha256-" + digest.split(":")[1] + ".sig"
    key = os.path.join(e.tmp, "plain.key")

    def put_signature(payload, config_kind="cosign", sign_bytes=None, annotations=None):
        pdig = reg.push_blob("other", payload)
        sig = openssl("dgst", "-sha256", "-sign", key, data=sign_bytes if sign_bytes is not None else payload)
        if config_kind == "cosign":
            cfg = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                              "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                              "rootfs": {"type": "layers", "diff_ids": [pdig]}, "config": {}},
                             separators=(",", ":")).encode()
            cdesc = {"mediaType": OCI_CONFIG, "digest": reg.push_blob("other", cfg), "size": len(cfg)}
        else:  # the OCI empty descriptor
            cdesc = {"mediaType": OCI_EMPTY, "digest": reg.push_blob("other", b"{}"), "size": 2}
        ann = {SIG_ANNOTATION: base64.b64encode(sig).decode()}
        ann.update(annotations or {})
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cdesc,
             "layers": [{"mediaType": SIMPLESIGNING, "digest": pdig, "size": len(payload), "annotations": ann}]}
        reg.push_manifest("other", tag, json.dumps(m).encode())

    def verify(ok, *extra):
        p = e.run("cosign", "verify", "--key", "plain.pub", "--insecure-ignore-tlog", "--allow-insecure-registry",
                  *extra, ref, ok=ok)
        return p

    def payload_of(dig, docker_ref=f"{host}/other", optional=None, indent=None):
        return json.dumps({"critical": {"identity": {"docker-reference": docker_ref},
                                        "image": {"docker-manifest-digest": dig},
                                        "type": "cosign container image signature"},
                           "optional": optional}, indent=indent,
                          separators=None if indent else (",", ":")).encode()

    put_signature(payload_of(digest))
    verify(True)
    check(True, "cosign verify accepts a .sig manifest written the way cosign writes it")
    put_signature(payload_of(digest), config_kind="empty")
    verify(True)
    check(True, "config may be the OCI empty descriptor ({}): cosign does not read it")
    put_signature(payload_of(digest, docker_ref="elsewhere.example/some/repo", optional={"a": "b"}, indent=2))
    verify(True, "-a", "a=b")
    check(True, "pretty-printed payload, another docker-reference: accepted (signature over bytes; the"
                " reference is not compared)")
    wrong = "sha256:" + "0" * 64
    put_signature(payload_of(wrong))
    p = verify(False)
    fact("payload naming another digest", p.stderr.strip().splitlines()[-1][:200])
    check("invalid or missing digest in claim" in p.stderr, "a payload for another digest is refused")
    put_signature(payload_of(digest), sign_bytes=payload_of(digest) + b"\n")
    p = verify(False)
    check("no matching signatures" in p.stderr, "a signature over other bytes (one extra newline) is refused")
    # the signature is over the bytes, not a digest of them given as the message
    raw_digest = hashlib.sha256(payload_of(digest)).digest()
    put_signature(payload_of(digest), sign_bytes=raw_digest)
    p = verify(False)
    check("no matching signatures" in p.stderr,
          "hashing twice (ECDSA-SHA256 over SHA-256(payload)) is refused: sign the payload bytes")
    odd = json.loads(payload_of(digest))
    odd["critical"]["type"] = "something else"
    put_signature(json.dumps(odd).encode())
    p = verify(None)
    fact("payload with critical.type 'something else'", "accepted" if p.returncode == 0 else p.stderr.strip()[-200:])
    check(p.returncode == 0, "cosign verify does not compare critical.type (write it all the same)")
    put_signature(payload_of(digest), annotations={"dev.torvyn/signer": "torvyn"})
    verify(True)
    check(True, "extra layer annotations besides the signature are ignored")
    put_signature(payload_of(digest))
    verify(True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tmp = os.path.abspath(sys.argv[1])
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    t0 = time.monotonic()
    try:
        paths = tools()
        print("tools: " + ", ".join(f"{k}={v}" for k, v in paths.items()))
        with Registry(os.path.join(tmp, "registry"), auth="basic", lifetime=280) as reg:
            print(f"registry: docker-registry at {reg.host} (basic auth), pid {reg.pid}")
            status = reg.request("GET", "/v2/", headers={"Authorization": "Basic eDp5"})[0]
            check(status == 401, "the registry refuses wrong credentials", status)
            check(reg.request("GET", "/v2/", credentials=False)[0] == 401, "and none")
            check(reg.request("GET", "/v2/")[0] == 200, "and takes the right ones")
            e = Env(tmp, reg, paths)
            digest, raw = push_with_oras(e)
            skopeo_reads(e, digest, raw)
            plain = keys(e)
            ref, sig_tag = sign_and_verify(e, digest)
            stored_signature(e, digest, sig_tag)
            second_signature(e, digest, ref, sig_tag, plain)
            docker_media_types(e)
            handmade(e)
    except (Failed, MissingTool, RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"FAIL: {err}")
        print(f"cosign_facts: {passed} passed, 1 failed")
        return 1
    print(f"cosign_facts: {passed} passed, 0 failed ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
