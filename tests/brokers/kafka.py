"""A real Apache Kafka broker for the tests: Kafka 4.x in KRaft combined mode
(one process, broker and controller) on free loopback ports, run with the
machine's Java from the jars scripts/kafka.sh fetched from Maven Central into
$TORVYN_CACHE_DIR/kafka/<version>/libs.

    with KafkaBroker(tmp) as kafka:      # kafka.bootstrap: 127.0.0.1:PORT
        ...
        kafka.restart()                  # same ports, same log dirs: topics and offsets survive
        kafka.kill()                     # kill -9 (a crash); start() brings it back

The storage is formatted once (kafka.tools.StorageTool format) with a
generated server.properties; then kafka.Kafka runs under `timeout`, so it ends
by itself after `lifetime` seconds even if the test dies; stop() ends it by its
pid. Ready when `kcat -L` lists the broker. Its log is kept in tmp/kafka.log
for failures. A missing java, kcat or jar directory raises MissingTool naming
scripts/setup.sh. Standard library only.
"""

import base64
import glob
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (SETUP_HINT, BoundedServer, MissingTool, cache_dir, free_port,  # noqa: E402
                    require, start_bounded, tail, wait_until)

__all__ = ["KafkaBroker", "MissingTool", "KAFKA_VERSION"]

KAFKA_VERSION = os.environ.get("TORVYN_KAFKA_VERSION", "4.4.0")


def kafka_libs(version=KAFKA_VERSION):
    libs = os.path.join(cache_dir(), "kafka", version, "libs")
    if not glob.glob(os.path.join(libs, "kafka_2.13-*.jar")):
        raise MissingTool(f"Kafka {version} is not in {libs} (scripts/kafka.sh fetches it from"
                          f" Maven Central): {SETUP_HINT}")
    return libs


class KafkaBroker(BoundedServer):
    stop_grace = 30  # a controlled shutdown writes its logs
    restart_timeout = 90

    def __init__(self, tmp, lifetime=300, version=KAFKA_VERSION, heap="512m"):
        self.tmp = os.path.abspath(tmp)
        self.data = os.path.join(self.tmp, "kafka-data")
        self.log = os.path.join(self.tmp, "kafka.log")
        self.config = os.path.join(self.tmp, "server.properties")
        self.lifetime = lifetime
        self.version = version
        self.heap = heap
        self.port = self.controller_port = None
        self.proc = None
        self.formatted = False

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _java(self, main, *args):
        java = require("java", "openjdk-17-jre-headless")
        classpath = os.path.join(kafka_libs(self.version), "*")
        return [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", classpath, main, *args]

    def _write_config(self):
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data,
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.flush.interval.messages": "9223372036854775807",
            # After a kill -9 the controller waits out the old registration's
            # session before the broker is back: keep that short.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "2000",
        }
        with open(self.config, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in lines.items())

    def _format(self):
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # "--cluster-id=ID": an id starting with "-" (1 in 64) is not taken for an option.
        argv = self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster}", "-c",
                          self.config)
        p = subprocess.run(["timeout", "120", *argv], capture_output=True, text=True)
        with open(self.log, "a") as f:
            f.write(f"== format: {' '.join(argv)}\n{p.stdout}{p.stderr}")
        if p.returncode != 0:
            raise RuntimeError(f"kafka.tools.StorageTool format failed ({p.returncode}):\n"
                               f"{(p.stdout + p.stderr)[-4000:]}")
        self.formatted = True

    def _answers(self):
        p = subprocess.run([self.kcat, "-b", self.bootstrap, "-L", "-m", "2"],
                           capture_output=True, text=True)
        return p.returncode == 0 and " 1 brokers:" in p.stdout

    def start(self, timeout=90):
        """Starts the broker; on a restart, on the same ports and log dirs."""
        self.kcat = require("kcat", "kcat")
        self._java("kafka.Kafka")  # fails early, naming what is missing
        os.makedirs(self.tmp, exist_ok=True)
        if not self.formatted:
            self.port, self.controller_port = free_port(), free_port()
            self._write_config()
            self._format()
        # A probed port can be taken before the bind: on a first start, new
        # ports (the static quorum is not in the formatted storage).
        for attempt in range(3 if self.proc is None else 1):
            if attempt:
                self.port, self.controller_port = free_port(), free_port()
                self._write_config()
            with open(self.log, "a") as f:
                f.write("== start\n")
            mark = os.path.getsize(self.log)
            self.proc = start_bounded(self._java("kafka.Kafka", self.config), self.lifetime, self.log)
            if wait_until(self._answers, self.proc, timeout, poll=0.5):
                return self
            self.stop()
            with open(self.log, "rb") as f:
                f.seek(mark)
                if b"Address already in use" not in f.read():
                    break
        raise RuntimeError(f"Kafka did not answer at {self.bootstrap} within {timeout} s;"
                           f" its log ({self.log}):\n{tail(self.log)}")
