#!/usr/bin/env python3
"""nats.py CASE TORVYN NATS_TOOL TMPDIR -- component path args...

The nats-jetstream connector through the torvyn binary, against a real
nats-server with JetStream (tests/brokers/nats.py starts it on loopback and
stops it by its pid). The input is published, and the output stream and the
consumer's state read, by nats_tool (libnats). Between source and sink runs a
real component (hello_shout.wasm: upper-case and '!').

  pipeline     N = 10000 messages IN -> shout -> OUT: each arrives exactly once
               (payload, subject out.<input subject>, Nats-Msg-Id nats:IN:<seq>,
               the input's trace id in traceparent); the consumer has nothing
               pending or awaiting acks, its ack floor is N; the report's
               acked is N
  dedup        the same input run twice (the consumer deleted in between): the
               second run stores nothing new, every publish is a duplicate
  restart      the broker restarted mid-stream: the flow pauses and resumes,
               every message ends up in OUT, the outage is in the counters
  kill         two torvyn processes share the durable; kill -9 of one
               mid-stream: the other takes the rest after ack-wait; every
               message is in OUT, duplicates counted and printed
  bad_records  oversized messages and messages with too many headers are
               terminated and counted (E0904, E0915) under on-error = "skip";
               the good ones all arrive, and a component (attribute_echo)
               reads their attributes
  slow_sink    a slow sink behind a queue of 8: the torvyn process's RSS stays
               flat while 20000 messages of 1 KiB flow
  settings     check: codes and places of bad settings; link: a missing stream
               or consumer (E0902), and a good node listed without consuming
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "brokers"))
from nats import NatsServer  # noqa: E402

CASE, TORVYN, TOOL, TMP = sys.argv[1:5]
LIBS = sys.argv[6:] if len(sys.argv) > 5 and sys.argv[5] == "--" else sys.argv[5:]
shutil.rmtree(TMP, ignore_errors=True)  # a fresh broker store every time
os.makedirs(TMP)


def fail(message):
    sys.exit(f"FAIL: {message}")


def check(cond, message):
    if not cond:
        fail(message)


class Broker:
    """The server and nats_tool pointed at it."""

    def __init__(self, server):
        self.server = server

    def tool(self, *args, timeout=60):
        p = subprocess.run([TOOL, self.server.url, *map(str, args)], capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode != 0:
            fail(f"nats_tool {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
        return p.stdout

    def publish(self, subject, count, size=0, first=0, headers=0):
        return json.loads(self.tool("publish", subject, count, size, first, headers))

    def consumer(self, stream, durable):
        return json.loads(self.tool("consumer", stream, durable))

    def count(self, stream):
        return int(self.tool("count", stream))

    def dump(self, stream):
        return [json.loads(line) for line in self.tool("dump", stream).splitlines()]


def manifest(name, text):
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def source(url, durable="work", extra=""):
    return f"""kind = "nats-jetstream"
role = "source"
url = "{url}"
stream = "IN"
subject = "in.>"
durable = "{durable}"
create = true
{extra}"""


def sink(url, extra=""):
    return f"""kind = "nats-jetstream"
role = "sink"
url = "{url}"
subject = "out.{{nats.subject}}"
stream = "OUT"
create = true
{extra}"""


def flow(src, out, flow_keys='source-batch = 64\nqueue-capacity = 256',
         middle='component = "hello_shout.wasm"\nrole = "processor"'):
    return f"""[flow.f]
{flow_keys}
[flow.f.nodes.src]
{src}
[flow.f.nodes.shout]
{middle}
[flow.f.nodes.out]
{out}
[[flow.f.edges]]
from = "src"
to = "shout"
[[flow.f.edges]]
from = "shout"
to = "out"
"""


def start_run(path, report, *extra):
    return subprocess.Popen([TORVYN, "run", path, *LIBS, "--report", report, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(p, report, timeout=90, rc=0):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        fail(f"torvyn run did not end within {timeout} s:\n{err}")
    if p.returncode != rc:
        fail(f"torvyn run: exit {p.returncode}, expected {rc}\nstdout: {out}\nstderr: {err}")
    with open(report) as f:
        data = json.load(f)
    return data[0], err  # one report per flow


def run_flow(path, name, timeout=90, rc=0):
    report = os.path.join(TMP, name + ".json")
    return finish(start_run(path, report), report, timeout, rc)


def node(report, name):
    for n in report["nodes"]:
        if n["name"] == name:
            return n
    fail(f"no node {name} in the report")


def counters(report, name):
    return node(report, name).get("counters", {})


def expect_output(broker, n, first=0):
    """OUT holds exactly the n shouted inputs, each once, with its id and trace."""
    out = broker.dump("OUT")
    ids = [m["id"] for m in out]
    check(len(out) == n, f"OUT holds {len(out)} messages, expected {n}")
    check(len(set(ids)) == n, f"OUT has {n - len(set(ids))} repeated ids")
    seqs = sorted(int(i.split(":")[2]) for i in ids if i.startswith("nats:IN:"))
    check(seqs == list(range(first + 1, first + n + 1)),
          f"OUT's ids are not nats:IN:1..{n}: {ids[:5]}...")
    for m in out:
        payload = m["payload"]
        check(payload.startswith("MSG ") and payload.endswith("!"),
              f"not a shouted input: {payload[:60]!r}")
        i = int(payload.split()[1])
        check(m["subject"] == "out.in.x", f"subject {m['subject']}")
        trace_id = m["traceparent"].split("-")[1] if m["traceparent"] else ""
        check(trace_id == f"{i + 1:032x}",
              f"message {i}: traceparent {m['traceparent']!r} lost the input's trace id")
    return out


def expect_consumer_done(broker, n, durable="work"):
    c = broker.consumer("IN", durable)
    check(c["num_ack_pending"] == 0 and c["num_pending"] == 0 and c["ack_floor_stream"] == n,
          f"consumer {durable} not done: {c} (expected ack floor {n}, nothing pending)")
    return c


def idle(seconds):
    return f'stop-after-idle = "{seconds}s"'


def case_pipeline(b):
    n = 10000
    b.tool("stream", "IN", "in.>")
    print("published:", b.publish("in.x", n))
    m = manifest("pipeline", flow(source(b.server.url, extra=idle(2)), sink(b.server.url)))
    start = time.monotonic()
    report, err = run_flow(m, "pipeline")
    took = time.monotonic() - start
    expect_output(b, n)
    expect_consumer_done(b, n)
    src, out = node(report, "src"), node(report, "out")
    print(f"{n} messages in {took:.1f} s; src acked {src.get('acked')} counters {src['counters']};"
          f" out counters {out['counters']}")
    check(src.get("acked") == n and src.get("nacked") == 0, f"report: src {src}")
    check(src["counters"]["fetched"] == n and src["counters"]["acked"] == n,
          f"src counters {src['counters']}")
    check(out["counters"]["published"] == n and out["counters"]["duplicates"] == 0,
          f"out counters {out['counters']}")


def case_dedup(b):
    n = 2000
    b.tool("stream", "IN", "in.>")
    b.publish("in.x", n)
    m = manifest("dedup", flow(source(b.server.url, extra=idle(2)), sink(b.server.url)))
    first, _ = run_flow(m, "dedup-1")
    check(counters(first, "out")["published"] == n, f"first run: {counters(first, 'out')}")
    b.tool("delete-consumer", "IN", "work")  # the same input comes again
    second, _ = run_flow(m, "dedup-2")
    out = counters(second, "out")
    print(f"second run: src acked {node(second, 'src').get('acked')}, out {out}")
    check(out["published"] == 0 and out["duplicates"] == n,
          f"the second run stored something new: {out}")
    check(node(second, "src").get("acked") == n, "the second run did not ack every message")
    expect_output(b, n)
    expect_consumer_done(b, n)


def wait_for_count(b, stream, at_least, proc, timeout=40):
    """How many messages `stream` holds once it holds at_least (torvyn still running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"torvyn ended before {stream} held {at_least}: {proc.stderr.read()}")
        have = b.count(stream)
        if have >= at_least:
            return have
        time.sleep(0.05)
    fail(f"{stream} did not reach {at_least} messages within {timeout} s")


def case_restart(b):
    n = 20000
    b.tool("stream", "IN", "in.>")
    b.tool("stream", "OUT", "out.>")
    b.publish("in.x", n)
    # A publish caught by the outage fails its element, which is skipped: its
    # message is nak'ed and comes again (same Nats-Msg-Id: never stored twice).
    retry = 'on-error = "skip"\npublish-timeout = "3s"'
    # Acks sent into the dying connection are lost: those messages come again
    # after ack-wait, while the flow still runs, and their copies are dropped.
    extra = 'ack-wait = "2s"\n' + idle(4)
    m = manifest("restart", flow(source(b.server.url, extra=extra), sink(b.server.url, retry),
                                 flow_keys="source-batch = 16\nqueue-capacity = 64"))
    report_path = os.path.join(TMP, "restart.json")
    p = start_run(m, report_path)
    at = wait_for_count(b, "OUT", n // 5, p)
    check(at < n, "the flow ended before the restart")
    stopped = time.monotonic()
    b.server.restart()
    print(f"broker restarted in {time.monotonic() - stopped:.1f} s with OUT at {at} of {n}")
    report, err = finish(p, report_path)
    expect_output(b, n)
    expect_consumer_done(b, n)
    src, out = counters(report, "src"), counters(report, "out")
    print(f"after the restart: src {src}; out {out}; acked {node(report, 'src').get('acked')}")
    print(f"duplicates seen by the sink: {out['duplicates']}, redelivered to the source:"
          f" {src['redelivered']}")
    check(src["reconnects"] >= 1 and src["disconnected-ms"] > 0,
          f"the source's counters do not show the outage: {src}")
    check(out["reconnects"] >= 1 and out["disconnected-ms"] > 0,
          f"the sink's counters do not show the outage: {out}")


def case_kill(b):
    n = 10000
    b.tool("stream", "IN", "in.>")
    b.tool("stream", "OUT", "out.>")
    b.publish("in.x", n)
    extra = 'ack-wait = "2s"\n' + idle(5) + "\nmax-rate = 2000"
    m = manifest("kill", flow(source(b.server.url, extra=extra), sink(b.server.url),
                              flow_keys="queue-capacity = 64"))
    reports = [os.path.join(TMP, f"kill-{i}.json") for i in (1, 2)]
    victim = start_run(m, reports[0])
    survivor = start_run(m, reports[1])
    at = wait_for_count(b, "OUT", n // 5, victim)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    print(f"killed one torvyn (pid {victim.pid}) with OUT at {at} of {n}")
    report, _ = finish(survivor, reports[1], timeout=100)
    expect_output(b, n)
    expect_consumer_done(b, n)
    src, out = counters(report, "src"), counters(report, "out")
    print(f"survivor: acked {node(report, 'src').get('acked')}, src {src}, out {out}")
    print(f"duplicates: {out['duplicates']} publishes the stream dropped as duplicates;"
          f" {src['redelivered']} messages redelivered to the survivor")
    check(src["redelivered"] > 0, "the survivor took none of the killed process's messages")


def case_bad_records(b):
    b.tool("stream", "IN", "in.>")
    b.publish("in.x", 50, 0, 0)
    b.publish("in.x", 3, 2000, 50)       # oversized: more than max-message-bytes
    b.publish("in.x", 2, 0, 53, 70)      # 70 headers: more than an element carries
    b.publish("in.x", 50, 0, 55)
    extra = idle(2) + '\nmax-message-bytes = "1KiB"\non-error = "skip"'
    # attribute_echo writes what a component reads of each element's attributes.
    echo = 'component = "attribute_echo.wasm"\nrole = "processor"'
    m = manifest("bad", flow(source(b.server.url, extra=extra), sink(b.server.url), middle=echo))
    report, err = run_flow(m, "bad")
    src = node(report, "src")
    by_code = src["errors_by_code"]
    print(f"src counters {src['counters']}, errors {by_code}, skipped {src['skipped']}")
    check(src["counters"]["oversized"] == 3 and src["counters"]["bad-headers"] == 2,
          f"counters {src['counters']}")
    check(by_code.get("E0904") == 3 and by_code.get("E0915") == 2, f"errors by code {by_code}")
    out = b.dump("OUT")
    check(len(out) == 100, f"OUT holds {len(out)}, expected the 100 good messages")
    check(all(len(m["payload"]) < 1000 for m in out), "an oversized message got through")
    first = min(out, key=lambda m: m["seq"])["payload"]
    for want in ["nats.subject=in.x ", "nats.stream=IN ", "nats.stream-seq=1 ",
                 "nats.consumer-seq=1 ", "nats.delivered=1 ",
                 f"nats.header.traceparent=00-{1:032x}-{1:016x}-01 ", "| msg 0 t="]:
        check(want in first, f"a component does not read {want!r}: {first!r}")
    expect_consumer_done(b, 105)
    # A sink's subject takes attribute values from other systems (here a
    # file name with a space): a value that is not one subject token is a
    # bad record (E0915), never published.
    spaced = os.path.join(TMP, "in put.txt")
    with open(spaced, "w") as f:
        f.write("a\nb\nc\n")
    m = manifest("spaced", f"""[flow.f]
[flow.f.nodes.src]
kind = "file"
role = "source"
path = "{spaced}"
[flow.f.nodes.out]
kind = "nats-jetstream"
role = "sink"
url = "{b.server.url}"
subject = "in.{{file.path}}"
on-error = "skip"
[[flow.f.edges]]
from = "src"
to = "out"
""")
    report, err = run_flow(m, "spaced")
    out = node(report, "out")
    check(out["errors_by_code"].get("E0915") == 3 and out["skipped"] == 3,
          f"the spaced subject values: {out['errors_by_code']}, skipped {out['skipped']}")
    check("cannot be part of subject" in err and "in put.txt" in err,
          f"the error does not say why: {err[-500:]}")
    check(len(b.dump("IN")) == 105, "a message with a bad subject reached the stream")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def case_slow_sink(b):
    n = 20000
    b.tool("stream", "IN", "in.>")
    b.publish("in.x", n, 1024)
    src = source(b.server.url, extra=f"max-messages = {n}\nfetch = 64")
    middle = 'component = "slow_sink.wasm"\nrole = "sink"\nconfig = "work=300"\n' \
             'capabilities = ["stdout"]'
    # Batches of 8 fill the queue: the source is paused (notify) and resumed.
    text = f"""[flow.f]
queue-capacity = 8
source-batch = 8
[flow.f.nodes.src]
{src}
[flow.f.nodes.slow]
{middle}
[[flow.f.edges]]
from = "src"
to = "slow"
"""
    m = manifest("slow", text)
    report_path = os.path.join(TMP, "slow.json")
    p = start_run(m, report_path)
    samples = []
    start = time.monotonic()
    while p.poll() is None:
        try:
            samples.append((time.monotonic() - start, rss_kib(p.pid)))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.1)
    report, _ = finish(p, report_path)
    took = time.monotonic() - start
    warm = [kib for t, kib in samples if t >= 1.0]
    check(len(warm) >= 10, f"the run was too short to watch ({took:.1f} s, {len(samples)} samples)")
    low, high = min(warm), max(warm)
    print(f"{n} x 1 KiB through a slow sink in {took:.1f} s; RSS after the first second:"
          f" {low} .. {high} KiB over {len(warm)} samples")
    check(node(report, "slow")["in"] == n, f"the sink took {node(report, 'slow')['in']} of {n}")
    queue = report["queues"][0]
    check(queue["peak"] <= 8 and queue["pressure_episodes"] > 0,
          f"the queue was never pressured, or overflowed: {queue}")
    check(high - low < 16 * 1024,
          f"RSS grew by {high - low} KiB while {n} KiB of messages flowed: unbounded buffering?")
    fetched = counters(report, "src")["fetched"]
    check(fetched <= n + 64, f"fetched {fetched}: more than the messages plus one fetch window")


def case_settings(b):
    bad = manifest("bad_settings", f"""[flow.f]
[flow.f.nodes.src]
kind = "nats-jetstream"
role = "source"
url = "http://x"
stream = "A.B"
durable = "d"
fetch = 0
folow = true
[flow.f.nodes.out]
kind = "nats-jetstream"
role = "sink"
subject = "out.{{x"
create = true
[[flow.f.edges]]
from = "src"
to = "out"
""")
    p = subprocess.run([TORVYN, "check", bad], capture_output=True, text=True, timeout=60)
    check(p.returncode == 2, f"check: exit {p.returncode}: {p.stderr}")
    for want in [f"error[E0900] {bad}:5:7: 'url' of node 'src'",
                 f"error[E0900] {bad}:6:10: 'stream' of node 'src' (kind = \"nats-jetstream\")"
                 " cannot hold '.'",
                 f"error[E0900] {bad}:8:9: 'fetch' of node 'src'",
                 f"error[E0900] {bad}:9:9: unknown setting 'folow'",
                 f"error[E0900] {bad}:13:11: 'subject' of node 'out'",
                 f"error[E0900] {bad}:14:10: create = true on node 'out'"]:
        check(want in p.stderr, f"check does not say {want!r}:\n{p.stderr}")
    url = b.server.url
    missing = manifest("missing", flow(source(url).replace("create = true", "create = false"),
                                       sink(url).replace("create = true", "create = false")))
    p = subprocess.run([TORVYN, "link", missing, *LIBS], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 2, f"link: exit {p.returncode}: {p.stdout}{p.stderr}")
    for want in [f"error[E0902] {missing}:4:1: node 'src': JetStream has no stream 'IN'",
                 f"error[E0902] {missing}:16:1: node 'out': JetStream has no stream 'OUT'"]:
        check(want in p.stderr, f"link does not say {want!r}:\n{p.stderr}")
    b.tool("stream", "IN", "in.>")
    b.tool("stream", "OUT", "out.>")
    b.publish("in.x", 10)
    p = subprocess.run([TORVYN, "link", missing, *LIBS], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 2 and "stream 'IN' has no consumer 'work'" in p.stderr,
          f"link with no consumer: {p.stderr}")
    good = manifest("good", flow(source(url), sink(url)))
    p = subprocess.run([TORVYN, "link", good, *LIBS], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"link: exit {p.returncode}: {p.stderr}")
    for want in [f"reads stream 'IN' at {url} (10 messages; consumer 'work' will be created)",
                 f"publishes to 'out.{{nats.subject}}' at {url} into stream 'OUT' (0 messages)"]:
        check(want in p.stdout, f"link's output lacks {want!r}:\n{p.stdout}")
    # The consumer made by a run, then link again: it reads its state and takes nothing.
    report, _ = run_flow(manifest("one", flow(source(url, extra="max-messages = 4"),
                                              sink(url))), "one")
    before = b.consumer("IN", "work")
    p = subprocess.run([TORVYN, "link", good, *LIBS], capture_output=True, text=True, timeout=60)
    check("through consumer 'work' (6 pending, 0 awaiting acks)" in p.stdout,
          f"link's consumer line: {p.stdout}")
    after = b.consumer("IN", "work")
    check(before == after, f"link changed the consumer: {before} -> {after}")


CASES = {
    "pipeline": case_pipeline,
    "dedup": case_dedup,
    "restart": case_restart,
    "kill": case_kill,
    "bad_records": case_bad_records,
    "slow_sink": case_slow_sink,
    "settings": case_settings,
}

if __name__ == "__main__":
    if CASE not in CASES:
        sys.exit(f"unknown case {CASE}; cases: {', '.join(CASES)}")
    with NatsServer(os.path.join(TMP, "broker"), lifetime=200) as server:
        try:
            CASES[CASE](Broker(server))
        except BaseException:
            print(f"nats-server log ({server.log}):\n" + open(server.log).read()[-3000:])
            raise
    print(f"{CASE}: ok")
