#!/usr/bin/env python3
"""torvyn pack, inspect and run of a packed pipeline, checked from the outside
and with skopeo (Debian) reading and copying what Torvyn wrote.

  pack_test.py TORVYN TMP COMPONENTS EXPECTED_OUTPUT
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FAN_OUT = os.path.join(HERE, "..", "..", "examples", "fan-out")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(args, rc=0, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    if p.returncode != rc:
        fail(f"{' '.join(args)}: exit {p.returncode}, wanted {rc}\n{p.stdout}\n{p.stderr}")
    return p


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def main():
    torvyn, tmp, components, expected = sys.argv[1:5]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    L = ["-L", components]
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    # Deterministic: the same inputs twice, the same digests.
    out_a = run([torvyn, "pack", FAN_OUT, "-o", a, "--version", "1.2.0"] + L).stdout
    out_b = run([torvyn, "pack", FAN_OUT, "-o", b, "--version", "1.2.0", "--tag", "v1"] + L).stdout
    digest = re.search(r"pipeline  (sha256:[0-9a-f]{64})", out_a).group(1)
    check(digest in out_b, f"packing twice gave other digests:\n{out_a}\n{out_b}")
    check(sorted(os.listdir(os.path.join(a, "blobs", "sha256"))) ==
          sorted(os.listdir(os.path.join(b, "blobs", "sha256"))), "other blobs")
    for hexd in os.listdir(os.path.join(a, "blobs", "sha256")):  # each blob is its digest
        with open(os.path.join(a, "blobs", "sha256", hexd), "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == hexd, f"blob {hexd}")

    # The layout, the index and the artifacts.
    with open(os.path.join(a, "oci-layout")) as f:
        check(json.load(f) == {"imageLayoutVersion": "1.0.0"}, "oci-layout")
    with open(os.path.join(a, "index.json")) as f:
        top = json.load(f)["manifests"]
    check(len(top) == 1 and top[0]["digest"] == digest and
          top[0]["annotations"]["org.opencontainers.image.ref.name"] == "latest" and
          top[0]["mediaType"] == "application/vnd.oci.image.index.v1+json", top)
    index = json.loads(blob(a, digest))
    check(index["artifactType"] == "application/vnd.torvyn.pipeline.v1", index)
    ann = index["annotations"]
    check(ann["org.opencontainers.image.title"] == "fan-out" and
          ann["org.opencontainers.image.version"] == "1.2.0" and
          ann["org.opencontainers.image.description"] == "router -> two sinks" and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ann["org.opencontainers.image.created"]),
          ann)
    pipeline = [m for m in index["manifests"]
                if m.get("artifactType") == "application/vnd.torvyn.pipeline.v1"]
    parts = [m for m in index["manifests"] if m not in pipeline]
    check(len(pipeline) == 1 and len(parts) == 3, index["manifests"])
    toml = blob(a, json.loads(blob(a, pipeline[0]["digest"]))["layers"][0]["digest"]).decode()
    for part in parts:
        manifest = json.loads(blob(a, part["digest"]))
        check(manifest["config"]["mediaType"] == "application/vnd.wasm.config.v0+json", manifest)
        (layer,) = manifest["layers"]
        check(layer["mediaType"] == "application/wasm", layer)
        name = layer["annotations"]["org.opencontainers.image.title"]
        with open(os.path.join(components, name), "rb") as f:
            wasm = f.read()
        check(layer["digest"] == "sha256:" + hashlib.sha256(wasm).hexdigest() and
              layer["size"] == len(wasm), f"{name}: not the built component")
        check(f"component = '{layer['digest']}'" in toml, f"{name} is not in the toml by digest")
        config = json.loads(blob(a, manifest["config"]["digest"]))
        check(config["architecture"] == "wasm" and config["os"] == "wasip2" and
              config["layerDigests"] == [layer["digest"]], config)
        exports = config["component"]["exports"]
        check(any(e.startswith("torvyn:streaming/lifecycle@") for e in exports), exports)
        if name == "hello_printer.wasm":
            check("torvyn:streaming/sink@0.2.0" in exports and
                  any(i.startswith("wasi:cli/stdout@") for i in config["component"]["imports"]),
                  config)

    # It runs as packed, by folder or oci:DIR:TAG.
    with open(expected) as f:
        want = f.read()
    check(run([torvyn, "run", a, "-q"]).stdout == want, "run DIR: other output")
    check(run([torvyn, "run", f"oci:{b}:v1", "-q"]).stdout == want, "run oci:DIR:TAG")
    run([torvyn, "link", a])

    # inspect: a component, and the pipeline.
    comp = json.loads(run([torvyn, "inspect", os.path.join(components, "hello_printer.wasm"),
                           "--json"]).stdout)
    check(comp["roles"] == ["sink (data-sink)"] and comp["capabilities"] == ["stdout"] and
          comp["language"] == "C++", comp)
    (pipe,) = json.loads(run([torvyn, "inspect", a, "--json"]).stdout)
    check(pipe["digest"] == digest and len(pipe["components"]) == 3 and
          {n["name"]: n["grants"] for n in pipe["flows"][0]["nodes"]} ==
          {"numbers": [], "split": [], "evens": ["stdout"], "odds": ["stdout"]}, pipe)

    # Another OCI tool reads and copies it; Torvyn runs the copy.
    raw = run(["skopeo", "inspect", "--raw", f"oci:{a}:latest"]).stdout.encode()
    check(hashlib.sha256(raw).hexdigest() == digest.split(":")[1], "skopeo read other bytes")
    c = os.path.join(tmp, "copied")
    # (skopeo 1.9 rewrites the index, without the artifactType it does not
    # know; the manifests it lists keep their digests.)
    run(["skopeo", "copy", "--all", f"oci:{a}:latest", f"oci:{c}:copy"])
    copied = json.loads(run(["skopeo", "inspect", "--raw", f"oci:{c}:copy"]).stdout)
    check([m["digest"] for m in copied["manifests"]] == [m["digest"] for m in index["manifests"]],
          "skopeo changed the manifests")
    check(run([torvyn, "run", f"oci:{c}:copy", "-q"]).stdout == want, "run what skopeo copied")

    # One tar file (skopeo's oci-archive:), byte for byte the same twice.
    tars = [os.path.join(tmp, f"p{i}.tar") for i in (1, 2)]
    for t_ in tars:
        run([torvyn, "pack", FAN_OUT, "-o", t_, "--version", "1.2.0"] + L)
    with open(tars[0], "rb") as f1, open(tars[1], "rb") as f2:
        check(f1.read() == f2.read(), "two tars of the same inputs differ")
    raw = run(["skopeo", "inspect", "--raw", f"oci-archive:{tars[0]}:latest"]).stdout.encode()
    check(hashlib.sha256(raw).hexdigest() == digest.split(":")[1], "the tar holds another index")

    # Bad layouts: a tampered blob, a missing one, a tag that is not there.
    t = os.path.join(tmp, "tampered")
    shutil.copytree(a, t)
    printer = [p for p in parts if "hello_printer" in blob(a, p["digest"]).decode()][0]
    wasm_digest = json.loads(blob(a, printer["digest"]))["layers"][0]["digest"]
    path = os.path.join(t, "blobs", "sha256", wasm_digest.split(":")[1])
    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"\0\0\0\0")
    p = run([torvyn, "run", t], rc=2)
    check("E0701" in p.stderr and wasm_digest in p.stderr, p.stderr)
    os.remove(path)
    p = run([torvyn, "run", t], rc=2)
    check("E0702" in p.stderr, p.stderr)
    p = run([torvyn, "run", f"oci:{a}:nope"], rc=2)
    check("E0702" in p.stderr and "nope" in p.stderr, p.stderr)
    print("ok: pack")


if __name__ == "__main__":
    main()
