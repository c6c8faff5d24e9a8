#!/bin/sh
# Build berth's C: native/build/berth-init, the helper between clone and execve
# (native/berth-init/*.c, a file per concern; native/PROTOCOL.md) — static, so it runs
# the same whatever the container's root filesystem or the host's libc — and
# native/build/berth-monitor, the process that holds a detached container (its stdio,
# rotated log, attach socket and exit record: native/berth-monitor/PROTOCOL.md; linked
# dynamically, see below), and
# native/build/libc-binding.node, the Node-API module through which src/sys/libc.ts makes
# its libc calls (the header comes from npm's node-api-headers, a devDependency).
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
if ! "$cc" -static -O2 -Wall -Wextra -Werror -o "$tmp" native/berth-init/*.c; then
  echo "build-native: compiling native/berth-init/*.c failed (see the errors above)" >&2
  exit 1
fi
# rename: a running helper (or a concurrent build) never sees a half-written binary
mv -f "$tmp" native/build/berth-init

# berth-monitor runs on the host, one per container: linked to the host's libc, whose
# pages every process shares — one alone measured 222 kB PSS against 652 kB static (its
# own copy of libc's code counted to it alone); bench/monitor.sh
tmp=native/build/berth-monitor.tmp.$$
if ! "$cc" -O2 -Wall -Wextra -Werror -o "$tmp" native/berth-monitor/*.c; then
  echo "build-native: compiling native/berth-monitor/*.c failed (see the errors above)" >&2
  exit 1
fi
mv -f "$tmp" native/build/berth-monitor

headers=node_modules/node-api-headers/include
if [ ! -f "$headers/node_api.h" ]; then
  echo "build-native: $headers/node_api.h not found; run npm ci (node-api-headers is a devDependency)" >&2
  exit 1
fi
tmp=native/build/libc-binding.node.tmp.$$
if ! "$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -I "$headers" -o "$tmp" native/libc-binding.c; then
  echo "build-native: compiling native/libc-binding.c failed (see the errors above)" >&2
  exit 1
fi
mv -f "$tmp" native/build/libc-binding.node
