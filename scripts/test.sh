#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (core and server host), then the end-to-end
# tests where real clients (the delta-sharing Python client) read through our servers.
# Installs its peers first (scripts/setup.sh; cached after the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

echo "== cargo test (core, default features)"
cargo test --locked
