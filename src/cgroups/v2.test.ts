/**
 * The shared manager suite on a pure cgroup v2 host (run inside cgv2-vm by CI), plus
 * what only v2 has: controller delegation down subtree_control, the "no internal
 * processes" rule, raw unified keys, and relative cgroupsPaths (safe to test here:
 * the VM's own cgroup is not the host's process_api).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { detectHostCgroups } from "./layout.ts";
import { openCgroup } from "./open-cgroup.ts";
import { runManagerSuite, SLOW, startIn, testPath, track, waitForPids } from "./manager.case.ts";
import { attachedDeviceFilterCount } from "../sys/bpf.ts";

const { layout, own } = detectHostCgroups();
const onV2 = layout.mode === "v2";
const readV2 = (cg: ReturnType<typeof openCgroup>, _controller: string, file: string) => readFileSync(`${cg.dirs().unified}/${file}`, "utf8");

describe.skipIf(!onV2)("cgroup v2 manager", () => {
  runManagerSuite({ mode: ["v2"], files: { read: readV2 }, names: { cpuLimit: "cpu.max", memoryLimit: "memory.max" } });

  test("controllers are enabled in every ancestor's subtree_control", () => {
    const path = testPath("deep");
    const cg = track(openCgroup(`${path}/a/b`));
    cg.create();
    const mount = layout.unified!.mountPoint;
    for (const anc of [path, `${path}/a`]) {
      const enabled = readFileSync(`${mount}${anc}/cgroup.subtree_control`, "utf8");
      expect(enabled).toContain("memory");
      expect(enabled).toContain("pids");
    }
    expect(readFileSync(`${cg.dirs().unified}/cgroup.controllers`, "utf8")).toContain("cpu");
    cg.destroy();
    track(openCgroup(path)).destroy();
  }, SLOW);

  test("a cgroup with processes cannot get children with controllers: the error says why", async () => {
    const parent = track(openCgroup(testPath("internal")));
    parent.create();
    startIn(parent, "exec sleep 60");
    await waitForPids(parent, 1);
    const child = openCgroup(`${parent.path}/child`);
    expect(() => child.create()).toThrow(/no internal processes/);
    expect(child.exists()).toBe(false);
  }, SLOW);

  test("shares become crun's cpu.weight and swap becomes memory.swap.max = swap - limit", () => {
    const cg = track(openCgroup(testPath("weight")));
    cg.create();
    cg.apply({ cpu: { shares: 1024 }, memory: { limit: 64 * 2 ** 20, swap: 96 * 2 ** 20 } });
    expect(readV2(cg, "", "cpu.weight").trim()).toBe("100");
    expect(readV2(cg, "", "memory.swap.max").trim()).toBe(String(32 * 2 ** 20));
  }, SLOW);

  test("raw unified keys are written as given", () => {
    const cg = track(openCgroup(testPath("raw")));
    cg.create();
    cg.apply({ unified: { "memory.high": "50000000", "pids.max": "7" } });
    expect(readV2(cg, "", "memory.high").trim()).toBe("49999872"); // the kernel rounds down to pages
    expect(readV2(cg, "", "pids.max").trim()).toBe("7");
  }, SLOW);

  test("devices on v2 are one BPF program attached to the cgroup", () => {
    const cg = track(openCgroup(testPath("bpf")));
    cg.create();
    cg.apply({ devices: [{ allow: false, access: "rwm" }] });
    cg.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }] }, { update: true });
    expect(attachedDeviceFilterCount(cg.dirs().unified!)).toBe(1);
  }, SLOW);

  test("checkBeforeUpdate refuses a limit below current usage instead of OOM-killing", async () => {
    const cg = track(openCgroup(testPath("check")));
    cg.create();
    startIn(cg, "exec sleep 60");
    await waitForPids(cg, 1);
    // v2 charges only what a process allocates after it joined: wait for the exec'd sleep's pages
    const dir = cg.dirs().unified!;
    for (let i = 0; i < 500 && Number(readFileSync(`${dir}/memory.current`, "utf8")) <= 4096; i++) await Bun.sleep(10);
    expect(() => cg.apply({ memory: { limit: 4096, checkBeforeUpdate: true } }, { update: true })).toThrow(/below current usage/);
  }, SLOW);

  test("a relative cgroupsPath hangs off the parent of the caller's own cgroup", () => {
    const ownPath = own.find((e) => e.hierarchyId === 0)!.path;
    const name = `berth-rel-${process.pid}`;
    const cg = track(openCgroup(name));
    const parent = ownPath === "/" ? "" : ownPath.slice(0, ownPath.lastIndexOf("/"));
    expect(cg.path).toBe(`${parent}/${name}`);
    cg.create();
    expect(cg.exists()).toBe(true);
  }, SLOW);
});
