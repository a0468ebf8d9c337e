#!/usr/bin/env bash
# Load run against `opensharing serve` on the bundled demo share, on loopback only and bounded in
# time: wrk (2 threads, 64 connections) on `GET /shares` for DURATION seconds (default 10) with a
# hot reload (SIGHUP) in the middle, then on `POST …/trips/query` (7 signed file URLs) for as
# long. Prints requests/s, latency, failed requests and the server's RSS, and fails when any
# request failed (non-2xx answer or socket error) or the reload did not happen.
#
#   bash bench/load.sh            # builds target/release/opensharing first if needed
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
BIN="${OPENSHARING_BIN:-${CARGO_TARGET_DIR:-target}/release/opensharing}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --locked --release --features server

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp -r demo/. "$work/"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
sed -i "s#127.0.0.1:8080#127.0.0.1:$port#" "$work/opensharing.json"
"$BIN" serve --config "$work/opensharing.json" --listen "127.0.0.1:$port" 2> "$work/server.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/delta-sharing"
auth="Authorization: Bearer opensharing-demo-token"
curl -sf -H "$auth" "$base/shares" >/dev/null
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
failed=0

# run NAME URL [wrk args…]: one bounded wrk run; prints its summary and counts failures.
run() {
  local name="$1" url="$2"; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$auth" "$@" "$url" > "$work/$name.txt"
  cat "$work/$name.txt"
  local rps non2xx sockets
  rps="$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")"
  non2xx="$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/$name.txt")"
  sockets="$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$work/$name.txt")"
  echo "== $name: ${rps} requests/s; non-2xx: ${non2xx:-0}, socket errors: ${sockets:-0}; server RSS $(rss) KiB"
  [ "${non2xx:-0}" = 0 ] && [ "${sockets:-0}" = 0 ] || failed=1
}

echo "server RSS at start: $(rss) KiB"
( sleep "$(( DURATION / 2 ))"; kill -HUP "$pid" ) &
reloader=$!
echo "== GET /shares, ${DURATION}s, wrk -t${THREADS} -c${CONNECTIONS}, hot reload (SIGHUP) at $(( DURATION / 2 ))s"
run shares "$base/shares"
wait "$reloader"
reloads="$(grep -c '"event":"reloaded"' "$work/server.log" || true)"
echo "reloads during the run: $reloads"
[ "$reloads" -ge 1 ] || failed=1

printf 'wrk.method = "POST"\nwrk.body = "{}"\n' > "$work/query.lua"
echo "== POST …/trips/query (7 signed file URLs), ${DURATION}s"
run query "$base/shares/demo/schemas/default/tables/trips/query" -s "$work/query.lua"
echo "access lines logged: $(grep -c '"event":"request"' "$work/server.log" || true)"
[ "$failed" = 0 ] || { echo "FAILED" >&2; exit 1; }
echo "no failed request"
