/**
 * The long run of the config.json fuzzer (test/config-fuzz.ts; docs/security.md records
 * its result):
 *
 *   sudo ./node_modules/.bin/bun bench/fuzz.ts [--runs 10000] [--seed 21] [--shard K/N] [--pure-only]
 *
 * Every mutant goes through the pure tier (validate, seccomp, plan, cgroup writes,
 * encoding) and, unless --pure-only, through real `berth-runtime create` + `delete
 * --force`. Unlike the test, it does not stop at the first failure: it counts every
 * outcome and prints, at the end, the totals the issue asks for — stack traces (or any
 * exception other than a BerthError), hangs (a call still running after 60 s), leaks
 * (test/leak-check.ts) and other bad outcomes — with the first few examples of each.
 * Exit status 0 only when all of those are 0. `--shard K/N` runs only the cases whose
 * index is K modulo N, so N processes side by side run the same 10,000 cases sooner.
 */
import fc from "fast-check";
import { badOutcome, mutate, mutations, pureOutcome, richSpec, type Mutation } from "../test/config-fuzz.ts";
import { leaksOf } from "../test/leak-check.ts";
import { canRunContainers, RuntimeFixture } from "../test/runtime-harness.ts";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const runs = Number(flag("runs", "10000"));
const seed = Number(flag("seed", "21"));
const pureOnly = process.argv.includes("--pure-only");
const [shard, shards] = flag("shard", "0/1").split("/").map(Number) as [number, number];
const TIMEOUT_MS = 60_000;

if (!pureOnly && !canRunContainers) {
  console.error("bench/fuzz.ts: the runtime tier needs root, /bin/busybox and native/build/berth-init; run as root or pass --pure-only");
  process.exit(2);
}

const fx = new RuntimeFixture("fuzz-bench");
const rootfs = fx.ownRootfs("fuzz");
const base = JSON.parse(JSON.stringify(richSpec(rootfs, "ID")));

const counts = { cases: 0, pureAccepted: 0, pureRefused: 0, pureExceptions: 0, created: 0, refused: 0, stackTraces: 0, hangs: 0, leaks: 0, otherBad: 0 };
const examples = new Map<string, string[]>();
function note(kind: string, what: string): void {
  const list = examples.get(kind) ?? [];
  if (list.length < 3) list.push(what.slice(0, 400));
  examples.set(kind, list);
}

const started = Date.now();
// the loop is synchronous: an interrupted run leaves its /tmp/berth-rt-fuzz-bench-* directory
// (delete --force what is under its state/ and remove it); a finished one leaves nothing
const cleanup = () => fx.cleanup();

try {
  const samples: Mutation[][] = fc.sample(mutations(base, !pureOnly), { seed, numRuns: runs }).filter((_, i) => i % shards === shard);
  for (const muts of samples) {
    counts.cases++;
    const config = mutate(base, muts);
    try {
      if (pureOutcome(config) === "accepted") counts.pureAccepted++;
      else counts.pureRefused++;
    } catch (err) {
      counts.pureExceptions++;
      note("pure exception", `${(err as Error)?.stack?.split("\n").slice(0, 3).join(" / ")} ← ${JSON.stringify(muts)}`);
    }
    if (pureOnly) continue;

    const id = fx.id("fuzz");
    const text = JSON.stringify(config).replaceAll('"/berth-test/ID"', `"/berth-test/${id}"`);
    const t0 = Date.now();
    const r = fx.rt(["create", "--bundle", fx.bundle(id, text), id], { timeoutMs: TIMEOUT_MS });
    const hung = r.code === 128 && Date.now() - t0 >= TIMEOUT_MS;
    const bad = badOutcome({ code: r.code, stderr: r.stderr, hung });
    if (r.code === 0) counts.created++;
    else if (r.code === 1) counts.refused++;
    if (hung) {
      counts.hangs++;
      note("hang", JSON.stringify(muts));
    } else if (bad?.startsWith("stack trace")) {
      counts.stackTraces++;
      note("stack trace", `${bad} ← ${JSON.stringify(muts)}`);
    } else if (bad) {
      counts.otherBad++;
      note("bad outcome", `${bad} ← ${JSON.stringify(muts)}`);
    }
    // a refused create must leave nothing by itself; a created container, nothing after delete --force
    if (r.code === 0) {
      const del = fx.rt(["delete", "--force", id], { timeoutMs: TIMEOUT_MS });
      if (del.code !== 0) {
        counts.otherBad++;
        note("delete --force failed", `${del.stderr.trim()} ← ${JSON.stringify(muts)}`);
      }
    }
    const leaks = leaksOf(fx.root, id, [rootfs]);
    if (leaks.length > 0) {
      counts.leaks++;
      note("leak", `${leaks.join("; ")} ← ${JSON.stringify(muts)}`);
      fx.rt(["delete", "--force", id], { timeoutMs: TIMEOUT_MS });
    }
    if (counts.cases % 500 === 0) console.error(`${counts.cases}/${samples.length} cases, ${Math.round((Date.now() - started) / 1000)} s`);
  }
} finally {
  cleanup();
}

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(`bench/fuzz.ts --runs ${runs} --seed ${seed}${shards > 1 ? ` --shard ${shard}/${shards}` : ""}${pureOnly ? " --pure-only" : ""}: ${counts.cases} cases in ${minutes} min`);
console.log(`pure tier:    ${counts.pureAccepted} accepted, ${counts.pureRefused} refused with a BerthError, ${counts.pureExceptions} other exceptions`);
if (!pureOnly) {
  console.log(`runtime tier: ${counts.created} created, ${counts.refused} refused (exit 1)`);
  console.log(`stack traces: ${counts.stackTraces}   hangs: ${counts.hangs}   leaks: ${counts.leaks}   other bad outcomes: ${counts.otherBad}`);
}
for (const [kind, list] of examples) for (const e of list) console.log(`  ${kind}: ${e}`);
process.exit(counts.pureExceptions + counts.stackTraces + counts.hangs + counts.leaks + counts.otherBad === 0 ? 0 : 1);
