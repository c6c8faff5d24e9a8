/**
 * What a container left on the host after its create, start or delete failed or was
 * killed: its state directory, its cgroup directories (and the processes still in them),
 * mounts of the host that name it, and processes whose cgroup is still its own after the
 * directories are gone from view. Shared by the tests that break things on purpose
 * (fault injection, hostile configs, the fuzzer), so "nothing left" means one thing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsFor } from "./runtime-harness.ts";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function describe(pid: string): string {
  return `pid ${pid} (${read(`/proc/${pid}/comm`)?.trim() ?? "gone"})`;
}

/** Is pid a zombie (dead, waiting for its parent — PID 1 on some hosts is slow to reap) or gone? */
export function dead(pid: number | string): boolean {
  const stat = read(`/proc/${pid}/stat`);
  return !stat || /^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
}

/** Live processes whose cgroup (any hierarchy) is `/berth-test/<id>` or below it. */
export function processesInCgroupOf(id: string): string[] {
  const mark = `/berth-test/${id}`;
  const out: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || dead(pid)) continue;
    const cg = read(`/proc/${pid}/cgroup`);
    if (cg && cg.split("\n").some((l) => l.endsWith(mark) || l.includes(`${mark}/`))) out.push(describe(pid));
  }
  return out;
}

/**
 * Everything container `id` (under --root `root`) left behind, one line each; [] when
 * nothing. `paths` are host paths the test used (its bundle, rootfs): a host mount on or
 * below one of them is a leak too.
 */
export function leaksOf(root: string, id: string, paths: string[] = []): string[] {
  const leaks: string[] = [];
  if (existsSync(join(root, id))) leaks.push(`state directory ${join(root, id)}`);
  for (const dir of cgroupDirsFor(id)) {
    const procs = (read(join(dir, "cgroup.procs")) ?? "").split("\n").filter(Boolean);
    leaks.push(`cgroup ${dir}${procs.length ? ` holding ${procs.map(describe).join(", ")}` : ""}`);
  }
  for (const p of processesInCgroupOf(id)) leaks.push(`process ${p} in the container's cgroup`);
  const mountinfo = read("/proc/self/mountinfo") ?? "";
  for (const line of mountinfo.split("\n")) {
    const point = line.split(" ")[4];
    if (point && (point.includes(id) || paths.some((p) => point === p || point.startsWith(`${p}/`)))) leaks.push(`mount ${point}`);
  }
  return leaks;
}
