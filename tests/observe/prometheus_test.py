"""torvyn run --metrics, scraped by a real Prometheus server.

    python3 prometheus_test.py TORVYN TMP_DIR COMPONENT_DIR...

Runs tests/observe/live.toml with --metrics on a free loopback port; checks
one scrape with `promtool check metrics`; starts Prometheus (Debian's
`prometheus`, installed by scripts/setup.sh) on another free loopback port
with a config that scrapes torvyn every second; then asks Prometheus' query
API for the series a user would graph, until each holds (or 60 s pass).
Both servers are stopped by their pids.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_run import LiveRun, fail, free_port  # noqa: E402

NODES = {"src", "picky", "copy", "out"}
FLOW = 'flow="watched"'


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def query(prom, expr):
    """The vector Prometheus returns for `expr`: [(labels, value)]."""
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = json.loads(get(url))
    if body.get("status") != "success":
        fail(f"query {expr}: {body}")
    return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]


# Each check: what it says, the query, and what its result must satisfy.
CHECKS = [
    ("Prometheus scrapes torvyn", 'up{job="torvyn"}', lambda v: v and v[0][1] == 1),
    ("the flow runs", f"torvyn_flow_running{{{FLOW}}}", lambda v: v and v[0][1] == 1),
    ("elements are emitted", f"torvyn_flow_elements_emitted_total{{{FLOW}}}",
     lambda v: v and v[0][1] > 0),
    ("and delivered, between scrapes too",
     f"rate(torvyn_flow_elements_delivered_total{{{FLOW}}}[10s])", lambda v: v and v[0][1] > 0),
    ("every node has a series", f"torvyn_node_calls_total{{{FLOW}}}",
     lambda v: {m["node"] for m, x in v if x > 0} == NODES),
    ("every node has its role", f"torvyn_node_info{{{FLOW}}}",
     lambda v: {(m["node"], m["role"]) for m, _ in v} ==
     {("src", "source"), ("picky", "processor"), ("copy", "processor"), ("out", "sink")}),
    ("a node's elements in", f'torvyn_node_elements_in_total{{{FLOW},node="out"}}',
     lambda v: v and v[0][1] > 0),
    ("errors by code", f'torvyn_node_errors_total{{{FLOW},node="picky"}}',
     lambda v: v and v[0][0]["code"] == "E0303" and v[0][1] > 0),
    ("call times as a histogram",
     f'histogram_quantile(0.5, rate(torvyn_node_call_duration_seconds_bucket{{{FLOW},node="copy"}}[10s]))',
     lambda v: v and 0 < v[0][1] < 1),
    ("queues with their capacity", f"torvyn_edge_queue_capacity{{{FLOW}}}",
     lambda v: {m["edge"]: x for m, x in v} ==
     {"src -> picky": 16, "src -> copy": 16, "picky -> out": 16, "copy -> out": 16}),
    ("copies counted", f"torvyn_flow_copies_total{{{FLOW}}}", lambda v: v and v[0][1] > 0),
    ("the buffer budget", f"torvyn_flow_buffer_budget_bytes{{{FLOW}}}",
     lambda v: v and v[0][1] == 256 * 1024 * 1024),
]


def main():
    torvyn, tmp, *components = sys.argv[1:]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            fail(f"{tool} is missing: run scripts/setup.sh (Debian package prometheus)")
    run = LiveRun(torvyn, components, tmp, ["--metrics", "127.0.0.1:0"])
    prom_proc = None
    try:
        metrics = run.wait_for("metrics")
        target = metrics[len("http://"):-len("/metrics")]
        scrape = get(metrics)
        with open(os.path.join(tmp, "scrape.txt"), "w") as f:
            f.write(scrape)
        lint = subprocess.run(["promtool", "check", "metrics"], input=scrape, text=True,
                              capture_output=True)
        if lint.returncode != 0 or lint.stdout.strip() or lint.stderr.strip():
            fail(f"promtool check metrics: {lint.returncode}\n{lint.stdout}{lint.stderr}")
        print("ok: promtool check metrics accepts the scrape")

        port = free_port()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: torvyn\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        prom_proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=open(os.path.join(tmp, "prometheus.log"), "wb"), stderr=subprocess.STDOUT)
        prom = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        pending = list(CHECKS)
        last = {}
        while pending and time.monotonic() - started < 60:
            if prom_proc.poll() is not None:
                fail(f"prometheus exited with {prom_proc.returncode} (see {tmp}/prometheus.log)")
            if run.proc.poll() is not None:
                fail(f"torvyn ended before Prometheus saw everything:\n{run.stderr()}")
            try:
                for check in list(pending):
                    what, expr, ok = check
                    last[what] = query(prom, expr)
                    if ok(last[what]):
                        shown = [({k: x for k, x in m.items() if k in ("node", "edge", "code")}, x)
                                 for m, x in last[what]]
                        print(f"ok: {what}: {expr} = {shown}")
                        pending.remove(check)
            except OSError:
                pass  # not listening yet
            time.sleep(0.5)
        if pending:
            fail("not seen within 60 s: " +
                 "; ".join(f"{w}: {e} = {last.get(w)}" for w, e, _ in pending))
        print(f"Prometheus saw every series in {time.monotonic() - started:.1f} s")
    finally:
        if prom_proc is not None and prom_proc.poll() is None:
            prom_proc.terminate()
            prom_proc.wait(timeout=30)
        rc = run.stop()
    if rc != 143:
        fail(f"torvyn did not stop as asked (exit {rc}):\n{run.stderr()}")


if __name__ == "__main__":
    main()
