#!/usr/bin/env python3
"""Structured logs and the live progress line, checked from the outside.

  log_test.py logs     TORVYN TMP -- -L ...   JSON lines: events, errors with trace ids, guest stderr
  log_test.py progress TORVYN TMP -- -L ...   one live line on a terminal, nothing otherwise
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFESTS = os.path.join(HERE, "..", "manifests")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(torvyn, args, rc=0):
    p = subprocess.run([torvyn] + args, capture_output=True, timeout=120)
    if p.returncode != rc:
        fail(f"{' '.join(args)}: exit {p.returncode}\n{p.stdout!r}\n{p.stderr!r}")
    return p


def records(text):
    out = []
    for line in text.splitlines():
        r = json.loads(line)  # every line a JSON object
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r["ts"]), f"ts {r['ts']}")
        check(r["level"] in ("debug", "info", "warn", "error"), f"level {r['level']}")
        check(list(r)[:3] == ["ts", "level", "flow"], f"field order {list(r)}")
        out.append(r)
    return out


def case_logs(torvyn, tmp, extra):
    # Errors under skip: each logged with its element's trace id, the one the trace shows.
    log = os.path.join(tmp, "skipped.jsonl")
    for old in (log, os.path.join(tmp, "chatty.log")):  # logs are appended to
        if os.path.exists(old):
            os.remove(old)
    trace = os.path.join(tmp, "skipped.json")
    run(torvyn, ["trace", os.path.join(MANIFESTS, "skipped_errors.toml"), "--out", trace,
                 "--log-format", "json", "--log-file", log, "-q"] + extra)
    with open(log) as f:
        recs = records(f.read())
    check(recs[0]["msg"] == "flow started" and recs[0]["nodes"] == 3, recs[0])
    check(recs[-1]["msg"] == "flow finished" and recs[-1]["delivered"] == 6 and
          recs[-1]["failed"] == 3, recs[-1])
    errors = [r for r in recs if r.get("event") == "call failed"]
    check([(r["node"], r["element"], r["code"], r["level"]) for r in errors] ==
          [("picky", n, "E0303", "warn") for n in (2, 5, 8)], errors)
    with open(trace) as f:
        events = json.load(f)["traceEvents"]
    failed = {v["seq"]: v["trace"] for e in events if e["ph"] == "X"
              for v in e["args"].get("elements", []) if v["end"] == "failed"}
    check({r["element"]: r["trace_id"] for r in errors} == failed,
          f"log trace ids {errors} differ from the trace's {failed}")

    # A guest's stderr: one JSON record per line, escaped, with the element's trace id.
    manifest = os.path.join(tmp, "chatty.toml")
    with open(manifest, "w") as f:
        f.write("""[flow.chat.nodes.src]
component = "blobs.wasm"
role = "source"
config = "count=3 size=16"
[flow.chat.nodes.mid]
component = "chatty.wasm"
role = "processor"
config = "mode=escape"
capabilities = ["stdout", "stderr"]
[flow.chat.nodes.out]
component = "slow_sink.wasm"
role = "sink"
capabilities = ["stdout"]
[[flow.chat.edges]]
from = "src"
to = "mid"
[[flow.chat.edges]]
from = "mid"
to = "out"
""")
    p = run(torvyn, ["run", manifest, "--log-format", "json", "-q"] + extra)
    check(b"\x1b" not in p.stderr, f"raw escapes on stderr: {p.stderr!r}")
    recs = records(p.stderr.decode())
    guest = [r for r in recs if r.get("source") == "guest"]
    check(len(guest) == 3, f"{len(guest)} guest lines, wanted 1 per element")
    check(all(r["node"] == "mid" and r["flow"] == "chat" and r["level"] == "info" and
              re.fullmatch(r"[0-9a-f]{32}", r["trace_id"]) for r in guest), guest)
    check(len({r["trace_id"] for r in guest}) == 3, "one trace per element")
    check(any("\x1b[2J" in r["msg"] for r in guest), "the guest's text is kept (JSON-escaped)")
    # Text logs to a file; a bad log file is refused before anything runs.
    text = os.path.join(tmp, "chatty.log")
    run(torvyn, ["run", manifest, "--log-file", text, "-q"] + extra)
    with open(text, "rb") as f:
        body = f.read()
    check(b"\x1b" not in body and b" info  chat/mid: " in body and b"trace_id=" in body, body)
    blocker = os.path.join(tmp, "a-file")  # a file where a folder would have to be
    open(blocker, "w").close()
    p = run(torvyn, ["run", manifest, "--log-file", os.path.join(blocker, "x.log")] + extra, rc=2)
    check(b"E0501" in p.stderr, p.stderr)


def case_progress(torvyn, tmp, extra):
    args = [torvyn, "run", os.path.join(HERE, "long.toml"), "--duration", "2500ms", "-q"] + extra
    # No terminal: not a byte of it.
    p = subprocess.run(args, capture_output=True, timeout=120)
    check(p.returncode == 0, p.stderr)
    check(b"queues pressured" not in p.stderr and b"\r" not in p.stderr, p.stderr[-500:])
    # On a terminal (a pseudo-terminal from script(1)): rewritten in place,
    # then erased.
    command = " ".join(f"'{a}'" for a in args)
    p = subprocess.run(["script", "-qfec", command, "/dev/null"], capture_output=True,
                       timeout=120)
    check(p.returncode == 0, p.stdout)
    # (What the sink prints when it completes follows the last update.)
    lines = re.findall(rb"\r\x1b\[K([^\r]+?)(?=\r|slow sink)", p.stdout)
    check(len(lines) >= 3, f"{len(lines)} progress updates: {p.stdout[-800:]!r}")
    pattern = (rb"[\d.]+[kMG]? elements \| [\d.]+[kMG]?/s \| 00:0\d \| \d+/2 queues "
               rb"pressured \| \d+ in flight")
    check(all(re.fullmatch(pattern, s) for s in lines), lines)
    counts = [float(re.match(rb"[\d.]+", s).group()) for s in lines]
    check(len(set(counts)) > 1, f"the numbers never move: {lines}")
    check(p.stdout.rstrip(b"\n").split(b"\n")[-1].strip().endswith(b"\r\x1b[K") or
          p.stdout.endswith(b"\r\x1b[K"), f"the line is not erased: {p.stdout[-200:]!r}")


def main():
    case, torvyn, tmp = sys.argv[1:4]
    extra = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    os.makedirs(tmp, exist_ok=True)
    {"logs": case_logs, "progress": case_progress}[case](torvyn, tmp, extra)
    print(f"ok: {case}")


if __name__ == "__main__":
    main()
