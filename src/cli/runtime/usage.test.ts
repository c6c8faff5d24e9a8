/**
 * `berth-runtime VERB -h` / `--help` for every verb, as runc answers it: the verb's usage
 * and each flag it accepts, on stdout, exit 0 — run through the real executable.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIME } from "../../../test/runtime-harness.ts";
import { VERB_NAMES } from "../berth-runtime.ts";
import { VERBS } from "./usage.ts";

const rt = (...args: string[]) => {
  const r = Bun.spawnSync([RUNTIME, ...args], { stdin: "ignore" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
};

describe("berth-runtime VERB --help", () => {
  test("the help knows every verb the runtime runs", () => {
    expect(Object.keys(VERBS).sort()).toEqual([...VERB_NAMES].sort());
  });

  test.each(VERB_NAMES)("%s: usage and every flag on stdout, exit 0, with -h and --help", (verb) => {
    const long = rt(verb, "--help");
    expect(long.stderr).toBe("");
    expect(long.code).toBe(0);
    expect(long.stdout).toStartWith(`usage: berth-runtime ${verb}`);
    expect(long.stdout).toContain(VERBS[verb]!.summary);
    expect(rt(verb, "-h")).toEqual(long);
    // each listed flag has a meaning and is one the verb accepts (not "unknown flag")
    const flags = [...long.stdout.matchAll(/^ {2}(?:-\w, )?--([\w-]+)(?: VALUE)?\s+(\S.*)?$/gm)];
    expect(flags.length).toBeGreaterThan(0);
    for (const [line, name, meaning] of flags) {
      expect(meaning ?? `--${name} has no description`).not.toBe(`--${name} has no description`);
      // accepted: parsed, then the help after it answers (an unknown flag would fail first)
      const given = line.includes(" VALUE") ? [`--${name}`, "x"] : [`--${name}`];
      expect(rt(verb, ...given, "--help")).toEqual(long);
    }
  });

  test("after the id, --help belongs to the command (exec ID sh --help), not to berth-runtime", () => {
    const r = rt("--root", "/nonexistent-berth-root", "exec", "no-such-container", "sh", "--help");
    expect(r.code).toBe(255); // exec's own failure, as runc's (fatalWithCode(err, 255))
    expect(r.stdout).toBe("");
  });
});
