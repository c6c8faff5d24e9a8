/**
 * Hostile and broken config.json files (issue 21's probe, each defect a case): the
 * runtime refuses them with exit 1 and one line naming the field — never a stack trace,
 * never a wrapped number — and leaves nothing behind (test/leak-check.ts). And a
 * process moved into a container's cgroup from outside is never signalled by delete.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/runtime-spec.ts";
import { dead, leaksOf } from "../../test/leak-check.ts";
import { canRunContainers, cgroupDirsFor, cgroupHierarchies, RuntimeFixture } from "../../test/runtime-harness.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("hostile");
afterAll(() => fx.cleanup(), 60_000);

/** A host process of the test's own, to be moved where a hostile config would move it. */
function victim(): Bun.Subprocess {
  return Bun.spawn(["sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

/** Put pid back into the root cgroup of every hierarchy (where the test's processes came from does not matter). */
function moveToRoot(pid: number): void {
  for (const h of cgroupHierarchies()) {
    try {
      writeFileSync(join(h, "cgroup.procs"), String(pid));
    } catch {
      // a hierarchy without that file (none here) or a named one without controllers
    }
  }
}

/** create with `change` must fail: exit 1, one line containing `error`, nothing left. */
function refused(change: (s: Spec) => void | string, error: string): void {
  const id = fx.id("hostile");
  const spec = fx.spec(id);
  const raw = change(spec);
  const r = fx.rt(["create", "--bundle", fx.bundle(id, typeof raw === "string" ? raw : spec), id]);
  expect(r.stderr).toContain(error);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.code).toBe(1);
  expect(leaksOf(fx.root, id)).toEqual([]);
}

describe.skipIf(!canRunContainers)("defect 1: a config cannot move, kill or keep host processes", () => {
  test("linux.resources.unified[\"cgroup.procs\"] naming a host process is refused, and the process stays where it was", () => {
    const v = victim();
    try {
      const before = readFileSync(`/proc/${v.pid}/cgroup`, "utf8");
      refused((s) => { s.linux!.resources = { unified: { "cgroup.procs": String(v.pid) } }; }, 'linux.resources.unified["cgroup.procs"]: is the cgroup\'s interface, not a resource');
      expect(dead(v.pid)).toBe(false);
      expect(readFileSync(`/proc/${v.pid}/cgroup`, "utf8")).toBe(before);
    } finally {
      v.kill("SIGKILL");
    }
  });

  for (const file of ["cgroup.kill", "cgroup.threads", "cgroup.subtree_control"]) {
    test(`linux.resources.unified["${file}"] is refused`, () => {
      refused((s) => { s.linux!.resources = { unified: { [file]: "1" } }; }, `linux.resources.unified["${file}"]: is the cgroup's interface, not a resource`);
    });
  }

  test("delete --force and kill --all never signal a process moved into the container's cgroup from outside", async () => {
    const id = fx.id("hostile");
    expect(fx.rt(["run", "-d", "--bundle", fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sleep", "60"]; })), id]).code).toBe(0);
    const v = victim();
    try {
      for (const dir of cgroupDirsFor(id)) writeFileSync(join(dir, "cgroup.procs"), String(v.pid));
      expect(fx.rt(["kill", "--all", id, "KILL"]).code).toBe(0);
      const r = fx.rt(["delete", "--force", id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`holds pid ${v.pid} (sleep), which berth did not start in container ${id} and will not signal; move it to a cgroup of its own, then delete again`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(dead(v.pid)).toBe(false);
      moveToRoot(v.pid);
      expect(fx.rt(["delete", "--force", id]).code).toBe(0);
      expect(leaksOf(fx.root, id)).toEqual([]);
      expect(dead(v.pid)).toBe(false);
    } finally {
      v.kill("SIGKILL");
      await v.exited;
    }
  });
});
