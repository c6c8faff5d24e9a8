/**
 * `linux.resources` → the exact cgroup file writes (and the v2 device filter) that
 * enforce it, for a v1, v2 or hybrid host. Pure: what exists on the host comes in
 * through `PlanContext`, so every decision is unit-tested without root, and the
 * managers only execute the list — which is also what `berth cgroup` prints.
 */
import { BerthError, type Warning } from "../errors.ts";
import type { LinuxDeviceCgroup, LinuxResources } from "../spec/linux-resources.ts";
import { blkioWeightToIoWeight, cpuMax, memorySwapToV2, pidsMax, sharesToWeight, v2Bytes } from "./convert.ts";
import { v1DeviceWrites } from "./devices.ts";
import { formatCpuList, parseCpuList } from "./units.ts";
import { keyField } from "../spec/shape.ts";

export type Hierarchy = "v1" | "v2";

export interface CgroupWrite {
  kind: "write";
  on: Hierarchy;
  /** the controller whose hierarchy (v1) or enablement (v2) the file needs; "cgroup" for core files */
  controller: string;
  file: string;
  value: string;
  /** the spec field this write enforces, for error messages */
  field: string;
}

/** cgroup v2 has no devices files: access is decided by an eBPF program attached to the cgroup. */
export interface DeviceFilter {
  kind: "device-filter";
  on: "v2";
  controller: "devices";
  rules: LinuxDeviceCgroup[];
  field: string;
}

export type CgroupOp = CgroupWrite | DeviceFilter;

export interface HierarchyFacts {
  /** controllers usable here: v1 → mounted hierarchies; v2 → the parent's cgroup.controllers */
  controllers: string[];
  /** does the cgroup have `file`? Variants depend on the kernel (bfq, memsw, rsvd, burst) */
  hasFile(file: string): boolean;
}

export interface PlanContext {
  v1?: HierarchyFacts;
  v2?: HierarchyFacts;
  /** CPUs and memory nodes the host offers (root cpuset.effective_cpus/mems) */
  hostCpus: number[];
  hostMems: number[];
  /** hugepage sizes the kernel supports, named as cgroup files spell them ("2MB") */
  hugepageSizes: string[];
  /** an update of a running cgroup (runc update), not a create */
  update?: boolean;
}

export interface ResourcePlan {
  ops: CgroupOp[];
  warnings: Warning[];
}

const R = "linux.resources";

/** Where each controller's ops go on this host: v1 if it has a v1 hierarchy, else v2. */
function hierarchyFor(ctx: PlanContext, controller: string, field: string): Hierarchy {
  if (ctx.v1?.controllers.includes(controller)) return "v1";
  if (ctx.v2?.controllers.includes(controller)) return "v2";
  const where = ctx.v1 && ctx.v2 ? "on any cgroup hierarchy (v1 mounts or cgroup2)"
    : ctx.v1 ? "as a mounted cgroup v1 hierarchy" : "in cgroup.controllers of the cgroup2 root";
  throw new BerthError(`needs the ${controller} controller, which this host does not offer ${where}; remove the field or enable the controller`, { field });
}

class Planner {
  readonly ops: CgroupOp[] = [];
  readonly warnings: Warning[] = [];
  constructor(readonly ctx: PlanContext) {}

  facts(on: Hierarchy): HierarchyFacts {
    return (on === "v1" ? this.ctx.v1 : this.ctx.v2)!;
  }

  write(on: Hierarchy, controller: string, file: string, value: string | number, field: string): void {
    this.ops.push({ kind: "write", on, controller, file, value: String(value), field });
  }

  /** The first of `files` the cgroup has, or an error that names the field and what is missing. */
  pick(on: Hierarchy, files: string[], field: string, why: string): string {
    const f = files.find((x) => this.facts(on).hasFile(x));
    if (!f) throw new BerthError(`this kernel has no ${files.join(" or ")} (${why}); remove the field`, { field });
    return f;
  }

  warn(field: string, message: string): void {
    this.warnings.push({ field, message });
  }
}

function planCpu(p: Planner, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  const f = `${R}.cpu`;
  const cpuFields = [c.shares, c.quota, c.period, c.burst, c.realtimePeriod, c.realtimeRuntime, c.idle];
  if (cpuFields.some((v) => v !== undefined && v !== null)) {
    const on = hierarchyFor(p.ctx, "cpu", f);
    const hasQuota = c.quota !== undefined && c.quota !== 0;
    const hasPeriod = c.period !== undefined && c.period !== 0;
    // A quota alone runs against the cgroup's current period (the kernel's 100 ms in a new
    // one), as runc and docker take it.
    if (on === "v1") {
      if (c.shares) p.write(on, "cpu", "cpu.shares", c.shares, `${f}.shares`);
      if (hasPeriod) p.write(on, "cpu", "cpu.cfs_period_us", c.period!, `${f}.period`);
      if (hasQuota) p.write(on, "cpu", "cpu.cfs_quota_us", c.quota!, `${f}.quota`);
      if (c.burst !== undefined) {
        p.write(on, "cpu", p.pick(on, ["cpu.cfs_burst_us"], `${f}.burst`, "CPU burst needs Linux 5.14"), c.burst, `${f}.burst`);
      }
      // The period must be in place before a runtime that fits in it.
      if (c.realtimePeriod) {
        p.write(on, "cpu", p.pick(on, ["cpu.rt_period_us"], `${f}.realtimePeriod`, "kernel built without CONFIG_RT_GROUP_SCHED"), c.realtimePeriod, `${f}.realtimePeriod`);
      }
      if (c.realtimeRuntime) {
        p.write(on, "cpu", p.pick(on, ["cpu.rt_runtime_us"], `${f}.realtimeRuntime`, "kernel built without CONFIG_RT_GROUP_SCHED"), c.realtimeRuntime, `${f}.realtimeRuntime`);
      }
      if (c.idle !== undefined) p.write(on, "cpu", p.pick(on, ["cpu.idle"], `${f}.idle`, "SCHED_IDLE cgroups need Linux 5.15"), c.idle, `${f}.idle`);
    } else {
      if (c.idle === 1 && c.shares) {
        throw new BerthError("cannot set both idle and shares: an idle cgroup has the minimum weight by definition", { field: `${f}.idle` });
      }
      if (c.shares) p.write(on, "cpu", "cpu.weight", sharesToWeight(c.shares), `${f}.shares`);
      if (hasQuota || hasPeriod) {
        // A lone quota keeps the current period: cpu.max takes "$MAX" alone.
        const value = !hasPeriod ? (c.quota! > 0 ? String(c.quota) : "max") : cpuMax(c.quota, c.period);
        p.write(on, "cpu", "cpu.max", value, `${f}.${hasQuota ? "quota" : "period"}`);
      }
      if (c.burst !== undefined) {
        p.write(on, "cpu", p.pick(on, ["cpu.max.burst"], `${f}.burst`, "CPU burst needs Linux 5.14"), c.burst, `${f}.burst`);
      }
      for (const key of ["realtimePeriod", "realtimeRuntime"] as const) {
        if (c[key]) throw new BerthError("cgroup v2 has no realtime CPU controller; remove the field (realtime scheduling needs cgroup v1 with CONFIG_RT_GROUP_SCHED)", { field: `${f}.${key}` });
      }
      if (c.idle !== undefined) p.write(on, "cpu", p.pick(on, ["cpu.idle"], `${f}.idle`, "SCHED_IDLE cgroups need Linux 5.15"), c.idle, `${f}.idle`);
    }
  }
  for (const key of ["cpus", "mems"] as const) {
    const value = c[key];
    if (value === undefined || value === "") continue;
    const field = `${f}.${key}`;
    const on = hierarchyFor(p.ctx, "cpuset", field);
    const wanted = parseCpuList(value, field);
    const host = key === "cpus" ? p.ctx.hostCpus : p.ctx.hostMems;
    const missing = wanted.filter((n) => !host.includes(n));
    if (missing.length > 0) {
      const what = key === "cpus" ? "CPU" : "memory node";
      throw new BerthError(`${what} ${formatCpuList(missing)} is not on this host; it has ${formatCpuList(host) || "none"}`, { field });
    }
    p.write(on, "cpuset", `cpuset.${key}`, formatCpuList(wanted), field);
  }
}

function planMemory(p: Planner, r: LinuxResources): void {
  const m = r.memory;
  if (!m) return;
  const f = `${R}.memory`;
  if (m.kernel !== undefined && m.kernel > 0) {
    // Linux 5.16+ ignores kmem limits and 6.x removed them; runc ignores the field too.
    p.warn(`${f}.kernel`, "kernel memory limits are no longer supported by Linux; ignored");
  }
  const wanted = [m.limit, m.reservation, m.swap, m.kernelTCP, m.swappiness, m.disableOOMKiller, m.useHierarchy]
    .some((v) => v !== undefined && v !== null && v !== 0 && v !== false && v !== -1)
    || m.limit === -1 || m.swap === -1 || m.useHierarchy === false
    // swappiness 0 is a real value (never swap), not "unset"
    || (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1);
  if (!wanted) return;
  const on = hierarchyFor(p.ctx, "memory", f);
  if (on === "v1") {
    if (m.limit) p.write(on, "memory", "memory.limit_in_bytes", m.limit, `${f}.limit`);
    const swap = m.swap ?? (m.limit === -1 ? -1 : undefined);
    if (swap) {
      if (swap > 0 && m.limit && m.limit > 0 && swap < m.limit) {
        throw new BerthError(`memory+swap (${swap}) must be at least the memory limit (${m.limit}); it is the total of both`, { field: `${f}.swap` });
      }
      const file = m.swap === undefined ? (p.facts(on).hasFile("memory.memsw.limit_in_bytes") ? "memory.memsw.limit_in_bytes" : undefined)
        : p.pick(on, ["memory.memsw.limit_in_bytes"], `${f}.swap`, "swap accounting is off; boot with swapaccount=1");
      if (file) p.write(on, "memory", file, swap, `${f}.swap`);
    }
    if (m.reservation) p.write(on, "memory", "memory.soft_limit_in_bytes", m.reservation, `${f}.reservation`);
    if (m.kernelTCP) p.write(on, "memory", p.pick(on, ["memory.kmem.tcp.limit_in_bytes"], `${f}.kernelTCP`, "kernel built without kmem accounting"), m.kernelTCP, `${f}.kernelTCP`);
    if (m.swappiness !== undefined && m.swappiness !== -1) p.write(on, "memory", "memory.swappiness", m.swappiness, `${f}.swappiness`);
    if (m.disableOOMKiller) p.write(on, "memory", "memory.oom_control", 1, `${f}.disableOOMKiller`);
    if (m.useHierarchy !== undefined) p.write(on, "memory", "memory.use_hierarchy", m.useHierarchy ? 1 : 0, `${f}.useHierarchy`);
    return;
  }
  if (m.limit) p.write(on, "memory", "memory.max", v2Bytes(m.limit), `${f}.limit`);
  const swap = memorySwapToV2(m.swap ?? (m.limit === -1 ? -1 : undefined), m.limit, `${f}.swap`);
  if (swap !== undefined) {
    if (p.facts(on).hasFile("memory.swap.max")) p.write(on, "memory", "memory.swap.max", swap, `${f}.swap`);
    else if (m.swap !== undefined) p.pick(on, ["memory.swap.max"], `${f}.swap`, "swap accounting is off; boot with swapaccount=1");
  }
  if (m.reservation) p.write(on, "memory", "memory.low", v2Bytes(m.reservation), `${f}.reservation`);
  if (m.kernelTCP && m.kernelTCP > 0) {
    throw new BerthError("cgroup v2 has no separate TCP buffer limit (it is part of memory.max); remove the field", { field: `${f}.kernelTCP` });
  }
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    throw new BerthError("cgroup v2 has no per-cgroup swappiness; remove the field (vm.swappiness is host-wide)", { field: `${f}.swappiness` });
  }
  if (m.disableOOMKiller) {
    throw new BerthError("cgroup v2 cannot disable the OOM killer; remove the field, or raise linux.resources.memory.limit", { field: `${f}.disableOOMKiller` });
  }
  if (m.useHierarchy === false) {
    throw new BerthError("cgroup v2 accounting is always hierarchical; remove the field or set it to true", { field: `${f}.useHierarchy` });
  }
}

function planPids(p: Planner, r: LinuxResources): void {
  if (!r.pids) return;
  const field = `${R}.pids.limit`;
  p.write(hierarchyFor(p.ctx, "pids", field), "pids", "pids.max", pidsMax(r.pids.limit), field);
}

const THROTTLES = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"],
] as const;

function planBlockIO(p: Planner, r: LinuxResources): void {
  const b = r.blockIO;
  if (!b) return;
  const f = `${R}.blockIO`;
  const any = b.weight || b.leafWeight || b.weightDevice?.length || THROTTLES.some(([k]) => b[k]?.length);
  if (!any) return;
  // A hybrid host may leave blkio unmounted on v1 and offer io on the unified hierarchy.
  const on = hierarchyFor(p.ctx, p.ctx.v1?.controllers.includes("blkio") || !p.ctx.v2 ? "blkio" : "io", f);
  if (on === "v1") {
    const why = "no proportional-weight I/O scheduler (BFQ) on this kernel";
    if (b.weight) p.write(on, "blkio", p.pick(on, ["blkio.weight", "blkio.bfq.weight"], `${f}.weight`, why), b.weight, `${f}.weight`);
    if (b.leafWeight) p.write(on, "blkio", p.pick(on, ["blkio.leaf_weight"], `${f}.leafWeight`, "leaf weights existed only in the removed CFQ scheduler"), b.leafWeight, `${f}.leafWeight`);
    b.weightDevice?.forEach((d, i) => {
      const df = `${f}.weightDevice[${i}]`;
      if (d.weight) p.write(on, "blkio", p.pick(on, ["blkio.weight_device", "blkio.bfq.weight_device"], `${df}.weight`, why), `${d.major}:${d.minor} ${d.weight}`, `${df}.weight`);
      if (d.leafWeight) p.write(on, "blkio", p.pick(on, ["blkio.leaf_weight_device"], `${df}.leafWeight`, "leaf weights existed only in the removed CFQ scheduler"), `${d.major}:${d.minor} ${d.leafWeight}`, `${df}.leafWeight`);
    });
    for (const [key, file] of THROTTLES) {
      b[key]?.forEach((d, i) => p.write(on, "blkio", file, `${d.major}:${d.minor} ${d.rate}`, `${f}.${key}[${i}]`));
    }
    return;
  }
  const bfq = p.facts(on).hasFile("io.bfq.weight");
  const weightFile = bfq ? "io.bfq.weight" : p.pick(on, ["io.weight"], `${f}.weight`, "no io.weight: the io controller's weight needs the BFQ scheduler or io.cost");
  const weight = (w: number) => (bfq ? w : blkioWeightToIoWeight(w));
  if (b.weight) p.write(on, "io", weightFile, weight(b.weight), `${f}.weight`);
  if (b.leafWeight) throw new BerthError("cgroup v2 has no leaf weight (it existed only in cgroup v1's CFQ); remove the field", { field: `${f}.leafWeight` });
  b.weightDevice?.forEach((d, i) => {
    const df = `${f}.weightDevice[${i}]`;
    if (d.leafWeight) throw new BerthError("cgroup v2 has no leaf weight; remove the field", { field: `${df}.leafWeight` });
    if (d.weight) p.write(on, "io", weightFile, `${d.major}:${d.minor} ${weight(d.weight)}`, `${df}.weight`);
  });
  for (const [key, , v2key] of THROTTLES) {
    // v1 used 0 to mean "no limit"; io.max says that with "max".
    b[key]?.forEach((d, i) => p.write(on, "io", "io.max", `${d.major}:${d.minor} ${v2key}=${d.rate === 0 ? "max" : d.rate}`, `${f}.${key}[${i}]`));
  }
}

function planHugetlb(p: Planner, r: LinuxResources): void {
  r.hugepageLimits?.forEach((h, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    if (!p.ctx.hugepageSizes.includes(h.pageSize)) {
      throw new BerthError(`page size ${h.pageSize} is not supported by this kernel; use one of ${p.ctx.hugepageSizes.join(", ") || "(none: no hugepages)"}`, { field: `${field}.pageSize` });
    }
    const on = hierarchyFor(p.ctx, "hugetlb", field);
    const [limit, rsvd] = on === "v1"
      ? [`hugetlb.${h.pageSize}.limit_in_bytes`, `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`]
      : [`hugetlb.${h.pageSize}.max`, `hugetlb.${h.pageSize}.rsvd.max`];
    p.write(on, "hugetlb", limit, on === "v2" ? v2Bytes(h.limit) : h.limit, `${field}.limit`);
    // The spec prefers reservation accounting where the kernel has it (no SIGBUS at fault time).
    if (p.facts(on).hasFile(rsvd)) p.write(on, "hugetlb", rsvd, on === "v2" ? v2Bytes(h.limit) : h.limit, `${field}.limit`);
  });
}

function planNetwork(p: Planner, r: LinuxResources): void {
  const n = r.network;
  if (!n) return;
  const f = `${R}.network`;
  if (n.classID !== undefined) {
    const field = `${f}.classID`;
    if (hierarchyFor(p.ctx, "net_cls", field) !== "v1") throw new BerthError("net_cls exists only on cgroup v1", { field });
    p.write("v1", "net_cls", "net_cls.classid", n.classID, field);
  }
  n.priorities?.forEach((prio, i) => {
    const field = `${f}.priorities[${i}]`;
    if (hierarchyFor(p.ctx, "net_prio", field) !== "v1") throw new BerthError("net_prio exists only on cgroup v1", { field });
    p.write("v1", "net_prio", "net_prio.ifpriomap", `${prio.name} ${prio.priority}`, field);
  });
}

function planRdma(p: Planner, r: LinuxResources): void {
  for (const [dev, l] of Object.entries(r.rdma ?? {})) {
    const field = keyField(`${R}.rdma`, dev);
    const on = hierarchyFor(p.ctx, "rdma", field);
    p.write(on, "rdma", "rdma.max", `${dev} hca_handle=${l.hcaHandles ?? "max"} hca_object=${l.hcaObjects ?? "max"}`, field);
  }
}

/**
 * The core `cgroup.*` files that are limits. The others are the cgroup's interface —
 * `cgroup.procs` and `cgroup.threads` move any host process in (PID 1, in the probe that
 * found it), `cgroup.kill` kills, `cgroup.subtree_control`, `cgroup.type` and
 * `cgroup.freeze` change what the runtime manages — so a config may not write them.
 */
const CORE_LIMIT_FILES = ["cgroup.max.depth", "cgroup.max.descendants"];

function planUnified(p: Planner, r: LinuxResources): void {
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    const field = keyField(`${R}.unified`, key);
    const controller = key.slice(0, key.indexOf("."));
    if (controller === "cgroup" && !CORE_LIMIT_FILES.includes(key)) {
      throw new BerthError(`is the cgroup's interface, not a resource; only controller files (memory.high, pids.max…) and ${CORE_LIMIT_FILES.join(", ")} may be set`, { field });
    }
    if (!p.ctx.v2) {
      throw new BerthError("raw cgroup v2 keys need a cgroup v2 hierarchy, and this host has only cgroup v1; use the v1 fields of linux.resources instead", { field });
    }
    if (controller !== "cgroup" && !p.ctx.v2.controllers.includes(controller)) {
      const onV1 = p.ctx.v1?.controllers.includes(controller);
      throw new BerthError(onV1
        ? `the ${controller} controller is on cgroup v1 on this host (hybrid layout); use the v1 fields of linux.resources instead`
        : `the ${controller} controller is not available in the cgroup v2 hierarchy; check cgroup.controllers`, { field });
    }
    p.write("v2", controller, key, value, field);
  }
}

function planDevices(p: Planner, r: LinuxResources): void {
  if (!r.devices || r.devices.length === 0) return;
  const field = `${R}.devices`;
  if (p.ctx.v1?.controllers.includes("devices")) {
    for (const w of v1DeviceWrites(r.devices)) p.write("v1", "devices", w.file, w.value, w.field);
  } else if (p.ctx.v2) {
    p.ops.push({ kind: "device-filter", on: "v2", controller: "devices", rules: r.devices, field });
  } else {
    hierarchyFor(p.ctx, "devices", field);
  }
}

/**
 * Plan every write for `resources` (already checked by validateResources).
 *
 * @example
 * planResources({ cpu: { quota: 200000, period: 100000 }, memory: { limit: 2 * 1024 ** 3 } }, v2ctx).ops
 * // → cpu.max "200000 100000", memory.max "2147483648"
 */
export function planResources(resources: LinuxResources, ctx: PlanContext): ResourcePlan {
  const p = new Planner(ctx);
  planCpu(p, resources);
  planMemory(p, resources);
  planPids(p, resources);
  planBlockIO(p, resources);
  planHugetlb(p, resources);
  planNetwork(p, resources);
  planRdma(p, resources);
  planUnified(p, resources);
  planDevices(p, resources);
  return { ops: p.ops, warnings: p.warnings };
}
