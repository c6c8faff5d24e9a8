/**
 * Shape and range checks for `linux.resources`, before anything touches a cgroup (the
 * cgroup layer consumes what passes: cgroups/devices.ts, cgroups/plan.ts).
 * Pure: unknown JSON in, typed LinuxResources out, or a BerthError naming the exact
 * field (`linux.resources.blockIO.throttleReadBpsDevice[1].rate`) and the accepted form.
 */
import { BerthError } from "../errors.ts";
import type { LinuxDeviceCgroup, LinuxResources } from "./linux-resources.ts";
import { array, check, describeValue, fields, keyField, object, RANGES, type Kind } from "./shape.ts";

/** A validated rule: every field filled in, `null` meaning any major/minor. */
export interface DeviceRule extends LinuxDeviceCgroup {
  type: "a" | "b" | "c";
  major: number | null;
  minor: number | null;
  access: string;
}

const U32_MAX = 0xffff_ffff;

function deviceNumber(value: unknown, field: string): number | null {
  // -1 is how runc's Go types and older configs spell "any"; JSON null and unset mean the same.
  if (value === undefined || value === null || value === -1) return null;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= U32_MAX) return value;
  throw new BerthError(`got ${describeValue(value)}; use an integer 0…${U32_MAX}, or -1 or null for any`, { field });
}

function access(value: unknown, field: string): string {
  if (value === undefined || value === null) return "rwm";
  const s = typeof value === "string" ? value : "";
  const ok = s.length > 0 && [...s].every((c, i) => "rwm".includes(c) && s.indexOf(c) === i);
  if (!ok) throw new BerthError(`got ${describeValue(value)}; use a combination of r, w, m, each at most once`, { field });
  // One spelling (rwm order) so the v1 lines and tests compare equal whatever order came in.
  return [..."rwm"].filter((c) => s.includes(c)).join("");
}

/**
 * Check `linux.resources.devices` and fill in the spec's defaults.
 *
 * @example
 * validateDeviceRules([{ allow: true, type: "c", major: 1, minor: 3 }]);
 * // → [{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]
 */
export function validateDeviceRules(rules: unknown, field = "linux.resources.devices"): DeviceRule[] {
  if (!Array.isArray(rules)) throw new BerthError(`got ${describeValue(rules)}; use a JSON array of device rules`, { field });
  return rules.map((raw: unknown, i): DeviceRule => {
    const at = `${field}[${i}]`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new BerthError(`got ${describeValue(raw)}; use an object like {"allow": false, "access": "rwm"}`, { field: at });
    }
    const r = raw as Record<string, unknown>;
    if (r.allow === undefined) throw new BerthError("is required; use true or false", { field: `${at}.allow` });
    if (typeof r.allow !== "boolean") throw new BerthError(`got ${describeValue(r.allow)}; use true or false`, { field: `${at}.allow` });
    const type = r.type ?? "a";
    if (type !== "a" && type !== "b" && type !== "c") {
      throw new BerthError(`got ${describeValue(type)}; use one of a (all), b (block), c (char)`, { field: `${at}.type` });
    }
    return {
      allow: r.allow,
      type,
      major: deviceNumber(r.major, `${at}.major`),
      minor: deviceNumber(r.minor, `${at}.minor`),
      access: access(r.access, `${at}.access`),
    };
  });
}

function range(value: number | undefined, lo: number, hi: number, field: string, note = ""): void {
  if (value !== undefined && value !== 0 && (value < lo || value > hi)) {
    throw new BerthError(`${value} is out of range; use ${lo}…${hi}${note}`, { field });
  }
}

const DEVICE_NUMBERS: Record<string, Kind> = { major: RANGES.u32, minor: RANGES.u32 };

/** An interface or device name as the kernel's files take it: one word (a space or newline would start another entry). */
const NAME = /^[\w.:@-]+$/;

export function validateResources(raw: unknown, base = "linux.resources"): LinuxResources {
  const r = object(raw, base);
  if (r.devices !== undefined && r.devices !== null) r.devices = validateDeviceRules(r.devices, `${base}.devices`);

  if (r.memory != null) {
    const m = object(r.memory, `${base}.memory`);
    fields(m, `${base}.memory`, {
      limit: "int", reservation: "int", swap: "int", kernel: "int", kernelTCP: "int",
      swappiness: "int", disableOOMKiller: "bool", useHierarchy: "bool", checkBeforeUpdate: "bool",
    });
    for (const key of ["limit", "reservation", "swap", "kernel", "kernelTCP"] as const) {
      const v = m[key] as number | undefined;
      if (v !== undefined && v < -1) throw new BerthError(`${v} is not a size; use bytes, or -1 for unlimited`, { field: `${base}.memory.${key}` });
    }
    // -1 is how old docker configs said "unset"; 0…100 are real values.
    const sw = m.swappiness as number | undefined;
    if (sw !== undefined && sw !== -1 && (sw < 0 || sw > 100)) {
      throw new BerthError(`${sw} is out of range; use 0…100`, { field: `${base}.memory.swappiness` });
    }
  }

  if (r.cpu != null) {
    const c = object(r.cpu, `${base}.cpu`);
    fields(c, `${base}.cpu`, {
      shares: "uint", quota: "int", burst: "uint", period: "uint", realtimeRuntime: "int",
      realtimePeriod: "uint", cpus: "string", mems: "string", idle: "int",
    });
    range(c.shares as number | undefined, 2, 262144, `${base}.cpu.shares`);
    range(c.period as number | undefined, 1000, 1_000_000, `${base}.cpu.period`, " microseconds");
    if (c.idle !== undefined && c.idle !== 0 && c.idle !== 1) {
      throw new BerthError(`${c.idle} is not allowed; use 0 (normal) or 1 (SCHED_IDLE)`, { field: `${base}.cpu.idle` });
    }
    const quota = c.quota as number | undefined;
    if (quota !== undefined && quota !== -1 && quota !== 0 && quota < 1000) {
      throw new BerthError(`${quota} is too small; use at least 1000 microseconds, or -1 for no limit`, { field: `${base}.cpu.quota` });
    }
    const burst = c.burst as number | undefined;
    if (burst !== undefined && burst > 0 && quota !== undefined && quota > 0 && burst > quota) {
      throw new BerthError(`burst ${burst} is larger than quota ${quota}; the spec requires burst ≤ quota`, { field: `${base}.cpu.burst` });
    }
  }

  if (r.pids != null) {
    const p = object(r.pids, `${base}.pids`);
    fields(p, `${base}.pids`, { limit: "int" }, ["limit"]);
    if ((p.limit as number) < -1) throw new BerthError(`${p.limit} is not a limit; use a number of tasks ≥ 0, or -1 for unlimited`, { field: `${base}.pids.limit` });
  }

  if (r.blockIO != null) {
    const b = object(r.blockIO, `${base}.blockIO`);
    fields(b, `${base}.blockIO`, { weight: "uint", leafWeight: "uint" });
    range(b.weight as number | undefined, 10, 1000, `${base}.blockIO.weight`);
    range(b.leafWeight as number | undefined, 10, 1000, `${base}.blockIO.leafWeight`);
    if (b.weightDevice != null) {
      array(b.weightDevice, `${base}.blockIO.weightDevice`).forEach((d, i) => {
        const f = `${base}.blockIO.weightDevice[${i}]`;
        const dev = object(d, f);
        fields(dev, f, { ...DEVICE_NUMBERS, weight: "uint", leafWeight: "uint" }, ["major", "minor"]);
        if (dev.weight === undefined && dev.leafWeight === undefined) {
          throw new BerthError("needs weight or leafWeight (10…1000)", { field: f });
        }
        range(dev.weight as number | undefined, 10, 1000, `${f}.weight`);
        range(dev.leafWeight as number | undefined, 10, 1000, `${f}.leafWeight`);
      });
    }
    for (const key of ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"]) {
      if (b[key] == null) continue;
      array(b[key], `${base}.blockIO.${key}`).forEach((d, i) => {
        const f = `${base}.blockIO.${key}[${i}]`;
        fields(object(d, f), f, { ...DEVICE_NUMBERS, rate: "uint" }, ["major", "minor", "rate"]);
      });
    }
  }

  if (r.hugepageLimits != null) {
    array(r.hugepageLimits, `${base}.hugepageLimits`).forEach((h, i) => {
      const f = `${base}.hugepageLimits[${i}]`;
      const o = object(h, f);
      fields(o, f, { pageSize: "string", limit: "uint" }, ["pageSize", "limit"]);
      if (!/^\d+[KMG]B$/.test(o.pageSize as string)) {
        throw new BerthError(`${JSON.stringify(o.pageSize)} is not a page size; use <number>KB, MB or GB, e.g. "2MB"`, { field: `${f}.pageSize` });
      }
    });
  }

  if (r.network != null) {
    const n = object(r.network, `${base}.network`);
    fields(n, `${base}.network`, { classID: RANGES.u32 });
    if (n.priorities != null) {
      array(n.priorities, `${base}.network.priorities`).forEach((p, i) => {
        const f = `${base}.network.priorities[${i}]`;
        const o = object(p, f);
        fields(o, f, { name: "string", priority: RANGES.u32 }, ["name", "priority"]);
        if (!NAME.test(o.name as string)) throw new BerthError(`${describeValue(o.name)} is not an interface name`, { field: `${f}.name` });
      });
    }
  }

  if (r.rdma != null) {
    for (const [dev, limits] of Object.entries(object(r.rdma, `${base}.rdma`))) {
      const f = keyField(`${base}.rdma`, dev);
      if (!NAME.test(dev)) throw new BerthError("is not an RDMA device name (one word, e.g. mlx5_1)", { field: f });
      const o = object(limits, f);
      fields(o, f, { hcaHandles: { lo: 0, hi: 2 ** 31 - 1 }, hcaObjects: { lo: 0, hi: 2 ** 31 - 1 } });
      if (o.hcaHandles === undefined && o.hcaObjects === undefined) throw new BerthError("needs hcaHandles or hcaObjects", { field: f });
    }
  }

  if (r.unified != null) {
    for (const [key, value] of Object.entries(object(r.unified, `${base}.unified`))) {
      const f = keyField(`${base}.unified`, key);
      if (!/^[a-z_]+\.[a-z0-9_.]+$/i.test(key) || key.includes("/")) {
        throw new BerthError(`is not a cgroup file name; use "<controller>.<file>", e.g. "memory.high"`, { field: f });
      }
      check(value, "string", f);
    }
  }
  return r as LinuxResources;
}
