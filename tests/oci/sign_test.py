#!/usr/bin/env python3
"""torvyn keygen / sign / run --trust against a real registry (docker-registry
on loopback), with cosign 2.6.5 (built from the Go proxy by setup.sh) in both
directions, offline (key mode, no transparency log).

    python3 tests/oci/sign_test.py TORVYN COMPONENTS_DIR SOURCE_DIR TMP_DIR
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import Registry, tools  # noqa: E402


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(ok, message):
    if not ok:
        fail(message)


def run(args, rc=0, env=None, cwd=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
    if p.returncode != rc:
        fail(f"{' '.join(args)}: exit {p.returncode}, wanted {rc}\n{p.stdout}\n{p.stderr}")
    return p


def main():
    torvyn, components, source, tmp = sys.argv[1:5]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    cosign = tools()["cosign"]
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"), COSIGN_PASSWORD="pw",
               TUF_ROOT=os.path.join(tmp, "tuf"), HTTPS_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost")
    with open(os.path.join(source, "tests", "cli", "fan-out.expected")) as f:
        want = f.read()
    with Registry(tmp) as reg:
        ref = f"{reg.host}/demo/fan-out:1"
        unsigned = f"{reg.host}/demo/other:1"
        fan_out = os.path.join(source, "examples", "fan-out")
        for r in (ref, unsigned):
            run([torvyn, "publish", fan_out, r, "-L", components], env=env)
        # A pipeline another tool pushed: skopeo copies a packed layout to the
        # registry (rewriting the index as skopeo 1.9 does); Torvyn runs it.
        layout = os.path.join(tmp, "layout")
        run([torvyn, "pack", fan_out, "-o", layout, "-L", components], env=env)
        by_skopeo = f"{reg.host}/demo/by-skopeo:1"
        run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:latest",
             f"docker://{by_skopeo}"], env=env)
        check(run([torvyn, "run", by_skopeo, "-q"], env=env).stdout == want,
              "run what skopeo pushed: other output")
        key = os.path.join(tmp, "torvyn.key")
        run([torvyn, "keygen", key], env=env)
        out = run([torvyn, "sign", ref, "--key", key], env=env).stdout
        check("1 signature(s)" in out, out)
        # cosign accepts Torvyn's signature...
        verify = [cosign, "verify", "--insecure-ignore-tlog", "--allow-insecure-registry"]
        p = run(verify + ["--key", key + ".pub", ref], env=env)
        check("docker-manifest-digest" in p.stdout, p.stdout)
        # ...and Torvyn accepts cosign's, beside its own (two layers now).
        run([cosign, "generate-key-pair"], env=env, cwd=tmp)
        digest = run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                     env=env).stdout
        at = f"{reg.host}/demo/fan-out@sha256:{hashlib.sha256(digest.encode()).hexdigest()}"
        run([cosign, "sign", "--key", os.path.join(tmp, "cosign.key"), "--tlog-upload=false",
             "-y", "--allow-insecure-registry", at], env=env)
        run(verify + ["--key", key + ".pub", ref], env=env)  # Torvyn's layer survived
        for pub in (key + ".pub", os.path.join(tmp, "cosign.pub")):
            p = run([torvyn, "run", ref, "--trust", pub, "-q"], env=env)
            check(p.stdout == want, f"run --trust {pub}: other output")
        # Refused before anything runs: a stranger's key, an unsigned pipeline.
        stranger = os.path.join(tmp, "stranger.key")
        run([torvyn, "keygen", stranger], env=env)
        p = run([torvyn, "run", ref, "--trust", stranger + ".pub", "-q"], rc=2, env=env)
        check("E0712" in p.stderr and "2 signature(s)" in p.stderr and not p.stdout, p.stderr)
        p = run([torvyn, "run", unsigned, "--trust", key + ".pub", "-q"], rc=2, env=env)
        check("E0711" in p.stderr and "not signed" in p.stderr and not p.stdout, p.stderr)
        # inspect REF says how many signatures each has.
        (pipe,) = json.loads(run([torvyn, "inspect", ref, "--json"], env=env).stdout)
        check(pipe["signatures"] == 2 and len(pipe["components"]) == 3, pipe)
        (other,) = json.loads(run([torvyn, "inspect", unsigned, "--json"], env=env).stdout)
        check(other["signatures"] == 0, other)
        p = run([torvyn, "sign", ref, "--key", key + ".pub"], rc=2, env=env)
        check("E0710" in p.stderr, p.stderr)
    # The registry is gone: what verified is in the store, checked again offline.
    p = run([torvyn, "run", ref, "--trust", key + ".pub", "-q"], env=env)
    check(p.stdout == want, "offline run --trust")
    print("ok: sign")


if __name__ == "__main__":
    main()
