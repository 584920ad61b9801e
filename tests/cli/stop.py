#!/usr/bin/env python3
"""stop.py CASE TORVYN TMPDIR -- component path args...

Stops `torvyn run` with signals the way an operator would, waiting on what the
run visibly does (output, a guest's announcement, a full pipe) instead of
sleeping, and checks what it reports:

  graceful        one SIGINT while elements flow: drains, exit 130, every
                  element emitted is delivered, the summary says interrupted
  forced-in-call  a guest waits in the host (a 60 s clock, no deadline); two
                  SIGINTs end the call and the run at once: exit 130, the
                  summary is printed and balanced
  forced-exit     a guest blocks in a write to a full stdout pipe (no deadline
                  reaches it); two SIGINTs still end the process within the
                  grace period, with the accounting of what was done
"""
import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import threading
import time

CASE, TORVYN, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
LIBS = sys.argv[5:] if len(sys.argv) > 4 and sys.argv[4] == "--" else sys.argv[4:]
os.makedirs(TMP, exist_ok=True)
BOUND = 60  # seconds any wait below may take before the test fails


def manifest(name, text):
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_for(what, predicate):
    deadline = time.monotonic() + BOUND
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"FAIL: gave up waiting for {what}")
        time.sleep(0.01)


class Reader(threading.Thread):
    """Reads a pipe to the end, keeping what it read."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.data, self.lock = pipe, bytearray(), threading.Lock()
        self.start()

    def run(self):
        for chunk in iter(lambda: os.read(self.pipe.fileno(), 65536), b""):
            with self.lock:
                self.data += chunk

    def text(self):
        with self.lock:
            return self.data.decode(errors="replace")

    def size(self):
        with self.lock:
            return len(self.data)


def start(path, report, stdout=subprocess.PIPE):
    cmd = [TORVYN, "run", path, *LIBS, "--report", report]
    return subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)


def check(cond, message, err):
    if not cond:
        print("--- stderr:\n" + err.text())
        sys.exit("FAIL: " + message)


SOURCE = """[flow.{f}.nodes.src]
component = "blobs.wasm"
role = "source"
config = "count=0 size=64"
"""
EDGES = """[[flow.{f}.edges]]
from = "src"
to = "{to}"
"""


def graceful():
    path = manifest("graceful", SOURCE.format(f="endless") + """
[flow.endless.nodes.out]
component = "hello_printer.wasm"
role = "sink"
capabilities = ["stdout"]
""" + EDGES.format(f="endless", to="out"))
    report = os.path.join(TMP, "graceful.json")
    p = start(path, report)
    out, err = Reader(p.stdout), Reader(p.stderr)
    wait_for("elements on stdout", lambda: out.size() >= 4096)
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=BOUND)
    out.join(BOUND)
    err.join(BOUND)
    check(rc == 130, f"exit code {rc}, expected 130", err)
    check("SIGINT received, draining" in err.text(), "no drain message", err)
    check("flow 'endless': interrupted" in err.text(), "summary does not say interrupted", err)
    r = json.load(open(report))[0]
    e = r["elements"]
    check(r["stop"] == "interrupted", r["stop"], err)
    check(e["balanced"] and e["emitted"] > 0, f"accounting {e}", err)
    check(e["delivered"] == e["emitted"], f"not all delivered: {e}", err)
    # Every delivered element reached stdout: 64 bytes and a line break each.
    check(out.size() == 65 * e["delivered"], f"{out.size()} bytes for {e['delivered']}", err)
    print(f"interrupted after {e['emitted']} elements, all delivered")


def forced_in_call():
    path = manifest("forced-in-call", SOURCE.format(f="waits") + """
[flow.waits.nodes.mid]
component = "blocks.wasm"
role = "processor"
config = "mode=sleep announce=1"
call-timeout = "1h"
capabilities = ["monotonic-clock", "stderr"]
connect = ["127.0.0.1:9"]
[flow.waits.nodes.out]
component = "slow_sink.wasm"
role = "sink"
capabilities = ["stdout"]
""" + EDGES.format(f="waits", to="mid") + """[[flow.waits.edges]]
from = "mid"
to = "out"
""")
    report = os.path.join(TMP, "forced-in-call.json")
    p = start(path, report)
    out, err = Reader(p.stdout), Reader(p.stderr)
    wait_for("the guest to start waiting", lambda: "mid| waiting" in err.text())
    p.send_signal(signal.SIGINT)
    wait_for("the drain message", lambda: "draining" in err.text())
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=BOUND)
    took = time.monotonic() - t0
    err.join(BOUND)
    check(rc == 130, f"exit code {rc}, expected 130", err)
    check("flow 'waits': stopped (forced)" in err.text(), "no forced-stop summary", err)
    check("exiting now" not in err.text(), "the call was not ended; the process gave up", err)
    r = json.load(open(report))[0]
    e = r["elements"]
    check(e["balanced"] and e["failed"] >= 1, f"accounting {e}", err)
    print(f"a call waiting on a 60 s clock ended {took * 1000:.0f} ms after the second SIGINT")


def forced_exit():
    path = manifest("forced-exit", SOURCE.format(f="stuck") + """
[flow.stuck.nodes.out]
component = "hello_printer.wasm"
role = "sink"
capabilities = ["stdout"]
""" + EDGES.format(f="stuck", to="out"))
    report = os.path.join(TMP, "forced-exit.json")
    r_fd, w_fd = os.pipe()  # nobody reads it: the printer's writes block
    p = start(path, report, stdout=w_fd)
    os.close(w_fd)
    err = Reader(p.stderr)

    def pipe_full():
        buf = bytearray(4)
        fcntl.ioctl(r_fd, termios.FIONREAD, buf)
        return int.from_bytes(buf, sys.byteorder) >= 65536 - 128

    wait_for("stdout's pipe to fill", pipe_full)
    p.send_signal(signal.SIGINT)
    wait_for("the drain message", lambda: "draining" in err.text())
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rc = p.wait(timeout=BOUND)
    took = time.monotonic() - t0
    err.join(BOUND)
    os.close(r_fd)
    check(rc == 130, f"exit code {rc}, expected 130", err)
    check("exiting now" in err.text(), "no forced exit", err)
    check("flow 'stuck': stopped at once with a call still in progress" in err.text(),
          "no accounting at exit", err)
    check("in flight (lost at exit)" in err.text(), "in-flight elements not counted", err)
    print(f"blocked in a full pipe; the process exited {took * 1000:.0f} ms after the second SIGINT")


{"graceful": graceful, "forced-in-call": forced_in_call, "forced-exit": forced_exit}[CASE]()
