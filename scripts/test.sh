#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (core and server host), then the end-to-end
# tests where real clients (the delta-sharing Python client) read through our servers from real
# peers (deltalake tables, s3s-fs verifying SigV4). Installs its peers first (scripts/setup.sh;
# cached after the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

echo "== cargo test (core and server host)"
cargo test --locked --features server

echo "== build the hosts the end-to-end tests drive (the Go package: gofmt, vet, test)"
cargo build --locked --release --features server
make -s -C examples-c build/http_host
make -s -C examples-cpp build/http_host
(
  cd examples-go
  export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod
  unformatted="$("$("$OPENSHARING_GO" env GOROOT)/bin/gofmt" -l .)"
  [ -z "$unformatted" ] || { echo "gofmt: $unformatted" >&2; exit 1; }
  "$OPENSHARING_GO" vet ./...
  "$OPENSHARING_GO" test ./...
  "$OPENSHARING_GO" build -o opensharing-go .
)

echo "== end-to-end tests (pytest)"
cd tests/e2e
"$OPENSHARING_PYTHON" -m pytest -q -p no:cacheprovider .
