/**
 * The tar `berth cp` runs to read or write a container's files, inside the container's
 * view of them (every path, and every symlink in it, resolves within the container) and
 * confined as the container's own processes are: the tar is the image's own, and the
 * container may have replaced it. A running container's runs through the OCI runtime's
 * exec, as root in its namespaces, capabilities, seccomp filter and cgroup. A stopped
 * container's runs in a throw-away container of the runtime's over the same root and the
 * container's own binds (volumes, /etc/hostname, hosts, resolv.conf): runc's default spec
 * (its own PID, mount, network, IPC and UTS namespaces, no_new_privs) with only the
 * capabilities a root tar needs — never as the host's root (a chroot once ran it with
 * every capability in the host's PID namespace).
 */
import { BerthError } from "../../errors.ts";
import { defaultSpec } from "../../spec/default-spec.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { mkdirParents } from "../../sys/libc.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import type { Engine } from "./engine.ts";
import { acquireVolumes, releaseVolumes } from "./lifecycle.ts";
import { runtimeOf } from "./oci-runtime.ts";
import { liveStatus } from "./live-status.ts";
import type { ContainerRecord } from "./records.ts";

/** What a root tar needs to write any file with its owner and mode: no mknod, no mount, no chroot. */
const TAR_CAPABILITIES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID"];

export interface ContainerTar {
  /** the command that runs tar with the arguments given */
  argv: string[];
  /** remove what the command needed once it has ended */
  release(): void;
}

/** The command that runs `tar tarArgs…` in container `r`'s view of its files. */
export function tarInContainer(engine: Engine, r: ContainerRecord, tarArgs: string[]): ContainerTar {
  const live = liveStatus(engine, r);
  const runtime = runtimeOf(engine, r);
  if (live.status === "running" && r.State.Pid > 0) {
    return { argv: [runtime.path, ...runtime.globals(), "exec", "--user", "0:0", r.Id, "tar", ...tarArgs], release: () => {} };
  }
  if (live.status === "paused") throw new BerthError(`container ${r.Name} is paused: a tar run in it would be frozen too; unpause it, then copy`, { field: "cp" });
  const id = `${r.Id.slice(0, 12)}-cp-${process.pid}`;
  const bundle = `${engine.store.runDir(r.Id)}/cp-${process.pid}`;
  const spec = defaultSpec();
  spec.process = { ...spec.process!, terminal: false, args: ["tar", ...tarArgs], capabilities: Object.fromEntries(["bounding", "effective", "permitted"].map((set) => [set, TAR_CAPABILITIES])) };
  spec.root = { path: r.Rootfs, readonly: false };
  spec.hostname = r.Hostname;
  // tar needs no /sys, cgroup, mqueue or pts of its own; it sees the container's binds — its
  // volumes and its /etc/hostname, hosts and resolv.conf — as docker's cp mounts them for a
  // stopped container (the root itself may have no /etc/hostname at all)
  const binds = (engine.store.spec(r.Id)?.mounts ?? []).filter((m) => m.type === "bind");
  spec.mounts = [...spec.mounts!.filter((m) => m.destination === "/proc" || m.destination === "/dev"), ...binds];
  const parent = r.Flags.cgroupParent ? r.Flags.cgroupParent.replace(/\/+$/, "") : "/berth";
  spec.linux!.cgroupsPath = `${parent.startsWith("/") ? "" : "/"}${parent}/${id}`;
  mkdirParents(bundle, 0o700);
  writeFileAtomic(`${bundle}/config.json`, JSON.stringify(spec), { mode: 0o600, fsync: false });
  // an --opt volume is a mount only while something uses it: docker's cp mounts it too
  try {
    acquireVolumes(engine, r, id);
  } catch (err) {
    removeTree(bundle);
    throw err;
  }
  return {
    argv: [runtime.path, ...runtime.globals(), "run", "--bundle", bundle, id],
    release: () => {
      runtime.forceDelete(id);
      removeTree(bundle);
      releaseVolumes(engine, r, id);
    },
  };
}
