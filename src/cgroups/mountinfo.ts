/**
 * Parsers for /proc/<pid>/mountinfo and /proc/<pid>/cgroup. Pure: text in, records out.
 */

export interface MountInfo {
  mountId: number;
  parentId: number;
  /** the path inside the filesystem that is the root of this mount (for cgroupfs: a cgroup path) */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** per-superblock options (for v1 cgroupfs: the controllers, `name=…`) */
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`) */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * @example
 * parseMountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory")
 * // → [{ mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", superOptions: ["rw", "memory"], … }]
 */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (pre.length < 6 || post.length < 3) continue;
    mounts.push({
      mountId: Number(pre[0]),
      parentId: Number(pre[1]),
      root: unescapeOctal(pre[3]!),
      mountPoint: unescapeOctal(pre[4]!),
      fsType: post[0]!,
      source: unescapeOctal(post[1]!),
      superOptions: post[2]!.split(","),
    });
  }
  return mounts;
}

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1 controllers of the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for the v2 entry */
  controllers: string[];
  path: string;
}

/**
 * @example
 * parseProcCgroup("4:memory:/process_api/x\n0::/\n")
 * // → [{ hierarchyId: 4, controllers: ["memory"], path: "/process_api/x" }, { hierarchyId: 0, controllers: [], path: "/" }]
 */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    entries.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: list === "" ? [] : list.split(","),
      path: line.slice(second + 1),
    });
  }
  return entries;
}
