#!/usr/bin/env python3
"""torvyn trace and --otlp, checked from the outside.

  trace_test.py file     TORVYN TMP -- -L ...   the trace file: structure, complete ordered paths
  trace_test.py sampling TORVYN TMP -- -L ...   1/N, N/s, --max-elements, bad options
  trace_test.py otlp     TORVYN TMP -- -L ...   spans at a real OTLP/HTTP receiver (opentelemetry-proto)

Every case runs tests/observe/traced.toml: numbers -> split (router, every
5th element to both ports) -> evens, odds (sinks printing the W3C context
their component sees).
"""
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "traced.toml")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(torvyn, args, rc=0, timeout=120):
    p = subprocess.run([torvyn] + args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != rc:
        fail(f"{' '.join(args)}: exit {p.returncode}, wanted {rc}\n{p.stdout}\n{p.stderr}")
    return p


def sink_contexts(stdout):
    """What the sinks' components saw: [(sequence, trace id, span id)]."""
    return [(int(m[1]), m[2], m[3])
            for m in re.finditer(r"^ctx (\d+) ([0-9a-f]{32}) ([0-9a-f]{16})$", stdout, re.M)]


def load_visits(trace):
    """Every traced visit in the file, with the slice it is in."""
    names = {}
    for e in trace["traceEvents"]:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"].split(" ")[0]
    visits = []
    for e in trace["traceEvents"]:
        if e["ph"] == "X" and "elements" in e["args"]:
            for v in e["args"]["elements"]:
                visits.append(dict(v, node=names[(e["pid"], e["tid"])], tid=e["tid"],
                                   ts=e["ts"], dur=e["dur"], call=e["args"]["call"]))
    return names, visits


def check_paths(visits, sources, sinks):
    """Every sampled element's path: from a source, through every node, to
    sinks; each visit sent on k edges has k children, each after it."""
    by_span = {v["span"]: v for v in visits}
    check(len(by_span) == len(visits), "two visits share a span id")
    children = defaultdict(list)
    for v in visits:
        if v["parent"]:
            check(v["parent"] in by_span, f"visit {v} has a parent the trace lacks")
            children[v["parent"]].append(v)
    roots = [v for v in visits if not v["parent"]]
    check(roots, "no element was traced")
    delivered = 0
    for root in roots:
        check(root["node"] in sources and root["call"] == "pull" and root["edge"] is None,
              f"a path starts at {root['node']}, not at a source's pull")
        stack = [root]
        while stack:
            v = stack.pop()
            kids = children[v["span"]]
            for k in kids:
                check(k["trace"] == root["trace"], "a child changed trace id")
                check(k["ts"] >= v["ts"] + v["dur"] - 0.001,
                      f"{k['node']} handled element {k['seq']} before {v['node']} sent it")
            if v["end"] == "sent":
                check(len(kids) == v["sent_on"],
                      f"{v['node']} sent element {v['seq']} on {v['sent_on']} edges, "
                      f"but {len(kids)} visits follow")
            elif v["end"] == "delivered":
                check(v["node"] in sinks and not kids, f"delivered at {v['node']}")
                delivered += 1
            else:
                check(not kids, f"{v['end']} at {v['node']} yet it went on")
            stack.extend(kids)
    return roots, delivered


def case_file(torvyn, tmp, extra):
    out = os.path.join(tmp, "trace.json")
    report = os.path.join(tmp, "report.json")
    p = run(torvyn, ["trace", MANIFEST, "--out", out, "--report", report] + extra)
    check(re.search(r"trace: 12 elements, \d+ visits -> ", p.stderr), p.stderr)
    with open(out) as f:
        trace = json.load(f)
    with open(report) as f:
        flow = json.load(f)[0]
    check(trace["displayTimeUnit"] == "ns" and trace["otherData"]["truncated"] is False,
          "otherData")
    names, visits = load_visits(trace)
    check(sorted(names.values()) == ["evens", "numbers", "odds", "split"], f"tracks {names}")
    roots, delivered = check_paths(visits, {"numbers"}, {"evens", "odds"})
    check(len(roots) == 12, f"{len(roots)} paths traced, wanted 12")
    check(delivered == flow["elements"]["delivered"] == 14,
          f"{delivered} deliveries traced, report says {flow['elements']['delivered']}")
    # Fan-out: every 5th element went to both sinks.
    both = [r for r in roots if any(v["sent_on"] == 2 for v in visits if v["trace"] == r["trace"])]
    check(len(both) == 2, f"{len(both)} elements fanned out, wanted 2")
    # Flow arrows: one per visit with a parent, each bound to its two slices.
    starts = {e["id"]: e for e in trace["traceEvents"] if e["ph"] == "s"}
    ends = {e["id"]: e for e in trace["traceEvents"] if e["ph"] == "f"}
    with_parent = [v for v in visits if v["parent"]]
    check(len(starts) == len(ends) == len(with_parent),
          f"{len(starts)} arrows start, {len(ends)} end, {len(with_parent)} visits have a parent")
    check(all(ends[i].get("bp") == "e" and starts[i]["ts"] <= ends[i]["ts"] for i in starts),
          "an arrow goes back in time or is not bound to its slice")
    # Queue waits: an async slice per visit that came through a queue.
    begins = [e for e in trace["traceEvents"] if e["ph"] == "b" and e["cat"] == "queue"]
    check(len(begins) == len(with_parent), f"{len(begins)} queue waits")
    check({e["name"] for e in begins} == {"numbers -> split", "split.even -> evens",
                                          "split.odd -> odds"}, "queue names")
    # Calls without elements (init, teardown) are slices too; counters for queues.
    calls = {e["args"]["call"] for e in trace["traceEvents"] if e["ph"] == "X"}
    check({"init", "pull", "route", "push", "complete"} <= calls, f"calls {calls}")
    check(any(e["ph"] == "C" and e["name"].startswith("queue ") for e in trace["traceEvents"]),
          "no queue depth counters")
    # The sinks' components saw the context the trace shows.
    seen = sink_contexts(p.stdout)
    check(len(seen) == 14, f"the sinks printed {len(seen)} contexts")
    sink_visits = {(v["seq"], v["trace"], v["span"]) for v in visits if v["end"] == "delivered"}
    check(set(seen) == sink_visits, "the components saw other trace or span ids than the trace")


def case_sampling(torvyn, tmp, extra):
    out = os.path.join(tmp, "sampled.json")
    count = ["--set", "numbers.config=count=300"]
    p = run(torvyn, ["trace", MANIFEST, "--out", out, "--sample", "1/10", "-q"] + count + extra)
    with open(out) as f:
        _, visits = load_visits(json.load(f))
    roots, _ = check_paths(visits, {"numbers"}, {"evens", "odds"})
    check(len(roots) == 30, f"1/10 of 300 traced {len(roots)}")
    check(sorted(r["seq"] for r in roots) == list(range(0, 300, 10)), "1/10 took other elements")
    # At most N a second: this flow takes well under a second.
    run(torvyn, ["trace", MANIFEST, "--out", out, "--sample", "7/s", "-q"] + count + extra)
    with open(out) as f:
        _, visits = load_visits(json.load(f))
    roots, _ = check_paths(visits, {"numbers"}, {"evens", "odds"})
    check(1 <= len(roots) <= 14, f"7/s traced {len(roots)}")
    # --max-elements stops a long run once enough are traced, completely.
    many = ["--set", "numbers.config=count=100000000"]
    report = os.path.join(tmp, "max.json")
    p = run(torvyn, ["trace", MANIFEST, "--out", out, "--max-elements", "25", "--report", report,
                     "-q"] + many + extra)
    with open(out) as f:
        _, visits = load_visits(json.load(f))
    roots, _ = check_paths(visits, {"numbers"}, {"evens", "odds"})
    check(len(roots) == 25, f"--max-elements 25 traced {len(roots)}")
    with open(report) as f:
        flow = json.load(f)[0]
    check(flow["stop"] == "interrupted" or flow["elements"]["emitted"] < 100000000,
          "the run did not stop")
    # Bad options: exit 2 with a code and a hint.
    p = run(torvyn, ["trace", MANIFEST, "--sample", "every 3"] + extra, rc=2)
    check("E0500" in p.stderr and "1/N" in p.stderr, p.stderr)
    p = run(torvyn, ["trace", MANIFEST, "--out", "/nonexistent/dir/t.json"] + extra, rc=2)
    check("E0501" in p.stderr, p.stderr)
    p = run(torvyn, ["run", MANIFEST, "--otlp", "ftp://x"] + extra, rc=2)
    check("E0500" in p.stderr and "http://" in p.stderr, p.stderr)


class Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each request with the
    OpenTelemetry protobuf definitions and keeps the spans."""
    requests = []

    def do_POST(self):
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        Receiver.requests.append((self.path, self.headers["Content-Type"], request))
        reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def attributes(kvs):
    out = {}
    for kv in kvs:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind)
    return out


def case_otlp(torvyn, tmp, extra):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        p = run(torvyn, ["run", MANIFEST, "--otlp", url, "--sample", "all"] + extra)
    finally:
        server.shutdown()
        server.server_close()  # refused from now on
    check(re.search(r"otlp: 38 spans sent to http://127\.0\.0\.1:\d+/v1/traces", p.stderr),
          p.stderr)
    check(Receiver.requests, "the receiver got nothing")
    spans = []
    for path, content_type, request in Receiver.requests:
        check(path == "/v1/traces" and content_type == "application/x-protobuf",
              f"{path} {content_type}")
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            check(resource.get("service.name") == "torvyn" and
                  resource.get("telemetry.sdk.name") == "torvyn" and
                  resource.get("telemetry.sdk.language") == "cpp" and
                  isinstance(resource.get("process.pid"), int), f"resource {resource}")
            for ss in rs.scope_spans:
                check(ss.scope.name == "torvyn" and ss.scope.version, "scope")
                spans.extend(ss.spans)
    # 12 pulls + 12 routes + 14 pushes.
    check(len(spans) == 38, f"{len(spans)} spans")
    by_id = {s.span_id: s for s in spans}
    check(len(by_id) == 38, "span ids repeat")
    roots = 0
    for s in spans:
        a = attributes(s.attributes)
        check(len(s.trace_id) == 16 and len(s.span_id) == 8, "id sizes")
        check(s.end_time_unix_nano >= s.start_time_unix_nano > 1_600_000_000 * 10**9, "times")
        check(a["torvyn.flow"] == "traced" and s.name == f"{a['torvyn.node']} {a['torvyn.call']}",
              f"span {s.name} {a}")
        check(s.kind == 1 and s.flags & 0x1, "kind INTERNAL, sampled")
        if not s.parent_span_id:
            roots += 1
            check(a["torvyn.node"] == "numbers" and a["torvyn.role"] == "source", "root")
            continue
        parent = by_id.get(s.parent_span_id)
        check(parent is not None, f"span {s.name} has a parent that was not exported")
        check(parent.trace_id == s.trace_id, "a child in another trace")
        check(parent.end_time_unix_nano <= s.start_time_unix_nano, "a child before its parent")
        pa = attributes(parent.attributes)
        check((pa["torvyn.node"], a["torvyn.node"]) in
              {("numbers", "split"), ("split", "evens"), ("split", "odds")},
              f"{pa['torvyn.node']} -> {a['torvyn.node']}")
        check(a["torvyn.edge"].endswith(a["torvyn.node"]) and a["torvyn.queue.wait_ns"] >= 0,
              "edge and queue wait")
    check(roots == 12, f"{roots} root spans")
    # The sinks' components saw exactly the exported sink spans' ids.
    pushed = {(attributes(s.attributes)["torvyn.element.sequence"], s.trace_id.hex(),
               s.span_id.hex()) for s in spans if s.name.endswith(" push")}
    check(set(sink_contexts(p.stdout)) == pushed, "the components saw other ids than exported")
    # A collector that is not there: a warning with a code, the run still succeeds.
    p = run(torvyn, ["run", MANIFEST, "--otlp", url, "--sample", "all", "-q"] + extra)
    check("E0600" in p.stderr and "38 spans not delivered" in p.stderr, p.stderr)


def main():
    case, torvyn, tmp = sys.argv[1:4]
    extra = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    os.makedirs(tmp, exist_ok=True)
    {"file": case_file, "sampling": case_sampling, "otlp": case_otlp}[case](torvyn, tmp, extra)
    print(f"ok: {case}")


if __name__ == "__main__":
    main()
