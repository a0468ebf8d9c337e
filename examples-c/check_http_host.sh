#!/usr/bin/env bash
# Runs the C HTTP host's request paths under AddressSanitizer + UBSan, then under valgrind:
# discovery, a bad token, a /query, a file GET with a Range and a HEAD, served from the demo
# catalog; the host then exits (its N argument) and must exit 0 with no error and no leak.
#   make build/http_host-asan CC=clang && make build/http_host && ./check_http_host.sh
# (valgrind 3.18 cannot read clang 14's DWARF 5: build the valgrind binary with gcc, the default.)
set -euo pipefail
cd "$(dirname "$0")"
config="$(cd ../demo && pwd)/opensharing.json"
token="opensharing-demo-token"
base_path="/delta-sharing"
requests=6
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# check NAME COMMAND…: starts the host with COMMAND, sends the requests, waits for its exit.
check() {
  local name="$1"; shift
  local port; port="$(free_port)"
  "$@" "$config" "$port" "$requests" 2>"$log" &
  local pid=$!
  local up=0
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && up=1 && break; sleep 0.2; done
  [ "$up" = 1 ] || { cat "$log" >&2; echo "$name: the host did not start in 60 s" >&2; exit 1; }
  local url="http://127.0.0.1:$port$base_path" auth="Authorization: Bearer $token" status
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H "$auth" "$url/shares")"
  [ "$status" = 200 ] || { echo "$name: discovery answered $status" >&2; exit 1; }
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H "Authorization: Bearer wrong" "$url/shares")"
  [ "$status" = 401 ] || { echo "$name: a bad token answered $status" >&2; exit 1; }
  local query file
  query="$(curl -s -H "$auth" -H 'Content-Type: application/json' -d '{"limitHint":1}' \
    "$url/shares/demo/schemas/default/tables/trips/query")"
  file="$(printf '%s\n' "$query" | jq -r 'select(.file) | .file.url' | head -n 1)"
  [ -n "$file" ] || { echo "$name: the query returned no file: $query" >&2; exit 1; }
  file="http://127.0.0.1:$port/${file#*://*/}"
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -H 'Range: bytes=-16' "$file")"
  [ "$status" = 206 ] || { echo "$name: a suffix Range answered $status" >&2; exit 1; }
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -I "$file")"
  [ "$status" = 200 ] || { echo "$name: HEAD of a file answered $status" >&2; exit 1; }
  if ! wait "$pid"; then
    cat "$log" >&2
    echo "$name: the host did not exit cleanly" >&2
    exit 1
  fi
  echo "$name: discovery, bad token, query, Range GET, HEAD: clean exit"
}

ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  check "ASan + UBSan" ./build/http_host-asan
check valgrind valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9 ./build/http_host
