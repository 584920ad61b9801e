#!/usr/bin/env python3
"""files.py CASE TORVYN TMPDIR -- component path args...

The file, stdin and stdout connectors through the torvyn binary, with a real
component (hello_shout.wasm) between them:

  file-to-file   a file source -> shout -> a file sink (truncate, then append),
                 the output file compared byte for byte; frames both ways
  stdin-stdout   lines piped into stdin -> shout -> stdout, compared; stdout
                 holds only the elements (the summary is on stderr)
  attributes     each line's file.path/line/offset read by a component through
                 the contract (attribute_echo.wasm) and written before it
  errors         check and link refuse bad connector settings with codes and
                 places; link shows a connector the way it shows components
"""
import os
import struct
import subprocess
import sys

CASE, TORVYN, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
LIBS = sys.argv[5:] if len(sys.argv) > 4 and sys.argv[4] == "--" else sys.argv[4:]
os.makedirs(TMP, exist_ok=True)


def fail(message):
    sys.exit(f"FAIL: {message}")


def manifest(name, text):
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(*args, stdin=None, rc=0):
    p = subprocess.run([TORVYN, *args], input=stdin, capture_output=True, timeout=120)
    if p.returncode != rc:
        fail(f"{' '.join(args)}: exit {p.returncode}, expected {rc}\n"
             f"stdout: {p.stdout.decode(errors='replace')}\nstderr: {p.stderr.decode(errors='replace')}")
    return p.stdout, p.stderr.decode()


def flow(source, sink):
    return f"""[flow.f]
[flow.f.nodes.src]
{source}
[flow.f.nodes.shout]
component = "hello_shout.wasm"
role = "processor"
[flow.f.nodes.out]
{sink}
[[flow.f.edges]]
from = "src"
to = "shout"
[[flow.f.edges]]
from = "shout"
to = "out"
"""


def frames(payloads):
    return b"".join(struct.pack(">I", len(p)) + p for p in payloads)


if CASE == "file-to-file":
    lines = [f"line {i}: some text" for i in range(1000)]
    with open(os.path.join(TMP, "in.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    want = "".join(l.upper() + "!\n" for l in lines)
    out = os.path.join(TMP, "out.txt")
    with open(out, "w") as f:
        f.write("stale\n")
    m = manifest("f2f", flow('kind = "file"\nrole = "source"\npath = "in.txt"',
                             'kind = "file"\nrole = "sink"\npath = "out.txt"'))
    _, err = run("run", m, *LIBS)
    if "flow 'f': completed, 1000 elements" not in err:
        fail(f"summary: {err}")
    if open(out).read() != want:
        fail("the output file is not the shouted input")
    m = manifest("f2f_append", flow('kind = "file"\nrole = "source"\npath = "in.txt"',
                                    'kind = "file"\nrole = "sink"\npath = "out.txt"\nmode = "append"'))
    run("run", m, *LIBS)
    if open(out).read() != want + want:
        fail("append did not keep what was there")
    payloads = [b"frame one", b"", b"with\nnewline", b"x" * 70000]
    with open(os.path.join(TMP, "in.bin"), "wb") as f:
        f.write(frames(payloads))
    m = manifest("frames", flow('kind = "file"\nrole = "source"\npath = "in.bin"\nformat = "frames"',
                                'kind = "file"\nrole = "sink"\npath = "out.bin"\nformat = "frames"'))
    run("run", m, *LIBS)
    got = open(os.path.join(TMP, "out.bin"), "rb").read()
    if got != frames([p.upper() + b"!" for p in payloads]):
        fail("frames out differ")
elif CASE == "attributes":
    # Each line's file.path, file.line and file.offset reach a component
    # (attribute_echo.wasm, through the contract's element-attributes) and
    # are written before the line.
    lines = [f"entry {i}" + "x" * (i % 7) for i in range(1000)]
    src = os.path.join(TMP, "in.txt")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    m = manifest("attrs", flow('kind = "file"\nrole = "source"\npath = "in.txt"',
                               'kind = "file"\nrole = "sink"\npath = "out.txt"')
                 .replace("hello_shout.wasm", "attribute_echo.wasm"))
    _, err = run("run", m, *LIBS)
    want, offset = [], 0
    for i, line in enumerate(lines):
        want.append(f"file.path={src} file.line={i + 1} file.offset={offset} | {line}\n")
        offset += len(line) + 1
    got = open(os.path.join(TMP, "out.txt")).read()
    if got != "".join(want):
        got_lines = got.splitlines(keepends=True)
        bad = next((i for i, (a, b) in enumerate(zip(got_lines, want)) if a != b), len(got_lines))
        fail(f"line {bad}: got {got_lines[bad] if bad < len(got_lines) else None!r}, "
             f"want {want[bad] if bad < len(want) else None!r}")
elif CASE == "stdin-stdout":
    m = manifest("stdio", flow('kind = "stdin"', 'kind = "stdout"'))
    text = b"".join(b"message %d\n" % i for i in range(500)) + b"last without newline"
    out, err = run("run", m, *LIBS, stdin=text)
    want = b"".join(b"MESSAGE %d!\n" % i for i in range(500)) + b"LAST WITHOUT NEWLINE!\n"
    if out != want:
        fail(f"stdout differs: {out[:200]!r}...")
    if "accounting: 501 emitted = 501 delivered" not in err:
        fail(f"summary: {err}")
elif CASE == "errors":
    bad = manifest("bad", flow('kind = "file"\nrole = "source"\npath = "in.txt"\nfolow = true',
                               'kind = "stdin"\nrole = "sink"'))
    _, err = run("check", bad, rc=2)
    for want in ["error[E0900] " + bad + ":6:9: unknown setting 'folow' of node 'src' (kind = \"file\")",
                 "did you mean 'follow'?",
                 "error[E0901] " + bad + ":11:8: node 'out': a stdin connector cannot be a sink",
                 "check: 2 error(s)"]:
        if want not in err:
            fail(f"check does not say {want!r}:\n{err}")
    missing = manifest("missing", flow('kind = "file"\nrole = "source"\npath = "nowhere.txt"',
                                       'kind = "file"\nrole = "sink"\npath = "no/such/dir/out.txt"'))
    out, err = run("link", missing, *LIBS, rc=2)
    for want in ["error[E0902] " + missing + ":2:1: node 'src': " + os.path.join(TMP, "nowhere.txt") + " does not exist",
                 "error[E0902] " + missing + ":9:1: node 'out': " + os.path.join(TMP, "no/such/dir/out.txt") + " cannot be written",
                 "link: 2 error(s)"]:
        if want not in err:
            fail(f"link does not say {want!r}:\n{err}")
    with open(os.path.join(TMP, "in.txt"), "w") as f:
        f.write("x\n")
    good = manifest("good", flow('kind = "file"\nrole = "source"\npath = "in.txt"\nfollow = true',
                                 'kind = "stdout"\nformat = "frames"'))
    out, err = run("link", good, *LIBS)
    out = out.decode()
    for want in ["  src            source     file connector\n",
                 "reads " + os.path.join(TMP, "in.txt") + " (lines, follow)\n",
                 "  shout          processor  hello_shout.wasm",
                 "  out            sink       stdout connector\n",
                 "writes standard output (frames)\n"]:
        if want not in out:
            fail(f"link's output lacks {want!r}:\n{out}")
    if os.path.getsize(os.path.join(TMP, "in.txt")) != 2:
        fail("link changed the input")
else:
    fail(f"unknown case {CASE}")
print(f"{CASE}: ok")
