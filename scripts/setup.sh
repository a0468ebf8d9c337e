#!/usr/bin/env bash
# Installs what the tests need, once per machine, into a reusable cache folder:
#   system packages (clang + its sanitizer runtime, valgrind, wrk, jq, cpp-httplib), cargo tools (cbindgen,
#   s3s-fs), and a Python virtualenv with the real protocol peers (tests/e2e/requirements.txt).
# Every step is skipped when already done. Source it to get PATH and OPENSHARING_PYTHON:
#   . scripts/setup.sh
set -euo pipefail

OPENSHARING_CACHE="${OPENSHARING_CACHE:-$HOME/.cache/opensharing-ci}"
OPENSHARING_TOOLS="$OPENSHARING_CACHE/tools"
OPENSHARING_VENV="$OPENSHARING_CACHE/venv"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$OPENSHARING_TOOLS"

_log() { printf '[setup] %s\n' "$*" >&2; }

_missing_pkgs=()
command -v clang >/dev/null || _missing_pkgs+=(clang)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.a ] || _missing_pkgs+=(libclang-rt-14-dev)
command -v valgrind >/dev/null || _missing_pkgs+=(valgrind)
command -v wrk >/dev/null || _missing_pkgs+=(wrk)
command -v make >/dev/null || _missing_pkgs+=(make)
command -v jq >/dev/null || _missing_pkgs+=(jq)
command -v pkg-config >/dev/null || _missing_pkgs+=(pkg-config)
[ -e /usr/include/httplib.h ] || _missing_pkgs+=(libcpp-httplib-dev)
if [ ${#_missing_pkgs[@]} -gt 0 ]; then
  _log "apt-get install ${_missing_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${_missing_pkgs[@]}" >/dev/null
fi

_cargo_tool() { # name version [extra args]
  local bin="$1" version="$2"; shift 2
  if ! "$OPENSHARING_TOOLS/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
    _log "cargo install $bin@$version (cached in $OPENSHARING_TOOLS)"
    cargo install "$bin@$version" --locked --root "$OPENSHARING_TOOLS" "$@" >/dev/null 2>&1 \
      || cargo install "$bin@$version" --locked --root "$OPENSHARING_TOOLS" "$@"
  fi
}
_cargo_tool cbindgen 0.29.4
_s3s_ok=0; [ -x "$OPENSHARING_TOOLS/bin/s3s-fs" ] && _s3s_ok=1
[ "$_s3s_ok" = 1 ] || { _log "cargo install s3s-fs@0.14.1"; cargo install s3s-fs@0.14.1 --features binary --locked --root "$OPENSHARING_TOOLS" >/dev/null 2>&1; }

_req="$_root/tests/e2e/requirements.txt"
_stamp="$OPENSHARING_VENV/.requirements.sha256"
_want="$(sha256sum "$_req" | cut -d' ' -f1)"
if [ ! -x "$OPENSHARING_VENV/bin/python" ] || [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
  _log "python venv: pip install -r tests/e2e/requirements.txt"
  [ -x "$OPENSHARING_VENV/bin/python" ] || python3 -m venv "$OPENSHARING_VENV"
  "$OPENSHARING_VENV/bin/pip" install -q --disable-pip-version-check -r "$_req"
  echo "$_want" > "$_stamp"
fi

# oidc-provider (the OpenID Provider of the federated-recipient tests). 9.x runs on node 20 with a
# warning that it prefers node 22.
OPENSHARING_NODE_OIDC="$OPENSHARING_CACHE/node-oidc"
if [ ! -e "$OPENSHARING_NODE_OIDC/node_modules/oidc-provider/package.json" ] && command -v npm >/dev/null; then
  _log "npm install oidc-provider@9.13.3 (cached in $OPENSHARING_NODE_OIDC)"
  mkdir -p "$OPENSHARING_NODE_OIDC"
  npm install --no-audit --no-fund --silent --prefix "$OPENSHARING_NODE_OIDC" oidc-provider@9.13.3 >/dev/null
fi

export PATH="$OPENSHARING_TOOLS/bin:$PATH"
export OPENSHARING_GO="$OPENSHARING_VENV/bin/go"
export OPENSHARING_PYTHON="$OPENSHARING_VENV/bin/python"
export OPENSHARING_CACHE OPENSHARING_TOOLS OPENSHARING_VENV OPENSHARING_NODE_OIDC
