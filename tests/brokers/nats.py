"""A real NATS server with JetStream for the tests: Debian's nats-server on a
free loopback port, its JetStream store in a directory of the test's.

    with NatsServer(tmp) as nats:        # nats.url: nats://127.0.0.1:PORT
        ...
        nats.restart()                   # same port, same store: the stream survives
        nats.kill()                      # kill -9 (a crash); start() brings it back

`nats-server -a 127.0.0.1 -p PORT -js -sd DIR` runs under `timeout`, so it ends
by itself after `lifetime` seconds even if the test dies; stop() ends it by its
pid. Ready when /healthz of its monitoring port (also on loopback) says ok,
which includes JetStream. Its log is kept in tmp/nats.log for failures.
A missing nats-server raises MissingTool naming scripts/setup.sh.
Standard library only.
"""

import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BoundedServer, MissingTool, free_port, require, start_bounded,  # noqa: E402
                    tail, wait_until)

__all__ = ["NatsServer", "MissingTool"]


class NatsServer(BoundedServer):
    def __init__(self, tmp, lifetime=300):
        self.tmp = os.path.abspath(tmp)
        self.store = os.path.join(self.tmp, "jetstream")
        self.log = os.path.join(self.tmp, "nats.log")
        self.lifetime = lifetime
        self.port = self.monitor_port = None
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}/healthz",
                                        timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout=30):
        """Starts the server; on a restart, on the same ports and store."""
        binary = require("nats-server", "nats-server")
        os.makedirs(self.store, exist_ok=True)
        fresh = self.port is None  # a restart keeps its ports: clients reconnect there
        for attempt in range(3 if fresh else 1):  # a probed port can be taken before the bind
            if fresh:
                self.port, self.monitor_port = free_port(), free_port()
            self.proc = start_bounded(
                [binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
                 "-js", "-sd", self.store, "-n", "torvyn-test"], self.lifetime, self.log)
            self.starts += 1
            if wait_until(self._healthy, self.proc, timeout):
                return self
            self.stop()
            if "address already in use" not in tail(self.log):
                break
        raise RuntimeError(f"nats-server did not become healthy at {self.url} within {timeout} s;"
                           f" its log ({self.log}):\n{tail(self.log)}")
