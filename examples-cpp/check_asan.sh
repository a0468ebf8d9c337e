#!/usr/bin/env bash
# Runs the C++ wrapper check and the C++ HTTP host's request paths under AddressSanitizer +
# UBSan: discovery, a bad token, a /query, a file GET with a suffix Range and a HEAD, served from
# the demo catalog; the host then stops (its N argument) and must exit 0 with no error and no
# leak.   make -C examples-cpp build/http_host-asan check && examples-cpp/check_asan.sh
set -euo pipefail
cd "$(dirname "$0")"
config="$(cd ../demo && pwd)/opensharing.json"
token="opensharing-demo-token"
requests=6
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

. ../scripts/host_requests.sh

make -s check
port="$(free_port)"
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ./build/http_host-asan "$config" "$port" "$requests" 2>"$log" &
pid=$!
wait_healthy "C++ host" "$port" "$log"
host_requests "C++ host" "$port" "$token"
if ! wait "$pid"; then
  cat "$log" >&2
  echo "C++ host: did not exit cleanly" >&2
  exit 1
fi
echo "C++ host (ASan + UBSan): discovery, bad token, query, Range GET, HEAD: clean exit"
