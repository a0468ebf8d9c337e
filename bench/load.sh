#!/usr/bin/env bash
# Load run against `opensharing serve` on the bundled demo share, on loopback only and bounded in
# time. wrk (2 threads, 64 connections) on `GET /shares` for DURATION seconds (default 6),
# PAIRS times (default 5) alternately against a bare hyper server answering the same bytes
# (examples/bare_server.rs) and against `opensharing serve` with a hot reload (SIGHUP) in the
# middle of each of its runs; then on `POST …/trips/query` (7 signed file URLs) for as long.
# Prints requests/s, latency, failed requests, the server's RSS, and for each pair the ratio of
# serve's requests/s to the bare server's (then their median). Fails when any request failed
# (non-2xx answer or socket error), a reload did not happen, or the bare server's answer differs
# from serve's.
#
#   bash bench/load.sh            # builds target/release/opensharing and the bare server if needed
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-6}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
PAIRS="${PAIRS:-5}"
BIN="${OPENSHARING_BIN:-${CARGO_TARGET_DIR:-target}/release/opensharing}"
BARE="${BARE_BIN:-${CARGO_TARGET_DIR:-target}/release/examples/bare_server}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --locked --release --features server
[ -x "$BARE" ] || cargo build --locked --release --features server --example bare_server

work="$(mktemp -d)"
pid=""
bare_pid=""
cleanup() {
  for p in $pid $bare_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return; sleep 0.1; done; }
cp -r demo/. "$work/"
port="$(free_port)"
sed -i "s#127.0.0.1:8080#127.0.0.1:$port#" "$work/opensharing.json"
"$BIN" serve --config "$work/opensharing.json" --listen "127.0.0.1:$port" 2> "$work/server.log" &
pid=$!
wait_ready "http://127.0.0.1:$port/healthz"
base="http://127.0.0.1:$port/delta-sharing"
auth="Authorization: Bearer opensharing-demo-token"
curl -sf -H "$auth" "$base/shares" >/dev/null

# The bare server answers what serve answers to `GET /shares`, byte for byte but the date.
curl -sfi -H "$auth" "$base/shares" > "$work/answer.http"
bare_port="$(free_port)"
"$BARE" "127.0.0.1:$bare_port" "$work/answer.http" &
bare_pid=$!
bare_url="http://127.0.0.1:$bare_port/delta-sharing/shares"
wait_ready "$bare_url"
curl -sfi -H "$auth" "$bare_url" > "$work/bare.http"
if ! cmp -s <(grep -av '^date: ' "$work/answer.http") <(grep -av '^date: ' "$work/bare.http"); then
  echo "the bare server's answer differs from serve's:" >&2
  diff <(grep -av '^date: ' "$work/answer.http") <(grep -av '^date: ' "$work/bare.http") >&2 || true
  exit 1
fi

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
failed=0
rps=""

# run NAME PID URL [wrk args…]: one bounded wrk run; prints its summary, sets $rps and counts
# failures.
run() {
  local name="$1" server="$2" url="$3"; shift 3
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$auth" "$@" "$url" > "$work/$name.txt"
  cat "$work/$name.txt"
  local non2xx sockets
  rps="$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")"
  non2xx="$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/$name.txt")"
  sockets="$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$work/$name.txt")"
  echo "== $name: ${rps} requests/s; non-2xx: ${non2xx:-0}, socket errors: ${sockets:-0}; server RSS $(rss "$server") KiB"
  [ "${non2xx:-0}" = 0 ] && [ "${sockets:-0}" = 0 ] || failed=1
}

echo "server RSS at start: $(rss "$pid") KiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for pair in $(seq "$PAIRS"); do
  echo "== pair $pair/$PAIRS: GET /shares, ${DURATION}s, wrk -t${THREADS} -c${CONNECTIONS}: bare hyper server"
  run "bare-$pair" "$bare_pid" "$bare_url"
  bare_rps="$rps"
  echo "== pair $pair/$PAIRS: the same against opensharing serve, hot reload (SIGHUP) at $(( DURATION / 2 ))s"
  ( sleep "$(( DURATION / 2 ))"; kill -HUP "$pid" ) &
  reloader=$!
  run "shares-$pair" "$pid" "$base/shares"
  wait "$reloader"
  ratio="$(python3 -c "print(f'{$rps / $bare_rps:.2f}')")"
  ratios+=("$ratio")
  echo "== pair $pair/$PAIRS: bare ${bare_rps}, serve ${rps} requests/s: ratio ${ratio} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "serve/bare ratios: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')"
reloads="$(grep -c '"event":"reloaded"' "$work/server.log" || true)"
echo "reloads during the runs: $reloads"
[ "$reloads" -ge "$PAIRS" ] || failed=1

printf 'wrk.method = "POST"\nwrk.body = "{}"\n' > "$work/query.lua"
echo "== POST …/trips/query (7 signed file URLs), ${DURATION}s"
run query "$pid" "$base/shares/demo/schemas/default/tables/trips/query" -s "$work/query.lua"
echo "access lines logged: $(grep -c '"event":"request"' "$work/server.log" || true)"
[ "$failed" = 0 ] || { echo "FAILED" >&2; exit 1; }
echo "no failed request"
