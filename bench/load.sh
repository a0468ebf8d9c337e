#!/usr/bin/env bash
# Load test of `opensharing serve` on the bundled demo share, on loopback only and bounded in
# time: wrk (2 threads, 64 connections, DURATION seconds, default 10) on `GET /shares`, with a hot
# reload (SIGHUP) in the middle. Prints requests/s, latency, the server's RSS before and after,
# and fails when any request failed (non-2xx answer or socket error) or the reload did not happen.
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
"$BIN" serve --config "$work/opensharing.json" --listen "127.0.0.1:$port" 2> "$work/server.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/delta-sharing/shares"
auth="Authorization: Bearer opensharing-demo-token"
curl -sf -H "$auth" "$url" >/dev/null
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

rss_before="$(rss)"
( sleep "$(( DURATION / 2 ))"; kill -HUP "$pid" ) &
reloader=$!
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$auth" "$url" > "$work/wrk.txt"
wait "$reloader"
rss_after="$(rss)"
cat "$work/wrk.txt"

rps="$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")"
non2xx="$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/wrk.txt")"
socket_errors="$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$work/wrk.txt")"
reloads="$(grep -c '"event":"reloaded"' "$work/server.log" || true)"
logged="$(grep -c '"event":"request"' "$work/server.log" || true)"
echo
echo "GET /shares: ${rps} requests/s over ${DURATION}s (wrk -t${THREADS} -c${CONNECTIONS}), ${logged} access lines"
echo "non-2xx: ${non2xx:-0}, socket errors: ${socket_errors:-0}, reloads during the run: ${reloads}"
echo "server RSS: ${rss_before} KiB before, ${rss_after} KiB after"
[ "${non2xx:-0}" = 0 ] && [ "${socket_errors:-0}" = 0 ] && [ "$reloads" -ge 1 ] || { echo "FAILED" >&2; exit 1; }
