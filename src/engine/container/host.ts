/**
 * What the bundle needs from the host, read once: CPUs, kernel version, architecture,
 * cgroup layout, the last capability, swap accounting; the container's OOM kill count
 * from its memory cgroup; device nodes for --device; the files a container's /etc gets;
 * the files flags name (--env-file, --label-file).
 */
import { BerthError } from "../../errors.ts";
import { detectHostCgroups, placeOf } from "../../cgroups/layout.ts";
import { readHostFacts } from "../../cgroups/host-facts.ts";
import { openCgroup } from "../../cgroups/open-cgroup.ts";
import { boundingCapabilities, kernelRelease, lastCap } from "../../sys/host-facts.ts";
import { pathExists, readText, readTextIfExists } from "../../sys/libc.ts";
import { statDeviceNode } from "../../sys/device-node.ts";
import type { DeviceInfo, HostFacts } from "./bundle.ts";
import { goArch } from "./docker-seccomp.ts";

/**
 * The boot's time in ms since the epoch: /proc/stat's `btime`. Pure.
 *
 * @example parseBootTime("cpu  1 2\nbtime 1765000000\n") // → 1765000000000
 */
export function parseBootTime(procStat: string): number | undefined {
  const m = /^btime (\d+)$/m.exec(procStat);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** When this boot began (ms since the epoch); undefined when /proc/stat does not say. */
export function bootTimeMs(): number | undefined {
  return parseBootTime(readTextIfExists("/proc/stat") ?? "");
}

/** A host file a flag names (--env-file FILE): its text, or one line naming the flag, the file and why. */
export function readFlagFile(path: string, flag: string): string {
  try {
    return readText(path);
  } catch (err) {
    throw new BerthError(`cannot read ${path}: ${(err as { code?: string }).code ?? (err as Error).message}`, { field: flag });
  }
}

export function engineHostFacts(): HostFacts {
  const { layout } = detectHostCgroups();
  const [maj = 0, min = 0] = kernelRelease().split(".").map((s) => Number.parseInt(s, 10));
  const memory = placeOf(layout, "memory");
  const swapLimit = memory === "unified" ? true : memory !== undefined && pathExists(`${memory.mountPoint}/memory.memsw.limit_in_bytes`);
  // docker's sysinfo: v1 looks for the weight files at the blkio hierarchy's root (CFQ's, or BFQ's); v2 for the io controller
  const blkio = placeOf(layout, layout.mode === "v2" ? "io" : "blkio");
  const blkioWeight = blkio === "unified" ? true : blkio !== undefined && ["blkio.weight", "blkio.bfq.weight"].some((f) => pathExists(`${blkio.mountPoint}/${f}`));
  return { cpus: readHostFacts().cpus.length, kernel: [maj, min], arch: goArch(process.arch), cgroupV2: layout.mode === "v2", lastCap: lastCap(), bounding: boundingCapabilities(), swapLimit, blkioWeight };
}

/**
 * How many times the kernel's OOM killer killed a process in the cgroup `cgroupsPath`
 * (v2 memory.events oom_kill, v1 memory.oom_control oom_kill); undefined when the cgroup
 * is gone or the kernel does not count.
 */
export function oomKillCount(cgroupsPath: string): number | undefined {
  const memory = placeOf(detectHostCgroups().layout, "memory");
  if (!memory) return undefined;
  const layout = detectHostCgroups().layout;
  const dir = memory === "unified" ? `${layout.unified!.mountPoint}${cgroupsPath}` : `${memory.mountPoint}${cgroupsPath}`;
  const text = readTextIfExists(memory === "unified" ? `${dir}/memory.events` : `${dir}/memory.oom_control`);
  const m = text === undefined ? null : /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Kill what is left in the container's cgroup `cgroupsPath` and remove it in every
 * hierarchy: a runtime killed before it wrote its state (runc's create, in the
 * createRuntime hooks) leaves the cgroup berth named for it, which its delete does not know.
 */
export function removeContainerCgroup(cgroupsPath: string): void {
  const cg = openCgroup(cgroupsPath);
  cg.kill();
  cg.destroy();
}

/** A device node's type and numbers (--device). */
export function deviceInfo(path: string, flag: string): DeviceInfo {
  const node = statDeviceNode(path);
  if (!node) throw new BerthError(`${path} does not exist on this host; give a device node such as /dev/fuse`, { field: flag });
  if (node.kind === "other") throw new BerthError(`${path} is not a device node; give a character or block device such as /dev/fuse`, { field: flag });
  return { type: node.kind, major: node.major, minor: node.minor, mode: node.mode, uid: node.uid, gid: node.gid };
}

/** A block device's numbers (--device-read-bps and friends). */
export function blockDevice(path: string): [number, number] {
  const node = statDeviceNode(path);
  if (node?.kind !== "b") throw new BerthError(`${path} is not a block device on this host; give one such as /dev/sda`, { field: "--device-read-bps" });
  return [node.major, node.minor];
}

/** /etc/hosts of a container with its own network namespace (docker's, without an address yet). */
export function hostsFile(hostname: string, network: string): string {
  const own = network === "host" ? readTextIfExists("/etc/hosts") : undefined;
  if (own !== undefined) return own;
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t${hostname}\n`;
}

/**
 * The host's resolv.conf, as docker gives it: with its own network namespace, nameservers
 * on the host's loopback cannot be reached and are dropped (Google's if none is left).
 */
export function resolvConf(hostText: string, network: string): string {
  if (network === "host") return hostText;
  const lines = hostText.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push("nameserver 8.8.8.8", "nameserver 8.8.4.4");
  return lines.join("\n").replace(/\n*$/, "\n");
}

export function hostResolvConf(): string {
  return readTextIfExists("/etc/resolv.conf") ?? "";
}
