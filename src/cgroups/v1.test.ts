/**
 * The shared manager suite on a cgroup v1 or hybrid host (this CI host), plus what only
 * the v1/hybrid layout has: per-controller directories, hugetlb and PSI on the cgroup2
 * side, memsw ordering, and v1's devices list.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { detectHostCgroups } from "./layout.ts";
import { openCgroup } from "./open-cgroup.ts";
import { runManagerSuite, SLOW, testPath, track } from "./manager.case.ts";

const { layout } = detectHostCgroups();
const onV1 = layout.mode === "v1" || layout.mode === "hybrid";

const readV1 = (cg: ReturnType<typeof openCgroup>, controller: string, file: string) => {
  const label = Object.keys(cg.dirs()).find((l) => l.split(",").includes(controller));
  return readFileSync(`${cg.dirs()[label ?? "unified"]}/${file}`, "utf8");
};

describe.skipIf(!onV1)("cgroup v1/hybrid manager", () => {
  runManagerSuite({ mode: ["v1", "hybrid"], files: { read: readV1 }, names: { cpuLimit: "cpu.cfs_quota_us", memoryLimit: "memory.limit_in_bytes" } });

  test("raising memory and memory+swap together writes memsw first (v1 requires limit ≤ memsw)", () => {
    const cg = track(openCgroup(testPath("memsw")));
    cg.create();
    cg.apply({ memory: { limit: 32 * 2 ** 20, swap: 32 * 2 ** 20 } });
    const r = cg.apply({ memory: { limit: 64 * 2 ** 20, swap: 96 * 2 ** 20 } }, { update: true });
    expect(r.writes.map((w) => w.path.slice(w.path.lastIndexOf("/") + 1))).toEqual(["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
    expect(readV1(cg, "memory", "memory.memsw.limit_in_bytes").trim()).toBe(String(96 * 2 ** 20));
  }, SLOW);

  test("device rules are written to devices.deny/allow in order and show in devices.list", () => {
    const cg = track(openCgroup(testPath("devlist")));
    cg.create();
    cg.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }] });
    expect(readV1(cg, "devices", "devices.list").trim()).toBe("c 1:3 rw");
  }, SLOW);

  test.skipIf(layout.mode !== "hybrid" || !layout.unified?.controllers.includes("hugetlb"))(
    "hybrid: hugetlb limits go to the cgroup2 side, where the controller lives", () => {
      const cg = track(openCgroup(testPath("hugetlb")));
      cg.create();
      const r = cg.apply({ hugepageLimits: [{ pageSize: "2MB", limit: 8 * 2 ** 20 }] });
      expect(r.writes[0]!.path).toBe(`${cg.dirs().unified}/hugetlb.2MB.max`);
      expect(readFileSync(`${cg.dirs().unified}/hugetlb.2MB.max`, "utf8").trim()).toBe(String(8 * 2 ** 20));
      expect(cg.stats().hugetlb?.["2MB"]?.limit).toBe(8 * 2 ** 20);
    }, SLOW);

  test.skipIf(layout.mode !== "hybrid")("hybrid: the process is in the cgroup2 directory too, which gives it PSI", async () => {
    const cg = track(openCgroup(testPath("hybrid-psi")));
    cg.create();
    const { startIn, waitForPids } = await import("./manager.case.ts");
    const pid = startIn(cg, "exec sleep 60");
    await waitForPids(cg, 1);
    const v2line = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"));
    expect(v2line).toBe(`0::${cg.path}`);
    expect(cg.stats().psi?.cpu).toBeDefined();
  }, SLOW);

  test.skipIf(!layout.v1.some((h) => h.controllers.includes("cpuset")))(
    "cpuset levels made by hand (empty cpus and mems) are filled top-down from the root, and a process can join the new one below them", async () => {
      const premade = testPath("cpuset-premade");
      const leaf = openCgroup(`${premade}/leaf`);
      const hand = openCgroup(premade);
      track(leaf);
      track(hand);
      const handDir = Object.entries(hand.dirs()).find(([label]) => label.split(",").includes("cpuset"))![1];
      // mkdir -p, as a user would: the per-test root and this level, both with empty cpuset files
      mkdirSync(handDir, { recursive: true });
      expect(readFileSync(`${handDir}/cpuset.cpus`, "utf8").trim()).toBe("");
      leaf.create();
      const mount = layout.v1.find((h) => h.controllers.includes("cpuset"))!.mountPoint;
      const levels = [handDir.slice(0, handDir.lastIndexOf("/")), handDir, `${handDir}/leaf`];
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        const root = readFileSync(`${mount}/${file}`, "utf8").trim();
        expect(levels.map((d) => readFileSync(`${d}/${file}`, "utf8").trim())).toEqual([root, root, root]);
      }
      const { startIn, waitForPids } = await import("./manager.case.ts");
      startIn(leaf, "exec sleep 60");
      await waitForPids(leaf, 1);
    }, SLOW);

  test("raw unified keys are refused for controllers that live on v1", () => {
    const cg = track(openCgroup(testPath("unified")));
    cg.create();
    expect(() => cg.apply({ unified: { "memory.high": "1000000" } })).toThrow(/linux\.resources\.unified\["memory\.high"\]: the memory controller is on cgroup v1/);
  }, SLOW);
});
