"""A token service for docker-registry's `auth: token` (distribution 2.8), for
the tests: it checks basic credentials and answers a JWT the registry accepts.

    python3 token_server.py CONFIG.json PORT_FILE

CONFIG: {"key": signing key (PEM), "chain": [certificate PEM files, the
signing certificate first], "issuer", "service", "users": {name: password},
"read_only": [names granted pull only], "ttl": seconds}. It listens on 127.0.0.1, on a port the system picks, and
writes that port to PORT_FILE once it accepts connections. registry.py starts
it under `timeout` (a bounded life) and stops it by its pid.

GET /token?service=S&scope=repository:NAME:pull,push (scope may repeat):
401 without basic credentials or with wrong ones; else 200 with
{"token", "access_token", "expires_in", "issued_at"}. The token is an RS256
JWT signed with the openssl command line: header {typ, alg, x5c: the chain,
base64 DER}, claims iss, sub (the user), aud (the service), exp, nbf, iat,
jti and access: one entry {type, name, actions} per requested scope, with
the actions asked for that the user may take (pull and push; pull for a
read-only user). Each token issued is
logged on stdout as one line: "token USER SCOPE...".
Standard library only.
"""

import base64
import binascii
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = {"pull", "push"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_chain(pem_files):
    """The x5c value: each certificate as standard base64 of its DER."""
    out = []
    for path in pem_files:
        with open(path) as f:
            out.append(base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode())
    return out


def sign_jwt(key, x5c, claims):
    """header.claims.signature, signed RS256 (PKCS#1 v1.5 over SHA-256) by openssl."""
    header = {"typ": "JWT", "alg": "RS256", "x5c": x5c}
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    p = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                       capture_output=True, check=True)
    return signing_input + "." + b64url(p.stdout)


def access_for(scopes, allowed=ACTIONS):
    """The access claim for the requested scopes ('repository:NAME:ACTIONS',
    the actions last): what was asked and is allowed."""
    access = []
    for scope in scopes:
        for item in scope.split(" "):
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a in allowed]
            if kind == "repository" and name and granted:
                access.append({"type": kind, "name": name, "actions": granted})
    return access


def claims_for(config, user, scopes, now=None):
    now = int(now if now is not None else time.time())
    allowed = {"pull"} if user in config.get("read_only", []) else ACTIONS
    return {"iss": config["issuer"], "sub": user, "aud": config["service"],
            "exp": now + config["ttl"], "nbf": now - 1, "iat": now,
            "jti": secrets.token_hex(16), "access": access_for(scopes, allowed)}


class Handler(BaseHTTPRequestHandler):
    config = {}
    x5c = []

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def user(self):
        """The user the basic credentials name when they are right, else None."""
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            name, _, password = base64.b64decode(value[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        want = self.config["users"].get(name)
        return name if want is not None and secrets.compare_digest(want, password) else None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        query = urllib.parse.parse_qs(url.query)
        user = self.user()
        if user is None:
            print(f"refused {self.headers.get('Authorization', '-')[:6]}", flush=True)
            self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                          "message": "wrong or missing credentials"}]},
                        [("WWW-Authenticate", 'Basic realm="torvyn-test-token"')])
            return
        if query.get("service", [self.config["service"]]) != [self.config["service"]]:
            self.answer(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
            return
        scopes = query.get("scope", [])
        token = sign_jwt(self.config["key"], self.x5c, claims_for(self.config, user, scopes))
        print(f"token {user} {' '.join(scopes) or '-'}", flush=True)
        self.answer(200, {"token": token, "access_token": token, "expires_in": self.config["ttl"],
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def main():
    config_file, port_file = sys.argv[1:3]
    with open(config_file) as f:
        Handler.config = json.load(f)
    Handler.x5c = der_chain(Handler.config["chain"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    partial = port_file + ".part"
    with open(partial, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(partial, port_file)  # whole, or not there
    server.serve_forever()


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    main()
