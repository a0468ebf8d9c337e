#!/usr/bin/env bash
# Runs the Go host's request paths under AddressSanitizer (`go build -asan`: the cgo glue, the
# C ABI calls and Go's own heap are checked): discovery, a bad token, a /query, a file GET with a
# Range and a HEAD, served from the demo catalog. The host must still be running afterwards and
# its log must hold no sanitizer report. Needs the release static library (cargo build --release
# --lib) and clang; OPENSHARING_GO names the go binary (scripts/setup.sh sets it).
set -euo pipefail
cd "$(dirname "$0")"
go="${OPENSHARING_GO:-go}"
token="opensharing-demo-token"
log="$(mktemp)"
binary="$(mktemp -d)/opensharing-go-asan"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$log" "$(dirname "$binary")"' EXIT

. ../scripts/host_requests.sh

CC=clang GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod "$go" build -asan -o "$binary" .
port="$(free_port)"
ASAN_OPTIONS=halt_on_error=1 "$binary" -config ../demo/opensharing.json -listen "127.0.0.1:$port" 2>"$log" &
pid=$!
wait_healthy "Go host (ASan)" "$port" "$log"
host_requests "Go host (ASan)" "$port" "$token"
if ! kill -0 "$pid" 2>/dev/null || grep -q 'Sanitizer' "$log"; then
  cat "$log" >&2
  echo "Go host (ASan): the host died or reported an error" >&2
  exit 1
fi
echo "Go host (ASan): discovery, bad token, query, Range GET, HEAD: clean"
