#!/usr/bin/env python3
"""Turns docs/tutorial.md into a bash script that does what a reader does.

```sh blocks are run in order, in one shell (so `cd` carries over), each
block's output kept; ```<lang> file=PATH blocks are written to PATH;
```text expect blocks list lines that must appear in the output of the sh
block before them. Other blocks are prose.
"""
import shlex
import sys

lines = open(sys.argv[1]).read().split("\n")
out = ["set -u", "fail() { echo \"tutorial: $*\" >&2; exit 1; }"]
block = 0
i = 0
while i < len(lines):
    line = lines[i]
    if not line.startswith("```") or line == "```":
        i += 1
        continue
    info = line[3:].split()
    body = []
    i += 1
    while i < len(lines) and lines[i] != "```":
        body.append(lines[i])
        i += 1
    i += 1
    file = next((w[5:] for w in info[1:] if w.startswith("file=")), None)
    if file:
        out.append(f"cat > {shlex.quote(file)} <<'TORVYN_TUTORIAL_EOF'")
        out.extend(body)
        out.append("TORVYN_TUTORIAL_EOF")
    elif info and info[0] == "sh":
        block += 1
        for command in body:
            if not command.strip():
                continue
            out.append(f"echo \"\\$ \"{shlex.quote(command)} >&2")
            # A cd must change this shell's directory, so it is not captured.
            if command.startswith("cd ") or command.startswith("mkdir "):
                out.append(f"{command} || fail {shlex.quote('failed: ' + command)}")
            else:
                out.append(f"{{ {command} ; }} >>.out{block} 2>&1 || "
                           f"{{ cat .out{block} >&2; fail {shlex.quote('failed: ' + command)}; }}")
    elif info[:2] == ["text", "expect"]:
        for want in body:
            if want.strip():
                out.append(f"grep -qF -- {shlex.quote(want.strip())} .out{block} || "
                           f"{{ cat .out{block} >&2; fail {shlex.quote('missing: ' + want.strip())}; }}")
out.append("echo 'tutorial: every command ran and every output shown was there' >&2")
print("\n".join(out))
