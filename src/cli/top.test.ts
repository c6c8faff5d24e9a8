/** `berth top` on real processes in a real cgroup: ps's rows for exactly the cgroup's processes. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { berth, CgroupFixture, readCgroupNumber, until } from "../../test/observe-fixture.ts";

const SLOW = 60_000;
const fx = new CgroupFixture("top");
afterAll(() => fx.cleanup());

describe("berth top", () => {
  test("ps -ef rows of the cgroup's processes only, by cgroup path or by a PID in it; ps options pass through", async () => {
    const { path, pid } = fx.start("app", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    // three processes, and the two children past their exec (a forked child is `sh` until it runs sleep)
    const execed = () => openCgroup(path).pids().filter((p) => p !== pid).every((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sleep");
    expect(await until(() => readCgroupNumber(path, "pids.current") === 3 && execed())).toBe(true);
    const pids = openCgroup(path).pids().sort((a, b) => a - b);

    const top = berth("top", path);
    expect(top.code).toBe(0);
    const [header, ...rows] = top.stdout.trimEnd().split("\n");
    expect(header!.trim().split(/\s+/).slice(0, 3)).toEqual(["UID", "PID", "PPID"]);
    expect(rows.map((r) => Number(r.trim().split(/\s+/)[1])).sort((a, b) => a - b)).toEqual(pids);

    const custom = berth("top", String(pid), "-o", "pid,comm");
    expect(custom.code).toBe(0);
    const lines = custom.stdout.trimEnd().split("\n");
    expect(lines[0]!.trim().split(/\s+/)).toEqual(["PID", "COMMAND"]);
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)).sort((a, b) => Number(a[0]) - Number(b[0])))
      .toEqual(pids.map((p) => [String(p), p === pid ? "sh" : "sleep"]));
  }, SLOW);

  test("ps options without a PID column, and a cgroup without processes, are errors", () => {
    const { path } = fx.start("nopid", ["sleep", "1000"]);
    const noPid = berth("top", path, "-o", "comm");
    expect(noPid.code).toBe(125);
    expect(noPid.stderr).toBe("berth: ps: couldn't find PID field in ps output; pass ps options that print a PID column (e.g. -ef or -o pid,comm)\n");
    const empty = fx.cgroup("empty");
    const none = berth("top", empty);
    expect(none.code).toBe(125);
    expect(none.stderr).toBe(`berth: TARGET: ${empty} has no processes (cgroup ${empty})\n`);
  }, SLOW);
});
