"""Starts `torvyn run --metrics/--ui ...:0` on tests/observe/live.toml and
finds the address it listens at; stops it by its pid. Shared by the tests of
the live endpoints (tests/observe/*)."""

import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "live.toml")


def fail(message):
    raise SystemExit(f"FAIL: {message}")


def free_port():
    """A port nothing listens on now (for a server that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveRun:
    """torvyn run with the given options (e.g. --metrics 127.0.0.1:0)."""

    def __init__(self, torvyn, component_dirs, tmp, options):
        self.tmp = tmp
        self.stderr_path = os.path.join(tmp, "torvyn.stderr")
        self.stdout_path = os.path.join(tmp, "torvyn.stdout")
        args = [torvyn, "run", MANIFEST, *options]
        for d in component_dirs:
            args += ["-L", d]
        env = dict(os.environ, TORVYN_COMPONENT_PATH="", XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        self.proc = subprocess.Popen(args, stdout=open(self.stdout_path, "wb"),
                                     stderr=open(self.stderr_path, "wb"), env=env)

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for(self, what, timeout=120):
        """The URL torvyn printed for `what` ("metrics" or "live page"), once
        the flow runs (the manifest linked: its components compiled)."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(rf"torvyn: {what} at (http://\S+)")
        while time.monotonic() < deadline:
            text = self.stderr()
            found = pattern.search(text)
            if self.proc.poll() is not None:
                fail(f"torvyn exited with {self.proc.returncode}:\n{text}")
            if found:
                return found.group(1)
            time.sleep(0.1)
        fail(f"torvyn did not print where its {what} is within {timeout} s:\n{self.stderr()}")

    def stop(self):
        """SIGTERM (the flow drains), then the exit status: 143."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
