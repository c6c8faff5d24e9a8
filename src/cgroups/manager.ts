/**
 * One interface over cgroup v1, v2 and hybrid hosts, which v1.ts and v2.ts implement.
 * open-cgroup.ts picks the implementation for a cgroupsPath on this host.
 */
import type { Warning } from "../errors.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import type { CgroupLayout } from "./layout.ts";
import type { ResourcePlan } from "./plan.ts";
import type { CgroupStats, StatsOptions } from "./stats.ts";

/** A write the manager did, for callers that show the mechanism (`berth cgroup` prints these). */
export interface AppliedWrite {
  path: string;
  value: string;
  field: string;
}

export interface ApplyResult {
  writes: AppliedWrite[];
  warnings: Warning[];
}

export interface ApplyOptions {
  /** runc update semantics: a lone quota keeps the current period; checkBeforeUpdate applies */
  update?: boolean;
}

export interface DestroyOptions {
  /** how long to wait for exiting processes to leave before giving up (default 2000 ms) */
  timeoutMs?: number;
}

export interface CgroupManager {
  /** the cgroup path as resolved from cgroupsPath (v2 / first v1 hierarchy) */
  readonly path: string;
  readonly layout: CgroupLayout;
  /** every directory that makes up this cgroup: one per v1 hierarchy, plus "unified" */
  dirs(): Record<string, string>;
  exists(): boolean;
  /** mkdir in every hierarchy; on v2 enable controllers in each ancestor's subtree_control */
  create(): void;
  /** what apply would write, without writing */
  plan(resources: LinuxResources, opts?: ApplyOptions): ResourcePlan;
  apply(resources: LinuxResources, opts?: ApplyOptions): ApplyResult;
  addProcess(pid: number): void;
  /** pids in the cgroup, with its descendants' when recursive (default true) */
  pids(opts?: { recursive?: boolean }): number[];
  /** `berth stats` skips the ancestors and hugetlb (StatsOptions): a third of the reads */
  stats(opts?: StatsOptions): CgroupStats;
  freeze(): void;
  thaw(): void;
  frozen(): boolean;
  /** send `signal` (default SIGKILL) to every process in the cgroup and its descendants */
  kill(signal?: NodeJS.Signals | number): void;
  /** remove the cgroup and its descendants in every hierarchy; created() dirs only after a failed create */
  destroy(opts?: DestroyOptions): void;
  /** remove exactly the directories create() made (undo of a failed create) */
  rollback(): void;
}
