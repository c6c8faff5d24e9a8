/**
 * The config.json `berth-runtime spec` writes: the same safe default `runc spec` writes
 * (runc 1.1 libcontainer/specconv.Example): three capabilities, no_new_privs, a
 * read-only root, masked and read-only /proc and /sys paths, deny-all devices.
 */
import type { Spec } from "./runtime-spec.ts";

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function defaultSpec(): Spec {
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/**
 * `spec --rootless`: runc's ToRootless. A user namespace mapping container root to the
 * calling user (nothing else is theirs to map without newuidmap), no network namespace
 * (an unprivileged user could not configure one), /sys bound from the host instead of a
 * sysfs the kernel would refuse, no uid=/gid= mount options naming unmapped ids, and no
 * cgroup limits (an unprivileged user cannot write them without delegation).
 */
export function rootlessSpec(spec: Spec, uid: number, gid: number): Spec {
  const linux = spec.linux ?? {};
  linux.namespaces = [...(linux.namespaces ?? []).filter((n) => n.type !== "network" && n.type !== "user"), { type: "user" }];
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  delete linux.resources;
  spec.linux = linux;
  spec.mounts = (spec.mounts ?? []).map((m) => {
    if (m.destination.replace(/\/+$/, "") === "/sys") {
      return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
    }
    const options = m.options?.filter((o) => !o.startsWith("uid=") && !o.startsWith("gid="));
    return options ? { ...m, options } : m;
  });
  return spec;
}
