#!/usr/bin/env bash
# Runs docs/tutorial.md as a reader would, in an empty folder outside the
# repository, with Torvyn installed the way the tutorial says (under a
# temporary prefix on PATH): every command must succeed, every output the
# tutorial shows must appear.
#   tests/tutorial/run.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/torvyn-tutorial.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
export PATH="$work/prefix/bin:$PATH"
unset TORVYN_COMPONENT_PATH
python3 "$root/tests/tutorial/extract.py" "$root/docs/tutorial.md" >"$work/tutorial.sh"
mkdir "$work/home-folder"
cd "$work/home-folder"
bash "$work/tutorial.sh"
