/**
 * `openCgroup` resolves an OCI cgroupsPath against the host's layout and returns the
 * manager for it (V1Manager, V2Manager, or a V1Manager holding a V2Manager on a hybrid
 * host); the runtime, the engine and `berth cgroup` all go through here.
 */
import { detectHostCgroups, type HostCgroups } from "./layout.ts";
import type { CgroupManager } from "./manager.ts";
import { cgroupDir, resolveCgroupPath } from "./path.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager } from "./v2.ts";

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
