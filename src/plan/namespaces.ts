/**
 * The namespace facts every plan that creates or joins namespaces shares: each OCI type's
 * clone flag and /proc/PID/ns file, and the order they are joined in. Pure.
 */
import type { NamespaceType } from "../spec/runtime-spec.ts";
import { CLONE } from "./ops.ts";

/**
 * The order namespaces are joined in: the user namespace first (it owns the others, and
 * joining it grants the capabilities to join them), mount last (after it, /proc/PID/ns/…
 * would be looked up in the container's /proc).
 */
export const JOIN_ORDER: readonly NamespaceType[] = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];

export const NS_FLAG: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP, time: CLONE.NEWTIME,
};

/** The file under /proc/PID/ns/ for each type (the kernel's names, which nsenter and lsns use). */
export const NS_FILE: Record<NamespaceType, string> = {
  user: "user", ipc: "ipc", uts: "uts", network: "net", pid: "pid", cgroup: "cgroup", time: "time", mount: "mnt",
};
