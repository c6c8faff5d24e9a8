/**
 * `berth cp`'s copies, both ways and to and from tar streams, by docker's rules
 * (copy-plan.ts), and the tar that reads or writes a container's files, inside the container's
 * view of them (every path, and every symlink in it, resolves within the container) and
 * confined as the container's own processes are: the tar is the image's own, and the
 * container may have replaced it. A running container's runs through the OCI runtime's
 * exec, as root in its namespaces, capabilities, seccomp filter and cgroup. A stopped
 * container's runs in a throw-away container of the runtime's over the same root and the
 * container's own binds (volumes, /etc/hostname, hosts, resolv.conf): runc's default spec
 * (its own PID, mount, network, IPC and UTS namespaces, no_new_privs) with only the
 * capabilities a root tar needs — never as the host's root (a chroot once ran it with
 * every capability in the host's PID namespace). An image without tar cannot be copied
 * from or to, and the error says so.
 */
import { BerthError } from "../../errors.ts";
import { signalNumber } from "../../signals.ts";
import { defaultSpec } from "../../spec/default-spec.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { chmodPath, listDir, mkdirParents, mkdirPath, pathExists, renamePath, statPath } from "../../sys/libc.ts";
import { devParts, entriesBeneath, S_IFBLK, S_IFCHR, S_IFMT, S_IFREG } from "../../sys/layer-fs.ts";
import { startProgram } from "../../sys/program.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import type { Engine } from "./engine.ts";
import { acquireVolumes, releaseVolumes } from "./lifecycle.ts";
import { runtimeOf } from "./oci-runtime.ts";
import { liveStatus } from "./live-status.ts";
import { mountForReader } from "./root-source.ts";
import type { ContainerRecord } from "./records.ts";
import { archiveArgs, copyPlan, firstEntryKind, fromContainerRoot, hostUnpackArgv, renameTopExpression, splitPath, type PathKind } from "./copy-plan.ts";

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
  // a stopped container's root is unmounted; an --opt volume is a mount only while
  // something uses it: docker's cp mounts both
  let unmountRoot: (() => void) | undefined;
  try {
    unmountRoot = mountForReader(engine, r);
    acquireVolumes(engine, r, id);
  } catch (err) {
    unmountRoot?.();
    removeTree(bundle);
    throw err;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    runtime.forceDelete(id);
    removeTree(bundle);
    releaseVolumes(engine, r, id);
    unmountRoot();
    done();
  };
  // Ctrl-C or a kill meanwhile: its tar is in a session of its own and ran on, with its cgroup, state, bundle, volumes and the root's mount
  const done = untilInterrupted(release);
  return { argv: [runtime.path, ...runtime.globals(), "run", "--bundle", bundle, id], release };
}

/** The signals that end a berth waiting on a copy: a terminal's (Ctrl-C, a hang-up) and kill's default. */
const INTERRUPTS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** What an interrupted copy undoes before berth exits, newest first. */
const undoOnInterrupt = new Set<() => void>();

function interrupted(sig: string): void {
  for (const undo of [...undoOnInterrupt].reverse()) {
    try {
      undo();
    } catch {
      // the rest still goes
    }
  }
  process.exit(128 + (signalNumber(sig) ?? 0));
}

/**
 * Have `undo` run if berth is interrupted (then it exits 128+N, as the signal would have
 * ended it) until the returned function is called — a copy's finally blocks never run when
 * a signal ends the process.
 */
function untilInterrupted(undo: () => void): () => void {
  if (undoOnInterrupt.size === 0) for (const sig of INTERRUPTS) process.on(sig, interrupted);
  undoOnInterrupt.add(undo);
  return () => {
    undoOnInterrupt.delete(undo);
    if (undoOnInterrupt.size === 0) for (const sig of INTERRUPTS) process.off(sig, interrupted);
  };
}

/** A copy whose tars ran and one failed (a path not in the container, a full disk): docker's cp exits 1 then, not 125. */
export class CopyFailed extends BerthError {}

/** What a copy is and how its errors name it: `what` begins each message (`cp web:/srv`). */
export interface CopyRequest {
  /** the source path: in the container (from), on the host or `-` (to) */
  path: string;
  /** the destination path: on the host or `-` (from), in the container (to) */
  dest: string;
  what: string;
}

async function runTar(argv: string[], stdin: "inherit" | "ignore", stdout: "inherit" | "ignore", what: string): Promise<void> {
  let p;
  try {
    p = startProgram(argv, { stdin, stdout, stderr: "pipe" });
  } catch (err) {
    throw new BerthError(`${what}: cannot start ${argv[0]}: ${(err as Error).message}`);
  }
  const [code, err] = await Promise.all([p.exited, stderrHead(p.stderr)]);
  if (code === 0) return;
  throwNoTar(what, code, err);
  // its first line is the reason (busybox's last: "error exit delayed from previous errors")
  throw new CopyFailed(`${what}: ${printableLine(err, "first") || `tar exited ${code}`}`);
}

/**
 * The runtime's words when the container has no tar to run (runc's and berth-runtime's
 * `"tar": executable file not found`, crun's ``executable file `tar` not found``): berth's
 * own failure, 125, saying so. A tar that ran
 * and failed is the copy's (exit 1) — its "No such file" is about the path, not itself.
 */
function throwNoTar(what: string, code: number, stderr: string): void {
  const line = stderr.split("\n").find((l) => /"tar": executable file not found|executable file `tar` not found/.test(l));
  if (line === undefined && code !== 127) return;
  throw new BerthError(`${what}: the container has no tar to copy with (${printableLine(line ?? stderr, "first")}); add tar (busybox has one) to the image`);
}

/** `producer | consumer`, one tar writing what the other reads; either failing fails the copy with its words. */
async function pipeTar(producer: string[], consumer: string[], what: string): Promise<void> {
  const from = startProgram(producer, { stdout: "pipe", stderr: "pipe" });
  const to = startProgram(consumer, { stdin: from.stdout, stderr: "pipe" });
  const [a, b, fromErr, toErr] = await Promise.all([from.exited, to.exited, stderrHead(from.stderr), stderrHead(to.stderr)]);
  if (a === 0 && b === 0) return;
  // the container's side (either one) had no tar: the other's broken pipe is not the reason
  throwNoTar(what, 0, fromErr);
  throwNoTar(what, 0, toErr);
  // one line: the producer's reason, else the consumer's (GNU tar adds "Exiting with failure status…" after it)
  throw new CopyFailed(`${what}: ${printableLine(fromErr, "first") || printableLine(toErr, "first")}`);
}

/** What a tar writes on stderr that berth keeps: its first 64 KiB. */
const STDERR_KEPT_BYTES = 64 * 1024;

/**
 * A tar's stderr, read while it runs — a pipe nobody reads fills at 64 KiB and stops its
 * writer, which hung `berth cp` on a noisy tar — keeping its first STDERR_KEPT_BYTES: the
 * container's tar may write without end.
 */
async function stderrHead(stream: ReadableStream<Uint8Array> | undefined): Promise<string> {
  if (!stream) return "";
  const kept: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size >= STDERR_KEPT_BYTES) continue;
    const part = chunk.subarray(0, STDERR_KEPT_BYTES - size);
    kept.push(part);
    size += part.length;
  }
  return new TextDecoder().decode(Buffer.concat(kept));
}

/** The first or last non-empty line of a tar's words, fit for one line of berth's: at most 300 characters, control characters (a terminal's escapes) as `?`. */
function printableLine(text: string, which: "first" | "last"): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const line = (which === "first" ? lines[0] : lines.at(-1)) ?? "";
  const shown = line.replace(/\p{Cc}/gu, "?");
  return shown.length > 300 ? `${shown.slice(0, 300)}…` : shown;
}

/** What is at a host path (a symlink followed, as docker's cp follows one on the host). */
function hostKind(path: string): PathKind {
  try {
    return statPath(path).isDirectory ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/**
 * What is at `path` in the container: the first entry of its own tar's archive of it
 * (a directory, or anything else taken as a file), "missing" when its tar finds nothing.
 * A symlink is what it leads to (-h), as docker's cp follows a destination link: a copy to
 * a link to a directory goes into the directory, and the tar that unpacks it there
 * follows the link as its -C.
 */
async function containerKind(engine: Engine, r: ContainerRecord, path: string): Promise<PathKind> {
  const tar = tarInContainer(engine, r, ["-h", ...archiveArgs(path)]);
  try {
    // its stderr unread would fill and stop it before its first header: what it says is not used here
    const p = startProgram(tar.argv, { stdout: "pipe", stderr: "ignore" });
    const reader = p.stdout!.getReader();
    let got = new Uint8Array(0);
    let kind: ReturnType<typeof firstEntryKind>;
    while ((kind = firstEntryKind(got)) === undefined) {
      const { done, value } = await reader.read();
      if (done) break;
      const more = new Uint8Array(got.length + value.length);
      more.set(got);
      more.set(value, got.length);
      got = more;
    }
    // the header is all it takes: the tar ends on its closed pipe
    await reader.cancel();
    await p.exited;
    return kind === undefined || kind === "none" ? "missing" : kind === "dir" ? "dir" : "file";
  } finally {
    tar.release();
  }
}

/** Container → host (docker's rules, copy-plan.ts), or a tar stream on stdout when `dest` is `-`. */
export async function copyFromContainer(engine: Engine, r: ContainerRecord, request: CopyRequest): Promise<void> {
  const { dest, what } = request;
  const path = fromContainerRoot(request.path);
  const tar = tarInContainer(engine, r, archiveArgs(path));
  try {
    if (dest === "-") {
      await runTar(tar.argv, "ignore", "inherit", what);
      return;
    }
    const destKind = hostKind(dest);
    // everything arrives first in a directory only root may enter, beside the destination:
    // there what the host must not get is taken out before anyone else can reach it
    const dir = destKind === "dir" ? dest : splitPath(dest).dir;
    if (hostKind(dir) !== "dir") throw new BerthError(`${what}: the directory ${dir} does not exist; make it first`, { field: "DEST" });
    const landing = `${dir}/.berth-cp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    mkdirPath(landing, 0o700);
    const landed = untilInterrupted(() => removeTree(landing));
    try {
      // unpacked one level down: a /. copy's archive gives its own top directory's mode to where it is unpacked
      const arrivals = `${landing}/in`;
      mkdirPath(arrivals, 0o700);
      await pipeTar(tar.argv, hostUnpackArgv(arrivals, path), what);
      madeHostSafe(arrivals, what);
      if (destKind === "dir") {
        const member = archiveArgs(path).at(-1)!;
        // a new name in the directory: moved there; else merged with what is there as the container's tar would have, by the host's tar from what is trusted now
        if (member !== "." && !pathExists(`${dest}/${member}`)) renamePath(`${arrivals}/${member}`, `${dest}/${member}`);
        else await pipeTar(["tar", "--no-unquote", "-C", arrivals, "-cf", "-", "--", member], hostUnpackArgv(dest, path), what);
        return;
      }
      // what the source is shows once it has arrived: then moved into place
      const arrived = path.endsWith("/.") ? arrivals : `${arrivals}/${splitPath(path).base}`;
      // what arrived as it is: a symlink from the container is a file to the rules, its target (maybe the host's /) never followed
      const plan = copyPlan(path, statPath(arrived, { follow: false }).isDirectory ? "dir" : "file", dest, destKind);
      if (path.endsWith("/.")) {
        mkdirPath(`${plan.into}/${plan.name}`, 0o755);
        for (const e of listDir(arrivals)) renamePath(`${arrivals}/${e.name}`, `${plan.into}/${plan.name}/${e.name}`);
      } else renamePath(arrived, `${plan.into}/${plan.name}`);
    } finally {
      removeTree(landing);
      landed();
    }
  } finally {
    tar.release();
  }
}

/**
 * What `berth cp` lands on the host is root's (berth runs as root) where docker's CLI
 * makes it its user's: a container's set-user/group-id bit would make a root-owned setuid
 * program, and its device node a root-made door to the host's disk or memory, for any
 * user who can reach the destination. The bits are cleared; a device node refuses the
 * copy (CopyFailed), as docker's CLI run by a user fails to make one. `arrivals` is in a
 * directory only root may enter, and no tar writes in it any more.
 */
function madeHostSafe(arrivals: string, what: string): void {
  for (const e of entriesBeneath(arrivals)) {
    const type = e.mode & S_IFMT;
    if (type === S_IFCHR || type === S_IFBLK) {
      const { devmajor, devminor } = devParts(e.rdev);
      throw new CopyFailed(`${what}: ${e.rel} is a device node (${devmajor}:${devminor}), which berth does not make on the host; copy it as a tar stream (${what} -)`);
    }
    if (type === S_IFREG && (e.mode & 0o6000) !== 0) chmodPath(`/proc/self/fd/${e.parentFd}/${e.name}`, e.mode & 0o1777);
  }
}

/** Host → container by docker's rules, or a tar stream on stdin (`path` `-`) unpacked in the destination directory. */
export async function copyToContainer(engine: Engine, r: ContainerRecord, request: CopyRequest): Promise<void> {
  const { path, what } = request;
  const dest = fromContainerRoot(request.dest);
  if (path === "-") {
    // a tar stream is unpacked into the destination directory, as docker's
    const tar = tarInContainer(engine, r, ["-C", dest, "-xf", "-"]);
    try {
      await runTar(tar.argv, "inherit", "ignore", what);
    } finally {
      tar.release();
    }
    return;
  }
  let srcKind: "file" | "dir";
  try {
    srcKind = statPath(path, { follow: false }).isDirectory ? "dir" : "file";
  } catch (err) {
    throw new BerthError(`${what}: ${path}: ${(err as { code?: string }).code ?? (err as Error).message}; give a file or directory that exists`, { field: "SRC" });
  }
  const plan = copyPlan(path, srcKind, dest, await containerKind(engine, r, dest));
  // the archive's top entry under the name the rules give it (the host's GNU tar renames; busybox's in the container cannot)
  const { base } = splitPath(path);
  const rename = !plan.contents && plan.name !== undefined && plan.name !== base ? ["--transform", renameTopExpression(base, plan.name)] : [];
  const tar = tarInContainer(engine, r, ["-C", plan.into, "-xf", "-"]);
  try {
    // GNU tar reads a backslash in a name given to it as an escape (a\\tb as a tab) unless told not to
    await pipeTar(["tar", "--no-unquote", ...rename, ...archiveArgs(path)], tar.argv, what);
  } finally {
    tar.release();
  }
}
