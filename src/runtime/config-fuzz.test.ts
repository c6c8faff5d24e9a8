/**
 * The config.json fuzzer's runtime tier (test/config-fuzz.ts): real `berth-runtime
 * create` on mutants of a rich, valid config. Each ends with exit 0 or 1, a refusal is
 * one stderr line naming a field with no stack trace, and after `delete --force` nothing
 * is left — no state directory, cgroup, mount or process. A fixed seed and a few hundred
 * cases here; `bench/fuzz.ts --runs 10000` is the long run docs/security.md records.
 */
import { afterAll, expect, test, setDefaultTimeout } from "bun:test";
import fc from "fast-check";
import { badOutcome, mutate, mutations, richSpec } from "../../test/config-fuzz.ts";
import { leaksOf } from "../../test/leak-check.ts";
import { canRunContainers, RuntimeFixture } from "../../test/runtime-harness.ts";

setDefaultTimeout(900_000);

const fx = new RuntimeFixture("fuzz");
afterAll(() => fx.cleanup(), 120_000);

test.skipIf(!canRunContainers)("200 mutants (seed 21) through berth-runtime create: exit 0 or 1, one line naming the field, nothing left", () => {
  // a private rootfs: a mutant may make it writable and create mount points in it
  const rootfs = fx.ownRootfs("fuzz");
  const base = JSON.parse(JSON.stringify(richSpec(rootfs, "ID")));
  fc.assert(fc.property(mutations(base, true), (muts) => {
    const id = fx.id("fuzz");
    // the runtime tier never mutates these: each case has its own cgroup and hostname
    const config = JSON.parse(JSON.stringify(mutate(base, muts)).replaceAll('"/berth-test/ID"', `"/berth-test/${id}"`));
    const r = fx.rt(["create", "--bundle", fx.bundle(id, JSON.stringify(config)), id], { timeoutMs: 60_000 });
    expect(badOutcome({ code: r.code, stderr: r.stderr, hung: r.code === 128 })).toBeUndefined();
    const del = fx.rt(["delete", "--force", id], { timeoutMs: 60_000 });
    expect({ code: del.code, stderr: del.stderr }).toEqual({ code: 0, stderr: "" });
    expect(leaksOf(fx.root, id, [rootfs])).toEqual([]);
  }), { seed: 21, numRuns: 200 });
});
