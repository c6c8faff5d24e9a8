#!/bin/sh
# Compile berth-runtime and berth into one executable, native/build/bin/berth-runtime
# (berth is a symlink to it: src/cli/entry.ts picks the program by the name it was run
# by), with Bun's runtime and JavaScriptCore bytecode inside. Measured against the split
# bundle run by Bun that this replaced (hyperfine, same host and run): `state` 5.9 ms vs
# 11.3, `--version` 5.0 vs 8.4 (Bun's own `bun -e 0`: 4.7), `berth stats` over 20
# containers 26 vs 33 — Bun neither reads nor parses the program's JavaScript, and runs
# it from bytecode. Peak RSS is ~4 MB higher (the executable's floor is 25 MB, `bun -e 0`
# 20.6). Run by `npm install` / `npm ci` ("prepare"), by scripts/test-all.sh and by the
# test harnesses; bin/berth-runtime and bin/berth run it when it exists.
#
# ESM split into chunks (--splitting), each loaded when a command first imports it: the
# program not run, and the commands not asked for, are never read or linked. One CommonJS
# file (what this built before) held every module, and JavaScriptCore linked the whole of
# it at every start — 440 more page faults and ≈2 ms more CPU than an empty executable.
# Measured side by side (hyperfine, 60 runs; same sources): `berth --version` 6.9 → 4.9
# ms, `berth-runtime state` 6.4 → 4.9, `delete --force` of a gone container 6.3 → 4.3,
# `berth inspect` 9.9 → 8.8, `ps` 8.3 → 7.5; `run --rm` interleaved (30) median 47.9 →
# 43.1 ms (two Bun starts on its path). A chunk's `import … from "node:…"` still loads that
# module when the chunk loads: the common paths import none (src/signals.ts says why).
#
# JavaScriptCore tiers a function up to its JIT compilers after 10× the usual number of
# calls and loops (--compile-jit-policy=10): a runtime call lasts milliseconds, and
# compiling code that then runs a few times more was most of its CPU time. Measured over
# the default policy: `run` /bin/true 24.7 → 22.1 ms, `state` 7.1 → 6.4, `berth stats`
# over 20 containers 31.8 → 25.7 (×100 measured about the same; ×10 lets the long-running
# `berth metrics`, `events` and streaming `stats` reach the JIT sooner).
#
# It never reads a .env or bunfig.toml from the caller's directory, which `bun FILE` and
# a default executable both do: a bunfig.toml's `preload` would run its code as root
# inside the runtime, and a .env could set BERTH_INIT (the helper berth-runtime execs).
#
# The new executable is written beside the old one and renamed over it: a berth-runtime
# already running keeps its own file, and a caller never sees a half-written one.
set -eu
cd "$(dirname "$0")/.."
out=native/build/bin
tmp="$out/.berth-runtime.$$"
mkdir -p "$out"
trap 'rm -f "$tmp"' EXIT
./node_modules/.bin/bun build src/cli/entry.ts --compile --bytecode --format=esm --splitting --minify --compile-jit-policy=10 --no-compile-autoload-dotenv --no-compile-autoload-bunfig --outfile "$tmp" >/dev/null
mv -f "$tmp" "$out/berth-runtime"
ln -sfn berth-runtime "$out/berth"
# the split bundles earlier builds made
rm -rf native/build/runtime.d native/build/runtime
