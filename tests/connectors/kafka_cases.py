#!/usr/bin/env python3
"""kafka_cases.py CASE TORVYN KAFKA_TOOL TMPDIR -- component path args...

The Kafka connector through the torvyn binary against a real Kafka 4.x
broker (tests/brokers/kafka.py; one broker per case), with a real component
(hello_shout.wasm) between a Kafka source and a Kafka sink:

  flow       10000 records over 3 partitions -> shout -> an output topic: each
             record there once with its key and trace id, the group's committed
             offsets at the end offsets, the source's acked == 10000; a second run of the group
             consumes nothing; link probes the topics (and a missing one);
             bad records (oversized, a header name that is not valid, too many
             headers) under on-error = "skip" are counted, the rest flows (its
             kafka.* attributes read by attribute_echo.wasm); a
             sink the broker refuses fails its elements (E0911), the source
             reads them again and commits nothing
  restart    the broker restarted mid-stream: the flow pauses and resumes,
             every record delivered at least once (duplicates printed), the
             outage in broker-down-ms
  kill       two `torvyn run` in one group, kill -9 of one mid-stream: the
             other takes its partitions after the session timeout, every
             record delivered at least once (duplicates printed)
  slow-sink  a slow component sink (slow_sink.wasm) behind queues of 16: the
             process's RSS stays flat while 15000 records of 1 KiB flow
  offline    no broker: check's setting errors with codes and places, link's
             bounded E0902 for an unreachable broker
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_flow import (FAST_GROUP, SHOUT, KafkaBroker, Run, Tool, check, counters,  # noqa: E402
                        delivered_once, fail, kafka_sink, kafka_source, manifest, node, wait_for)

CASE, TORVYN, TOOL, TMP = sys.argv[1:5]
LIBS = sys.argv[6:] if len(sys.argv) > 5 and sys.argv[5] == "--" else sys.argv[5:]
shutil.rmtree(TMP, ignore_errors=True)  # a broker's storage from an earlier run
os.makedirs(TMP)
N = 10000


def torvyn(*args, rc=0, timeout=60):
    p = subprocess.run([TORVYN, *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != rc:
        fail(f"torvyn {' '.join(args)}: exit {p.returncode}, expected {rc}\n{p.stdout}\n{p.stderr}")
    return p.stdout + p.stderr


def pipeline(broker, name, topic_in, topic_out, group, source_extra="", sink_extra="",
             flow_keys="", middle=SHOUT):
    return manifest(os.path.join(TMP, f"{name}.toml"), name,
                    kafka_source(broker, topic_in, group, source_extra), middle,
                    kafka_sink(broker, topic_out, sink_extra), flow_keys)


def all_delivered(tool, topic_out, n, what):
    missing, duplicates = delivered_once(tool.values(topic_out), n)
    check(not missing, f"{what}: {len(missing)} records never reached the output, e.g. "
          f"{missing[:5]}")
    print(f"{what}: all {n} records delivered at least once; duplicates: {duplicates}")
    return duplicates


def committed_to_end(tool, group, topic):
    offsets = tool.offsets(group, topic)
    check(all(p["committed"] == p["end"] for p in offsets),
          f"group {group}: committed offsets {offsets} are not the end offsets")


# --- cases -------------------------------------------------------------------

def case_flow():
    with KafkaBroker(os.path.join(TMP, "broker")) as broker:
        tool = Tool(TOOL, broker)
        tool.create("in", 3)
        tool.create("out", 3)
        tool.produce("in", N)
        m = pipeline(broker, "flow", "in", "out", "g1", flow_keys="source-batch = 64\n")

        out = torvyn("link", m, *LIBS)
        check("consumes in (3 partitions)" in out and "produces to out (3 partitions)" in out,
              f"link does not show the topics:\n{out}")
        missing = pipeline(broker, "missing", "nope", "out", "g1")
        out = torvyn("link", missing, *LIBS, rc=2)
        check("E0902" in out and "topic 'nope'" in out, f"link of a missing topic:\n{out}")

        # (a) every record through shout into the output topic, committed.
        run = Run(TORVYN, m, LIBS, TMP, "flow-1")
        wait_for(lambda: tool.lag("g1", "in") == 0, 90, "g1 to commit every record", [run])
        report = run.stop()
        src = node(report, "src")
        c = counters(report, "src")
        check(src.get("acked") == N, f"source acked {src.get('acked')}, expected {N}")
        check(c.get("consumed") == N and c.get("redelivered") == 0, f"source counters {c}")
        check(counters(report, "out").get("produced") == N, f"sink counters {counters(report, 'out')}")
        committed_to_end(tool, "g1", "in")
        values = tool.values("out")
        check(len(values) == N, f"the output topic holds {len(values)} records, expected {N}")
        missing_ids, _ = delivered_once(values, N)
        check(not missing_ids, f"records missing from the output: {missing_ids[:5]}")
        # The key (the kafka.key attribute) and the trace (the traceparent
        # header's trace id) travel from each input record to its output.
        for line in tool("records", "out").splitlines():
            key, value, traceparent = line.split(" ")
            i = int(value[1:-1])
            check(key == f"k{i}", f"output {value} has key {key}, expected k{i}")
            check(traceparent.split("-")[1] == f"{i + 1:032x}",
                  f"output {value} has traceparent {traceparent}, not the input's trace")
        print(f"(a) {N} records: committed = end, acked {src['acked']}, output holds each once")

        # (b) the same group again: nothing new.
        run = Run(TORVYN, m, LIBS, TMP, "flow-2")
        time.sleep(8)
        report = run.stop()
        c = counters(report, "src")
        check(c.get("rebalances", 0) >= 1, f"the second run never joined the group: {c}")
        check(c.get("consumed") == 0 and report["elements"]["emitted"] == 0,
              f"the second run consumed again: {c}")
        check(len(tool.values("out")) == N, "the second run wrote to the output topic")
        print("(b) a second run of the group consumed nothing")

        # (e) bad records handled by on-error = "skip", counted; the rest flows.
        tool.create("bad", 1)
        tool.create("bad-out", 1)
        tool.produce("bad", 2)
        tool("produce-bad", "bad", 8192)
        # attribute_echo writes each element's attributes before its payload.
        echo = 'component = "attribute_echo.wasm"\nrole = "processor"\n'
        m = pipeline(broker, "bad", "bad", "bad-out", "g-bad",
                     source_extra='max-message-bytes = "4KiB"\non-error = "skip"\n', middle=echo)
        run = Run(TORVYN, m, LIBS, TMP, "bad")
        wait_for(lambda: tool.lag("g-bad", "bad") == 0, 60, "g-bad to commit past the bad records",
                 [run])
        report = run.stop()
        src, c = node(report, "src"), counters(report, "src")
        codes = src["errors_by_code"]
        check(c.get("oversized") == 1 and c.get("bad-records") == 2, f"source counters {c}")
        check(codes.get("E0904") == 1 and codes.get("E0910") == 2, f"errors by code {codes}")
        check(src.get("acked") == 2, f"acked {src.get('acked')}, expected the 2 good records")
        echoed = sorted(tool.values("bad-out"))
        check(len(echoed) == 2, f"bad-out holds {echoed}")
        for i, line in enumerate(echoed):
            attributes, payload = line.split(" | ")
            check(payload == f"r{i}" and attributes.startswith(
                f"kafka.topic=bad kafka.partition=0 kafka.offset={i} kafka.key=k{i} "
                "kafka.timestamp=") and
                f"kafka.header.traceparent=00-{i + 1:032x}-{i + 1:016x}-01" in attributes,
                f"the attributes a component reads: {line}")
        print(f"(e) bad records: {codes}, counters {c}")

        # A sink the broker refuses (no such topic): its elements fail (E0911)
        # under on-error = "skip", their records are not delivered, so the
        # source seeks back and reads them again; nothing is committed.
        m = pipeline(broker, "nack", "bad", "nowhere", "g-nack",
                     source_extra='max-message-bytes = "4KiB"\non-error = "skip"\n',
                     sink_extra='on-error = "skip"\nproperties = { "message.timeout.ms" = 1000 }\n')
        run = Run(TORVYN, m, LIBS, TMP, "nack")
        time.sleep(8)
        report = run.stop()
        src, c, sink = node(report, "src"), counters(report, "src"), counters(report, "out")
        check(sink.get("delivery-errors", 0) >= 2 and sink.get("produced") == 0, f"sink {sink}")
        check(node(report, "out")["errors_by_code"].get("E0911", 0) >= 2, f"{node(report, 'out')}")
        check(src.get("acked") == 0 and src.get("nacked", 0) >= 2, f"acked/nacked {src}")
        check(c.get("redelivered", 0) >= 1, f"nothing was read again after a failure: {c}")
        offsets = tool.offsets("g-nack", "bad")
        check(all(p["committed"] <= 0 for p in offsets),
              f"g-nack committed past a failed record: {offsets}")
        print(f"(e) a refusing sink: nacked {src['nacked']}, source {c}, sink {sink}, nothing "
              "committed")


def case_restart():
    with KafkaBroker(os.path.join(TMP, "broker")) as broker:
        tool = Tool(TOOL, broker)
        tool.create("in", 3)
        tool.create("out", 3)
        tool.produce("in", N)
        m = pipeline(broker, "restart", "in", "out", "g", source_extra="max-rate = 800\n")
        run = Run(TORVYN, m, LIBS, TMP, "restart")
        wait_for(lambda: tool.lag("g", "in") < N * 3 // 4, 60, "a quarter committed", [run])
        before = N - tool.lag("g", "in")
        t0 = time.monotonic()
        broker.restart()
        print(f"broker restarted after {before} commits, down {time.monotonic() - t0:.1f} s")
        wait_for(lambda: tool.lag("g", "in") == 0, 90, "every record committed after the restart",
                 [run])
        report = run.stop()
        c, sink = counters(report, "src"), counters(report, "out")
        duplicates = all_delivered(tool, "out", N, "(c) broker restart")
        check(c.get("broker-down-ms", 0) > 0, f"the outage is not in the counters: {c}")
        check(node(report, "src").get("acked", 0) >= N, f"acked {node(report, 'src').get('acked')}")
        print(f"(c) source {c}; sink {sink}; duplicates {duplicates}")


def case_kill():
    with KafkaBroker(os.path.join(TMP, "broker")) as broker:
        tool = Tool(TOOL, broker)
        tool.create("in", 3)
        tool.create("out", 3)
        tool.produce("in", N)
        m = pipeline(broker, "kill", "in", "out", "g", source_extra=FAST_GROUP + "max-rate = 400\n")
        a = Run(TORVYN, m, LIBS, TMP, "kill-a")
        b = Run(TORVYN, m, LIBS, TMP, "kill-b")
        wait_for(lambda: tool.lag("g", "in") < N * 3 // 4, 60, "a quarter committed", [a, b])
        b.kill()
        print(f"killed one process (kill -9) at lag {tool.lag('g', 'in')}")
        wait_for(lambda: tool.lag("g", "in") == 0, 100, "the survivor to commit everything", [a])
        report = a.stop()
        c = counters(report, "src")
        duplicates = all_delivered(tool, "out", N, "(d) kill -9 of one of two processes")
        check(c.get("rebalances", 0) >= 2, f"the survivor never took the partitions over: {c}")
        print(f"(d) survivor {c}; duplicates {duplicates}")


def case_transactions():
    """Effectively once: kill -9 mid-stream, run again with the same
    transactional.id and group; a read_committed consumer sees each record
    exactly once, and the group's offsets are at the end."""
    n = 6000
    with KafkaBroker(os.path.join(TMP, "broker")) as broker:
        tool = Tool(TOOL, broker)
        tool.create("in", 3)
        tool.create("out", 3)
        tool.produce("in", n)
        # TORVYN_KAFKA_TXN_OFF=1: the same flow at least once (no transactions),
        # to see this case fail on the duplicates the kill leaves.
        off = os.environ.get("TORVYN_KAFKA_TXN_OFF") == "1"
        m = pipeline(broker, "txn", "in", "out", "g",
                     source_extra=FAST_GROUP + ("" if off else 'commit = "transaction"\n')
                     + "max-rate = 1500\n",
                     sink_extra="" if off else 'transactional-id = "torvyn-txn-test"\n',
                     flow_keys="source-batch = 32\n")
        a = Run(TORVYN, m, LIBS, TMP, "txn-a")
        wait_for(lambda: tool.lag("g", "in") < n * 3 // 4, 60, "a quarter committed", [a])
        a.kill()
        lag = tool.lag("g", "in")
        print(f"killed the process (kill -9) at lag {lag}")
        check(lag > 0, "everything was committed before the kill")
        b = Run(TORVYN, m, LIBS, TMP, "txn-b")
        wait_for(lambda: tool.lag("g", "in") == 0, 100, "the second run to commit everything", [b])
        report = b.stop()
        sink = counters(report, "out")
        check(report.get("ok") and not report.get("node_errors") and not report.get("failures"),
              f"the second run's report: {report.get('node_errors')} {report.get('failures')}")
        check(off or sink.get("transactions", 0) > 0, f"no transaction committed: {sink}")
        committed = tool("visible", "out", "read_committed").splitlines()
        uncommitted = tool("visible", "out", "read_uncommitted").splitlines()
        missing, duplicates = delivered_once(committed, n)
        check(not missing, f"read_committed: {len(missing)} records missing, e.g. {missing[:5]}")
        check(duplicates == 0 and len(committed) == n,
              f"read_committed: {duplicates} duplicates ({len(committed)} records for {n})")
        _, seen_twice = delivered_once(uncommitted, n)
        offsets = tool.offsets("g", "in")
        check(all(p["committed"] == p["end"] for p in offsets),
              f"group g: committed offsets {offsets} are not the end offsets")
        print(f"(t) read_committed: {len(committed)} records, duplicates 0; read_uncommitted: "
              f"{len(uncommitted)} records, duplicates {seen_twice} (aborted, invisible); "
              f"sink {sink}")


def case_slow_sink():
    with KafkaBroker(os.path.join(TMP, "broker")) as broker:
        tool = Tool(TOOL, broker)
        total = 15000
        tool.create("in", 3)
        tool.produce("in", total, 1024)
        # A component sink hashing each 1 KiB payload `work` times: far
        # slower than the source, behind queues of 16.
        slow = 'component = "slow_sink.wasm"\nrole = "sink"\nconfig = "work=600"\n' \
               'capabilities = ["stdout"]\n'
        m = manifest(os.path.join(TMP, "slow.toml"), "slow", kafka_source(broker, "in", "g"), None,
                     slow, "queue-capacity = 16\n")
        run = Run(TORVYN, m, LIBS, TMP, "slow")
        samples = []  # (records committed, RSS KiB)
        deadline = time.monotonic() + 150
        while tool.lag("g", "in") > 0:
            check(time.monotonic() < deadline and run.alive(), f"slow sink:\n{run.output()}")
            samples.append((total - tool.lag("g", "in"), run.rss_kib()))
            time.sleep(0.5)
        report = run.stop()
        half = len(samples) // 2
        first = max(r for _, r in samples[:half])
        second = max(r for _, r in samples[half:])
        print(f"(f) (committed, RSS KiB) over the run: {samples[::max(1, len(samples) // 12)]}")
        print(f"(f) peak RSS first half {first} KiB, second half {second} KiB")
        check(len(samples) >= 10, f"the run was too short to sample: {samples}")
        check(second <= first + 8 * 1024, f"RSS grew by {second - first} KiB in the second half")
        check(node(report, "out")["in"] == total, f"the sink took {node(report, 'out')['in']}")
        check(counters(report, "src").get("consumed") == total, f"{counters(report, 'src')}")


def case_offline():
    from kafka_flow import free_port
    port = free_port()
    broker = type("Dead", (), {"bootstrap": f"127.0.0.1:{port}"})()
    good = pipeline(broker, "offline", "in", "out", "g")
    t0 = time.monotonic()
    out = torvyn("link", good, *LIBS, rc=2)
    took = time.monotonic() - t0
    check("E0902" in out and f"127.0.0.1:{port}" in out, f"link with no broker:\n{out}")
    check(took < 15, f"link took {took:.1f} s without a broker")
    print(f"link without a broker: E0902 in {took:.1f} s")

    bad = pipeline(broker, "bad", "in", "out", "",
                   source_extra='start = "middle"\nkey = "x"\n'
                                'properties = { "enable.auto.commit" = true, "fetch.wait.max.ms" = "soon",'
                                ' "no.such.property" = 1 }\n',
                   sink_extra='group = "g"\ntopic2 = "x"\n')
    out = json.loads(torvyn("check", bad, "--json", rc=2))
    errors = [(e["code"], e.get("where", ""), e["message"]) for e in out["errors"]]
    codes = sorted(code for code, _, _ in errors)
    expected = sorted(["E0900"] * 6 + ["E0912"] * 2)
    check(codes == expected, f"check's codes {codes}, expected {expected}:\n{errors}")
    check(all(":" in where for _, where, _ in errors), f"errors without places: {errors}")
    print(f"check: {len(errors)} errors with places")


CASES = {"flow": case_flow, "restart": case_restart, "kill": case_kill,
         "slow-sink": case_slow_sink, "offline": case_offline, "transactions": case_transactions}
if CASE not in CASES:
    fail(f"unknown case {CASE}; cases: {', '.join(CASES)}")
CASES[CASE]()
print(f"ok: kafka {CASE}")
