#!/usr/bin/env bash
# Load run against `opensharing serve` on the demo share, on loopback only, bounded in time:
# wrk on `GET /shares` for 10 s with a hot reload (SIGHUP) in the middle, then on `POST …/query`
# for 10 s. Prints requests/s, non-2xx and socket errors, and the server's memory before and after.
#   bash bench/load.sh            (after: cargo build --release --features server)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18090}"
DURATION="${DURATION:-10}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r demo "$work/demo"
sed -i "s#127.0.0.1:8080#127.0.0.1:$PORT#" "$work/demo/opensharing.json"
./target/release/opensharing serve --config "$work/demo/opensharing.json" --listen "127.0.0.1:$PORT" 2>"$work/server.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
auth="Authorization: Bearer opensharing-demo-token"
base="http://127.0.0.1:$PORT/delta-sharing"
echo "server RSS at start: $(rss)"
(sleep $((DURATION / 2)); kill -HUP "$server") &
echo "== GET /shares, ${DURATION}s, 2 threads, 64 connections, hot reload (SIGHUP) at $((DURATION / 2))s"
wrk -t2 -c64 -d"${DURATION}s" -H "$auth" "$base/shares" | tee "$work/shares.txt"
grep -q '"event":"reloaded"' "$work/server.log" && echo "hot reload: done during the run"
echo "server RSS after: $(rss)"
cat > "$work/query.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
LUA
echo "== POST …/trips/query (7 files, signed URLs), ${DURATION}s"
wrk -t2 -c64 -d"${DURATION}s" -H "$auth" -s "$work/query.lua" "$base/shares/demo/schemas/default/tables/trips/query" | tee "$work/query.txt"
echo "server RSS after: $(rss)"
if grep -q "Non-2xx" "$work/shares.txt" "$work/query.txt"; then echo "FAILED: non-2xx responses"; exit 1; fi
if grep -q "Socket errors" "$work/shares.txt" "$work/query.txt"; then echo "FAILED: socket errors"; exit 1; fi
echo "no errors"
