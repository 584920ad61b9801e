#!/usr/bin/env bash
# idle_wakeups.sh BUILD_DIR [SECONDS] -- what an idle pipeline costs the machine.
#
# Runs `torvyn run` on a flow that waits for input (a following file source
# on an empty file -> hello_shout -> stdout), lets it settle for 2 s, then
# prints over SECONDS (default 5) each thread's wakeups a second (voluntary
# context switches, from /proc) and the process's CPU time. Not a ctest:
# a figure for docs/architecture.md ("Engine"), printed by a program.
set -euo pipefail
build="$(cd "${1:?usage: idle_wakeups.sh BUILD_DIR [SECONDS]}" && pwd)"
seconds="${2:-5}"
tmp="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
: >"$tmp/in.txt"
cat >"$tmp/Torvyn.toml" <<'TOML'
[flow.idle]
[flow.idle.nodes.in]
kind = "file"
role = "source"
path = "in.txt"
follow = true
[flow.idle.nodes.shout]
component = "hello_shout.wasm"
role = "processor"
[flow.idle.nodes.out]
kind = "stdout"
[[flow.idle.edges]]
from = "in"
to = "shout"
[[flow.idle.edges]]
from = "shout"
to = "out"
TOML
"$build/bin/torvyn" run "$tmp" -L "$build/components" >/dev/null 2>"$tmp/run.log" &
pid=$!
sleep 2
kill -0 "$pid" 2>/dev/null || { cat "$tmp/run.log" >&2; exit 1; }
snapshot() {
  for t in /proc/"$pid"/task/*; do
    echo "${t##*/} $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")"
  done | sort
}
cpu() { awk '{print $14 + $15}' /proc/"$pid"/stat; }
before="$(snapshot)"; cpu0="$(cpu)"
sleep "$seconds"
after="$(snapshot)"; cpu1="$(cpu)"
hz="$(getconf CLK_TCK)"
echo "idle torvyn run (following file -> hello_shout -> stdout), ${seconds} s:"
join <(echo "$before") <(echo "$after") |
  awk -v s="$seconds" '{ printf "  thread %-8s %8.1f wakeups/s\n", $1, ($3 - $2) / s }'
awk -v a="$cpu0" -v b="$cpu1" -v hz="$hz" -v s="$seconds" \
  'BEGIN { printf "  CPU: %.1f ms a second (%.2f%% of a core)\n", (b - a) * 1000 / hz / s, (b - a) * 100 / hz / s }'
