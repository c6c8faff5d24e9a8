/**
 * The config.json fuzzer's pure tier (test/config-fuzz.ts): for every mutant of a rich,
 * valid config, validation, seccomp compilation, the init plan, the cgroup writes and
 * the plan's encoding end in success or a BerthError naming the field — never another
 * exception. A fixed seed, so a failure here is a failure on every machine; bench/fuzz.ts
 * runs the same properties 10,000 times with any seed.
 */
import { expect, test, setDefaultTimeout } from "bun:test";
import fc from "fast-check";
import { mutate, mutations, pureOutcome, richSpec } from "../../test/config-fuzz.ts";

setDefaultTimeout(120_000);

const base = JSON.parse(JSON.stringify(richSpec("/bundle/rootfs", "fuzz")));

test("the rich config the fuzzer mutates is itself accepted", () => {
  expect(pureOutcome(base)).toBe("accepted");
});

test("1000 mutants (seed 21): accepted or refused with a BerthError, nothing else", () => {
  fc.assert(fc.property(mutations(base, false), (muts) => {
    const outcome = pureOutcome(mutate(base, muts));
    // one line once printed (the CLI escapes control characters), a field before the colon
    if (outcome !== "accepted") expect(outcome).toMatch(/^refused: [^\s:]+( \([^)]*\))?: /);
  }), { seed: 21, numRuns: 1000 });
});
