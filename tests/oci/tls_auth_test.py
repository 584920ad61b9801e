"""torvyn publish / pull / run REF against docker-registry over TLS (a
throwaway CA trusted through SSL_CERT_FILE) and with bearer token auth (the
registry's `auth: token`, tokens from tests/oci/token_server.py), each read
back by skopeo with the same settings (one env var, one auth file for every
tool).

    python3 tests/oci/tls_auth_test.py CASE TORVYN COMPONENTS_DIR SOURCE_DIR TMP_DIR

CASE: tls (publish, pull, run REF over HTTPS with SSL_CERT_FILE; without it a
clear E0703 naming SSL_CERT_FILE and no fall-back to plain HTTP; --insecure
forces plain HTTP; a plain-HTTP loopback registry still works without
--insecure), token (over TLS too: credentials from REGISTRY_AUTH_FILE
exchanged for tokens the registry verifies; none or a wrong password is E0704
with a hint; a read-only user pulls but cannot push; the registry refuses a
token no trusted certificate signed). Exit 0 when every
check holds, else 1.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import publish_test  # noqa: E402
import token_server  # noqa: E402
from publish_test import PIPELINE_TYPE, Env, check, show  # noqa: E402
from registry import Registry, make_ca, make_cert  # noqa: E402

TRUST_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")


def untrusting(e):
    """The runs' environment without CA settings: the system's CAs only."""
    for k in TRUST_VARS:
        e.env.pop(k, None)
    return e


def skopeo(*args, env):
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, env=env)


def index_of(p):
    try:
        return json.loads(p.stdout) if p.returncode == 0 else {}
    except json.JSONDecodeError:
        return {}


def case_tls(e):
    with Registry(os.path.join(e.tmp, "registry"), tls=True) as reg:
        trust = {"SSL_CERT_FILE": reg.ca}
        ref = f"{reg.host}/demo/fan-out:tls"

        # Not trusted: a certificate error with the way out, never plain HTTP.
        p = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(p.returncode == 2 and "E0703" in p.stderr and "certificate" in p.stderr
              and "SSL_CERT_FILE" in p.stderr and f"https://{reg.host}/" in p.stderr
              and f"http://{reg.host}/" not in p.stderr,
              "an untrusted certificate: E0703, the hint names SSL_CERT_FILE, no plain-HTTP retry",
              show(p))
        check(not any(f'"{m} /v2/' in reg.log_text() for m in ("POST", "PUT")),
              "nothing was pushed to the registry without trust")

        p = e.run("publish", e.fan_out, ref, "-L", e.components, env=trust)
        check(p.returncode == 0 and "published" in p.stdout, "publish over TLS with SSL_CERT_FILE", show(p))
        raw = skopeo("inspect", "--raw", f"docker://{ref}", env=dict(e.env, **trust))
        check(index_of(raw).get("artifactType") == PIPELINE_TYPE,
              "skopeo (SSL_CERT_FILE, TLS verified) reads the index Torvyn pushed", raw.stdout + raw.stderr)
        raw = skopeo("inspect", "--raw", f"docker://{ref}", env=e.env)
        check(raw.returncode != 0 and "certificate" in raw.stderr,
              "skopeo without the CA refuses the registry too (the CA is really needed)", raw.stderr)

        shutil.rmtree(e.store(), ignore_errors=True)
        p = e.run("pull", ref)
        check(p.returncode == 2 and "E0703" in p.stderr and "SSL_CERT_FILE" in p.stderr,
              "pull without trust: E0703 with the hint", show(p))
        check(ref not in e.store_tags(), "nothing tagged by the refused pull", str(e.store_tags()))
        p = e.run("pull", ref, env=trust)
        check(p.returncode == 0 and "digest sha256:" in p.stdout, "pull over TLS", show(p))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "run REF (pulled over TLS)", show(run))
        shutil.rmtree(e.store(), ignore_errors=True)
        run = e.run_pipeline(ref, env=trust)
        check(run.returncode == 0 and run.stdout == e.expected, "run REF pulls over TLS by itself", show(run))
        i = e.run("inspect", ref, "--json", env=trust)
        check(i.returncode == 0 and len(json.loads(i.stdout or "[{}]")[0].get("components", [])) == 3,
              "inspect REF over TLS", show(i))

        # A CA file that is not the registry's: still a verification error.
        other = make_ca(os.path.join(e.tmp, "other-ca"), "other-ca")[1]
        shutil.rmtree(e.store(), ignore_errors=True)
        p = e.run("pull", ref, env={"SSL_CERT_FILE": other})
        check(p.returncode == 2 and "E0703" in p.stderr and other in p.stderr,
              "SSL_CERT_FILE naming another CA: E0703, the hint says which file was used", show(p))

        # --insecure: plain HTTP whatever the host, so a TLS registry answers 400.
        p = e.run("pull", ref, "--insecure", env=trust)
        check(p.returncode == 2 and "E0703" in p.stderr and "HTTP 400" in p.stderr,
              "--insecure forces plain HTTP (the TLS registry refuses it)", show(p))

    # A plain-HTTP loopback registry: HTTPS first, then plain HTTP (no --insecure).
    with Registry(os.path.join(e.tmp, "plain")) as reg:
        ref = f"{reg.host}/demo/fan-out:plain"
        p = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(p.returncode == 0, "a plain-HTTP loopback registry without --insecure", show(p))
        shutil.rmtree(e.store(), ignore_errors=True)
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "run REF from the plain-HTTP registry", show(run))


def forged_token(e, reg):
    """A well-formed token for `reg` signed by a certificate the registry does
    not trust (another CA): what it must refuse."""
    folder = os.path.join(e.tmp, "forger")
    ca = make_ca(folder, "forger-ca")
    key, pem = make_cert(ca, folder, "forger", ["keyUsage=critical,digitalSignature"])
    config = {"issuer": reg.issuer, "service": reg.service, "ttl": 300}
    claims = token_server.claims_for(config, reg.user, ["repository:demo/fan-out:pull"])
    return token_server.sign_jwt(key, token_server.der_chain([pem]), claims)


def case_token(e):
    with Registry(os.path.join(e.tmp, "registry"), auth="token", tls=True) as reg:
        trust = {"SSL_CERT_FILE": reg.ca}
        e.env.update(trust)
        ref = f"{reg.host}/demo/fan-out:token"
        auth = reg.write_auth_file(os.path.join(e.tmp, "auth.json"))

        none = e.run("publish", e.fan_out, ref, "-L", e.components)
        check(none.returncode == 2 and "E0704" in none.stderr and "token service" in none.stderr
              and "login" in none.stderr, "no credentials: the token service refuses, E0704 with a hint", show(none))

        p = e.run("publish", e.fan_out, ref, "-L", e.components, env={"REGISTRY_AUTH_FILE": auth})
        check(p.returncode == 0 and "published" in p.stdout, "publish with tokens (REGISTRY_AUTH_FILE)", show(p))
        with open(reg.token_log) as f:  # "token USER repository:NAME:ACTIONS"
            issued = [(w[1], w[2].rpartition(":")[0], set(w[2].rpartition(":")[2].split(",")))
                      for w in (line.split() for line in f) if w[0] == "token" and len(w) == 3]
        check((reg.user, "repository:demo/fan-out", {"pull", "push"}) in issued,
              "the token service issued Torvyn a pull,push token for the repository", str(issued))

        shutil.rmtree(e.store(), ignore_errors=True)
        pull = e.run("pull", ref, env={"REGISTRY_AUTH_FILE": auth})
        check(pull.returncode == 0, "pull with tokens", show(pull))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "run REF after a token pull", show(run))
        shutil.rmtree(e.store(), ignore_errors=True)
        run = e.run_pipeline(ref, env={"REGISTRY_AUTH_FILE": auth})
        check(run.returncode == 0 and run.stdout == e.expected, "run REF pulls with tokens by itself", show(run))

        raw = skopeo("inspect", "--raw", "--authfile", auth, f"docker://{ref}", env=e.env)
        check(index_of(raw).get("artifactType") == PIPELINE_TYPE,
              "skopeo with the same auth file reads it (the token server is a real one)",
              raw.stdout + raw.stderr)
        anon = skopeo("inspect", "--raw", "--no-creds", f"docker://{ref}", env=e.env)
        check(anon.returncode != 0, "skopeo without credentials is refused", anon.stdout + anon.stderr)

        status, _, body = reg.request("GET", "/v2/demo/fan-out/tags/list",
                                      headers={"Authorization": "Bearer " + forged_token(e, reg)})
        check(status == 401, "the registry refuses a token signed by an untrusted certificate",
              f"HTTP {status}: {body[:300]!r}")

        # The registry enforces the token's access claim: a reader pulls, cannot push.
        reader = reg.write_auth_file(os.path.join(e.tmp, "reader.json"), reg.reader, reg.reader_password)
        shutil.rmtree(e.store(), ignore_errors=True)
        p = e.run("pull", ref, env={"REGISTRY_AUTH_FILE": reader})
        check(p.returncode == 0, "a read-only user pulls", show(p))
        p = e.run("publish", e.fan_out, f"{reg.host}/demo/other:1", "-L", e.components,
                  env={"REGISTRY_AUTH_FILE": reader})
        check(p.returncode == 2 and "E0704" in p.stderr and reader in p.stderr,
              "a read-only user's push: E0704 (the token grants pull only)", show(p))

        wrong = reg.write_auth_file(os.path.join(e.tmp, "wrong.json"), password="wrong-password")
        shutil.rmtree(e.store(), ignore_errors=True)
        bad = e.run("pull", ref, env={"REGISTRY_AUTH_FILE": wrong})
        check(bad.returncode == 2 and "E0704" in bad.stderr and "token service" in bad.stderr
              and wrong in bad.stderr, "a wrong password: E0704 naming the auth file", show(bad))


def main():
    case, torvyn, components, source, tmp = sys.argv[1:6]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    e = untrusting(Env(os.path.abspath(torvyn), components, source, os.path.abspath(tmp)))
    started = time.monotonic()
    {"tls": case_tls, "token": case_token}[case](e)
    print(f"({time.monotonic() - started:.1f} s)")
    failures = publish_test.failures
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
