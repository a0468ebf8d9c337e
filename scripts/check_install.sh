#!/usr/bin/env bash
# Installs libopensharing to a temporary prefix with `make install`, checks the layout (header,
# .so → .so.MAJOR → .so.VERSION with that soname, .a, opensharing.pc), then builds the C example
# with nothing but `pkg-config --cflags --libs opensharing` and runs it against the demo
# catalog, loading the installed shared library.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT

make -s install PREFIX="$prefix"
lib="$prefix/lib"
version="$(pkg-config --modversion "$lib/pkgconfig/opensharing.pc")"
major="${version%%.*}"
test -f "$prefix/include/opensharing.h"
test -f "$lib/libopensharing.a"
test "$(readlink "$lib/libopensharing.so")" = "libopensharing.so.$major"
test "$(readlink "$lib/libopensharing.so.$major")" = "libopensharing.so.$version"
readelf -d "$lib/libopensharing.so.$version" | grep -q "SONAME.*\[libopensharing.so.$major\]" || {
  echo "libopensharing.so.$version has no soname libopensharing.so.$major" >&2
  exit 1
}

export PKG_CONFIG_PATH="$lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
cc -std=c11 -Wall -Wextra -Werror -D_DEFAULT_SOURCE examples-c/example.c \
  $(pkg-config --cflags --libs opensharing) -o "$prefix/example"
readelf -d "$prefix/example" | grep -q "NEEDED.*\[libopensharing.so.$major\]" || {
  echo "the example is not linked against libopensharing.so.$major" >&2
  exit 1
}
LD_LIBRARY_PATH="$lib" "$prefix/example" demo/opensharing.json opensharing-demo-token > "$prefix/out.txt"
grep -q "^libopensharing $version (header $version)" "$prefix/out.txt"
echo "install: make install PREFIX=… and pkg-config --cflags --libs opensharing build and run the C example (libopensharing $version)"
