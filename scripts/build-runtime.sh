#!/bin/sh
# Bundle berth-runtime into native/build/runtime/ with code splitting: one small entry
# and one chunk per verb, already transpiled. Measured: `state` 9.9 ms bundled vs
# 13.2 ms from the TypeScript sources (Bun's own floor is ~4.5 ms), because Bun no
# longer transpiles a dozen files on every exec. bin/berth-runtime runs this bundle
# when it exists. Run by `npm install` / `npm ci` ("prepare") and by scripts/test-all.sh.
set -eu
cd "$(dirname "$0")/.."
out=native/build/runtime
tmp=native/build/runtime.tmp.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
./node_modules/.bin/bun build src/cli/berth-runtime-main.ts --target=bun --splitting --minify --outdir="$tmp" >/dev/null
rm -rf "$out"
mv "$tmp" "$out"
