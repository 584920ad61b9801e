#!/usr/bin/env python3
"""soak.py TORVYN COMPONENT_DIR TEST_COMPONENT_DIR OUT_DIR [ELEMENTS]

`make soak`: ELEMENTS (default 10^7) elements of 64 B, then of 1 KiB,
through source -> processor -> sink, where the processor traps on every
100,000th element and is restarted (on-trap = "restart", on-error = "skip").

Per payload size, two runs of the real `torvyn run`:
  1. to the end: exit 0; every element accounted for (delivered, or failed
     where the processor trapped: ELEMENTS / 100,000 of them); one restart per
     trap; resident memory flat (its slope after the first tenth of the run);
     no buffer left in the store.
  2. SIGTERM at a random moment of the first run's duration: exit 143, the
     flow drained (everything emitted was delivered or failed), balanced,
     no buffer left.
Prints a table with the figures; exit 1 if any check failed.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

TORVYN, COMPONENTS, TEST_COMPONENTS, OUT = sys.argv[1:5]
ELEMENTS = int(sys.argv[5]) if len(sys.argv) > 5 else 10_000_000
TRAP_EVERY = 100_000
SAMPLE_S = 0.25
# Resident memory may grow by this much after the warm-up and still be flat:
# allocator noise, not a leak (a leak of one byte per element would be 10 MB).
FLAT_BYTES = 4 << 20
os.makedirs(OUT, exist_ok=True)
failures = []
rows = []


def manifest(size):
    path = os.path.join(OUT, f"soak-{size}.toml")
    with open(path, "w") as f:
        f.write(f"""# Soak: {ELEMENTS} elements of {size} B; the processor traps every {TRAP_EVERY}.
[flow.soak]
description = "source -> trapping, restarting processor -> sink"
[flow.soak.nodes.src]
component = "blobs.wasm"
role = "source"
config = "count={ELEMENTS} size={size}"
[flow.soak.nodes.mid]
component = "misbehave.wasm"
role = "processor"
config = "mode=trap at={TRAP_EVERY - 1} every={TRAP_EVERY}"
on-trap = "restart"
max-restarts = {ELEMENTS // TRAP_EVERY + 10}
on-error = "skip"
[flow.soak.nodes.out]
component = "slow_sink.wasm"
role = "sink"
config = "work=1"
capabilities = ["stdout"]
[[flow.soak.edges]]
from = "src"
to = "mid"
[[flow.soak.edges]]
from = "mid"
to = "out"
""")
    return path


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run(size, stop_after=None):
    """Runs the soak flow; returns (exit code, report, seconds, RSS samples)."""
    report = os.path.join(OUT, f"soak-{size}-{'term' if stop_after else 'full'}.json")
    if os.path.exists(report):
        os.remove(report)
    cmd = [TORVYN, "run", manifest(size), "-L", COMPONENTS, "-L", TEST_COMPONENTS, "--quiet",
           "--report", report]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = []  # (seconds, bytes)
    sent = False
    while p.poll() is None:
        now = time.monotonic() - t0
        r = rss_bytes(p.pid)
        if r is not None:
            samples.append((now, r))
        if stop_after is not None and not sent and now >= stop_after:
            p.send_signal(signal.SIGTERM)
            sent = True
        time.sleep(SAMPLE_S)
    took = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    try:
        rep = json.load(open(report))[0]
    except (OSError, ValueError, IndexError):
        rep = None
        failures.append(f"{size} B: no report\n{err}")
    return p.returncode, rep, took, samples, err


def slope(samples):
    """Least-squares slope of RSS over time (bytes/s) and the growth it means."""
    n = len(samples)
    if n < 3:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(r for _, r in samples) / n
    sxx = sum((t - mx) ** 2 for t, _ in samples)
    return sum((t - mx) * (r - my) for t, r in samples) / sxx if sxx else 0.0


def check(cond, what):
    if not cond:
        failures.append(what)


for size in (64, 1024):
    rc, rep, took, samples, err = run(size)
    check(rc == 0, f"{size} B: exit code {rc}, expected 0\n{err[-2000:]}")
    if rep is None:
        continue
    e = rep["elements"]
    traps = ELEMENTS // TRAP_EVERY
    mid = next(n for n in rep["nodes"] if n["name"] == "mid")
    check(e["emitted"] == ELEMENTS, f"{size} B: emitted {e['emitted']}")
    check(e["failed"] == traps and e["delivered"] == ELEMENTS - traps,
          f"{size} B: delivered {e['delivered']}, failed {e['failed']}")
    check(e["balanced"], f"{size} B: accounting {e}")
    check(mid["errors"] == traps, f"{size} B: {mid['errors']} errors in the processor")
    check(rep["buffers"]["live"] == 0, f"{size} B: {rep['buffers']['live']} buffers left")
    # Flat: the slope after the warm-up (the first tenth), and what it adds up to.
    steady = [(t, r) for t, r in samples if t >= took / 10]
    s = slope(steady)
    growth = s * (steady[-1][0] - steady[0][0]) if len(steady) > 1 else 0.0
    check(growth <= FLAT_BYTES,
          f"{size} B: resident memory grew {growth / 1e6:.1f} MB after the warm-up")
    rate = e["emitted"] / (rep["wall_ns"] / 1e9)
    rows.append((f"{size} B", "to the end", rc, e["emitted"], rate, steady[0][1] if steady else 0,
                 steady[-1][1] if steady else 0, s, rep["buffers"]["live"]))

    # The same, stopped by SIGTERM at a random moment.
    at = random.uniform(0.1, 0.9) * took
    rc2, rep2, took2, samples2, err2 = run(size, stop_after=at)
    check(rc2 == 143, f"{size} B SIGTERM: exit code {rc2}, expected 143\n{err2[-2000:]}")
    if rep2 is None:
        continue
    e2 = rep2["elements"]
    check(rep2["stop"] == "interrupted", f"{size} B SIGTERM: stop {rep2['stop']}")
    check(e2["balanced"], f"{size} B SIGTERM: accounting {e2}")
    check(e2["delivered"] + e2["failed"] == e2["emitted"], f"{size} B SIGTERM: not drained {e2}")
    check(rep2["buffers"]["live"] == 0, f"{size} B SIGTERM: {rep2['buffers']['live']} buffers left")
    rate2 = e2["emitted"] / (rep2["wall_ns"] / 1e9) if rep2["wall_ns"] else 0
    steady2 = [(t, r) for t, r in samples2 if t >= took2 / 10] or samples2
    rows.append((f"{size} B", f"SIGTERM at {at:.1f} s", rc2, e2["emitted"], rate2,
                 steady2[0][1] if steady2 else 0, steady2[-1][1] if steady2 else 0,
                 slope(steady2), rep2["buffers"]["live"]))

print(f"soak: {ELEMENTS} elements per run, a trap (and restart) every {TRAP_EVERY}")
print(f"{'payload':<8} {'run':<18} {'exit':>4} {'elements':>10} {'elements/s':>11} "
      f"{'RSS start':>10} {'RSS end':>10} {'RSS slope':>12} {'leaked':>6}")
print("(RSS start: after the first tenth of the run; slope: least squares from then on)")
for size, kind, rc, n, rate, r0, r1, s, live in rows:
    print(f"{size:<8} {kind:<18} {rc:>4} {n:>10} {rate:>11.0f} {r0 / 2**20:>8.1f}MB "
          f"{r1 / 2**20:>8.1f}MB {s / 1024:>8.1f}KB/s {live:>6}")
if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("soak ok: exit codes, accounting, flat memory, nothing leaked")
