/**
 * `update`: change a live container's cgroup limits. The body is an OCI LinuxResources
 * object (containerd sends `--resources=-` on stdin, podman a file), or runc's single
 * flags, which cgroups/resource-flags.ts turns into the same object. Everything is checked before the first
 * write — the spec validator, then the cgroup planner — so a bad value changes nothing;
 * a write the kernel refuses half-way is undone from the values read just before.
 */
import { openCgroup } from "../cgroups/open-cgroup.ts";
import type { CgroupManager } from "../cgroups/manager.ts";
import { readOptional, writeCgroupFile } from "../cgroups/fs.ts";
import { placeOf } from "../cgroups/layout.ts";
import type { CgroupOp } from "../cgroups/plan.ts";
import { validateResources } from "../spec/validate-resources.ts";
import { BerthError, type Warning } from "../errors.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import { withContainer } from "./locked-state.ts";
import type { Target } from "./state.ts";

/**
 * An update body (`--resources`) → checked LinuxResources. `devices` is dropped, as runc
 * does: callers send the container's whole resources back, and the device rules in it
 * lack the defaults create added, so applying them would cut the container off /dev/null.
 */
export function parseResourcesJson(text: string, source: string): LinuxResources {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BerthError(`${source} is not valid JSON: ${(err as Error).message}; pass an OCI LinuxResources object`, { field: "--resources" });
  }
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) delete (raw as Record<string, unknown>).devices;
  return validateResources(raw);
}

/**
 * runc update keeps what the caller leaves out. The cgroup layer already does for most
 * files (each value is its own file); these are the two v2 files that hold two values,
 * whose missing half is read back from the kernel.
 */
function fillFromCurrent(cg: CgroupManager, r: LinuxResources): LinuxResources {
  const unified = cg.dirs().unified;
  if (!unified) return r;
  const out: LinuxResources = { ...r };
  const c = r.cpu;
  // cpu.max is "$QUOTA $PERIOD": a new period alone must keep the current quota.
  if (placeOf(cg.layout, "cpu") === "unified" && c?.period && (c.quota === undefined || c.quota === 0)) {
    const quota = (readOptional(unified, "cpu.max") ?? "max").trim().split(" ")[0];
    out.cpu = { ...c, quota: quota === "max" || quota === undefined ? -1 : Number(quota) };
  }
  const m = r.memory;
  // memory.swap.max is swap alone but the OCI value is memory+swap: it needs the limit.
  if (placeOf(cg.layout, "memory") === "unified" && m?.swap && m.swap > 0 && !m.limit) {
    const limit = (readOptional(unified, "memory.max") ?? "max").trim();
    if (limit !== "max") out.memory = { ...m, limit: Number(limit) };
  }
  return out;
}

interface Saved {
  dir: string;
  file: string;
  value: string;
}

/** The directory a planned write goes to. */
function dirOf(cg: CgroupManager, op: CgroupOp): string | undefined {
  const dirs = cg.dirs();
  if (op.on === "v2") return dirs.unified;
  return Object.entries(dirs).find(([key]) => key !== "unified" && key.split(",").includes(op.controller))?.[1];
}

/**
 * What each planned file holds now, to write back if a later write fails. Only one-line
 * files: the multi-line ones (io.max, blkio throttles) hold one entry per device, and
 * their old content cannot be written back in one write.
 */
function snapshot(cg: CgroupManager, ops: CgroupOp[]): Saved[] {
  const saved: Saved[] = [];
  for (const op of ops) {
    if (op.kind !== "write") continue;
    const dir = dirOf(cg, op);
    const value = dir === undefined ? undefined : readOptional(dir, op.file)?.trim();
    if (dir === undefined || value === undefined || value === "" || value.includes("\n")) continue;
    if (!saved.some((s) => s.dir === dir && s.file === op.file)) saved.push({ dir, file: op.file, value });
  }
  return saved;
}

function restore(saved: Saved[]): void {
  for (const s of [...saved].reverse()) {
    try {
      writeCgroupFile(s.dir, s.file, s.value);
    } catch {
      // best effort: the error that caused the rollback is the one to report
    }
  }
}

/**
 * Apply `resources` to a created, running or paused container.
 * @returns warnings (fields ignored on this host)
 */
export function updateContainer(t: Target, resources: LinuxResources): Warning[] {
  return withContainer(t, (s, status) => {
    if (status === "stopped") throw new BerthError("container not running");
    const cg = openCgroup(s.cgroupsPath, { systemd: s.systemdCgroup });
    if (!cg.exists()) throw new BerthError(`the cgroup of container ${t.id} is gone (${cg.path}); delete the container and create it again`);
    const r = fillFromCurrent(cg, resources);
    // Planning throws on anything the host cannot do, before any write.
    const saved = snapshot(cg, cg.plan(r, { update: true }).ops);
    try {
      return cg.apply(r, { update: true }).warnings;
    } catch (err) {
      restore(saved);
      throw err;
    }
  });
}
