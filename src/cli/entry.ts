/**
 * The entry point of the one executable scripts/build-runtime.sh compiles: berth-runtime,
 * or berth when run by that name (native/build/bin/berth is a symlink to it, as busybox's
 * applets are). One file with both, because each is ~110 MB of Bun runtime plus a few
 * hundred KB of berth; the program not run costs nothing (its module is never imported).
 *
 * Each program is its own chunk of the executable (build-runtime.sh: ESM, split), loaded
 * by the import below: the other is never read.
 */
const invokedAs = process.argv0.slice(process.argv0.lastIndexOf("/") + 1);
const program = invokedAs === "berth" ? import("./berth.ts") : import("./berth-runtime.ts");
program.then((p) => p.main(process.argv.slice(2))).then((code) => process.exit(code));
