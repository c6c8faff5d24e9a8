/**
 * Commands timed side by side, interleaved: each round runs every command once, in an
 * order that rotates from round to round, so that all of them see the same machine — on a
 * host shared with other sessions the load moves by 2–5× within a minute, and hyperfine,
 * which runs one command's runs back to back, lets that drift into the ratios.
 *
 *   bun bench/interleave.ts RUNS WARMUP OUT.json NAME COMMAND [NAME COMMAND]…
 *
 * COMMAND is split on spaces (no shell). Writes hyperfine's JSON shape (results[]: command,
 * mean, stddev, median, min, max, times — seconds), which bench/network.sh summarises.
 * A command that fails stops the bench with its stderr.
 */
import { writeFileSync } from "node:fs";

const [runsArg, warmupArg, out, ...pairs] = process.argv.slice(2);
const runs = Number(runsArg);
const warmup = Number(warmupArg);
if (!out || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || pairs.length < 2 || pairs.length % 2) {
  console.error("usage: bun bench/interleave.ts RUNS WARMUP OUT.json NAME COMMAND [NAME COMMAND]…");
  process.exit(2);
}
const commands = Array.from({ length: pairs.length / 2 }, (_, i) => ({ name: pairs[2 * i]!, argv: pairs[2 * i + 1]!.split(" ").filter(Boolean), times: [] as number[] }));

function once(c: (typeof commands)[number]): number {
  const t = performance.now();
  const p = Bun.spawnSync(c.argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t;
  if (p.exitCode !== 0) {
    console.error(`${c.name}: exited ${p.exitCode}: ${p.stderr.toString().trim()}`);
    process.exit(1);
  }
  return ms / 1000;
}

for (let w = 0; w < warmup; w++) for (const c of commands) once(c);
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < commands.length; k++) {
    const c = commands[(r + k) % commands.length]!;
    c.times.push(once(c));
  }
}

const results = commands.map((c) => {
  const sorted = [...c.times].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const stddev = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, sorted.length - 1));
  return { command: c.name, mean, stddev, median: sorted[sorted.length >> 1]!, min: sorted[0]!, max: sorted.at(-1)!, times: c.times };
});
writeFileSync(out, JSON.stringify({ results }));
