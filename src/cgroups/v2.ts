/**
 * cgroup v2: one directory in the unified hierarchy. Also used by the hybrid manager
 * for the cgroup2 mount's part (hugetlb here, and per-container PSI, which every v2
 * cgroup has even with no controller enabled).
 */
import { pathExists } from "../sys/libc.ts";
import { BerthError } from "../errors.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import { replaceDeviceFilter } from "../sys/bpf.ts";
import { deviceFilterProgram } from "./devices.ts";
import { cgroupExists, makeCgroupDirs, procsOf, readOptional, writeCgroupFile } from "./fs.ts";
import { readHostFacts, withHostFacts } from "./host-facts.ts";
import type { CgroupLayout } from "./layout.ts";
import type { ApplyOptions, ApplyResult, AppliedWrite, CgroupManager, DestroyOptions } from "./manager.ts";
import { planResources, type CgroupOp, type HierarchyFacts, type PlanContext, type ResourcePlan } from "./plan.ts";
import { memoryEventsFrom, workingSet, type CgroupStats, type HugetlbStats, type MemoryLevel, type StatsOptions } from "./stats.ts";
import { cpuLimitCpus, parseFlatKeyed, parseIoStat, parseLimit, parseNumber, parsePressure } from "./stats-parse.ts";
import { pidsInSubtree, removeTrees, signalWhileFrozen } from "./teardown.ts";

const FREEZE_TIMEOUT_MS = 5000;

export class V2Manager implements CgroupManager {
  private created: string[] = [];

  constructor(
    readonly dir: string,
    readonly path: string,
    readonly layout: CgroupLayout,
  ) {}

  private get mountPoint(): string {
    return this.layout.unified!.mountPoint;
  }

  dirs(): Record<string, string> {
    return { unified: this.dir };
  }

  exists(): boolean {
    return cgroupExists(this.dir);
  }

  /** Ancestors from the hierarchy root down to the parent of this cgroup. */
  private ancestors(): string[] {
    const out: string[] = [];
    for (let d = this.dir; d.length > this.mountPoint.length; ) {
      d = d.slice(0, d.lastIndexOf("/"));
      out.unshift(d);
    }
    return out;
  }

  create(): void {
    const created = makeCgroupDirs(this.dir);
    this.created.push(...created);
    try {
      this.enableControllers();
    } catch (err) {
      this.rollback();
      throw err;
    }
  }

  /**
   * Controllers flow down: a cgroup gets the files of a controller only when its parent
   * lists it in cgroup.subtree_control, which it may only do if its own parent did. So
   * enable, top-down, every controller each ancestor has available (as runc and crun do).
   */
  private enableControllers(): void {
    for (const anc of this.ancestors()) {
      const available = (readOptional(anc, "cgroup.controllers") ?? "").split(/\s+/).filter(Boolean);
      const enabled = new Set((readOptional(anc, "cgroup.subtree_control") ?? "").split(/\s+/).filter(Boolean));
      for (const c of available) {
        if (enabled.has(c)) continue;
        try {
          writeCgroupFile(anc, "cgroup.subtree_control", `+${c}`);
        } catch (err) {
          const errno = (err as BerthError).errno;
          if (errno === "EBUSY" || errno === "EOPNOTSUPP") {
            const pids = procsOf(anc);
            throw new BerthError(
              `cannot enable the ${c} controller for children of ${anc}: ` +
                (pids.length > 0
                  ? `it holds processes (${pids.slice(0, 5).join(", ")}), and cgroup v2 allows controllers only to be handed down by cgroups without processes ("no internal processes"); move those processes into a leaf cgroup, or use a path under a cgroup without processes`
                  : `the kernel refused (${errno}); the cgroup may be threaded or the controller bound elsewhere`),
              { errno, cause: err },
            );
          }
          if (errno === "EACCES" || errno === "EPERM") {
            throw new BerthError(`cannot enable the ${c} controller in ${anc}/cgroup.subtree_control: permission denied; that cgroup is not delegated to you (ask its owner to chown cgroup.subtree_control, or run as root)`, { errno, cause: err });
          }
          throw err;
        }
      }
    }
  }

  facts(): HierarchyFacts {
    const own = readOptional(this.dir, "cgroup.controllers");
    // Before create(), plan against what the parent would hand down.
    const source = own ?? readOptional(this.ancestors().at(-1) ?? this.mountPoint, "cgroup.controllers") ?? "";
    return {
      controllers: source.split(/\s+/).filter(Boolean),
      hasFile: (file) => pathExists(`${this.dir}/${file}`),
    };
  }

  plan(resources: LinuxResources, opts: ApplyOptions = {}): ResourcePlan {
    return planResources(resources, this.planContext(opts));
  }

  planContext(opts: ApplyOptions): PlanContext {
    return withHostFacts({ v2: this.facts(), update: opts.update });
  }

  apply(resources: LinuxResources, opts: ApplyOptions = {}): ApplyResult {
    const { ops, warnings } = this.plan(resources, opts);
    if (opts.update && resources.memory?.checkBeforeUpdate) this.checkMemoryBeforeUpdate(ops);
    return { writes: this.execute(ops), warnings };
  }

  /** Run planned v2 ops against this cgroup. */
  execute(ops: CgroupOp[]): AppliedWrite[] {
    const writes: AppliedWrite[] = [];
    for (const op of ops) {
      if (op.kind === "device-filter") {
        replaceDeviceFilter(this.dir, deviceFilterProgram(op.rules));
        writes.push({ path: `${this.dir} (BPF_CGROUP_DEVICE program)`, value: `${op.rules.length} rules`, field: op.field });
      } else {
        writeCgroupFile(this.dir, op.file, op.value, op.field);
        writes.push({ path: `${this.dir}/${op.file}`, value: op.value, field: op.field });
      }
    }
    return writes;
  }

  /** v1 refuses a limit below usage (EBUSY); v2 would OOM-kill instead. checkBeforeUpdate asks for v1's answer. */
  private checkMemoryBeforeUpdate(ops: CgroupOp[]): void {
    const max = ops.find((o) => o.kind === "write" && o.file === "memory.max");
    if (!max || max.kind !== "write" || max.value === "max") return;
    const current = parseNumber(readOptional(this.dir, "memory.current") ?? "0");
    if (Number(max.value) < current) {
      throw new BerthError(`new limit ${max.value} is below current usage ${current}; raise the limit or free memory first (checkBeforeUpdate is set)`, { field: "linux.resources.memory.limit" });
    }
  }

  addProcess(pid: number): void {
    try {
      writeCgroupFile(this.dir, "cgroup.procs", String(pid));
    } catch (err) {
      const errno = (err as BerthError).errno;
      if (errno === "EBUSY" || errno === "EOPNOTSUPP") {
        throw new BerthError(`cannot add pid ${pid} to ${this.dir}: it hands controllers to child cgroups (cgroup.subtree_control is "${(readOptional(this.dir, "cgroup.subtree_control") ?? "").trim()}"), and in cgroup v2 processes may only live in leaves; use a child cgroup`, { errno, cause: err });
      }
      if (errno === "ESRCH") throw new BerthError(`cannot add pid ${pid} to ${this.dir}: no such process`, { errno, cause: err });
      throw err;
    }
  }

  pids(opts: { recursive?: boolean } = {}): number[] {
    return opts.recursive === false ? procsOf(this.dir) : pidsInSubtree(this.dir);
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    if (!pathExists(`${this.dir}/cgroup.freeze`)) {
      throw new BerthError(`${this.dir} has no cgroup.freeze: freezing on cgroup v2 needs Linux 5.2`);
    }
    writeCgroupFile(this.dir, "cgroup.freeze", frozen ? "1" : "0");
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    while (this.frozen() !== frozen) {
      if (Date.now() > deadline) throw new BerthError(`${this.dir} did not become ${frozen ? "frozen" : "thawed"} within ${FREEZE_TIMEOUT_MS} ms (cgroup.events)`);
      Bun.sleepSync(1);
    }
  }

  frozen(): boolean {
    return parseFlatKeyed(readOptional(this.dir, "cgroup.events") ?? "").frozen === 1;
  }

  kill(signal: NodeJS.Signals | number = "SIGKILL"): void {
    if ((signal === "SIGKILL" || signal === 9) && pathExists(`${this.dir}/cgroup.kill`)) {
      // cgroup.kill (5.14+) kills the whole subtree atomically: no fork can escape it.
      writeCgroupFile(this.dir, "cgroup.kill", "1");
      return;
    }
    signalWhileFrozen(this, pathExists(`${this.dir}/cgroup.freeze`), signal);
  }

  destroy(opts: DestroyOptions = {}): void {
    removeTrees([this.dir], opts.timeoutMs);
    this.created = [];
  }

  rollback(): void {
    // created is outermost first: removing its first entry's subtree removes them all.
    if (this.created.length > 0) removeTrees([this.created[0]!]);
    this.created = [];
  }

  /** The memory figures of this cgroup and of each ancestor up to the hierarchy root. */
  private memoryLevels(): MemoryLevel[] {
    const levels: MemoryLevel[] = [];
    for (const dir of [this.dir, ...this.ancestors().reverse()]) {
      if (dir === this.mountPoint) break; // the root has no memory.max or memory.events
      const events = readOptional(dir, "memory.events");
      if (events === undefined) continue;
      const peak = readOptional(dir, "memory.peak");
      levels.push({
        path: dir.slice(this.mountPoint.length) || "/",
        limit: parseLimit(readOptional(dir, "memory.max") ?? "max"),
        usage: parseNumber(readOptional(dir, "memory.current") ?? "0"),
        ...(peak !== undefined && { peak: parseNumber(peak) }),
        events: memoryEventsFrom(parseFlatKeyed(events)),
      });
    }
    return levels;
  }

  psi(): CgroupStats["psi"] {
    const psi: NonNullable<CgroupStats["psi"]> = {};
    for (const k of ["cpu", "memory", "io"] as const) {
      const text = readOptional(this.dir, `${k}.pressure`);
      const p = text === undefined ? undefined : parsePressure(text);
      if (p) psi[k] = p;
    }
    return Object.keys(psi).length > 0 ? psi : undefined;
  }

  hugetlb(): Record<string, HugetlbStats> | undefined {
    const out: Record<string, HugetlbStats> = {};
    for (const size of readHostFacts().hugepageSizes) {
      const current = readOptional(this.dir, `hugetlb.${size}.current`);
      if (current === undefined) continue;
      out[size] = {
        usage: parseNumber(current),
        limit: parseLimit(readOptional(this.dir, `hugetlb.${size}.max`) ?? "max"),
        failcnt: parseFlatKeyed(readOptional(this.dir, `hugetlb.${size}.events`) ?? "").max ?? 0,
      };
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  stats(opts: StatsOptions = {}): CgroupStats {
    const stats: CgroupStats = {};
    const breakdown = opts.breakdown !== false;
    const limits = opts.limits !== false;
    const cpuStat = readOptional(this.dir, "cpu.stat");
    if (cpuStat !== undefined) {
      const s = parseFlatKeyed(cpuStat);
      stats.cpu = {
        usageUsec: s.usage_usec ?? 0,
        userUsec: s.user_usec ?? 0,
        systemUsec: s.system_usec ?? 0,
        nrPeriods: s.nr_periods ?? 0,
        nrThrottled: s.nr_throttled ?? 0,
        throttledUsec: s.throttled_usec ?? 0,
        ...(s.nr_bursts !== undefined && { nrBursts: s.nr_bursts, burstUsec: s.burst_usec ?? 0 }),
        ...(limits && { limitCpus: cpuLimitCpus(readOptional(this.dir, "cpu.max") ?? "max") }),
      };
    }
    const current = readOptional(this.dir, "memory.current");
    if (current !== undefined) {
      const stat = parseFlatKeyed(readOptional(this.dir, "memory.stat") ?? "");
      const events = memoryEventsFrom(parseFlatKeyed(readOptional(this.dir, "memory.events") ?? ""));
      const usage = parseNumber(current);
      const peak = limits ? readOptional(this.dir, "memory.peak") : undefined;
      const swap = breakdown ? readOptional(this.dir, "memory.swap.current") : undefined;
      stats.memory = {
        usage,
        limit: parseLimit(readOptional(this.dir, "memory.max") ?? "max"),
        ...(peak !== undefined && { peak: parseNumber(peak) }),
        ...(swap !== undefined && { swapUsage: parseNumber(swap), swapLimit: parseLimit(readOptional(this.dir, "memory.swap.max") ?? "max") }),
        ...(breakdown && { high: parseLimit(readOptional(this.dir, "memory.high") ?? "max") }),
        anon: stat.anon ?? 0,
        file: stat.file ?? 0,
        inactiveFile: stat.inactive_file ?? 0,
        workingSet: workingSet(usage, stat.inactive_file ?? 0),
        stat,
        events,
        oomKill: events.oom_kill,
        levels: opts.levels === false ? [] : this.memoryLevels(),
      };
    }
    const pidsCurrent = readOptional(this.dir, "pids.current");
    if (pidsCurrent !== undefined) {
      stats.pids = {
        current: parseNumber(pidsCurrent),
        ...(limits && { limit: parseLimit(readOptional(this.dir, "pids.max") ?? "max") }),
        ...(breakdown && { eventsMax: parseFlatKeyed(readOptional(this.dir, "pids.events") ?? "").max ?? 0 }),
      };
    }
    const io = readOptional(this.dir, "io.stat");
    if (io !== undefined) stats.io = parseIoStat(io);
    const hugetlb = opts.hugetlb === false ? undefined : this.hugetlb();
    if (hugetlb) stats.hugetlb = hugetlb;
    const psi = this.psi();
    if (psi) stats.psi = psi;
    return stats;
  }
}
