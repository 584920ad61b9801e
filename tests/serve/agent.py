"""A `torvyn serve` agent for the tests: started as a process on a free
loopback port with a state directory and a token, bounded by `timeout`,
stopped by its pid (SIGTERM, or SIGKILL to test a crash).

    with Agent(torvyn, tmp, components) as a:
        a.api("POST", "/v1/deployments", {...})   # -> (status, json)
        a.cli("ps")                               # torvyn ps against it
Standard library only.
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    def __init__(self, torvyn, tmp, components, lifetime=600, token="t0ken-for-the-serve-tests-only",
                 env=None, tls=None):
        """tls: (certificate, key, CA certificate) PEM files: HTTPS."""
        self.tls = tls
        self.torvyn, self.tmp, self.components = torvyn, os.path.abspath(tmp), components
        self.lifetime, self.token = lifetime, token
        self.state = os.path.join(self.tmp, "state")
        self.log = os.path.join(self.tmp, "agent.log")
        self.token_file = os.path.join(self.tmp, "token")
        self.env = dict(os.environ, NO_COLOR="1", **(env or {}))
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            self.env.pop(k, None)
        self.env.setdefault("XDG_CACHE_HOME", os.path.join(self.tmp, "cache"))
        self.proc = None
        self.url = None
        self.ready_seconds = None

    def start(self, timeout=60):
        os.makedirs(self.state, exist_ok=True)
        with open(self.token_file, "w") as f:
            f.write(self.token + "\n")
        agent_json = os.path.join(self.state, "agent.json")
        if os.path.exists(agent_json):
            os.remove(agent_json)
        self.port = free_port()
        log = open(self.log, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            ["timeout", "--kill-after=5", str(self.lifetime), self.torvyn, "serve",
             "--listen", f"127.0.0.1:{self.port}", "--state-dir", self.state,
             "--token-file", self.token_file, "-L", self.components,
             *(["--tls-cert", self.tls[0], "--tls-key", self.tls[1]] if self.tls else [])],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            start_new_session=True)
        log.close()
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if os.path.exists(agent_json):
                self.ready_seconds = time.monotonic() - started
                return self
            time.sleep(0.02)
        raise RuntimeError(f"the agent did not start; its log:\n{self.log_text()[-4000:]}")

    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def agent_pid(self):
        """The torvyn process (timeout's child)."""
        with open(os.path.join(self.state, "agent.json")) as f:
            return json.load(f)["pid"]

    def stop(self, sig=signal.SIGTERM, wait=60):
        if self.proc is None or self.proc.poll() is not None:
            return
        if sig == signal.SIGKILL:
            os.kill(self.agent_pid(), signal.SIGKILL)  # the agent itself, as a crash would
        else:
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def api(self, method, path, body=None, token="default", raw=None, timeout=120):
        """(status, parsed JSON or None). `raw`: bytes sent as they are."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token == "default":
            token = self.token
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            context = ssl.create_default_context(cafile=self.tls[2]) if self.tls else None
            with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, {"raw": text.decode(errors="replace")}

    def cli(self, *args, timeout=180, env_extra=None):
        return subprocess.run([self.torvyn, *args, "--agent", self.url, "--token-file",
                               self.token_file], capture_output=True, text=True,
                              env=dict(self.env, **(env_extra or {})), timeout=timeout)
