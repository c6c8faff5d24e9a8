/**
 * The reader behind `berth doctor`: the files each check looks at, read once. Anything
 * missing is recorded as missing — that is often the finding.
 */
import { childCgroups, readOptional } from "../cgroups/fs.ts";
import { detectHostCgroups, placeOf, visibleMounts } from "../cgroups/layout.ts";
import { parseMountinfo } from "../cgroups/mountinfo.ts";
import { processCgroupDirs } from "../cgroups/process-cgroup.ts";
import { kernelRelease, lastCap } from "../sys/host-facts.ts";
import { helperPath } from "../sys/init-helper.ts";
import { canAccess, listDir, pathExists, readTextIfExists, W_OK, X_OK } from "../sys/libc.ts";
import { nodeEvidence } from "./diagnose-gather.ts";
import { parseLimitsHard, type DoctorFacts } from "./doctor.ts";

const NS_TYPES = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"];
export const CNI_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];
export const STORAGE_PATHS = ["/var/lib", "/run"];
/** berth-runtime's default parent cgroup (`/berth/<id>`) */
const BERTH_PARENT = "/berth";

const num = (text: string | undefined) => (text === undefined ? undefined : Number(text.trim()));

/** The swap-accounting file: v1's memsw in the memory hierarchy, v2's memory.swap.max in a non-root cgroup. */
function swapFile(layout: DoctorFacts["layout"]): { file: string; accounting: boolean } {
  const memory = placeOf(layout, "memory");
  if (memory && memory !== "unified") {
    const file = `${memory.mountPoint}/memory.memsw.limit_in_bytes`;
    return { file, accounting: pathExists(file) };
  }
  const root = layout.unified?.mountPoint ?? "/sys/fs/cgroup";
  // the root cgroup has no memory.* files: look in its children
  const child = childCgroups(root).find((c) => pathExists(`${root}/${c}/memory.current`));
  const file = `${root}/${child ?? "CHILD"}/memory.swap.max`;
  return { file, accounting: child !== undefined && pathExists(file) };
}

export function readDoctorFacts(): DoctorFacts {
  const host = detectHostCgroups();
  const { layout } = host;
  const mounts = visibleMounts(parseMountinfo(readTextIfExists("/proc/self/mountinfo") ?? ""));
  const cg2 = mounts.find((m) => m.fsType === "cgroup2");
  const unified = layout.unified;
  const subtree = unified
    ? ["", BERTH_PARENT].map((p) => {
        const dir = `${unified.mountPoint}${p}`;
        const text = readOptional(dir, "cgroup.subtree_control");
        return { file: `${dir}/cgroup.subtree_control`, enabled: (text ?? "").split(/\s+/).filter(Boolean), exists: text !== undefined };
      })
    : [];
  const own = processCgroupDirs(host.own, layout);
  const ownDir = (layout.mode === "v2" ? own.find((d) => d.hierarchy === "unified") : own.find((d) => d.hierarchy.split(",").includes("memory")))?.dir;
  const swaps = (readTextIfExists("/proc/swaps") ?? "").split("\n").slice(1).filter((l) => l.trim() !== "").length;
  const actions = readTextIfExists("/proc/sys/kernel/seccomp/actions_avail");
  return {
    kernel: kernelRelease(),
    namespaces: Object.fromEntries(NS_TYPES.map((t) => [t, pathExists(`/proc/self/ns/${t}`)])),
    userns: {
      max: num(readTextIfExists("/proc/sys/user/max_user_namespaces")),
      unprivilegedClone: num(readTextIfExists("/proc/sys/kernel/unprivileged_userns_clone")),
      apparmorRestrict: num(readTextIfExists("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
    },
    euid: process.geteuid?.() ?? 0,
    layout,
    subtree,
    delegation: {
      nsdelegate: cg2?.superOptions.includes("nsdelegate") ?? false,
      delegateFiles: (readTextIfExists("/sys/kernel/cgroup/delegate") ?? "").split("\n").filter(Boolean),
      ...(ownDir && { ownCgroupDir: ownDir }),
      ownWritable: ownDir !== undefined && canAccess(`${ownDir}/cgroup.procs`, W_OK),
    },
    psi: { file: "/proc/pressure/cpu", readable: readTextIfExists("/proc/pressure/cpu") !== undefined },
    swap: { ...swapFile(layout), devices: swaps },
    filesystems: (readTextIfExists("/proc/filesystems") ?? "").split("\n").map((l) => l.split("\t").pop()!.trim()).filter(Boolean),
    seccomp: { file: "/proc/sys/kernel/seccomp/actions_avail", ...(actions !== undefined && { actions: actions.trim().split(/\s+/) }) },
    rootFsType: mounts.findLast((m) => m.mountPoint === "/")?.fsType ?? "unknown",
    cni: CNI_DIRS.map((dir) => {
      let plugins: string[] = [];
      try {
        plugins = listDir(dir).map((e) => e.name).filter((p) => canAccess(`${dir}/${p}`, X_OK));
      } catch {
        // not installed there
      }
      return { dir, plugins };
    }),
    ipForward: num(readTextIfExists("/proc/sys/net/ipv4/ip_forward")),
    disks: nodeEvidence(STORAGE_PATHS).disks,
    helper: { path: helperPath(), executable: canAccess(helperPath(), X_OK) },
    capabilities: {
      file: "/proc/self/status",
      effective: /^CapEff:\s*([0-9a-f]+)$/m.exec(readTextIfExists("/proc/self/status") ?? "")?.[1] ?? "0",
      lastCap: lastCap(),
    },
    hardLimits: { file: "/proc/self/limits", nofile: parseLimitsHard(readTextIfExists("/proc/self/limits") ?? "", "Max open files") ?? null },
  };
}
