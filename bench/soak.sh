#!/usr/bin/env bash
# Soak: SOAK_REQUESTS (default 1 000 000) mixed requests against `opensharing serve` on the demo
# share, loopback only, bounded by SOAK_SECONDS (default 1200). Two wrk runs side by side
# (bench/soak.lua): 80 % valid requests (discovery, paginated /query, Range GETs of signed file
# URLs) and 20 % hostile ones (bad tokens, malformed and oversized bodies, forged file
# signatures), while a Python loop sends slow bodies and the config file is rewritten every 5 s,
# every third time invalid. Fails unless: no valid request failed, no 5xx answer, every hostile
# request got a 4xx, the reloads happened, and RSS grew at most 10 % after the warm-up (the first
# 10 % of the requests, same mix).
#
#   bash bench/soak.sh                    # the full run (several minutes)
#   SOAK_REQUESTS=20000 bash bench/soak.sh   # a short one
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS="${SOAK_REQUESTS:-1000000}"
SECONDS_MAX="${SOAK_SECONDS:-1200}"
WARMUP=$((REQUESTS / 10))
BIN="${OPENSHARING_BIN:-${CARGO_TARGET_DIR:-target}/release/opensharing}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --locked --release --features server

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cp -r demo/. "$work/"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
sed -i "s#127.0.0.1:8080#127.0.0.1:$port#" "$work/opensharing.json"
cp "$work/opensharing.json" "$work/valid.json"
"$BIN" serve --config "$work/opensharing.json" --listen "127.0.0.1:$port" --request-timeout 3 \
  2> "$work/server.log" &
server=$!
pids+=("$server")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/delta-sharing"
auth="Authorization: Bearer opensharing-demo-token"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }

# Signed file URLs (path and query) for the Range GETs, from a /query answer.
curl -sf -H "$auth" -d '{}' "$base/shares/demo/schemas/default/tables/trips/query" \
  | jq -r 'select(.file) | .file.url' | sed "s#^http://127.0.0.1:$port##" > "$work/files.txt"
[ -s "$work/files.txt" ] || { echo "the query returned no file URL" >&2; exit 1; }
export SOAK_FILES="$work/files.txt"

# wrk_run MODE REQUESTS CONNECTIONS: wrk runs of 10 s (wrk stops on time, not on a count) until
# REQUESTS are answered or SOAK_SECONDS pass; the summed SOAK line goes to $work/MODE.txt.
wrk_run() {
  local mode="$1" want="$2" answered=0 unexpected=0 server_errors=0 deadline=$(($(date +%s) + SECONDS_MAX))
  : > "$work/$mode.log"
  while [ "$answered" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    SOAK_MODE="$mode" SOAK_LIMIT=$((want - answered)) wrk -t1 -c"$3" -d10s -s bench/soak.lua \
      "http://127.0.0.1:$port" > "$work/$mode.chunk" 2>&1 || true
    cat "$work/$mode.chunk" >> "$work/$mode.log"
    read -r a u e < <(grep '^SOAK' "$work/$mode.chunk" | tr '=' ' ' | awk '{print $4, $6, $8}')
    answered=$((answered + ${a:-0})) unexpected=$((unexpected + ${u:-0})) server_errors=$((server_errors + ${e:-0}))
  done
  echo "SOAK $mode answered=$answered unexpected=$unexpected server_errors=$server_errors" > "$work/$mode.txt"
}

# The config is rewritten every 5 s; every third version is invalid (a share without schemas'
# list, cut short), the others valid (alternating url_ttl_seconds).
(
  i=0
  while sleep 5; do
    i=$((i + 1))
    if [ $((i % 3)) = 0 ]; then
      head -c 200 "$work/valid.json" > "$work/next.json"
    else
      jq -c ".url_ttl_seconds = $((3000 + i % 2 * 600))" "$work/valid.json" > "$work/next.json"
    fi
    mv "$work/next.json" "$work/opensharing.json"
  done
) &
pids+=("$!")

# Slow bodies: 4 at a time, each declaring 1000 bytes and sending 10; answered 408 (3 s budget).
python3 - "$port" > "$work/slow.txt" <<'PY' &
import socket, sys, threading, time
port, answers, lock = int(sys.argv[1]), {}, threading.Lock()
def slow():
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"POST /delta-sharing/shares/demo/schemas/default/tables/trips/query HTTP/1.1\r\n"
                      b"Host: x\r\nAuthorization: Bearer opensharing-demo-token\r\nContent-Length: 1000\r\n\r\n{\"maxFiles\"")
            status = s.recv(64).split(b" ")[1].decode()
        except Exception as e:
            status = type(e).__name__
        with lock:
            answers[status] = answers.get(status, 0) + 1
            print(dict(answers), flush=True)
for _ in range(4):
    threading.Thread(target=slow, daemon=True).start()
time.sleep(10 ** 6)
PY
pids+=("$!")

echo "== warm-up: $WARMUP requests of the same mix"
wrk_run valid $((WARMUP * 8 / 10)) 16 &
wrk_run bad $((WARMUP - WARMUP * 8 / 10)) 8
wait "$!"
warm_rss="$(rss)"
echo "RSS after warm-up: $warm_rss KiB"

main=$((REQUESTS - WARMUP))
echo "== $main mixed requests (80 % valid, 20 % hostile), at most ${SECONDS_MAX}s"
start=$(date +%s)
( while sleep 10; do echo "$(($(date +%s) - start)) s: RSS $(rss) KiB"; done ) &
pids+=("$!")
wrk_run valid $((main * 8 / 10)) 16 &
valid=$!
wrk_run bad $((main - main * 8 / 10)) 8 &
bad=$!
wait "$valid" "$bad"
elapsed=$(($(date +%s) - start))
end_rss="$(rss)"

cat "$work/valid.txt" "$work/bad.txt"
grep -h "^unexpected\|Socket errors" "$work/valid.log" "$work/bad.log" | sort | uniq -c | head
read -r _ _ v_answered v_unexpected v_5xx < <(grep '^SOAK valid' "$work/valid.txt" | tr '=' ' ' | awk '{print $1, $2, $4, $6, $8}')
read -r _ _ b_answered b_unexpected b_5xx < <(grep '^SOAK bad' "$work/bad.txt" | tr '=' ' ' | awk '{print $1, $2, $4, $6, $8}')
reloads="$(grep -c '"event":"reloaded"' "$work/server.log" || true)"
refused="$(grep -c '"event":"reload_failed"' "$work/server.log" || true)"
slow="$(tail -n 1 "$work/slow.txt")"
growth=$(( (end_rss - warm_rss) * 100 / warm_rss ))
total=$((WARMUP + v_answered + b_answered))
echo "== soak: $total requests in ${elapsed}s (+ warm-up), $(( (v_answered + b_answered) / (elapsed > 0 ? elapsed : 1) )) requests/s"
echo "valid: $v_answered answered, $v_unexpected failed; hostile: $b_answered answered, $b_unexpected not 4xx; 5xx: $((v_5xx + b_5xx))"
echo "slow bodies: $slow; reloads: $reloads applied, $refused refused"
echo "RSS: $warm_rss KiB after warm-up, $end_rss KiB at the end ($growth %)"
ok=1
[ "$v_unexpected" = 0 ] && [ "$b_unexpected" = 0 ] && [ $((v_5xx + b_5xx)) = 0 ] || ok=0
[ "$reloads" -ge 1 ] && [ "$refused" -ge 1 ] || ok=0
[ "$growth" -le 10 ] || ok=0
[ "$ok" = 1 ] || { echo "SOAK FAILED" >&2; exit 1; }
echo "soak passed"
