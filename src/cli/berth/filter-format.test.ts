/**
 * Bad `--filter` and `--format` input, through the `berth` a user types: every docker-style
 * command refuses it before doing anything, with one line naming the flag and the fix,
 * exit 125 (docs/engine.md), the same words everywhere, never a stack trace. A private
 * engine root holds one volume (something to inspect) and nothing else.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { engineRoot } from "../../../test/image-fixture.ts";

setDefaultTimeout(60_000);

const store = engineRoot("filter-format");
afterAll(() => store.remove());

/** `berth ARGS…` refused: exit 125, nothing on stdout, one line on stderr (returned) */
function refused(args: string[]): string {
  const r = store.berth(args);
  expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 125, stdout: "" });
  expect(r.stderr).toMatch(/^berth: [^\n]+\n$/);
  expect(r.stderr).not.toContain("internal error");
  return r.stderr.trimEnd();
}

describe("--filter", () => {
  const keysOf: [string[], string][] = [
    [["ps", "-a"], "id, name, label, status, exited, ancestor, before, since, volume, network, publish, expose"],
    [["images"], "dangling, reference, label"],
    [["volume", "ls"], "dangling, name, label, driver"],
    [["network", "ls"], "dangling, driver, id, label, name, scope, type"],
    [["events", "--until", "0s"], "event, type, container, image, volume, network, cgroup"],
    [["container", "prune", "-f"], "until, label, label!"],
    [["image", "prune", "-f"], "until, label, label!"],
    [["network", "prune", "-f"], "until, label, label!"],
    [["system", "prune", "-f"], "until, label, label!"],
    [["volume", "prune", "-f"], "label, label!"],
  ];
  test("an unknown key, no =, no key: one line naming the filter and the keys the command takes", () => {
    for (const [cmd, keys] of keysOf) {
      for (const bad of ["nope=1", "label", "=x", "", "until=1h"].filter((b) => !keys.split(", ").includes(b.split("=")[0]!))) {
        expect(refused([...cmd, "--filter", bad])).toBe(`berth: --filter: invalid filter ${JSON.stringify(bad)}; use KEY=VALUE with KEY one of ${keys}`);
      }
    }
  });
  test("a prune's bad filter is named before it asks for -f", () => {
    expect(refused(["container", "prune", "--filter", "nope=1"])).toStartWith('berth: --filter: invalid filter "nope=1"');
    expect(refused(["volume", "prune", "--filter", "until=1h"])).toStartWith('berth: --filter: invalid filter "until=1h"');
  });
  test("a known key with a value it cannot take: the key, the value and the form to use", () => {
    for (const cmd of [["images"], ["volume", "ls"], ["network", "ls"]]) {
      expect(refused([...cmd, "--filter", "dangling=maybe"])).toBe('berth: --filter: invalid dangling "maybe"; use dangling=true or dangling=false');
    }
    expect(refused(["images", "--filter", "reference=busy[box"])).toStartWith('berth: --filter: invalid reference "busy[box"; use reference=PATTERN');
    expect(refused(["ps", "-a", "--filter", "name=["])).toStartWith('berth: --filter: invalid name "["; use name=PATTERN');
    expect(refused(["ps", "-a", "--filter", "exited=x"])).toBe('berth: --filter: invalid exited "x"; use exited=CODE, a number');
    expect(refused(["ps", "-a", "--filter", "status=asleep"])).toStartWith('berth: --filter: invalid status "asleep"; use status=STATUS with STATUS one of created');
    expect(refused(["container", "prune", "-f", "--filter", "until=notatime"])).toStartWith('berth: --filter until: invalid time "notatime"; use RFC 3339');
  });
  test("a very long value is quoted short, control characters escaped: still one line", () => {
    const line = refused(["images", "--filter", `nope\n${"x".repeat(100_000)}=1`]);
    expect(line).toStartWith('berth: --filter: invalid filter "nope\\nxxx');
    expect(line.length).toBeLessThan(250);
  });
  test("good filters still list (empty here)", () => {
    for (const args of [["images", "--filter", "dangling=1"], ["volume", "ls", "-q", "--filter", "dangling=FALSE"], ["ps", "-aq", "--filter", "exited=0"]]) {
      expect(store.berth(args)).toMatchObject({ code: 0, stderr: "" });
    }
  });
});
