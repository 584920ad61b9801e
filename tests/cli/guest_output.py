#!/usr/bin/env python3
"""guest_output.py TORVYN TMPDIR -- component path args...

Guest text never reaches the operator raw. Runs real hostile guests through
`torvyn run` and reads what the operator would see:
  - a guest's error message full of escape sequences: the diagnostic on
    stderr and the JSON report carry it escaped, and nothing on stderr is a
    control character a terminal would act on;
  - a granted guest writing escape sequences and a forged Torvyn line to
    stderr: each of its lines is escaped and headed by the node's name;
    a 10,000-byte line is printed in pieces of at most 4,096 bytes;
  - the same guest's stdout: kept as is when redirected (it is the
    pipeline's data), escaped when stdout is a terminal.
"""
import json
import os
import pty
import re
import subprocess
import sys

TORVYN, TMP = sys.argv[1], sys.argv[2]
LIBS = sys.argv[4:] if len(sys.argv) > 3 and sys.argv[3] == "--" else sys.argv[3:]
os.makedirs(TMP, exist_ok=True)
failures = []


def check(cond, message, detail=""):
    if not cond:
        failures.append(message + ("\n" + detail if detail else ""))


def manifest(name, mid_component, mid_config, mid_extra=""):
    text = f"""[flow.hostile.nodes.src]
component = "blobs.wasm"
role = "source"
config = "count=2 size=16"
[flow.hostile.nodes.mid]
component = "{mid_component}"
role = "processor"
config = "{mid_config}"
{mid_extra}
[flow.hostile.nodes.out]
component = "slow_sink.wasm"
role = "sink"
capabilities = ["stdout"]
[[flow.hostile.edges]]
from = "src"
to = "mid"
[[flow.hostile.edges]]
from = "mid"
to = "out"
"""
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(path, *extra, **kw):
    return subprocess.run([TORVYN, "run", path, *LIBS, *extra], capture_output=True, timeout=120,
                          **kw)


# Bytes a terminal acts on: C0 controls but line breaks and tabs, DEL, C1
# controls, bidirectional overrides.
ACTIVE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]")

# 1. A guest's error message.
report = os.path.join(TMP, "escape-error.json")
r = run(manifest("escape-error", "misbehave.wasm", "mode=escape-error at=1"), "--report", report)
check(r.returncode == 1, f"escape-error: exit code {r.returncode}", r.stderr.decode())
check(not ACTIVE.search(r.stderr), "escape-error: raw control bytes on stderr", repr(r.stderr))
check(b"\\x1b[2J\\x1b[H" in r.stderr, "escape-error: the escapes are not shown", repr(r.stderr))
check(b"\ntorvyn: flow 'hostile': completed" not in r.stderr, "escape-error: a forged line")
message = json.load(open(report))[0]["error"]["message"]
check(not ACTIVE.search(message.encode()), "escape-error: raw control characters in JSON", message)
check("\\x1b[2J" in message and "\\u{202e}" in message, "escape-error: JSON not escaped", message)

# 2. A granted guest's stderr and stdout, redirected.
grants = 'capabilities = ["stdout", "stderr"]'
chatty = manifest("chatty", "chatty.wasm", "mode=escape", grants)
r = run(chatty)
check(r.returncode == 0, f"chatty: exit code {r.returncode}", r.stderr.decode())
check(not ACTIVE.search(r.stderr), "chatty: raw control bytes on stderr", repr(r.stderr))
guest_lines = [l for l in r.stderr.decode().splitlines() if "\\x1b[2J" in l]
check(len(guest_lines) == 2, "chatty: expected one guest stderr line per element", r.stderr.decode())
check(all(l.startswith("mid| \\x1b[2J\\x1b[H\\x1b[31mtorvyn: flow 'hostile'") for l in guest_lines),
      "chatty: guest lines are not escaped and headed by the node", "\n".join(guest_lines))
check(r.stdout.startswith(b"\x1b]0;owned\x07plain text\n" * 2 + b"slow sink: consumed 2"),
      "chatty: redirected stdout was changed",
      repr(r.stdout))

# 3. A line longer than the host buffers is printed in pieces.
r = run(manifest("long-line", "chatty.wasm", "mode=long-line", grants))
pieces = [l for l in r.stderr.decode().splitlines() if l.startswith("mid| l")]
check(r.returncode == 0, f"long-line: exit code {r.returncode}", r.stderr.decode())
check(sum(len(l) - 5 for l in pieces) == 2 * 10000, "long-line: bytes lost",
      str([len(l) for l in pieces]))
check(max(len(l) - 5 for l in pieces) <= 4096, "long-line: a piece over 4,096 bytes")

# 4. The same guest's stdout on a terminal.
master, slave = pty.openpty()
p = subprocess.Popen([TORVYN, "run", chatty, *LIBS], stdout=slave, stderr=subprocess.PIPE)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
p.wait(timeout=120)
os.close(master)
check(p.returncode == 0, f"tty: exit code {p.returncode}")
check(b"\x1b" not in seen and b"\x07" not in seen, "tty: raw escapes reached the terminal", repr(seen))
check(b"\\x1b]0;owned\\x07plain text" in seen, "tty: the escapes are not shown", repr(seen))

if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("guest text escaped everywhere; redirected stdout untouched")
