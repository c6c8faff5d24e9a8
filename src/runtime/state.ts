/**
 * berth-runtime's state directory: `<root>/<id>/state.json` (written atomically:
 * sys/atomic-file.ts), `exec.fifo` (present until `start`), and a lock (sys/lock-file.ts,
 * on the directory) that serialises commands on one id. Claiming the directory
 * (sys/id-claim.ts, mkdir) is what makes exactly one of two concurrent `create`s win.
 *
 * File calls go through sys/libc.ts, not node:fs: this module is on the path of every
 * `state`, `start`, `kill` and `delete`, and loading node:fs costs Bun ~4 ms per process.
 */
import { BerthError } from "../errors.ts";
import { writeFileAtomic } from "../sys/atomic-file.ts";
import { errnoMeaning } from "../sys/errno.ts";
import { claimDir as claimDirectory } from "../sys/id-claim.ts";
import { pathExists, readLink, readText, readTextIfExists, rmdirPath, SysError, unlinkPath } from "../sys/libc.ts";
import { type HeldLock, LockUnsupportedError, lockPath } from "../sys/lock-file.ts";
import { removeTree } from "../sys/remove-tree.ts";
import type { Hooks, Spec } from "../spec/runtime-spec.ts";
import type { HostMounts } from "./host-mounts.ts";

/** Which container: its --root and id. */
export interface Target {
  root: string;
  id: string;
}

export type Status = "creating" | "created" | "running" | "stopped" | "paused";

/** What state.json holds: OCI state fields plus what later commands need. */
export interface SavedState {
  ociVersion: string;
  id: string;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
  /** /proc/<pid>/stat start time: tells our init from a later process that reused its pid */
  startTime: number;
  cgroupsPath: string;
  systemdCgroup: boolean;
  /**
   * The file that says whether the cgroup is frozen (v1 `freezer.state`, v2
   * `cgroup.events`), so `state` answers "paused" without loading the cgroup layer.
   */
  freezerFile?: string;
  /** the container's cgroup directories (one per hierarchy), so a stopped one is removed with rmdir alone */
  cgroupDirs?: string[];
  /** the container has no mount namespace of its own: its mounts are in the host's table below this root (host-mounts.ts) */
  hostMounts?: HostMounts;
  /** the cgroup had other processes at create (runc 1.1 shares it): delete stops only the init and leaves the cgroup while it is busy */
  sharedCgroup?: boolean;
  /** config.json has no process: `start` refuses (runtime-spec runtime.md), everything else works */
  noProcess?: boolean;
  /**
   * Set from the claim until create has finished: a create killed half-way leaves it, and
   * `state` then says "creating" while its init or helper lives instead of "stopped".
   */
  creating?: boolean;
  /**
   * The init's pid namespace (`pid:[INODE]`), when it is not the runtime's own: delete and
   * kill --all signal only the processes of the cgroup that are in it (a process moved
   * into the cgroup from the host was not started by berth in this container).
   */
  pidNamespace?: string;
  /** config.json's poststart and poststop hooks, run by `start` and `delete` */
  hooks?: Pick<Hooks, "poststart" | "poststop">;
}

/** The OCI state (`berth-runtime state`), in runc's key order. */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export const OCI_VERSION = "1.0.2-dev";
const ID = /^[\w+.-]+$/;

export function checkId(id: string | undefined): string {
  if (!id) throw new BerthError("container id cannot be empty");
  if (!ID.test(id) || id === "." || id === "..") throw new BerthError(`invalid container id ${JSON.stringify(id)}: use letters, digits, _ + - .`);
  return id;
}

export function containerDir(root: string, id: string): string {
  return `${root}/${id}`;
}

export function fifoPath(root: string, id: string): string {
  return `${root}/${id}/exec.fifo`;
}

/** runc's wording: callers (containerd, podman) match "does not exist". */
export function notExist(id: string): BerthError {
  return new BerthError(`container ${id} does not exist`, { errno: "ENOENT" });
}

/**
 * Make the container's directory; the one `create` whose mkdir succeeds owns the id.
 * 0711: the init, once it runs as the container's user, must still reach exec.fifo.
 */
export function claimDir(root: string, id: string): string {
  const dir = containerDir(root, id);
  if (!claimDirectory(dir, { mode: 0o711, parentMode: 0o700 })) throw new BerthError(`container with id exists: ${id}`, { errno: "EEXIST" });
  return dir;
}

/** Hold an exclusive lock on the container's directory until the process exits or release() is called. */
export function lockDir(dir: string): HeldLock {
  try {
    return lockPath(dir);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") throw new BerthError("gone", { errno: "ENOENT" });
    if (err instanceof LockUnsupportedError) throw new BerthError(err.message, { field: "--root", errno: err.errno });
    throw err;
  }
}

export function writeState(root: string, state: SavedState): void {
  // no fsync: --root is on /run (tmpfs) and gone at reboot; runc does not fsync it either
  writeFileAtomic(`${containerDir(root, state.id)}/state.json`, JSON.stringify(state), { mode: 0o600, fsync: false });
}

/**
 * config.json as `create` read and checked it, kept beside state.json: `exec` reads this
 * copy, so an edit of the bundle's file after create never changes the container
 * (runtime.md, create: "Any updates to config.json after this step MUST NOT affect the
 * container"). runc keeps its own copy in its state.json for the same reason.
 */
export function writeSavedSpec(root: string, id: string, spec: Spec): void {
  writeFileAtomic(`${containerDir(root, id)}/config.json`, JSON.stringify(spec), { mode: 0o600, fsync: false });
}

/** The copy writeSavedSpec made; undefined for a container created before berth kept one. */
export function readSavedSpec(root: string, id: string): Spec | undefined {
  const text = readTextIfExists(`${containerDir(root, id)}/config.json`);
  return text === undefined ? undefined : (JSON.parse(text) as Spec);
}

/** state.json exists but cannot be read or parsed: only `delete --force` can deal with the container. */
export class UnreadableStateError extends BerthError {}

/** The saved state, or undefined when the container does not exist (or is half-created). */
export function readState(root: string, id: string): SavedState | undefined {
  try {
    return JSON.parse(readText(`${containerDir(root, id)}/state.json`)) as SavedState;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    // only a file that cannot be read or parsed is the state's fault
    if (!(err instanceof SysError || err instanceof SyntaxError)) throw err;
    throw new UnreadableStateError(`state of container ${id} is unreadable: ${(err as Error).message}; delete it with --force`);
  }
}

/** What a container's directory holds (create's and start's files): removed one by one, then the directory. */
const STATE_FILES = ["state.json", "exec.fifo", "config.json"];

export function removeDir(root: string, id: string): void {
  const dir = containerDir(root, id);
  for (const f of STATE_FILES) {
    try {
      unlinkPath(`${dir}/${f}`);
    } catch {
      // absent
    }
  }
  try {
    rmdirPath(dir);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return;
    if (code !== "ENOTEMPTY") throw err;
    // something else was put there (or a crashed write's temporary file): remove it all
    removeTree(dir);
  }
}

/** Write the pid file the way go-runc reads it: decimal, no newline, atomically. */
export function writePidFile(path: string, pid: number): void {
  try {
    writeFileAtomic(path, String(pid), { fsync: false });
  } catch (err) {
    throw new BerthError(`cannot write ${path}: ${err instanceof SysError ? errnoMeaning(err.errno) : (err as Error).message}; make its directory first or pass another path`, { field: "--pid-file", cause: err });
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, …]; undefined if gone. */
function procStat(pid: number): string[] | undefined {
  const s = readTextIfExists(`/proc/${pid}/stat`);
  return s === undefined ? undefined : s.slice(s.lastIndexOf(")") + 2).split(" ");
}

/** The process start time (clock ticks since boot), 0 if it is gone. */
export function startTimeOf(pid: number): number {
  return Number(procStat(pid)?.[19] ?? 0);
}

/** `pid:[INODE]` of pid's pid namespace; undefined when it is the runtime's own (or pid is gone). */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    const ns = readLink(`/proc/${pid}/ns/pid`);
    return ns === readLink("/proc/self/ns/pid") ? undefined : ns;
  } catch {
    return undefined;
  }
}

/** The start time of a running process (clock ticks since boot); 0 when it is gone or a zombie. */
export function liveStartTime(pid: number): number {
  const stat = pid > 0 ? procStat(pid) : undefined;
  return !stat || stat[0] === "Z" || stat[0] === "X" ? 0 : Number(stat[19]);
}

/** Is our init still alive: same pid, same start time, not a zombie. */
export function initAlive(state: SavedState): boolean {
  const start = liveStartTime(state.pid);
  return start !== 0 && start === state.startTime;
}

/** Does any of the container's recorded cgroup directories hold a process? */
export function cgroupHasProcesses(state: SavedState): boolean {
  return (state.cgroupDirs ?? []).some((dir) => (readTextIfExists(`${dir}/cgroup.procs`) ?? "").trim() !== "");
}

/**
 * creating / created / running / stopped / paused, from /proc, the freezer file and
 * exec.fifo. Frozen wins over created, as in runc: `pause` accepts a created container
 * too. A create that has not finished (or was killed) is "creating" while its init or
 * helper lives — with the init's pid once the helper reported it — never "stopped".
 */
export function statusOf(root: string, state: SavedState): Status {
  if (state.creating) return initAlive(state) || cgroupHasProcesses(state) ? "creating" : "stopped";
  if (!initAlive(state)) return "stopped";
  if (state.freezerFile && isFrozen(state.freezerFile)) return "paused";
  return pathExists(fifoPath(root, state.id)) ? "created" : "running";
}

function isFrozen(file: string): boolean {
  // gone with its cgroup: a stopped container is not paused
  const text = readTextIfExists(file);
  if (text === undefined) return false;
  if (file.endsWith("freezer.state")) return text.trim() === "FROZEN";
  return /^frozen 1$/m.test(text);
}

export function ociState(state: SavedState, status: Status): OciState {
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === "stopped" ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    ...(state.annotations && Object.keys(state.annotations).length ? { annotations: state.annotations } : {}),
    owner: state.owner,
  };
}
