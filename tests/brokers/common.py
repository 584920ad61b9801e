"""What the broker fixtures (nats.py, kafka.py) share: free loopback ports,
a server under `timeout` in a process group of its own, stopped by its pid,
and the error raised when a tool is missing. Standard library only."""

import os
import shutil
import signal
import socket
import subprocess
import time

SETUP_HINT = "run scripts/setup.sh"


class MissingTool(RuntimeError):
    """A program the fixture needs is not installed: never a silent skip."""


def require(program, package):
    """The path of program, or MissingTool naming it and its Debian package."""
    path = shutil.which(program) or (program if os.access(program, os.X_OK) else None)
    if not path:
        raise MissingTool(f"{program} is missing (Debian package {package}): {SETUP_HINT}")
    return path


def cache_dir():
    """$TORVYN_CACHE_DIR as scripts/env.sh sets it."""
    return os.environ.get("TORVYN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torvyn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_bounded(argv, lifetime, log_path, env=None):
    """argv under `timeout` (it ends by itself after lifetime seconds even if
    the test dies), in a new process group, its output appended to log_path."""
    timeout = require("timeout", "coreutils")
    with open(log_path, "ab") as log:
        return subprocess.Popen([timeout, "--kill-after=5", str(int(lifetime)), *argv],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)


def stop_group(proc, grace=10, sig=signal.SIGTERM):
    """Ends the process group proc leads (timeout and its server), by its pid:
    sig first, SIGKILL after grace seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def kill_group(proc):
    """kill -9 of the server's group (a crash, for the failure tests)."""
    stop_group(proc, grace=0.1, sig=signal.SIGKILL)


def wait_until(probe, proc, timeout, poll=0.1):
    """True once probe() is true; False when the process ended or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if probe():
            return True
        time.sleep(poll)
    return False


def tail(path, limit=4000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-limit:]
    except FileNotFoundError:
        return ""


class BoundedServer:
    """What every broker fixture shares once it has start(timeout) and
    self.proc: stop by its group (waiting `stop_grace` seconds), kill -9,
    restart on the same ports and storage, and `with` support."""
    stop_grace = 10
    restart_timeout = 30

    def stop(self):
        stop_group(self.proc, grace=self.stop_grace)

    def kill(self):
        kill_group(self.proc)

    def restart(self, timeout=None):
        self.stop()
        return self.start(timeout or self.restart_timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
