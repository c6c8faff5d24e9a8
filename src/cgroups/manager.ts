/**
 * One interface over cgroup v1, v2 and hybrid hosts. `openCgroup` resolves an OCI
 * cgroupsPath against the host's layout and returns the manager for it; the runtime,
 * the engine and `berth cgroup` all go through here.
 */
import type { Warning } from "../errors.ts";
import type { LinuxResources } from "../spec/linux-resources.ts";
import { detectHostCgroups, type CgroupLayout, type HostCgroups } from "./layout.ts";
import { cgroupDir, resolveCgroupPath } from "./path.ts";
import type { ResourcePlan } from "./plan.ts";
import type { CgroupStats, StatsOptions } from "./stats.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager } from "./v2.ts";

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

export interface OpenOptions {
  /** --systemd-cgroup: cgroupsPath is `slice:prefix:name` */
  systemd?: boolean;
  /** the field or flag the path came from, for errors (default linux.cgroupsPath) */
  field?: string;
  /** a host other than this process's (tests) */
  host?: HostCgroups;
}

/**
 * @example
 * const cg = openCgroup("/berth/demo");
 * cg.create();
 * cg.apply({ cpu: { quota: 50000, period: 100000 }, memory: { limit: 64 * 1024 ** 2 } });
 */
export function openCgroup(cgroupsPath: string, opts: OpenOptions = {}): CgroupManager {
  const host = opts.host ?? detectHostCgroups();
  const { layout } = host;
  const ownOf = (match: (controllers: string[]) => boolean) =>
    host.own.find((e) => match(e.controllers))?.path ?? "/";
  // Only a relative path hangs off our own cgroup in each hierarchy; any other resolves
  // once (berth stats opens a manager per container on a dozen v1 hierarchies).
  const fixed = !cgroupsPath.startsWith("/") || opts.systemd
    ? undefined
    : resolveCgroupPath(cgroupsPath, { ownCgroup: "/", unified: false, systemd: false, field: opts.field });
  const resolve = (unified: boolean, own: () => string) =>
    fixed ?? resolveCgroupPath(cgroupsPath, { ownCgroup: own(), unified, systemd: opts.systemd, field: opts.field });

  const unified = layout.unified
    ? (() => {
        const path = resolve(true, () => ownOf((c) => c.length === 0));
        return new V2Manager(cgroupDir(layout.unified!.mountPoint, layout.unified!.root, path), path, layout);
      })()
    : undefined;
  if (layout.mode === "v2") return unified!;
  const dirs = layout.v1.map((h) => {
    const path = resolve(false, () => ownOf((c) => c.some((x) => h.controllers.includes(x))));
    return { hierarchy: h, path, dir: cgroupDir(h.mountPoint, h.root, path) };
  });
  return new V1Manager(dirs, layout, unified);
}
