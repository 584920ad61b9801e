#!/usr/bin/env python3
"""NATS JetStream scale-out, measured (not a test; `make bench-nats`).

    nats_scale.py BUILD_DIR [MESSAGES] [RATE]

On one nats-server (tests/brokers/nats.py, loopback, file storage) and for 1,
2 and 3 `torvyn run` processes sharing one durable consumer, each running
source -> hello_shout.wasm -> sink:

  throughput  MESSAGES (default 50000) of 64 B are published first; the
              processes drain them. Per process: elements and the rate over
              its busy time (its wall time less the stop-after-idle wait);
              total: MESSAGES over the time until the output stream held them all.
  latency     the processes run; MESSAGES / 5 are published at RATE a second
              (default 5000), each carrying its publish time; latency is the
              output stream's store time minus that (same machine, same clock):
              p50 and p99.

For comparison on the same server: nats_tool's plain libnats publisher
(async, acks awaited) and pull consumer (fetch 256, ack each), and `nats bench`
(natscli, built by scripts/natscli.sh: NATS_CLI names it). Prints a report.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "brokers"))
from nats import NatsServer  # noqa: E402

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build")
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
TORVYN = os.path.join(BUILD, "bin", "torvyn")
TOOL = os.path.join(BUILD, "tests", "connectors", "torvyn_nats_tool")
COMPONENTS = os.path.join(BUILD, "components")
IDLE_S = 2


def tool(url, *args):
    p = subprocess.run([TOOL, url, *map(str, args)], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        sys.exit(f"nats_tool {args}: {p.stderr}")
    return p.stdout


def manifest(tmp, url, k):
    text = f"""[flow.scale]
source-batch = 256
queue-capacity = 1024
[flow.scale.nodes.src]
kind = "nats-jetstream"
role = "source"
url = "{url}"
stream = "IN{k}"
subject = "in{k}.>"
durable = "work"
create = true
fetch = 512
stop-after-idle = "{IDLE_S}s"
[flow.scale.nodes.shout]
component = "hello_shout.wasm"
role = "processor"
batch = 512
[flow.scale.nodes.out]
kind = "nats-jetstream"
role = "sink"
url = "{url}"
subject = "out{k}.{{nats.subject}}"
stream = "OUT{k}"
create = true
[[flow.scale.edges]]
from = "src"
to = "shout"
[[flow.scale.edges]]
from = "shout"
to = "out"
"""
    path = os.path.join(tmp, f"scale{k}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def start(path, report):
    return subprocess.Popen([TORVYN, "run", path, "-L", COMPONENTS, "--report", report, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def node(report, name):
    with open(report) as f:
        data = json.load(f)
    flow = data[0]  # one report per flow
    for n in flow["nodes"]:
        if n["name"] == name:
            return n, flow
    raise KeyError(name)


def wait_count(url, stream, n, procs, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None and p.returncode != 0:
                sys.exit(f"torvyn run failed: {p.stderr.read()}")
        if int(tool(url, "count", stream)) >= n:
            return time.monotonic()
        time.sleep(0.02)
    sys.exit(f"{stream} did not reach {n}")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def run_setup(tmp, url, k, phase):
    """k processes on IN{k}/OUT{k}; returns per-process rows and the total."""
    path = manifest(tmp, url, k)
    reports = [os.path.join(tmp, f"{phase}{k}-{i}.json") for i in range(k)]
    begin = time.monotonic()
    procs = [start(path, r) for r in reports]
    return path, reports, procs, begin


def finish(procs):
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0:
            sys.exit(f"torvyn run failed: {err}")


def throughput(tmp, url, k):
    tool(url, "stream", f"IN{k}", f"in{k}.>")
    tool(url, "stream", f"OUT{k}", f"out{k}.>")
    pub = json.loads(tool(url, "publish", f"in{k}.x", MESSAGES, 64))
    _, reports, procs, begin = run_setup(tmp, url, k, "tp")
    done = wait_count(url, f"OUT{k}", MESSAGES, procs)
    finish(procs)
    rows = []
    for r in reports:
        src, flow = node(r, "src")
        busy = flow["wall_ns"] / 1e9 - IDLE_S
        rows.append((src.get("acked", 0), src["counters"].get("fetched", 0), busy,
                     src.get("acked", 0) / busy if busy > 0 else 0.0,
                     node(r, "out")[0]["counters"]))
    return pub, rows, MESSAGES / (done - begin)


def latency(tmp, url, k):
    n = max(MESSAGES // 5, 1000)
    _, reports, procs, _ = run_setup(tmp, url, k, "lat")
    time.sleep(1.5)  # connected and fetching
    first = MESSAGES  # after the throughput phase's messages
    tool(url, "publish", f"in{k}.x", n, 64, first, 0, RATE)
    wait_count(url, f"OUT{k}", MESSAGES + n, procs)
    finish(procs)
    lat = []
    for line in tool(url, "dump", f"OUT{k}").splitlines():
        m = json.loads(line)
        words = m["payload"].split()
        if int(words[1]) >= first:
            lat.append((m["time"] - int(words[2][2:])) / 1e6)
    return percentile(lat, 0.5), percentile(lat, 0.99), len(lat)


def nats_bench(url):
    # make bench-nats builds it (scripts/natscli.sh) and names it in NATS_CLI.
    cli = os.environ.get("NATS_CLI") or shutil.which("nats")
    if not cli or not os.access(cli, os.X_OK):
        return None, "not found (scripts/natscli.sh builds it; make bench-nats runs that)"
    out = []
    for args in (["js", "pub", "async", "bench.s", "--create", "--purge"], ["js", "fetch"]):
        p = subprocess.run([cli, "bench", *args, "--server", url, "--msgs", str(MESSAGES),
                            "--size", "64", "--no-progress"],
                           capture_output=True, text=True, timeout=600)
        lines = [l for l in (p.stdout + p.stderr).splitlines() if "stats:" in l]
        out.append(lines[-1].strip() if lines else f"(exit {p.returncode}) {p.stderr[-200:]}")
    return out, cli


def main():
    for path in (TORVYN, TOOL, os.path.join(COMPONENTS, "hello_shout.wasm")):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build first (make build)")
    with tempfile.TemporaryDirectory(prefix="nats-scale-") as tmp:
        with NatsServer(os.path.join(tmp, "broker"), lifetime=3600) as server:
            url = server.url
            print(f"nats-server 2.9 (JetStream, file storage) at {url}; {MESSAGES} messages of"
                  f" 64 B; {os.cpu_count()} CPUs\n")
            print("setup   total msg/s   per process: acked  busy s  msg/s   (sink dups)")
            results = {}
            for k in (1, 2, 3):
                pub, rows, total = throughput(tmp, url, k)
                results[k] = (pub, rows, total)
                for i, (acked, fetched, busy, rate, out) in enumerate(rows):
                    head = f"{k} proc  {total:11.0f}" if i == 0 else " " * 19
                    print(f"{head}   #{i + 1} {acked:14d} {busy:7.2f} {rate:7.0f}"
                          f"   ({out.get('duplicates', 0)})")
            print(f"\nlatency: {max(MESSAGES // 5, 1000)} messages published at {RATE}/s while"
                  " the processes run (store time in OUT - publish time)")
            for k in (1, 2, 3):
                p50, p99, n = latency(tmp, url, k)
                print(f"{k} proc  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ({n} messages)")
            tool(url, "stream", "PLAIN", "plain.>")
            pub = json.loads(tool(url, "publish", "plain.x", MESSAGES, 64))
            sub = json.loads(tool(url, "consume", "PLAIN", "plain", MESSAGES))
            print("\nthe client library alone (nats_tool on libnats, one process):")
            print(f"  publish (async, acks awaited): {pub['per_second']:.0f} msg/s")
            print(f"  pull consumer (fetch 256, ack each): {sub['per_second']:.0f} msg/s")
            bench, cli = nats_bench(url)
            if bench is None:
                print(f"  nats bench: {cli}")
            else:
                print(f"  nats bench ({cli}, natscli v0.5.0):\n    {bench[0]}\n    {bench[1]}")


if __name__ == "__main__":
    main()
