"""What the Kafka connector tests and bench/connectors/kafka_scale.py share:
a real broker (tests/brokers/kafka.py), `torvyn run` processes on manifests
with Kafka nodes, and the broker-side checks through kafka_tool (topics,
records, the group's committed and end offsets). Standard library only."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "brokers"))
from common import free_port  # noqa: E402,F401
from kafka import KafkaBroker  # noqa: E402,F401


def fail(message):
    sys.exit(f"FAIL: {message}")


def check(cond, message):
    if not cond:
        fail(message)


class Tool:
    """kafka_tool against one broker."""

    def __init__(self, path, broker):
        self.path, self.broker = path, broker

    def __call__(self, *args, timeout=120):
        p = subprocess.run([self.path, self.broker.bootstrap, *map(str, args)],
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            fail(f"kafka_tool {' '.join(map(str, args))}: {p.returncode}\n{p.stderr}")
        return p.stdout

    def create(self, topic, partitions):
        self("create", topic, partitions)

    def produce(self, topic, n, size=0, rate=0, prefix="k"):
        return json.loads(self("produce", topic, n, size, rate, prefix))

    def offsets(self, group, topic):
        return json.loads(self("offsets", group, topic))

    def values(self, topic):
        return self("values", topic).splitlines()

    def group(self, group):
        """The consumer group's state ("Stable", "PreparingRebalance", ...) and member count."""
        return json.loads(self("group", group))

    def lag(self, group, topic):
        """Records of topic not yet committed by group (end - committed)."""
        return sum(p["end"] - max(p["committed"], 0) for p in self.offsets(group, topic))


def manifest(path, name, source, middle, sink, flow_keys=""):
    """A flow src -> [middle processor] -> out, written to path."""
    nodes = [("src", source)] + ([("mid", middle)] if middle else []) + [("out", sink)]
    text = f"[flow.{name}]\n{flow_keys}\n"
    for node, body in nodes:
        text += f"[flow.{name}.nodes.{node}]\n{body}\n"
    for (a, _), (b, _) in zip(nodes, nodes[1:]):
        text += f"[[flow.{name}.edges]]\nfrom = \"{a}\"\nto = \"{b}\"\n"
    with open(path, "w") as f:
        f.write(text)
    return path


def kafka_source(broker, topic, group, extra=""):
    return (f'kind = "kafka"\nrole = "source"\nbootstrap = "{broker.bootstrap}"\n'
            f'topic = "{topic}"\ngroup = "{group}"\n{extra}')


def kafka_sink(broker, topic, extra=""):
    return f'kind = "kafka"\nrole = "sink"\nbootstrap = "{broker.bootstrap}"\ntopic = "{topic}"\n{extra}'


SHOUT = 'component = "hello_shout.wasm"\nrole = "processor"\n'
# Consumer-group timing for the failure tests: a dead member is noticed
# after 6 s (the broker's group.min.session.timeout.ms).
FAST_GROUP = 'properties = { "session.timeout.ms" = 6000, "heartbeat.interval.ms" = 1000 }\n'


class Run:
    """One `torvyn run` of a manifest in the background, with its report."""

    def __init__(self, torvyn, manifest_path, libs, tmp, name):
        self.report_path = os.path.join(tmp, f"{name}.report.json")
        self.log_path = os.path.join(tmp, f"{name}.log")
        if os.path.exists(self.report_path):
            os.remove(self.report_path)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [torvyn, "run", manifest_path, *libs, "--quiet", "--report", self.report_path],
            stdout=self.log, stderr=subprocess.STDOUT)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=60):
        """SIGTERM (drain, final commits), then the report's source and sink nodes."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"torvyn run did not stop within {timeout} s after SIGTERM:\n{self.output()}")
        self.log.close()
        return self.report()

    def kill(self):
        self.proc.kill()  # kill -9 of this process only
        self.proc.wait()
        self.log.close()

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    def report(self):
        if not os.path.exists(self.report_path):
            fail(f"no report from torvyn run:\n{self.output()}")
        with open(self.report_path) as f:
            return json.load(f)[0]


def node(report, name):
    return next(n for n in report["nodes"] if n["name"] == name)


def counters(report, name):
    return dict(node(report, name).get("counters", {}))


def wait_for(probe, timeout, what, runs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        for r in runs:
            if not r.alive():
                fail(f"torvyn run ended while waiting for {what}:\n{r.output()}")
        time.sleep(0.5)
    fail(f"timed out after {timeout} s waiting for {what}"
         + "".join(f"\n--- {r.log_path}:\n{r.output()}" for r in runs))


def delivered_once(values, n, prefix="R"):
    """(missing, duplicates) of the records <prefix><i>, i < n, among values."""
    seen = {}
    for v in values:
        key = v.rstrip("!").rstrip(".")  # hello_shout's "!", the padding
        seen[key] = seen.get(key, 0) + 1
    missing = [i for i in range(n) if f"{prefix}{i}" not in seen]
    return missing, len(values) - (n - len(missing))
