#!/bin/sh
# Bundle berth-runtime and berth with code splitting: one small entry each and one
# chunk per verb or command, already transpiled. Measured: `state` 9.9 ms bundled vs
# 13.2 ms from the TypeScript sources (Bun's own floor is ~4.5 ms), `berth --version`
# 54 ms from the sources, because Bun no longer transpiles dozens of files on every
# exec. bin/berth-runtime and bin/berth run this bundle when it exists. Run by `npm install`
# / `npm ci` ("prepare") and by scripts/test-all.sh.
#
# Each build goes to a directory of its own under native/build/runtime.d/, and
# native/build/runtime is a symlink switched with one rename: a berth-runtime already
# running (Bun resolves the entry to its real path) keeps loading its verb chunks from
# its own build, which stays until two newer builds exist. Replacing the directory in
# place broke calls in flight: conmon's `create` failed with ENOENT on a chunk.
set -eu
cd "$(dirname "$0")/.."
builds=native/build/runtime.d
stamp=$(date +%s%N).$$
mkdir -p "$builds"
trap 'rm -rf "$builds/$stamp.tmp" native/build/runtime.link.$$' EXIT
./node_modules/.bin/bun build src/cli/berth-runtime-main.ts src/cli/berth.ts --target=bun --splitting --minify --outdir="$builds/$stamp.tmp" >/dev/null
mv "$builds/$stamp.tmp" "$builds/$stamp"
# the layout before runtime.d: a plain directory where the symlink goes
[ -L native/build/runtime ] || rm -rf native/build/runtime
ln -s "runtime.d/$stamp" native/build/runtime.link.$$
mv -T native/build/runtime.link.$$ native/build/runtime
# keep this build and the two before it
ls -1 "$builds" | grep -v '\.tmp$' | sort -n | head -n -3 | while read -r old; do rm -rf "${builds:?}/$old"; done
