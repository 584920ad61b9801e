#!/usr/bin/env bash
# Runs the benchmark suite in one go on this machine and writes
# docs/benchmarks.md (plus docs/bench-report.html, torvyn bench's HTML page).
#   make bench            (builds first)
#   bench/run.sh BUILD    (BUILD defaults to build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="$build/bench-results"
mkdir -p "$out"
rm -f "$out"/*.jsonl
torvyn="$build/bin/torvyn"
L=(-L "$build/components" -L "$build/test-components" -L "$build/bench-components")
sizes=(64 1024 65536 1048576)
# Each figure in the tables is the median of this many runs (single runs on
# a shared machine vary by tens of percent; the spread line shows how much).
rounds=${BENCH_ROUNDS:-3}

# Elements per call (contract 0.2 batches) and per source turn.
batch=${BENCH_BATCH:-16}

# Elements per run: enough for a stable figure, bounded in time.
count_for() { echo $(( $1 >= 1048576 ? 300 : $1 >= 65536 ? 3000 : 100000 )); }

manifest() {  # manifest NAME SIZE COUNT STAGES [MAX_RATE]
  local name=$1 size=$2 count=$3 stages=$4 rate=${5:-} f="$out/$1.toml"
  {
    echo "[flow.$name]"
    echo "source-batch = $batch"
    echo "[flow.$name.nodes.src]"
    echo "component = \"blobs.wasm\""; echo "role = \"source\""; echo "config = \"count=$count size=$size\""
    if [ -n "$rate" ]; then echo "max-rate = $rate"; fi
    for ((i = 1; i <= stages; i++)); do
      echo "[flow.$name.nodes.p$i]"
      echo "component = \"checked_copy.wasm\""; echo "role = \"processor\""; echo "batch = $batch"
    done
    echo "[flow.$name.nodes.sink]"
    echo "component = \"slow_sink.wasm\""; echo "role = \"sink\""; echo "config = \"work=1\""
    echo "capabilities = [\"stdout\"]"; echo "batch = $batch"
    local prev=src
    for ((i = 1; i <= stages; i++)); do
      echo "[[flow.$name.edges]]"; echo "from = \"$prev\""; echo "to = \"p$i\""; prev="p$i"
    done
    echo "[[flow.$name.edges]]"; echo "from = \"$prev\""; echo "to = \"sink\""
  } >"$f"
  echo "$f"
}

echo "bench: native floor" >&2
for ((r = 0; r < rounds; r++)); do
  for s in "${sizes[@]}"; do "$build/bench/native_pipeline" "$s" "$(count_for "$s")" >>"$out/native.jsonl"; done
done

echo "bench: sandbox floor" >&2
"$build/bench/bridge_floor" "$build/bench-components/nop.wasm" "$build/bench-components/nop_source.wasm" \
  >"$out/floor.jsonl"

echo "bench: batches by value (a measurement for contract 0.2)" >&2
(cd "$root/bridge" && CARGO_TARGET_DIR="${TORVYN_CARGO_TARGET_DIR:-$HOME/.cache/torvyn/cargo-target}" \
  cargo run --release --locked --quiet --example batch_floor -- "$build/bench-components/batch_nop.wasm") \
  >"$out/batch.jsonl"

echo "bench: hand-off between threads (a measurement for multi-core flows)" >&2
"$build/bench/handoff" 1000000 >"$out/handoff.jsonl"

echo "bench: torvyn pipelines" >&2
for s in "${sizes[@]}"; do
  c=$(count_for "$s")
  "$torvyn" bench "$(manifest "chain3_$s" "$s" "$c" 1)" "${L[@]}" --warmup $((c / 10)) --repeat "$rounds" \
    --out "$out/torvyn3_$s.json" >/dev/null 2>&1
done
# Pure copies: no pattern, no checksum; compared with memcpy's bandwidth.
sed -e 's/count=300 size=1048576/count=300 size=1048576 fill=0/' -e 's/work=1/work=0/' \
  "$(manifest copy_1048576 1048576 300 1)" >"$out/copies.toml"
"$torvyn" bench "$out/copies.toml" "${L[@]}" --warmup 30 --repeat "$rounds" --out "$out/torvyn_copies.json" >/dev/null 2>&1
"$torvyn" bench "$(manifest chain10_64 64 50000 8)" "${L[@]}" --warmup 5000 --repeat "$rounds" \
  --html "$root/docs/bench-report.html" --out "$out/torvyn10_64.json" >/dev/null 2>&1

echo "bench: multi-core flows" >&2
# Two heavy stages (each sums its 1 KiB payload `heavy_work` times over, in
# the sandbox) on one thread and with placement free to use two; and the
# light 64 B flow on one thread, to compare with its run above (placement
# free, the default). The warm-up covers placement's first measurement.
heavy_work=${BENCH_HEAVY_WORK:-20}
for t in 1 2; do
  sed -e "s/^source-batch = .*/&\nthreads = $t/" -e "s/^component = \"checked_copy.wasm\"$/&\nconfig = \"work=$heavy_work\"/" \
    "$(manifest heavy_1024 1024 20000 2)" >"$out/heavy_$t.toml"
  "$torvyn" bench "$out/heavy_$t.toml" "${L[@]}" --warmup 2000 --repeat "$rounds" \
    --out "$out/torvyn_heavy_$t.json" >/dev/null 2>&1
done
sed "s/^source-batch = .*/&\nthreads = 1/" "$out/chain3_64.toml" >"$out/light_1.toml"
"$torvyn" bench "$out/light_1.toml" "${L[@]}" --warmup 10000 --repeat "$rounds" \
  --out "$out/torvyn_light_1.json" >/dev/null 2>&1

echo "bench: real-work stage" >&2
# Parse a JSON event, keep clicks, re-serialise (bench/components/json_work.hpp):
# the same code natively and as the json_stage component.
for ((r = 0; r < rounds; r++)); do "$build/bench/json_native" 100000 >>"$out/json_native.jsonl"; done
sed "s/^\[flow.json\]$/[flow.json]\nsource-batch = $batch/" "$root/bench/json.toml" >"$out/json.toml"
"$torvyn" bench "$out/json.toml" "${L[@]}" --warmup 10000 --repeat "$rounds" --out "$out/torvyn_json.json" >/dev/null 2>&1

echo "bench: paced path latency" >&2
# One element every 200 µs (5,000/s) through each system: the path's own
# latency, not queueing. Every paced source sleeps between elements.
"$torvyn" bench "$(manifest paced_64 64 2000 1 5000)" "${L[@]}" --warmup 200 --repeat "$rounds" \
  --out "$out/torvyn_paced.json" >/dev/null 2>&1

echo "bench: cost of observers and tracing, and the run-to-run spread" >&2
# The same 3-stage flow with and without an observer that counts every event,
# with the live counters `torvyn run --metrics/--ui` keeps (--live), and
# traced (1 element in 100, every element), interleaved so that drift hits
# all alike. Noise here only adds time, so the least of 7 runs is each
# configuration's cost; the five first runs without any are the spread a
# `torvyn bench --compare` gate must allow for.
observed=$(manifest observed_64 64 400000 1)
for i in 1 2 3 4 5 6 7; do
  "$torvyn" bench "$observed" "${L[@]}" --warmup 10000 --out "$out/observer_without_$i.json" >/dev/null 2>&1
  "$torvyn" bench "$observed" "${L[@]}" --warmup 10000 --live --out "$out/observer_live_$i.json" >/dev/null 2>&1
  "$torvyn" bench "$observed" "${L[@]}" --warmup 10000 --trace 1/100 \
    --out "$out/observer_trace100_$i.json" >/dev/null 2>&1
  "$torvyn" bench "$observed" "${L[@]}" --warmup 10000 --trace all \
    --out "$out/observer_traceall_$i.json" >/dev/null 2>&1
  if [ "$i" -le 3 ]; then
    "$torvyn" bench "$observed" "${L[@]}" --warmup 10000 --count-events \
      --out "$out/observer_with_$i.json" >/dev/null 2>&1
  fi
done

echo "bench: start-up" >&2
m3=$(manifest start3 64 1 1)
m100=$(manifest start100 64 1 98)
for m in start3:"$m3" start100:"$m100"; do
  name=${m%%:*} file=${m#*:}
  "$torvyn" bench "$file" "${L[@]}" --warmup 0 --no-cache --out "$out/${name}_cold.json" >/dev/null 2>&1
  "$torvyn" bench "$file" "${L[@]}" --warmup 0 --out "$out/${name}_warm.json" >/dev/null 2>&1
done

echo "bench: languages" >&2
# The same pass-through processor (bench/components/languages) in each SDK's
# language, as the middle stage of blobs -> pass -> slow_sink: component
# size, start-up (compile on the first run, cached after), resident memory
# per instance, and time per element at 64 B and 1 KiB.
lang_count=${BENCH_LANG_COUNT:-20000}
for lang in c cpp rust go python js; do
  lang_manifest() {  # lang_manifest NAME SIZE COUNT STAGES
    local f
    f=$(manifest "$1" "$2" "$3" "$4")
    sed -i "s/checked_copy.wasm/pass_$lang.wasm/" "$f"
    echo "$f"
  }
  stat -c '{"lang":"'"$lang"'","bytes":%s}' "$build/bench-components/pass_$lang.wasm" >>"$out/lang_size.jsonl"
  m=$(lang_manifest "lang_${lang}_start" 64 1 1)
  "$torvyn" bench "$m" "${L[@]}" --warmup 0 --no-cache --out "$out/lang_${lang}_cold.json" >/dev/null 2>&1
  # --no-cache neither reads nor writes the cache: one run fills it, the next is measured.
  "$torvyn" bench "$m" "${L[@]}" --warmup 0 >/dev/null 2>&1
  "$torvyn" bench "$m" "${L[@]}" --warmup 0 --out "$out/lang_${lang}_warm.json" >/dev/null 2>&1
  "$torvyn" bench "$(lang_manifest "lang_${lang}_mem9" 64 1 9)" "${L[@]}" --warmup 0 \
    --out "$out/lang_${lang}_mem9.json" >/dev/null 2>&1
  for s in 64 1024; do
    "$torvyn" bench "$(lang_manifest "lang_${lang}_$s" "$s" "$lang_count" 1)" "${L[@]}" \
      --warmup $((lang_count / 10)) --repeat "$rounds" --out "$out/lang_${lang}_$s.json" >/dev/null 2>&1
  done
done

echo "bench: process pipeline (pipes)" >&2
for ((r = 0; r < rounds; r++)); do for s in "${sizes[@]}"; do
  c=$(count_for "$s")
  "$build/bench/pipes_chain" source "$s" "$c" | "$build/bench/pipes_chain" processor |
    "$build/bench/pipes_chain" sink "$c" | sed "s/^{/{\"size\":$s,/" >>"$out/pipes.jsonl"
done; done

echo "bench: same-node gRPC chain" >&2
grpc_run() {  # grpc_run SIZE COUNT [GAP_US]
  local port=$((20000 + RANDOM % 20000)) paced=
  if [ $# -gt 2 ]; then paced=paced; fi
  "$build/bench/grpc_chain" sink $((port + 1)) "$2" &
  local sink=$!
  "$build/bench/grpc_chain" processor "$port" $((port + 1)) $paced &
  local proc=$!
  "$build/bench/grpc_chain" source "$port" "$@"
  wait "$proc" "$sink"
}
if [ -x "$build/bench/grpc_chain" ]; then
  for ((r = 0; r < rounds; r++)); do
    for s in "${sizes[@]}"; do grpc_run "$s" "$(count_for "$s")" >>"$out/grpc.jsonl"; done
    grpc_run 64 2000 200 | sed 's/"bench":"grpc"/"bench":"grpc_paced"/' >>"$out/grpc.jsonl"
  done
fi
for ((r = 0; r < rounds; r++)); do
  "$build/bench/pipes_chain" source 64 2000 200 | "$build/bench/pipes_chain" processor |
    "$build/bench/pipes_chain" sink 2000 | sed 's/^{"bench":"pipes"/{"size":64,"bench":"pipes_paced"/' >>"$out/pipes_paced.jsonl"
done

python3 "$root/bench/report.py" "$out" "$root/docs/benchmarks.md"
echo "bench: wrote docs/benchmarks.md and docs/bench-report.html" >&2
