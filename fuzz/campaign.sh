#!/usr/bin/env bash
# Runs every fuzz target for the length the hardening issue asks: 10 million executions, or 30
# minutes for a target slower than that, one after the other on one core. Prints one row per
# target (executions, seconds, crashes) for fuzz/README.md.
#   fuzz/campaign.sh [TARGET...]       (default: every target in fuzz/fuzz_targets)
# Env: RUNS (default 10000000), MAX_SECONDS (default 1800), WORK (scratch, default /tmp/fuzz-campaign).
# New inputs go to $WORK/TARGET, never into the committed seeds; a crash stays in
# $WORK/artifacts/TARGET for a regression test.
set -euo pipefail
cd "$(dirname "$0")"
runs="${RUNS:-10000000}"
max_seconds="${MAX_SECONDS:-1800}"
work="${WORK:-/tmp/fuzz-campaign}"
nightly="+nightly"; rustup toolchain list | grep -q '^nightly' || { nightly=""; export RUSTC_BOOTSTRAP=1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')

cargo $nightly fuzz build -O >/dev/null
printf '| Target | Executions | Seconds | Rate (exec/s) | Crashes |\n|---|---:|---:|---:|---:|\n'
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "$work/artifacts/$target"
  log="$work/$target.log"
  status=0
  start=$(date +%s)
  cargo $nightly fuzz run -O "$target" "$work/$target" "corpus/$target" -- \
    -runs="$runs" -max_total_time="$max_seconds" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$target/" >"$log" 2>&1 || status=$?
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  seconds=$(($(date +%s) - start))
  crashes="$(find "$work/artifacts/$target" -type f | wc -l)"
  rate="-"; [ -n "$executions" ] && [ -n "$seconds" ] && [ "$seconds" -gt 0 ] && rate=$((executions / seconds))
  printf '| `%s` | %s | %s | %s | %s |\n' "$target" "${executions:-?}" "${seconds:-?}" "$rate" "$crashes"
  [ "$status" = 0 ] || [ "$crashes" -gt 0 ] || echo "  ($target exited $status without an artifact: see $log)" >&2
done
