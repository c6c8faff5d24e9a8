#!/bin/sh
# Build native/build/berth-init, berth's only C (native/PROTOCOL.md). Static, so the
# helper runs the same whatever the container's root filesystem or the host's libc.
# Run by `npm install` / `npm ci` ("prepare") and by scripts/test-all.sh.
set -eu
cd "$(dirname "$0")/.."
cc=${CC:-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-native: $cc not found; install it (Debian/Ubuntu: apt-get install gcc libc6-dev)" >&2
  exit 1
fi
# A static link needs libc.a; without it gcc fails with a page of linker noise.
if ! libc_a=$("$cc" -print-file-name=libc.a) || [ ! -f "$libc_a" ]; then
  echo "build-native: static libc (libc.a) not found for $cc; install it (Debian/Ubuntu: apt-get install libc6-dev)" >&2
  exit 1
fi

mkdir -p native/build
tmp=native/build/berth-init.tmp.$$
trap 'rm -f "$tmp"' EXIT
if ! "$cc" -static -O2 -Wall -Wextra -Werror -o "$tmp" native/berth-init.c; then
  echo "build-native: compiling native/berth-init.c failed (see the errors above)" >&2
  exit 1
fi
# rename: a running helper (or a concurrent build) never sees a half-written binary
mv -f "$tmp" native/build/berth-init
