#!/usr/bin/env bash
# The side-by-side anchor of the performance issue, on the same 100,000-file table (written by
# benches/make_big_table.py): our cold and warm `/query` CPU time (`cargo bench --bench query`,
# parquet format, full NDJSON with signed URLs; each the median of 5) against deltalake's CPU
# time to load the snapshot and its add actions (`DeltaTable(path).get_add_actions()`, the median
# of 5 loads in one process), and the ratios. CPU time, not wall. The two are measured
# alternately, PAIRS times (default 3), and each pair gives its own ratios; the medians of those
# are the figures (a shared machine's speed drifts between one run and the next).
# Targets: cold <= 0.8x, warm <= 0.2x.
#   bash bench/deltalake_anchor.sh [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh >/dev/null
pairs="${1:-3}"
table="${CARGO_TARGET_DIR:-target}/tmp/bench-lake/big-100000"
cargo bench --locked --bench query --no-run 2>/dev/null

deltalake_load() {
  "$OPENSHARING_PYTHON" - "$table" <<'PY'
import statistics, sys, time
from deltalake import DeltaTable
cpu = []
for _ in range(5):
    start = time.process_time()  # every thread of the process: delta-rs loads in parallel
    actions = DeltaTable(sys.argv[1]).get_add_actions()
    assert actions.num_rows >= 100_000, actions.num_rows
    cpu.append((time.process_time() - start) * 1e3)
print(f"{statistics.median(cpu):.1f}")
PY
}

results=()
for pair in $(seq "$pairs"); do
  report="$(cargo bench --locked --bench query 2>/dev/null)"
  [ "$pair" = 1 ] && echo "$report"
  ours="$(grep -m1 '^  parquet ' <<<"$report")"
  cold="$(sed -n 's/.* cold *\([0-9.]*\) ms CPU.*/\1/p' <<<"$ours")"
  warm="$(sed -n 's/.* warm *\([0-9.]*\) ms CPU.*/\1/p' <<<"$ours")"
  theirs="$(deltalake_load)"
  echo "pair $pair/$pairs: cold ${cold} ms, warm ${warm} ms, deltalake ${theirs} ms CPU (load average $(cut -d' ' -f1 /proc/loadavg))"
  results+=("$cold $warm $theirs")
done
python3 - "${results[@]}" <<'PY'
import statistics, sys
rows = [tuple(map(float, r.split())) for r in sys.argv[1:]]
cold = [c / t for c, _, t in rows]
warm = [w / t for _, w, t in rows]
print("cold/deltalake per pair: " + " ".join(f"{r:.2f}" for r in cold))
print(f"cold /query = {statistics.median(cold):.2f}x deltalake's snapshot load (median of {len(rows)} pairs; target <= 0.8x)")
print(f"warm /query = {statistics.median(warm):.2f}x deltalake's snapshot load (median of {len(rows)} pairs; target <= 0.2x)")
PY
