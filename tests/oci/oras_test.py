"""oras, another OCI tool, pushes a layout `torvyn pack` wrote to a real
registry (docker-registry, plain HTTP on loopback); Torvyn inspects and runs
it by reference.

    python3 tests/oci/oras_test.py TORVYN COMPONENTS_DIR SOURCE_DIR TMP_DIR

Exit 0 when every check holds, else 1.
"""

import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import publish_test  # noqa: E402
from publish_test import Env, check, show  # noqa: E402
from registry import Registry, tools  # noqa: E402


def main():
    torvyn, components, source, tmp = sys.argv[1:5]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    e = Env(os.path.abspath(torvyn), components, source, os.path.abspath(tmp))
    oras = tools()["oras"]
    layout = os.path.join(e.tmp, "packed")
    p = e.run("pack", e.fan_out, "-L", e.components, "-o", layout, "--tag", "v1")
    check(p.returncode == 0, "torvyn pack", show(p))
    with open(os.path.join(layout, "index.json")) as f:
        (packed,) = [m["digest"] for m in json.load(f)["manifests"]
                     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v1"]
    with Registry(os.path.join(e.tmp, "registry")) as reg:
        ref = f"{reg.host}/demo/by-oras:v1"
        cp = subprocess.run([oras, "cp", "--from-oci-layout", f"{layout}:v1", "--to-plain-http", ref],
                            capture_output=True, text=True, timeout=120, env=e.env)
        check(cp.returncode == 0, "oras cp --from-oci-layout DIR:TAG --to-plain-http REF",
              cp.stdout + cp.stderr)
        _, digest, _ = reg.manifest("demo/by-oras", "v1")
        check(digest == packed, "oras pushed the packed index unchanged", f"{digest} != {packed}")
        i = e.run("inspect", ref, "--json")
        pipe = json.loads(i.stdout)[0] if i.returncode == 0 else {}
        check(pipe.get("digest") == packed and len(pipe.get("components", [])) == 3
              and pipe.get("signatures") == 0, "torvyn inspect REF describes what oras pushed", show(i))
        run = e.run_pipeline(ref)
        check(run.returncode == 0 and run.stdout == e.expected, "torvyn run REF runs what oras pushed", show(run))
    failures = publish_test.failures
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
