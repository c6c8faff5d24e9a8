/**
 * cgroup v1: one directory per mounted hierarchy (cpu, cpuacct, memory, … each possibly
 * co-mounted), all with the same cgroup path. On a hybrid host the cgroup2 mount is
 * driven by a V2Manager for the controllers that live there (hugetlb on this host) and
 * for per-container PSI, which v1 does not have.
 */
import { pathExists } from "../sys/libc.ts";
import { BerthError } from "../errors.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import { makeCgroupDirs, procsOf, readOptional, writeCgroupFile } from "./fs.ts";
import { readHostFacts, withHostFacts } from "./host-facts.ts";
import type { CgroupLayout, V1Hierarchy } from "./layout.ts";
import type { ApplyOptions, ApplyResult, AppliedWrite, CgroupManager, DestroyOptions } from "./manager.ts";
import { planResources, type CgroupOp, type HierarchyFacts, type ResourcePlan } from "./plan.ts";
import { workingSet, type CgroupStats, type HugetlbStats, type MemoryLevel, type StatsOptions } from "./stats.ts";
import { cpuLimitCpus, parseBlkioV1, parseFlatKeyed, parseLimit, parseNumber, ticksToUsec } from "./stats-parse.ts";
import { pidsInSubtree, removeTrees, signalWhileFrozen } from "./teardown.ts";
import type { V2Manager } from "./v2.ts";

export interface V1Dir {
  hierarchy: V1Hierarchy;
  /** the resolved cgroup path in this hierarchy (relative paths differ per hierarchy) */
  path: string;
  dir: string;
}

const FREEZE_TIMEOUT_MS = 5000;

/** The controller a v1 file belongs to, from its name: `memory.limit_in_bytes` → memory. */
function controllerOfFile(file: string): string {
  return file.slice(0, file.indexOf("."));
}

export class V1Manager implements CgroupManager {
  private created: string[] = [];

  constructor(
    private readonly hierarchies: V1Dir[],
    readonly layout: CgroupLayout,
    private readonly unified?: V2Manager,
  ) {}

  get path(): string {
    return (this.find("memory") ?? this.hierarchies[0]!).path;
  }

  private find(controller: string): V1Dir | undefined {
    return this.hierarchies.find((h) => h.hierarchy.controllers.includes(controller));
  }

  private dirOf(controller: string): string | undefined {
    return this.find(controller)?.dir;
  }

  dirs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.hierarchies) out[h.hierarchy.controllers.join(",")] = h.dir;
    if (this.unified) out.unified = this.unified.dir;
    return out;
  }

  exists(): boolean {
    return this.hierarchies.some((h) => pathExists(`${h.dir}/cgroup.procs`));
  }

  create(): void {
    try {
      for (const h of this.hierarchies) {
        const made = makeCgroupDirs(h.dir);
        this.created.push(...made.slice(0, 1));
        if (h.hierarchy.controllers.includes("cpuset")) inheritCpusetDown(h.hierarchy.mountPoint, h.dir);
      }
      this.unified?.create();
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  facts(): HierarchyFacts {
    return {
      controllers: this.hierarchies.flatMap((h) => h.hierarchy.controllers),
      hasFile: (file) => {
        const dir = this.dirOf(controllerOfFile(file));
        return dir !== undefined && pathExists(`${dir}/${file}`);
      },
    };
  }

  plan(resources: LinuxResources, opts: ApplyOptions = {}): ResourcePlan {
    return planResources(resources, withHostFacts({ v1: this.facts(), v2: this.unified?.facts(), update: opts.update }));
  }

  apply(resources: LinuxResources, opts: ApplyOptions = {}): ApplyResult {
    const { ops, warnings } = this.plan(resources, opts);
    const writes: AppliedWrite[] = [];
    for (const op of this.orderMemoryWrites(ops)) {
      if (op.on === "v2") {
        writes.push(...this.unified!.execute([op]));
        continue;
      }
      if (op.kind !== "write") continue;
      const dir = this.dirOf(op.controller)!;
      writeCgroupFile(dir, op.file, op.value, op.field);
      writes.push({ path: `${dir}/${op.file}`, value: op.value, field: op.field });
    }
    return { writes, warnings };
  }

  /**
   * v1 insists memory.limit ≤ memory.memsw.limit at every moment, so raising both must
   * write memsw first and lowering both must write the limit first (runc does the same).
   */
  private orderMemoryWrites(ops: CgroupOp[]): CgroupOp[] {
    const isFile = (f: string) => (o: CgroupOp) => o.kind === "write" && o.file === f;
    const limit = ops.find(isFile("memory.limit_in_bytes"));
    const memsw = ops.find(isFile("memory.memsw.limit_in_bytes"));
    if (!limit || !memsw || limit.kind !== "write") return ops;
    const currentMemsw = parseLimit(readOptional(this.dirOf("memory")!, "memory.memsw.limit_in_bytes") ?? "max");
    const newLimit = Number(limit.value);
    const raising = newLimit === -1 || (currentMemsw !== null && newLimit > currentMemsw);
    if (!raising) return ops;
    const rest = ops.filter((o) => o !== memsw);
    rest.splice(rest.indexOf(limit), 0, memsw);
    return rest;
  }

  addProcess(pid: number): void {
    for (const h of this.hierarchies) {
      try {
        writeCgroupFile(h.dir, "cgroup.procs", String(pid));
      } catch (err) {
        const errno = (err as BerthError).errno;
        if (errno === "ENOSPC") {
          throw new BerthError(`cannot add pid ${pid} to ${h.dir}: its cpuset.cpus or cpuset.mems is empty; set them (linux.resources.cpu.cpus/mems) or copy the parent's`, { errno, cause: err });
        }
        if (errno === "ESRCH") throw new BerthError(`cannot add pid ${pid} to ${h.dir}: no such process`, { errno, cause: err });
        throw err;
      }
    }
    this.unified?.addProcess(pid);
  }

  /** The hierarchy whose membership answers "which processes": pids or freezer track every task. */
  private membershipDir(): string {
    return (this.find("pids") ?? this.find("freezer") ?? this.find("memory") ?? this.hierarchies[0]!).dir;
  }

  pids(opts: { recursive?: boolean } = {}): number[] {
    const dir = this.membershipDir();
    return opts.recursive === false ? procsOf(dir) : pidsInSubtree(dir);
  }

  private freezerDir(): string {
    const dir = this.dirOf("freezer");
    if (!dir) throw new BerthError("the freezer controller is not mounted on this host; mount it, e.g. `mount -t cgroup -o freezer none /sys/fs/cgroup/freezer`");
    return dir;
  }

  freeze(): void {
    this.setFreezer("FROZEN");
  }

  thaw(): void {
    this.setFreezer("THAWED");
  }

  private setFreezer(state: "FROZEN" | "THAWED"): void {
    const dir = this.freezerDir();
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    // A write of FROZEN starts freezing (state FREEZING); re-writing nudges tasks that were
    // in uninterruptible sleep, as runc does.
    for (;;) {
      writeCgroupFile(dir, "freezer.state", state);
      if ((readOptional(dir, "freezer.state") ?? "").trim() === state) return;
      if (Date.now() > deadline) throw new BerthError(`${dir} did not reach ${state} within ${FREEZE_TIMEOUT_MS} ms (a task may be stuck in the kernel)`);
      Bun.sleepSync(1);
    }
  }

  frozen(): boolean {
    const dir = this.dirOf("freezer");
    return dir !== undefined && (readOptional(dir, "freezer.state") ?? "").trim() === "FROZEN";
  }

  kill(signal: NodeJS.Signals | number = "SIGKILL"): void {
    signalWhileFrozen(this, this.dirOf("freezer") !== undefined && this.exists(), signal);
  }

  destroy(opts: DestroyOptions = {}): void {
    const dirs = this.hierarchies.map((h) => h.dir);
    if (this.unified) dirs.push(this.unified.dir);
    removeTrees(dirs.filter((d) => pathExists(d)), opts.timeoutMs);
    this.created = [];
  }

  rollback(): void {
    removeTrees(this.created);
    this.created = [];
    this.unified?.rollback();
  }

  private memoryLevels(): MemoryLevel[] {
    const h = this.find("memory");
    if (!h) return [];
    const levels: MemoryLevel[] = [];
    for (let dir = h.dir; dir.length > h.hierarchy.mountPoint.length; dir = dir.slice(0, dir.lastIndexOf("/"))) {
      const usage = readOptional(dir, "memory.usage_in_bytes");
      if (usage === undefined) continue;
      levels.push({
        path: dir.slice(h.hierarchy.mountPoint.length) || "/",
        limit: parseLimit(readOptional(dir, "memory.limit_in_bytes") ?? "max"),
        usage: parseNumber(usage),
        peak: parseNumber(readOptional(dir, "memory.max_usage_in_bytes") ?? "0"),
        oomKill: parseFlatKeyed(readOptional(dir, "memory.oom_control") ?? "").oom_kill ?? 0,
      });
    }
    return levels;
  }

  private hugetlb(): Record<string, HugetlbStats> | undefined {
    const dir = this.dirOf("hugetlb");
    if (!dir) return this.unified?.hugetlb();
    const out: Record<string, HugetlbStats> = {};
    for (const size of readHostFacts().hugepageSizes) {
      const usage = readOptional(dir, `hugetlb.${size}.usage_in_bytes`);
      if (usage === undefined) continue;
      out[size] = {
        usage: parseNumber(usage),
        limit: parseLimit(readOptional(dir, `hugetlb.${size}.limit_in_bytes`) ?? "max"),
        failcnt: parseNumber(readOptional(dir, `hugetlb.${size}.failcnt`) ?? "0"),
      };
    }
    return out;
  }

  stats(opts: StatsOptions = {}): CgroupStats {
    const stats: CgroupStats = {};
    const breakdown = opts.breakdown !== false;
    const limits = opts.limits !== false;
    const cpuDir = this.dirOf("cpu");
    const acctDir = this.dirOf("cpuacct");
    if (cpuDir || acctDir) {
      const s = parseFlatKeyed((cpuDir && readOptional(cpuDir, "cpu.stat")) ?? "");
      const usageNs = parseNumber((acctDir && readOptional(acctDir, "cpuacct.usage")) ?? "0");
      stats.cpu = {
        usageUsec: Math.round(usageNs / 1000),
        ...(breakdown && cpuSplit(acctDir)),
        nrPeriods: s.nr_periods ?? 0,
        nrThrottled: s.nr_throttled ?? 0,
        throttledUsec: Math.round((s.throttled_time ?? 0) / 1000),
        ...(s.nr_bursts !== undefined && { nrBursts: s.nr_bursts, burstUsec: Math.round((s.burst_time ?? 0) / 1000) }),
        ...(limits && {
          limitCpus: cpuLimitCpus((cpuDir && readOptional(cpuDir, "cpu.cfs_quota_us")) ?? "-1", (cpuDir && readOptional(cpuDir, "cpu.cfs_period_us")) ?? "100000"),
        }),
      };
    }
    const memDir = this.dirOf("memory");
    if (memDir) {
      const stat = parseFlatKeyed(readOptional(memDir, "memory.stat") ?? "");
      const usage = parseNumber(readOptional(memDir, "memory.usage_in_bytes") ?? "0");
      const memsw = breakdown ? readOptional(memDir, "memory.memsw.usage_in_bytes") : undefined;
      // v1 names anon "rss" and file "cache"; total_* include descendants, as v2 figures do.
      const inactiveFile = stat.total_inactive_file ?? stat.inactive_file ?? 0;
      const oomKill = parseFlatKeyed(readOptional(memDir, "memory.oom_control") ?? "").oom_kill ?? 0;
      const limit = parseLimit(readOptional(memDir, "memory.limit_in_bytes") ?? "max");
      const memswLimit = memsw === undefined ? null : parseLimit(readOptional(memDir, "memory.memsw.limit_in_bytes") ?? "max");
      stats.memory = {
        usage,
        limit,
        ...(limits && { peak: parseNumber(readOptional(memDir, "memory.max_usage_in_bytes") ?? "0") }),
        ...(memsw !== undefined && {
          swapUsage: Math.max(0, parseNumber(memsw) - usage),
          // memsw is memory+swap; report swap alone, as v2's memory.swap.max does.
          swapLimit: memswLimit === null || limit === null ? null : Math.max(0, memswLimit - limit),
        }),
        ...(breakdown && { high: parseLimit(readOptional(memDir, "memory.soft_limit_in_bytes") ?? "max") }),
        anon: stat.total_rss ?? stat.rss ?? 0,
        file: stat.total_cache ?? stat.cache ?? 0,
        inactiveFile,
        workingSet: workingSet(usage, inactiveFile),
        stat,
        ...(breakdown && { failcnt: parseNumber(readOptional(memDir, "memory.failcnt") ?? "0") }),
        oomKill,
        levels: opts.levels === false ? [] : this.memoryLevels(),
      };
    }
    const pidsDir = this.dirOf("pids");
    if (pidsDir) {
      stats.pids = {
        current: parseNumber(readOptional(pidsDir, "pids.current") ?? "0"),
        ...(limits && { limit: parseLimit(readOptional(pidsDir, "pids.max") ?? "max") }),
        ...(breakdown && { eventsMax: parseFlatKeyed(readOptional(pidsDir, "pids.events") ?? "").max ?? 0 }),
      };
    }
    const blkioDir = this.dirOf("blkio");
    if (blkioDir) {
      const bytes = readOptional(blkioDir, "blkio.throttle.io_service_bytes_recursive") ?? readOptional(blkioDir, "blkio.throttle.io_service_bytes") ?? "";
      const ops = breakdown ? (readOptional(blkioDir, "blkio.throttle.io_serviced_recursive") ?? readOptional(blkioDir, "blkio.throttle.io_serviced") ?? "") : "";
      stats.io = parseBlkioV1(bytes, ops);
    }
    const hugetlb = opts.hugetlb === false ? undefined : this.hugetlb();
    if (hugetlb && Object.keys(hugetlb).length > 0) stats.hugetlb = hugetlb;
    const psi = this.unified?.psi();
    if (psi) stats.psi = psi;
    return stats;
  }
}

/** User and system CPU time from cpuacct; cpuacct.stat (in ticks) only where the kernel has no usage_user/usage_sys (before 4.7). */
function cpuSplit(acctDir: string | undefined): { userUsec: number; systemUsec: number } {
  const userNs = acctDir && readOptional(acctDir, "cpuacct.usage_user");
  const sysNs = acctDir && readOptional(acctDir, "cpuacct.usage_sys");
  const ticks = userNs && sysNs ? {} : parseFlatKeyed((acctDir && readOptional(acctDir, "cpuacct.stat")) ?? "");
  return {
    userUsec: userNs ? Math.round(parseNumber(userNs) / 1000) : ticksToUsec(ticks.user ?? 0),
    systemUsec: sysNs ? Math.round(parseNumber(sysNs) / 1000) : ticksToUsec(ticks.system ?? 0),
  };
}

/**
 * inheritCpuset for every level below the hierarchy's root down to `dir`, pre-made
 * parents included: one made by hand (mkdir) is as empty as ours (runc's
 * cpusetEnsureParent fills them the same way). Levels that have values keep them.
 */
function inheritCpusetDown(mountPoint: string, dir: string): void {
  let d = mountPoint;
  let above: CpusetValues | undefined;
  for (const part of dir.slice(mountPoint.length).split("/")) {
    if (part === "") continue;
    d = `${d}/${part}`;
    above = inheritCpuset(d, above);
  }
}

type CpusetValues = Record<"cpuset.cpus" | "cpuset.mems", string>;

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and no task can
 * join it until they are set: copy the parent's, as runc and the kernel's own
 * cgroup.clone_children would. Returns the level's values, so the level below reads its
 * parent's once (`parent`: what this function returned for the level above).
 */
function inheritCpuset(dir: string, parent?: CpusetValues): CpusetValues {
  const parentDir = dir.slice(0, dir.lastIndexOf("/"));
  const values: CpusetValues = { "cpuset.cpus": "", "cpuset.mems": "" };
  for (const file of ["cpuset.cpus", "cpuset.mems"] as const) {
    const own = (readOptional(dir, file) ?? "").trim();
    if (own !== "") {
      values[file] = own;
      continue;
    }
    const value = parent?.[file] ?? (readOptional(parentDir, file) ?? "").trim();
    if (value !== "") writeCgroupFile(dir, file, value);
    values[file] = value;
  }
  return values;
}
