"""Drives the brokers' client smoke programs against the real brokers.

    smoke.py nats  NATS_SMOKE_BINARY  TMP
    smoke.py kafka KAFKA_SMOKE_BINARY TMP
    smoke.py missing TMP          the fixtures' error when a tool is missing

For a broker: starts it with its fixture (nats.py, kafka.py), runs the
program's `after-restart` phase first, which must fail (nothing is there yet:
the checks bite), then `run`, then restarts the broker on the same ports and
store and runs `after-restart`, which must pass. Each program run is bounded
by a timeout; the broker is stopped by its pid; on a failure its log's tail
is printed. Standard library only.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MissingTool  # noqa: E402


def run_phase(binary, address, phase, expect_ok):
    start = time.monotonic()
    p = subprocess.run([binary, address, phase], capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    sys.stdout.write(p.stdout)
    if expect_ok and p.returncode != 0:
        raise AssertionError(f"{os.path.basename(binary)} {phase} exited {p.returncode}"
                             f" after {took:.1f} s:\n{p.stderr}")
    if not expect_ok and p.returncode != 1:
        raise AssertionError(f"{os.path.basename(binary)} {phase} on an empty broker exited"
                             f" {p.returncode}, expected its checks to fail (1):\n{p.stdout}{p.stderr}")
    if not expect_ok:
        print(f"{phase} on an empty broker failed as it must: {p.stderr.strip().splitlines()[-1]}")
    return took


def broker_smoke(kind, binary, tmp):
    if kind == "nats":
        from nats import NatsServer
        server = NatsServer(tmp, lifetime=240)
        address = lambda: server.url  # noqa: E731
    else:
        from kafka import KafkaBroker
        server = KafkaBroker(tmp, lifetime=240)
        address = lambda: server.bootstrap  # noqa: E731
    start = time.monotonic()
    try:
        with server:
            print(f"{kind}: broker ready in {time.monotonic() - start:.1f} s at {address()}"
                  f" (pid {server.pid})")
            run_phase(binary, address(), "after-restart", expect_ok=False)
            took = run_phase(binary, address(), "run", expect_ok=True)
            print(f"{kind}: run phase {took:.1f} s")
            restart = time.monotonic()
            server.restart()
            print(f"{kind}: restarted in {time.monotonic() - restart:.1f} s (pid {server.pid})")
            run_phase(binary, address(), "after-restart", expect_ok=True)
    except BaseException:
        log = server.log
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                print(f"--- the broker's log ({log}), its end:\n{f.read()[-6000:]}", file=sys.stderr)
        except FileNotFoundError:
            pass
        raise
    print(f"{kind}: ok in {time.monotonic() - start:.1f} s")


def missing(tmp):
    """With the tools out of reach, each fixture names what is missing and
    scripts/setup.sh: never a silent skip."""
    from kafka import KafkaBroker
    from nats import NatsServer
    saved = dict(os.environ)
    try:
        os.environ["PATH"] = os.path.join(tmp, "empty-path")
        os.environ["TORVYN_CACHE_DIR"] = os.path.join(tmp, "empty-cache")
        for make, needle in ((lambda: NatsServer(os.path.join(tmp, "n")), "nats-server"),
                             (lambda: KafkaBroker(os.path.join(tmp, "k")), "kcat")):
            try:
                make().start()
            except MissingTool as e:
                text = str(e)
                assert needle in text and "scripts/setup.sh" in text, text
                print(f"missing tool reported: {text}")
            else:
                raise AssertionError(f"{needle} out of reach, yet the fixture started")
        os.environ["PATH"] = saved["PATH"]  # kcat and java found; the jars are not
        try:
            KafkaBroker(os.path.join(tmp, "k2")).start()
        except MissingTool as e:
            assert "scripts/kafka.sh" in str(e) and "scripts/setup.sh" in str(e), str(e)
            print(f"missing jars reported: {e}")
        else:
            raise AssertionError("no Kafka jars, yet the fixture started")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    print("missing: ok")


def main(argv):
    if len(argv) == 4 and argv[1] in ("nats", "kafka"):
        tmp = os.path.abspath(argv[3])
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        broker_smoke(argv[1], os.path.abspath(argv[2]), tmp)
    elif len(argv) == 3 and argv[1] == "missing":
        tmp = os.path.abspath(argv[2])
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        missing(tmp)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
