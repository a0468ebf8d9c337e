#!/usr/bin/env bash
# The side-by-side anchor of the performance issue: in one run, on the same 100,000-file table
# (written by benches/make_big_table.py), our cold and warm `/query` CPU time (`cargo bench
# --bench query`, parquet format, full NDJSON with signed URLs; each the median of 5) against deltalake's CPU time to
# load the snapshot and its add actions (`DeltaTable(path).get_add_actions()`), and the ratios.
# CPU time, not wall: the machine's other load moves it little. Targets: cold <= 0.8x, warm <= 0.2x.
#   bash bench/deltalake_anchor.sh [ROUNDS]      (deltalake: median of ROUNDS loads, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh >/dev/null
rounds="${1:-5}"
report="$(cargo bench --locked --bench query 2>/dev/null)"
echo "$report"
ours="$(grep -m1 '^  parquet ' <<<"$report")"
cold="$(sed -n 's/.* cold *\([0-9.]*\) ms CPU.*/\1/p' <<<"$ours")"
warm="$(sed -n 's/.* warm *\([0-9.]*\) ms CPU.*/\1/p' <<<"$ours")"
table="${CARGO_TARGET_DIR:-target}/tmp/bench-lake/big-100000"
theirs="$("$OPENSHARING_PYTHON" - "$table" "$rounds" <<'PY'
import statistics, sys, time
from deltalake import DeltaTable
path, rounds = sys.argv[1], int(sys.argv[2])
cpu = []
for _ in range(rounds):
    start = time.process_time()  # every thread of the process: delta-rs loads in parallel
    actions = DeltaTable(path).get_add_actions()
    assert actions.num_rows >= 100_000, actions.num_rows
    cpu.append((time.process_time() - start) * 1e3)
print(f"{statistics.median(cpu):.1f}")
PY
)"
python3 - "$cold" "$warm" "$theirs" <<'PY'
import sys
cold, warm, theirs = map(float, sys.argv[1:])
print(f"deltalake snapshot load (median): {theirs:.1f} ms CPU")
print(f"cold /query {cold:.1f} ms CPU = {cold / theirs:.2f}x deltalake (target <= 0.8x)")
print(f"warm /query {warm:.1f} ms CPU = {warm / theirs:.2f}x deltalake (target <= 0.2x)")
PY
