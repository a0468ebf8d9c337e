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
requests=6
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

. ../scripts/host_requests.sh

# check NAME COMMAND…: starts the host with COMMAND, sends the requests, waits for its exit.
check() {
  local name="$1"; shift
  local port; port="$(free_port)"
  "$@" "$config" "$port" "$requests" 2>"$log" &
  local pid=$!
  wait_healthy "$name" "$port" "$log"
  host_requests "$name" "$port" "$token"
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
