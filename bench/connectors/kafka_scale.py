#!/usr/bin/env python3
"""kafka_scale.py BUILD_DIR [RECORDS] -- scale-out of the Kafka connector, measured.

One real Kafka 4.x broker (tests/brokers/kafka.py), a 6-partition topic, and
1, 2 and 3 `torvyn run` processes in one consumer group running
kafka source -> hello_shout -> kafka sink:

  drain    once the group is stable (every process has its partitions),
           RECORDS (default 100000) records of 100 B produced flat out
           (librdkafka, ~0.3 s of it): the time from the first produce to
           the group's last commit (every record committed), total and
           per-process records/s (each process's share of the records by
           its `consumed` counter)
  latency  then 2000 records a second for 10 s into the same topic while the
           processes run: per record, the output record's timestamp minus the
           input record's (both set by the producers on this machine), p50/p99

and, in the same run, the broker's own tools on the same broker (from
org.apache.kafka:kafka-tools, fetched by `TORVYN_KAFKA_ARTIFACT=kafka-tools
scripts/kafka.sh`): ProducerPerformance and ConsumerPerformance on RECORDS
records of 100 B, and librdkafka's idempotent producer (kafka_tool produce).

Not a ctest: `make bench-kafka`. Prints a report (and writes it as JSON to
BUILD_DIR/kafka-scale.json). The machine has 2 cores shared by the broker, the
processes and the producers: the numbers say what one machine shows, not what
N machines would.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "connectors"))
from kafka_flow import (SHOUT, KafkaBroker, Run, Tool, counters, kafka_sink,  # noqa: E402
                        kafka_source, manifest, wait_for)

BUILD = os.path.abspath(sys.argv[1])
RECORDS = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
TORVYN = os.path.join(BUILD, "bin", "torvyn")
TOOL = os.path.join(BUILD, "tests", "connectors", "torvyn_kafka_tool")
LIBS = ["-L", os.path.join(BUILD, "components")]
PARTITIONS = 6
LIVE_RATE, LIVE_SECONDS = 2000, 10


def tools_classpath():
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "kafka.sh")], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "TORVYN_KAFKA_ARTIFACT": "kafka-tools"}).stdout
    return os.path.join(out.strip(), "*")


def java_tool(main, *args):
    t0 = time.monotonic()
    p = subprocess.run(["java", "-Xmx512m", "-cp", tools_classpath(),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", main, *args],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"{main} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout, time.monotonic() - t0


def kafka_own_tools(broker, tool):
    tool.create("perf", PARTITIONS)
    out, _ = java_tool("org.apache.kafka.tools.ProducerPerformance", "--topic", "perf",
                       "--num-records", str(RECORDS), "--record-size", "100", "--throughput", "-1",
                       "--producer-props", f"bootstrap.servers={broker.bootstrap}", "acks=all")
    producer = out.strip().splitlines()[-1]
    out, _ = java_tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server",
                       broker.bootstrap, "--topic", "perf", "--messages", str(RECORDS),
                       "--group", "perf-consumer")
    consumer = out.strip().splitlines()
    tool.create("perf-rd", PARTITIONS)
    librdkafka = tool.produce("perf-rd", RECORDS, 100)
    return {"ProducerPerformance": producer, "ConsumerPerformance": consumer,
            "librdkafka idempotent producer (kafka_tool)": librdkafka}


def scale(broker, tool, tmp, processes):
    topic_in, topic_out, group = f"in-{processes}", f"out-{processes}", f"g-{processes}"
    tool.create(topic_in, PARTITIONS)
    tool.create(topic_out, PARTITIONS)
    # The sink waits for the broker's acks once per batch: batches of up to
    # 512 (the node's `batch`; 16 by default) make that wait rarer.
    m = manifest(os.path.join(tmp, f"scale-{processes}.toml"), "scale",
                 kafka_source(broker, topic_in, group), SHOUT + "batch = 512\n",
                 kafka_sink(broker, topic_out, "batch = 512\n"),
                 "source-batch = 256\nqueue-capacity = 1024\n")
    runs = [Run(TORVYN, m, LIBS, tmp, f"scale-{processes}-{i}") for i in range(processes)]
    # Every process has its partitions before the backlog arrives: a drain
    # that started with the first member would give it most of the records.
    started = time.monotonic()
    wait_for(lambda: tool.group(group) == {"state": "Stable", "members": processes}, 120,
             f"the group to be stable with {processes} member(s)", runs)
    first = time.monotonic()
    tool.produce(topic_in, RECORDS, 100)
    wait_for(lambda: tool.lag(group, topic_in) == 0, 900, "every record committed", runs)
    window = time.monotonic() - first
    # Live records at a steady rate: latency with the processes caught up.
    tool.produce(topic_in, LIVE_RATE * LIVE_SECONDS, 100, LIVE_RATE, "live-")
    wait_for(lambda: tool.lag(group, topic_in) == 0, 120, "the live records committed", runs)
    reports = [r.stop() for r in runs]
    latency = json.loads(tool("latency", topic_in, topic_out, "live-"))
    consumed = [counters(r, "src").get("consumed", 0) for r in reports]
    # Each process's share of the drain: its share of everything it consumed
    # (the live records are spread over the partitions like the others).
    total = RECORDS / window
    return {"processes": processes, "records": RECORDS,
            "join_s": round(first - started, 2), "drain_s": round(window, 2),
            "total_per_s": round(total),
            "per_process_per_s": [round(total * c / max(1, sum(consumed))) for c in consumed],
            "consumed": consumed, "latency_ms": latency}


def main():
    for path in (TORVYN, TOOL):
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is missing: build first (make build)")
    results = {"records": RECORDS, "partitions": PARTITIONS, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="kafka-scale-") as tmp:
        with KafkaBroker(os.path.join(tmp, "broker"), lifetime=3600, heap="1g") as broker:
            tool = Tool(TOOL, broker)
            results["kafka_tools"] = kafka_own_tools(broker, tool)
            results["torvyn"] = [scale(broker, tool, tmp, k) for k in (1, 2, 3)]
    print(f"Kafka scale-out: {RECORDS} records of 100 B, {PARTITIONS} partitions, "
          f"{results['cores']} cores (broker, processes and producers share them)")
    for name, value in results["kafka_tools"].items():
        print(f"  {name}: {value}")
    print("  torvyn run processes in one group (kafka -> hello_shout -> kafka):")
    for r in results["torvyn"]:
        lat = r["latency_ms"]
        print(f"    {r['processes']} process(es): {r['total_per_s']} records/s in total "
              f"(drain {r['drain_s']} s; the group was stable after {r['join_s']} s), per process "
              f"{r['per_process_per_s']}; live {LIVE_RATE}/s: p50 {lat['p50_ms']} ms, "
              f"p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms ({lat['records']} records)")
    out = os.path.join(BUILD, "kafka-scale.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"  (JSON: {out})")


if __name__ == "__main__":
    main()
