/**
 * kill and delete: the commands that stop and remove an existing container (start is in
 * start.ts; state and list, which only read, in query.ts). Wording and exit behaviour
 * follow runc 1.1, because containerd and podman match on it
 * (../shared/reference/runc-cli-contract.md).
 *
 * The cgroup layer is loaded only when a cgroup has processes to signal or directories
 * that a plain rmdir cannot remove: removing a stopped container's empty cgroup
 * directories, recorded at create, needs none of it.
 */
import type { CgroupManager } from "../cgroups/manager.ts";
import { BerthError, type Warning } from "../errors.ts";
import { pathExists, readLink, rmdirPath } from "../sys/libc.ts";
import type { HeldLock } from "../sys/lock-file.ts";
import { runHooksWarning } from "./hooks.ts";
import { containerDir, initAlive, lockDir, notExist, ociState, readState, removeDir, statusOf, type SavedState, type Target, UnreadableStateError } from "./state.ts";

function load(t: Target): SavedState {
  const s = readState(t.root, t.id);
  if (!s) throw notExist(t.id);
  return s;
}

async function cgroupOf(s: SavedState): Promise<CgroupManager> {
  const { openCgroup } = await import("../cgroups/open-cgroup.ts");
  return openCgroup(s.cgroupsPath, { systemd: s.systemdCgroup });
}

/** rmdir the container's own cgroup directories; false if any is still busy or has children. */
function removeEmptyCgroups(s: SavedState): boolean {
  if (!s.cgroupDirs) return false;
  for (const dir of s.cgroupDirs) {
    try {
      rmdirPath(dir);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") return false;
    }
  }
  return true;
}


/**
 * The processes of the container's cgroup that berth started in this container: those in
 * its pid namespace (the kernel kills the ones in namespaces nested below it with its
 * init). Anything else got there from outside — moved in through cgroup.procs — and is
 * never signalled. A container without a pid namespace of its own has only its cgroup
 * to go by; PID 1 and this process are never the container's.
 */
function splitPids(s: SavedState, pids: number[]): { ours: number[]; foreign: number[] } {
  const ours: number[] = [];
  const foreign: number[] = [];
  for (const pid of pids) {
    if (pid === 1 || pid === process.pid) {
      foreign.push(pid);
      continue;
    }
    if (!s.pidNamespace) {
      ours.push(pid);
      continue;
    }
    let ns: string;
    try {
      ns = readLink(`/proc/${pid}/ns/pid`);
    } catch {
      continue; // gone
    }
    (ns === s.pidNamespace ? ours : foreign).push(pid);
  }
  return { ours, foreign };
}

/** Signal the container's processes in its cgroup; the whole cgroup at once when nothing foreign is in it. */
function signalOurs(s: SavedState, cg: CgroupManager, signal: number, paused: boolean): void {
  const { ours, foreign } = splitPids(s, cg.pids());
  if (foreign.length === 0) {
    // at once, so nothing forks past it; frozen tasks die too (kill() thaws, or cgroup.kill)
    if (signal === 9) cg.kill(signal);
    else for (const pid of ours) signalPid(pid, signal);
    return;
  }
  for (const pid of ours) signalPid(pid, signal);
  if (signal === 9 && paused) cg.thaw();
}

export async function killContainer(t: Target, signal: number, all = false): Promise<void> {
  const s = load(t);
  const status = statusOf(t.root, s);
  if (all) {
    // runc: --all on a stopped container signals nobody and succeeds
    const cg = await cgroupOf(s);
    if (cg.exists()) {
      if (status === "paused" && signal === 9) signalOurs(s, cg, signal, true);
      else for (const pid of splitPids(s, cg.pids()).ours) signalPid(pid, signal);
    }
    return;
  }
  if (status === "stopped" || s.pid <= 0) throw new BerthError("container not running");
  signalPid(s.pid, signal);
  // A v1-frozen task does not die until thawed: thaw after SIGKILL, as runc does.
  if (status === "paused" && signal === 9) (await cgroupOf(s)).thaw();
}

function signalPid(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as { code?: string }).code !== "ESRCH") throw err;
  }
}

/** Remove the cgroup; when a process berth did not start keeps it busy, say which and what to do. */
async function destroyCgroup(s: SavedState, id: string, cg: CgroupManager): Promise<void> {
  try {
    cg.destroy({ timeoutMs: 5000 });
  } catch (err) {
    const { foreign } = splitPids(s, cg.pids());
    if (foreign.length === 0) throw err;
    const { describePid } = await import("../cgroups/teardown.ts");
    throw new BerthError(`cgroup ${cg.path} holds ${foreign.slice(0, 3).map(describePid).join(", ")}, which berth did not start in container ${id} and will not signal; move it to a cgroup of its own, then delete again`, { cause: err });
  }
}

/** Wait (bounded) until the init is gone, so the cgroup can be removed. */
function waitGone(s: SavedState, ms: number): void {
  const deadline = Date.now() + ms;
  while (initAlive(s) && Date.now() < deadline) Bun.sleepSync(2);
}

export async function deleteContainer(t: Target, force = false, warn?: (w: Warning) => void): Promise<void> {
  const s = await removeContainer(t, force);
  // after the container is gone, before delete returns; a failure is only a warning (runtime-spec)
  if (s?.hooks?.poststop?.length) runHooksWarning("poststop", s.hooks.poststop, { state: JSON.stringify(ociState(s, "stopped")) }, warn);
}

/** The last of a stopped container: the mounts it made in the host's mount table (none with a mount namespace of its own), then its state. */
async function forget(t: Target, s: SavedState): Promise<void> {
  if (s.hostMounts) (await import("./host-mounts.ts")).releaseHostMounts(s.hostMounts);
  removeDir(t.root, t.id);
}

/** The container's directory locked, or undefined when it is gone (an error unless forced). */
function lockedDir(t: Target, force: boolean): HeldLock | undefined {
  const dir = containerDir(t.root, t.id);
  if (!pathExists(dir)) {
    if (force) return undefined;
    throw notExist(t.id);
  }
  try {
    return lockDir(dir);
  } catch (err) {
    if ((err as BerthError).errno === "ENOENT") {
      if (force) return undefined;
      throw notExist(t.id);
    }
    throw err;
  }
}

/**
 * `delete --force` of a container that has stopped and whose cgroups are already empty,
 * with no host mounts or poststop hooks — what an engine's exit command deletes after
 * every run — done synchronously without loading the cgroup layer, so the engine can do
 * it in its own process. False, having changed nothing but empty cgroup directories,
 * when the container needs the full delete.
 */
export function deleteStopped(t: Target): boolean {
  const lock = lockedDir(t, true);
  if (!lock) return true;
  try {
    let s: SavedState | undefined;
    try {
      s = readState(t.root, t.id);
    } catch {
      return false;
    }
    if (s && (s.hostMounts || s.hooks?.poststop?.length || statusOf(t.root, s) !== "stopped" || !removeEmptyCgroups(s))) return false;
    removeDir(t.root, t.id);
    return true;
  } finally {
    lock.release();
  }
}

/** Stop (with force) and remove a container; its last saved state, when there was one. */
async function removeContainer(t: Target, force: boolean): Promise<SavedState | undefined> {
  const lock = lockedDir(t, force);
  if (!lock) return undefined;
  try {
    let s: SavedState | undefined;
    try {
      s = readState(t.root, t.id);
    } catch (err) {
      // what its error tells the user to do: with no state there is no pid or cgroup to stop
      if (!(force && err instanceof UnreadableStateError)) throw err;
    }
    if (!s) {
      // a create that died half-way, or a racing delete: nothing to stop
      removeDir(t.root, t.id);
      return undefined;
    }
    const status = statusOf(t.root, s);
    if ((status === "running" || status === "paused") && !force) {
      throw new BerthError(`cannot delete container ${t.id} that is not stopped: ${status}`);
    }
    if (status === "stopped" && removeEmptyCgroups(s)) {
      await forget(t, s);
      return s;
    }
    if (s.sharedCgroup) {
      // the others in the cgroup are not ours to kill: the init (with its pid namespace,
      // everything it started) goes, the cgroup stays while they are in it
      if (status !== "stopped" && s.pid > 0) {
        signalPid(s.pid, 9);
        waitGone(s, 5000);
      }
      removeEmptyCgroups(s);
      await forget(t, s);
      return s;
    }
    const cg = await cgroupOf(s);
    if (status !== "stopped") {
      // runc deletes a `created` container without --force, killing its waiting init
      if (cg.exists()) signalOurs(s, cg, 9, status === "paused");
      if (s.pid > 0) signalPid(s.pid, 9);
      waitGone(s, 5000);
    }
    if (cg.exists()) {
      // a create killed half-way leaves a helper or init that state.json never named
      if (cg.pids().length > 0) signalOurs(s, cg, 9, false);
      await destroyCgroup(s, t.id, cg);
    }
    await forget(t, s);
    return s;
  } finally {
    lock.release();
  }
}

/**
 * Whether SIGTERM can end process `pid`, from /proc/PID/status: not when it ignores it
 * (an interactive shell), nor when it is its PID namespace's init and has no handler —
 * the kernel drops a default-action signal sent to a namespace's init from outside.
 * Pure over the file's text.
 *
 * @example termCanEnd("SigIgn:\t0000000000004000\nSigCgt:\t0\nNSpid:\t42\t1\n") // → false
 */
export function termCanEnd(status: string): boolean {
  const mask = (key: string) => BigInt(`0x${new RegExp(`^${key}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1] ?? "0"}`);
  const TERM = 1n << 14n; // bit SIGTERM-1
  if (mask("SigCgt") & TERM) return true;
  if (mask("SigIgn") & TERM) return false;
  const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  return !(nspid && nspid.length > 1 && nspid.at(-1) === "1");
}
